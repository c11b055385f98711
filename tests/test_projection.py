import math
import time
from typing import ClassVar

import numpy as np
import pytest

from deepviz.config import PRESETS, ModelConfig
from deepviz.projection import project, project_layers, sample_indices
from deepviz.training import train


class FakeReader:
    """Layers whose separability is known in advance: no Keras needed."""

    names: ClassVar = ["noise", "code", "maps"]

    def __init__(self, labels):
        self.labels = labels

    def batch(self, images):
        rng = np.random.default_rng(1)
        n = len(self.labels)
        noise = rng.normal(size=(n, 20))
        code = np.eye(10)[self.labels] * 10 + rng.normal(size=(n, 10))  # the digit, linearly
        maps = rng.normal(size=(n, 4, 4, 2))  # conv-shaped, to be flattened
        return [noise, code, maps]


@pytest.fixture(scope="module")
def sample(mnist):
    index = sample_indices(mnist.y_test)
    return mnist.scaled(mnist.x_test[index]), mnist.y_test[index]


def assert_placed(projection, activation, point):
    scale = np.abs(projection.points).max()
    np.testing.assert_allclose(projection.place(activation), point, atol=1e-4 * scale)


def test_the_sample_is_class_balanced_and_fixed(mnist):
    index = sample_indices(mnist.y_test)
    assert len(np.unique(index)) == 2000
    assert np.bincount(mnist.y_test[index]).tolist() == [200] * 10
    np.testing.assert_array_equal(index, sample_indices(mnist.y_test))
    assert not np.array_equal(index, sample_indices(mnist.y_test, seed=1))


def test_a_rare_digit_gives_all_it_has():
    labels = np.array([0] * 3 + [1] * 50)
    index = sample_indices(labels, n=20)
    assert np.bincount(labels[index]).tolist() == [3, 10]


def test_a_linear_code_separates_and_noise_does_not():
    labels = np.repeat(np.arange(10), 100)
    reader = FakeReader(labels)
    projections = project_layers(reader, np.zeros((1000, 28, 28)), labels)
    noise, code, maps = projections
    assert [p.name for p in projections] == reader.names
    assert noise.separability < 0.2 and maps.separability < 0.2  # chance is 0.1
    assert code.separability > 0.95
    assert maps.points.shape == (1000, 2) and maps.components.shape == (2, 32)
    assert not any(projection.flat for projection in projections)
    dead = project("dead", np.zeros((1000, 8)) + [0.5] * 8, labels)
    assert dead.flat and np.all(np.isfinite(dead.points))


@pytest.mark.slow
def test_the_tutorial_mlp_separates_the_digits_better_layer_by_layer(tutorial_trained, sample):
    images, labels = sample
    reader = tutorial_trained.reader
    started = time.perf_counter()
    projections = project_layers(reader, images, labels)
    seconds = time.perf_counter() - started
    numbers = {p.name: round(p.separability, 3) for p in projections}
    print(f"MLP (test accuracy {tutorial_trained.test_accuracy:.4f}) in {seconds:.2f}s:", numbers)
    assert [p.name for p in projections] == reader.names
    for projection in projections:
        assert projection.points.shape == (2000, 2)
        np.testing.assert_array_equal(projection.labels, labels)
    for index in (0, 1234):
        for projection, layer in zip(projections, reader(images[index])):
            assert_placed(projection, layer.values, projection.points[index])
    for first, again in zip(projections, project_layers(reader, images, labels)):
        assert first.separability == again.separability
        np.testing.assert_array_equal(first.points, again.points)
    pixels, output = projections[0].separability, projections[-1].separability
    # The known case: the softmax's argmax is itself a linear read-out of the output
    # layer, so a linear probe does at least as well as the model. The probe is scored on 500
    # held-out digits, a standard error of sqrt(0.97 * 0.03 / 500) = 0.8%: allow three.
    assert output >= tutorial_trained.test_accuracy - 3 * math.sqrt(0.97 * 0.03 / 500)
    assert pixels < output - 0.05


