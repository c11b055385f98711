"""Every layer's activations, from one call of a cached all-layers model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

# These layers only reshape, flatten or (at inference) pass values through: showing
# them would repeat the layer before.
PASS_THROUGH = ("InputLayer", "Reshape", "Flatten", "Dropout")
KINDS = {"Conv2D": "conv", "MaxPooling2D": "pool", "Dense": "dense"}


def traced_with_weights(model: keras.Model, function: Callable, input_specs: list) -> Callable:
    """`function(*inputs)` traced once, run as `call(*inputs, weights=None)`.

    `weights` (a list like `model.get_weights()`) stands in for the model's own for that
    call, without writing them: a model that many sessions share can be replayed at any
    snapshot by all of them at once."""
    import keras
    import tensorflow as tf

    variables = model.weights
    weight_specs = [tf.TensorSpec(v.shape, v.dtype) for v in variables]

    # Feeding the model's own weights in as inputs would double the cost of a call.
    own = tf.function(function, input_signature=input_specs)

    @tf.function(input_signature=[input_specs, weight_specs])
    def replayed(inputs, weights):
        with keras.StatelessScope(state_mapping=list(zip(variables, weights))):
            return function(*inputs)

    def call(*inputs, weights=None):
        return own(*inputs) if weights is None else replayed(list(inputs), weights)

    return call


def every(outputs) -> list:
    """A Keras model's outputs as a list: one with a single output (a network with no hidden
    layer) returns its tensor alone, not in a list."""
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@dataclass(frozen=True)
class LayerActivation:
    name: str
    kind: str  # input, conv, pool, dense or output
    values: np.ndarray  # (28, 28) for the input, (h, w, channels) for conv/pool, (units,) for dense


class LayerReader:
    """Wraps a trained model as `keras.Model(model.input, [layer.output ...])`, traced once.

    Build one per trained model and reuse it for every stroke: a traced call costs well
    under a millisecond, where `model.predict` costs tens."""

    def __init__(self, model: keras.Model):
        import keras
        import tensorflow as tf

        layers = [layer for layer in model.layers if type(layer).__name__ not in PASS_THROUGH]
        self.names = ["pixels", *(layer.name for layer in layers)]
        self.kinds = ["input", *(KINDS.get(type(layer).__name__, "dense") for layer in layers[:-1]), "output"]
        every_layer = keras.Model(model.inputs, [layer.output for layer in layers])
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
        self._call = traced_with_weights(model, lambda x: every(every_layer(x, training=False)), [spec])

    def batch(self, images: np.ndarray, chunk: int = 500, weights=None) -> list[np.ndarray]:
        """Each visible layer's outputs for (n, 28, 28) images, input first, computed `chunk` at a time;
        with the model's own weights, or with `weights` (a training snapshot) in their place."""
        images = np.asarray(images, np.float32)
        parts = [
            [part.numpy() for part in self._call(images[i : i + chunk], weights=weights)]
            for i in range(0, len(images), chunk)
        ]
        return [images, *(np.concatenate(layer) for layer in zip(*parts))]

    def __call__(self, image: np.ndarray, weights=None) -> list[LayerActivation]:
        outputs = self.batch(image[np.newaxis], weights=weights)
        return [LayerActivation(name, kind, values[0]) for name, kind, values in zip(self.names, self.kinds, outputs)]


def fixed_scales(reader: LayerReader, images: np.ndarray, percentile: float = 99.5) -> dict[str, float]:
    """Each hidden layer's top of a fixed colour scale: how active its units get on typical
    digits (`images`), so that a colour means the same for every drawing. A few values go
    higher and show at full brightness: the top of all would leave most units dark."""
    outputs = reader.batch(images)
    return {
        name: max(float(np.percentile(values, percentile)), 1e-6)
        for name, values in zip(reader.names[1:-1], outputs[1:-1])
    }
