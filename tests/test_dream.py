import numpy as np
import pytest

from deepviz.dream import OUTPUT, Dreamer, Settings, gaussian


@pytest.fixture(scope="module")
def default_dreams(default_trained):
    """The ten digits the default CNN dreams of, from two seeds."""
    return [default_trained.dreamer.digits(Settings(seed=seed)) for seed in (0, 1)]


def test_the_default_cnn_reads_each_digit_it_dreams_of_as_that_digit(default_dreams):
    read = np.concatenate([dream.probabilities.argmax(axis=1) for dream in default_dreams])
    assert (read == np.tile(np.arange(10), 2)).mean() >= 0.95


def test_the_tutorial_mlp_reads_each_digit_it_dreams_of_as_that_digit(tutorial_trained):
    dream = tutorial_trained.dreamer.digits()
    assert (dream.probabilities.argmax(axis=1) == np.arange(10)).mean() >= 0.95


def test_dreams_are_pictures_and_the_same_settings_give_the_same_picture(default_trained, default_dreams):
    first, other_seed = default_dreams
    assert first.images.shape == (10, 28, 28) and first.images.min() >= 0 and first.images.max() <= 1
    again = default_trained.dreamer.digits(Settings(seed=0))
    np.testing.assert_array_equal(again.images, first.images)
    assert not np.array_equal(other_seed.images, first.images)


def test_more_fading_leaves_less_ink(default_trained, default_dreams):
    faded = default_trained.dreamer.digits(Settings(decay=0.08))
    assert faded.images.sum() < default_dreams[0].images.sum()


def channel_means(values: np.ndarray) -> np.ndarray:
    """A layer's response per unit: a Dense unit's value, a channel's mean over its feature map."""
    return values.mean(axis=(1, 2)) if values.ndim == 4 else values


@pytest.mark.parametrize("layer", ["conv1", "pool1", "conv2", "pool2", "dense1"])
def test_a_units_dream_excites_it_more_than_nine_in_ten_test_digits(default_trained, mnist, layer):
    reader = default_trained.reader
    index = reader.names.index(layer)
    responses = channel_means(reader.batch(mnist.x_test[:500] / 255.0)[index])
    units = np.argsort(-responses.max(axis=0))[:4]  # live units, those test digits excite most
    dream = default_trained.dreamer.dream(layer, units.tolist())
    dreamed = channel_means(reader.batch(dream.images)[index])[np.arange(len(units)), units]
    assert ((responses[:, units] < dreamed).mean(axis=0) > 0.9).all()


def test_every_hidden_layer_and_the_output_can_be_dreamed(tutorial_trained):
    dreamer = Dreamer(tutorial_trained.model)
    assert dreamer.layers == ["dense1", "dense2", OUTPUT]
    assert [dreamer.units(layer) for layer in dreamer.layers] == [128, 64, 10]


def test_a_blur_kernel_sums_to_one_and_no_blur_keeps_the_image():
    assert float(np.sum(gaussian(1.0))) == pytest.approx(1.0)
    assert float(gaussian(0.0)[2, 2, 0, 0]) == pytest.approx(1.0)
