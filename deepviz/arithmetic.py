"""One unit's arithmetic with the real numbers: what it reads, its weights, the weighted sum, the
bias and the activation function, as the model computes it for one drawing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

    from deepviz.activations import LayerActivation

# Each activation function deepviz builds (deepviz.config.ACTIVATIONS), in float64. Keras's
# "gelu" is the exact one, with erf, not the tanh approximation.
FUNCTIONS = {
    "relu": lambda x: max(x, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda x: 1 / (1 + math.exp(-x)),
    "gelu": lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2))),
    "linear": lambda x: x,
}


@dataclass(frozen=True)
class Arithmetic:
    """A unit's sum for one image: output = activation(sum of inputs x weights + bias).

    Dense: `inputs` and `weights` are the whole previous layer, flat. Conv: the patch under the
    kernel, (k, k, input channels), with 'same' padding's zeros past the border, and the kernel.
    Pool: the window, and no weights: its output is the window's largest value."""

    layer: str
    kind: str  # dense, conv, pool or output
    position: tuple[int, ...]  # (unit,) or, in a feature map, (row, column, channel)
    source: str  # the layer it reads
    source_shape: tuple[int, ...]  # that layer's shape, to name an input by its place
    inputs: np.ndarray
    weights: np.ndarray | None
    bias: float
    activation: str  # relu, tanh, sigmoid, gelu, linear, softmax or max
    output: float
    scores: np.ndarray | None = None  # the output layer's ten sums, which softmax turns into chances

    @property
    def contributions(self) -> np.ndarray:
        return self.inputs * self.weights if self.weights is not None else self.inputs

    @property
    def weighted_sum(self) -> float:
        return float(self.contributions.sum())

    @property
    def total(self) -> float:
        """What goes into the activation function."""
        return self.weighted_sum + self.bias

    def strongest(self, count: int) -> np.ndarray:
        """Flat indices of the inputs that move the sum most, either way, strongest first."""
        flat = np.abs(self.contributions.reshape(-1))
        return np.argsort(-flat, kind="stable")[:count]

    def input_name(self, index: int) -> str:
        """Where flat input `index` comes from, in the words of the page."""
        if self.kind in ("conv", "pool"):
            row, column, channel = (int(i) for i in np.unravel_index(index, self.inputs.shape))
            return f"{self.source} filter {channel}, patch row {row}, column {column}"
        if self.source == "pixels":
            row, column = divmod(index, self.source_shape[1])
            return f"pixel row {row}, column {column}"
        if len(self.source_shape) == 3:
            row, column, channel = (int(i) for i in np.unravel_index(index, self.source_shape))
            return f"{self.source} filter {channel} at row {row}, column {column}"
        return f"{self.source} unit {index}"


def unit_arithmetic(
    model: keras.Model, activations: list[LayerActivation], layer: str, position: tuple[int, ...]
) -> Arithmetic:
    """The arithmetic of the unit at `position` of `layer` (a Dense, Conv2D or MaxPooling2D
    layer, or the output), for the image whose `activations` (LayerReader's) are given: it reads
    the shown layer before it, whatever only reshapes or passes values on between them."""
    names = [activation.name for activation in activations]
    at = names.index(layer)
    before = activations[at - 1]
    kind = activations[at].kind
    source = before.values if before.values.ndim != 2 else before.values[..., np.newaxis]  # pixels: 1 channel
    keras_layer = model.get_layer(layer)
    common: dict[str, Any] = {
        "layer": layer,
        "kind": kind,
        "position": position,
        "source": before.name,
        "source_shape": before.values.shape,
    }
    if kind == "pool":
        row, column, channel = position
        size = keras_layer.pool_size[0]
        window = source[row * size : (row + 1) * size, column * size : (column + 1) * size, channel : channel + 1]
        return Arithmetic(**common, inputs=window, weights=None, bias=0.0, activation="max", output=float(window.max()))
    kernel, bias = (np.asarray(value, np.float64) for value in keras_layer.get_weights())
    function = keras_layer.get_config()["activation"]
    if kind == "conv":
        row, column, channel = position
        side = kernel.shape[0]
        before_pad = (side - 1) // 2  # TensorFlow's 'same': the odd one of an even kernel's padding goes after
        padded = np.pad(source, ((before_pad, side - 1 - before_pad), (before_pad, side - 1 - before_pad), (0, 0)))
        patch = padded[row : row + side, column : column + side, :]
        inputs, weights, unit = patch, kernel[..., channel], channel
    else:
        inputs, (unit,) = source.reshape(-1), position
        weights = kernel[:, unit]
    inputs = np.asarray(inputs, np.float64)
    scores = None
    if kind == "output":  # softmax reads every digit's sum
        scores = inputs @ kernel + bias
        chances = np.exp(scores - scores.max())
        output = chances[unit] / chances.sum()
    else:
        output = FUNCTIONS[function]((inputs * weights).sum() + bias[unit])
    return Arithmetic(
        **common,
        inputs=inputs,
        weights=weights,
        bias=float(bias[unit]),
        activation=function,
        output=float(output),
        scores=scores,
    )
