import numpy as np
import pytest

from deepviz.activations import LayerReader
from deepviz.arithmetic import unit_arithmetic
from deepviz.config import Conv, Dense, ModelConfig, Pool

# Weights set by the seed, not training: the arithmetic is the same for any weights.
SQUASHING = ModelConfig(
    layers=(Conv(4, 3, "tanh"), Pool(2), Conv(3, 2, "gelu"), Pool(3), Dense(12, "sigmoid"), Dense(8, "linear"))
)


def built(config):
    import keras

    from deepviz.network import build_model

    keras.utils.set_random_seed(1)
    return build_model(config)


def positions(values, count=6):
    """A few units of a layer, borders and corners included (where 'same' padding adds zeros)."""
    if values.ndim == 1:
        return [(unit,) for unit in np.linspace(0, len(values) - 1, count).astype(int)]
    side, channels = values.shape[0], values.shape[-1]
    corners = [(0, 0, 0), (side - 1, side - 1, channels - 1), (0, side - 1, channels // 2)]
    middle = [(side // 2, side // 3, channel) for channel in range(min(channels, 3))]
    return corners + middle


def check_every_layer(model, image):
    activations = LayerReader(model)(image)
    checked = set()
    for activation in activations[1:]:
        for position in positions(activation.values):
            arithmetic = unit_arithmetic(model, activations, activation.name, position)
            assert arithmetic.output == pytest.approx(float(activation.values[position]), abs=1e-5, rel=1e-5)
            checked.add(arithmetic.kind)
    return checked


def test_the_default_cnns_units_compute_what_the_model_computes(default_trained, mnist):
    image = mnist.x_test[0] / 255.0
    assert check_every_layer(default_trained.model, image) == {"conv", "pool", "dense", "output"}


def test_the_tutorial_mlps_units_compute_what_the_model_computes(mnist):
    assert check_every_layer(built(ModelConfig()), mnist.x_test[1] / 255.0) == {"dense", "output"}


def test_tanh_gelu_sigmoid_and_linear_units_and_even_kernels_compute_what_the_model_computes(mnist):
    assert check_every_layer(built(SQUASHING), mnist.x_test[2] / 255.0) == {"conv", "pool", "dense", "output"}


def test_a_dense_unit_shows_its_inputs_weights_sum_and_bias(mnist):
    model = built(ModelConfig())
    activations = LayerReader(model)(mnist.x_test[0] / 255.0)
    arithmetic = unit_arithmetic(model, activations, "dense2", (5,))
    kernel, bias = model.get_layer("dense2").get_weights()
    assert arithmetic.inputs.shape == (128,) and np.allclose(arithmetic.weights, kernel[:, 5])
    assert arithmetic.bias == pytest.approx(bias[5]) and arithmetic.activation == "relu"
    assert arithmetic.total == pytest.approx(arithmetic.weighted_sum + arithmetic.bias)
    top = arithmetic.strongest(3)
    contributions = np.abs(arithmetic.contributions)
    assert contributions[top[0]] == contributions.max() and arithmetic.input_name(int(top[0])).startswith("dense1 unit")
    first = unit_arithmetic(model, activations, "dense1", (0,))
    assert first.input_name(30) == "pixel row 1, column 2"


def test_a_conv_unit_at_the_border_reads_padding_zeros(mnist):
    image = np.ones((28, 28), np.float32)  # ink everywhere: only padding is 0
    model = built(SQUASHING)
    arithmetic = unit_arithmetic(model, LayerReader(model)(image), "conv1", (0, 0, 1))
    assert arithmetic.inputs.shape == (3, 3, 1) and arithmetic.weights.shape == (3, 3, 1)
    assert (arithmetic.inputs[0] == 0).all() and (arithmetic.inputs[:, 0] == 0).all() and arithmetic.inputs[1, 1] == 1
    assert arithmetic.input_name(4) == "pixels filter 0, patch row 1, column 1"


def test_the_output_unit_is_the_softmax_of_the_ten_sums(default_trained, mnist):
    model = default_trained.model
    activations = LayerReader(model)(mnist.x_test[3] / 255.0)
    arithmetic = unit_arithmetic(model, activations, "output", (4,))
    assert arithmetic.activation == "softmax" and arithmetic.scores.shape == (10,)
    assert arithmetic.scores[4] == pytest.approx(arithmetic.total)
    assert arithmetic.input_name(0) == "dense1 unit 0"
