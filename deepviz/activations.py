"""Every layer's activations for one image, from one call of a cached all-layers model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# These layers only reshape, flatten or (at inference) pass values through: showing
# them would repeat the layer before.
PASS_THROUGH = ("InputLayer", "Reshape", "Flatten", "Dropout")
KINDS = {"Conv2D": "conv", "MaxPooling2D": "pool", "Dense": "dense"}


@dataclass(frozen=True)
class LayerActivation:
    name: str
    kind: str  # input, conv, pool, dense or output
    values: np.ndarray  # (28, 28) for the input, (h, w, channels) for conv/pool, (units,) for dense


class Probe:
    """Wraps a trained model as `keras.Model(model.input, [layer.output ...])`, traced once.

    Build one per trained model and reuse it for every stroke: a traced call costs well
    under a millisecond, where `model.predict` costs tens."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        self.layers = [layer for layer in model.layers if type(layer).__name__ not in PASS_THROUGH]
        probe = keras.Model(model.inputs, [layer.output for layer in self.layers])
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
        self._call = tf.function(lambda x: probe(x, training=False), input_signature=[spec])

    def __call__(self, image: np.ndarray) -> list[LayerActivation]:
        outputs = self._call(image[np.newaxis].astype(np.float32))
        result = [LayerActivation("pixels", "input", image)]
        last = len(self.layers) - 1
        for i, (layer, values) in enumerate(zip(self.layers, outputs)):
            kind = "output" if i == last else KINDS.get(type(layer).__name__, "dense")
            result.append(LayerActivation(layer.name, kind, values.numpy()[0]))
        return result
