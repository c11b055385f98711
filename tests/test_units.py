import numpy as np

from deepviz.activations import LayerReader
from deepviz.config import PRESETS, ModelConfig
from deepviz.network import build_model
from deepviz.units import first_layer_templates, top_images, unit_strengths


def test_dense_templates_are_each_units_input_weights_as_an_image():
    model = build_model(ModelConfig())
    name, templates = first_layer_templates(model)
    kernel = model.get_layer("dense1").get_weights()[0]
    assert name == "dense1" and templates.shape == (128, 28, 28)
    assert templates[5, 3, 7] == kernel[3 * 28 + 7, 5]  # row-major, as Flatten lays pixels out


def test_conv_templates_are_the_kernels():
    model = build_model(PRESETS["Small CNN"])
    name, templates = first_layer_templates(model)
    assert name == "conv1" and templates.shape == (16, 3, 3)
    np.testing.assert_array_equal(templates[4], model.get_layer("conv1").get_weights()[0][:, :, 0, 4])


def test_a_unit_that_only_sees_one_pixel_is_most_excited_by_images_inked_there():
    model = build_model(PRESETS["Shallow net"])
    first = model.get_layer("dense1")
    kernel = np.zeros(first.get_weights()[0].shape, np.float32)
    kernel[14 * 28 + 20, 3] = 1.0  # unit 3 looks only at pixel (14, 20)
    first.set_weights([kernel, np.zeros(kernel.shape[1], np.float32)])
    images = np.zeros((50, 28, 28), np.float32)
    images[[7, 31], 14, 20] = 1.0
    strengths = unit_strengths(LayerReader(model), images, chunk=16)
    assert list(strengths) == ["dense1"] and strengths["dense1"].shape == (50, 32)
    assert set(top_images(strengths["dense1"], 3, count=2)) == {7, 31}
    _, templates = first_layer_templates(model)
    assert np.unravel_index(templates[3].argmax(), (28, 28)) == (14, 20)


def test_feature_maps_count_by_their_strongest_position(mnist):
    model = build_model(PRESETS["Small CNN"])
    reader = LayerReader(model)
    images = mnist.scaled(mnist.x_test[:40])
    strengths = unit_strengths(reader, images, chunk=16)
    assert list(strengths) == ["conv1", "pool1", "conv2", "pool2", "dense1"]
    assert strengths["conv1"].shape == (40, 16) and strengths["dense1"].shape == (40, 64)
    maps = reader.batch(images[:3])[1]
    np.testing.assert_allclose(strengths["conv1"][:3], maps.max(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_top_images_are_strongest_first():
    strengths = np.array([[0.1], [0.9], [0.5], [0.7]])
    assert list(top_images(strengths, 0, count=3)) == [1, 3, 2]


def test_a_unit_is_dead_when_no_image_makes_it_fire():
    from deepviz.units import dead_units

    strengths = np.array([[0.0, 0.5, -1.0], [0.0, 0.0, -2.0], [0.0, 3.0, -0.5]])
    # The third never goes above 0, but it varies: a tanh unit like it still tells digits apart.
    assert dead_units(strengths).tolist() == [True, False, False]


def test_a_layer_opens_on_the_live_unit_whose_top_digits_agree_most():
    from deepviz.units import telling_unit

    labels = np.arange(30) % 3  # digits 0, 1, 2, 0, 1, 2, ...
    strengths = np.zeros((30, 4))
    strengths[:, 1] = np.arange(30)  # fires for everything: its top 3 are three different digits
    strengths[labels == 2, 2] = 1.0  # fires only for 2s
    strengths[labels == 2, 3] = 5.0  # as telling as unit 2, and stronger
    assert telling_unit(strengths, labels, count=3) == 3  # never unit 0, which is dead
    strengths[:, 3] = 0.0
    assert telling_unit(strengths, labels, count=3) == 2


def test_a_layer_with_no_live_unit_has_none_to_open_on():
    from deepviz.units import dead_summary, dead_units, telling_unit

    strengths = -np.ones((20, 5))
    assert telling_unit(strengths, np.arange(20) % 10) is None
    assert dead_summary(dead_units(strengths)) == "none of its 5 units ever fires"
    strengths[3, 1:] = 1.0
    assert dead_summary(dead_units(strengths)) == "1 of 5 units never fire"
    strengths[3, 0] = 1.0
    assert dead_summary(dead_units(strengths)) == "all 5 units fire"


def test_the_default_model_opens_on_a_live_unit_that_agrees_more_than_unit_0(default_trained, mnist):
    from deepviz.units import dead_units, telling_unit

    strengths = unit_strengths(default_trained.reader, mnist.scaled(mnist.x_test))
    for values in strengths.values():
        unit = telling_unit(values, mnist.y_test)
        assert not dead_units(values)[unit]
        agree = np.bincount(mnist.y_test[top_images(values, unit)], minlength=10).max()
        assert agree >= np.bincount(mnist.y_test[top_images(values, 0)], minlength=10).max()
