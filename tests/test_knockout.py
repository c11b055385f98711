import numpy as np
import pytest

from deepviz.activations import LayerReader
from deepviz.config import Conv, Dense, ModelConfig, Pool
from deepviz.knockout import Scorer, masked, silenced, strongest

# tanh and linear pass 0 on for a total of 0: a unit with its own weights and bias zeroed is
# a unit switched off, computed the plain way, to check the knock-out against.
ZERO_AT_ZERO = ModelConfig(layers=(Conv(4, 3, "tanh"), Pool(2), Conv(3, 3, "relu"), Dense(12, "linear"), Dense(8)))


def built(config):
    import keras

    from deepviz.network import build_model

    keras.utils.set_random_seed(2)
    return build_model(config)


def switched_off(model, reader, images, off):
    return masked(reader.names, reader.kinds, reader.batch(images, weights=silenced(model, off)), off)


def zeroed_own(model, layer, units):
    """The model with `units` of `layer` computing 0 themselves: their weights and bias at 0."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kernel, bias = copy.get_layer(layer).get_weights()
    kernel[..., list(units)], bias[list(units)] = 0, 0
    copy.get_layer(layer).set_weights([kernel, bias])
    return copy


@pytest.mark.parametrize(("layer", "units"), [("conv1", (1, 3)), ("conv2", (0,)), ("dense1", (2, 5))])
def test_a_switched_off_unit_reads_0_and_the_layers_after_read_it_as_0(mnist, layer, units):
    model = built(ZERO_AT_ZERO)
    reader = LayerReader(model)
    images = mnist.x_test[:8] / 255.0
    intact = reader.batch(images)
    knocked = switched_off(model, reader, images, {layer: units})
    expected = LayerReader(zeroed_own(model, layer, units)).batch(images)
    at = reader.names.index(layer)
    assert (knocked[at][..., list(units)] == 0).all()
    for index in range(at):  # the layers before it: unchanged
        assert np.array_equal(knocked[index], intact[index])
    for index in range(at, len(knocked)):
        assert np.allclose(knocked[index], expected[index], atol=1e-5), reader.names[index]
    assert not np.allclose(knocked[-1], intact[-1], atol=1e-5)


def test_switching_off_nothing_gives_the_models_own_outputs(mnist):
    model = built(ModelConfig())
    reader = LayerReader(model)
    images = mnist.x_test[:8] / 255.0
    for ours, own in zip(switched_off(model, reader, images, {}), reader.batch(images)):
        assert np.array_equal(ours, own)
    assert all(np.array_equal(ours, own) for ours, own in zip(silenced(model, {"dense1": ()}), model.get_weights()))


def test_a_relu_mlps_units_switch_off_too(mnist):
    model = built(ModelConfig())
    reader = LayerReader(model)
    images = mnist.x_test[:8] / 255.0
    knocked = switched_off(model, reader, images, {"dense2": (0, 7)})
    expected = LayerReader(zeroed_own(model, "dense2", (0, 7))).batch(images)
    assert all(np.allclose(ours, theirs, atol=1e-5) for ours, theirs in zip(knocked, expected))


def test_the_strongest_units_are_the_most_active_above_0():
    assert strongest(np.array([0.5, 0.0, 2.0, -1.0, 1.0]), 4) == (2, 4, 0)
    maps = np.zeros((2, 2, 3))
    maps[1, 0, 2], maps[0, 1, 0] = 3.0, 1.0
    assert strongest(maps, 5) == (2, 0)
    assert strongest(np.zeros(6), 5) == ()  # a layer with no live unit: nothing to switch off


def test_per_digit_accuracy_is_counted_on_the_digits_given(small):
    model = built(ModelConfig())
    scorer = Scorer(model)
    images, labels = small.x_test[:40] / 255.0, small.y_test[:40]
    own = scorer.scores(images, labels)
    assert np.allclose(own.probabilities, model(images.astype(np.float32)).numpy(), atol=1e-6)
    knocked = scorer.scores(images, labels, silenced(model, {"dense1": tuple(range(100))}))
    predictions = knocked.probabilities.argmax(axis=1)
    for digit in range(10):
        mine = labels == digit
        if mine.any():
            assert knocked.per_class_accuracy[digit] == pytest.approx((predictions[mine] == digit).mean())
    assert not np.allclose(knocked.probabilities, own.probabilities)