@pytest.mark.slow
def test_a_small_cnn_projects_every_layer(mnist, sample):
    import keras

    keras.utils.set_random_seed(0)
    config = ModelConfig(layers=PRESETS["Small CNN"].layers, epochs=1, train_images=2000)
    trained = train(config, mnist)
    images, labels = sample
    started = time.perf_counter()
    projections = project_layers(trained.reader, images, labels)
    seconds = time.perf_counter() - started
    print(f"CNN in {seconds:.2f}s:", {p.name: round(p.separability, 3) for p in projections})
    assert [p.name for p in projections] == trained.reader.names and len(projections) == 7
    assert all(p.points.shape == (2000, 2) for p in projections)
    conv = projections[1]
    assert conv.components.shape == (2, 28 * 28 * 16)
    assert_placed(conv, trained.reader(images[7])[1].values, conv.points[7])
    assert max(p.separability for p in projections[1:]) > projections[0].separability


def test_the_neighbour_map_repeats_and_keeps_a_digits_images_together():
    from deepviz.projection import neighbour_map

    labels = np.repeat(np.arange(10), 60)
    rng = np.random.default_rng(2)
    layer = (np.eye(10)[labels] @ rng.normal(size=(10, 40)) * 4 + rng.normal(size=(600, 40))).reshape(600, 4, 10)
    points = neighbour_map(layer)
    assert points.shape == (600, 2)
    np.testing.assert_array_equal(points, neighbour_map(layer))  # seeded: the same map every time
    centres = np.array([points[labels == digit].mean(axis=0) for digit in range(10)])
    nearest = np.linalg.norm(points[:, None] - centres[None], axis=2).argmin(axis=1)
    assert (nearest == labels).mean() > 0.95


def test_a_softmax_is_projected_as_log_probabilities_so_its_clouds_do_not_shrink_to_dots():
    from sklearn.decomposition import PCA

    from deepviz.projection import is_probabilities, project

    labels = np.repeat(np.arange(10), 50)
    rng = np.random.default_rng(3)
    logits = np.eye(10)[labels] * 12 + rng.normal(size=(500, 10))
    sure = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # nearly one-hot: ten dots
    assert is_probabilities(sure) and not is_probabilities(logits)
    projection = project("output", sure, labels)
    assert projection.logs

    def spread(points):  # how wide a digit's cloud is, against the whole picture
        return np.mean([points[labels == digit].std(axis=0).mean() for digit in range(10)]) / np.abs(points).max()

    assert spread(projection.points) > 0.05  # clouds, where the probabilities put dots on corners
    assert spread(PCA(2).fit_transform(sure)) < 0.01
    assert_placed(projection, sure[7], projection.points[7])


def test_picked_points_give_their_test_digits_once_each_and_the_star_none():
    from deepviz.projection import picked_indices

    points = [
        {"curve_number": 7, "point_index": 3, "customdata": 4012},
        {"curve_number": 1, "point_index": 0, "customdata": 17},
        {"curve_number": 10, "point_index": 0},  # the drawing's star
        {"curve_number": 7, "point_index": 3, "customdata": 4012},  # a click on a dot inside a box
    ]
    assert picked_indices(points) == (4012, 17)
    assert picked_indices([]) == ()


def test_picked_digits_in_a_sentence_name_the_strays_among_a_cloud_and_the_mistakes():
    from deepviz.projection import picked_words

    ones_and_sevens = np.array([1] * 20 + [7] * 4 + [2])
    answers = ones_and_sevens.copy()
    answers[20:23] = 1  # three 7s read as 1s
    assert picked_words(ones_and_sevens, answers) == (
        "25 test digits, mostly 1s, and the 7s (4) and a 2 that sit among the 1s: "
        "the network reads 3 of them wrong (marked ✗)."
    )
    assert picked_words(np.array([8]), np.array([8])) == "One test digit, an 8: the network reads it right."
    assert picked_words(np.array([7]), np.array([1])) == "One test digit, a 7: the network reads it as a 1, wrongly."
    assert (
        picked_words(np.array([3, 3]), np.array([3, 3])) == "2 test digits, all 3s: the network reads every one right."
    )
    mix = np.array([3, 3, 5, 5, 8, 0, 1])
    assert picked_words(mix, mix).startswith("7 test digits, a mix: 3s (2), 5s (2), a 0, a 1 and others:")
