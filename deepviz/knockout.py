"""Switching units off: the model as it would be if some Dense units or conv filters passed on 0,
and what that does to a drawing's answer and to each digit's test accuracy.

A switched-off unit's value is never used, so the layers that read it get weights that ignore it
(`silenced`): the model's own weights with those reads zeroed, run by the traced call that
LayerReader already has, with no new model. Every other number the model computes is unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deepviz.activations import traced_with_weights
from deepviz.evaluation import Evaluation

if TYPE_CHECKING:
    import keras

# Scoring all 10,000 test digits with the Handwriting CNN took 4-6 s on a 2-core server; these
# first 2,000 (about 200 of each digit) take 0.6-0.9 s (`python -m deepviz bench`).
TEST_DIGITS = 2000

Off = Mapping[str, tuple[int, ...]]  # per layer, the Dense units or conv filters switched off


def silenced(model: keras.Model, off: Off) -> list[np.ndarray]:
    """`model.get_weights()` with every weight that reads a switched-off unit set to 0: in the
    next Conv or Dense layer, across any pooling (which keeps filters apart) and flattening (a
    flat index's filter is the index modulo the filter count)."""
    weights = [np.array(value) for value in model.get_weights()]
    place = {id(variable): index for index, variable in enumerate(model.weights)}
    layers = list(model.layers)
    names = [layer.name for layer in layers]
    for name, units in off.items():
        if not units:
            continue
        start = names.index(name)
        channels = layers[start].output.shape[-1]
        reader = next(layer for layer in layers[start + 1 :] if type(layer).__name__ in ("Dense", "Conv2D"))
        kernel = weights[place[id(reader.kernel)]]
        if kernel.ndim == 4:
            kernel[:, :, list(units), :] = 0
        else:
            kernel[np.isin(np.arange(kernel.shape[0]) % channels, units)] = 0
    return weights


def masked(names: list[str], kinds: list[str], outputs: list[np.ndarray], off: Off) -> list[np.ndarray]:
    """LayerReader's outputs (`batch`) as the switched-off model computes them: given the
    `silenced` weights, only the switched-off units themselves and their pooled maps still show
    what they would have passed on. Set to 0 here; the layers after already read them as 0."""
    shown = list(outputs)
    for name, units in off.items():
        at = names.index(name)
        while True:
            shown[at] = shown[at].copy()
            shown[at][..., list(units)] = 0
            at += 1
            if kinds[at] != "pool":
                break
    return shown


def strongest(values: np.ndarray, count: int) -> tuple[int, ...]:
    """The `count` units (or filters, by their strongest place) most active in `values`, one
    layer's activations for one image; only those above 0: a quiet unit passes nothing on."""
    strengths = values.reshape(-1, values.shape[-1]).max(axis=0) if values.ndim == 3 else values
    order = np.argsort(-strengths, kind="stable")[:count]
    return tuple(int(unit) for unit in order if strengths[unit] > 0)


class Scorer:
    """The model's answers for many images, with its own weights or `silenced` ones, traced once
    per model; it returns only the output, where LayerReader keeps every layer's maps."""

    def __init__(self, model: keras.Model):
        import tensorflow as tf

        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32)
        self._call = traced_with_weights(model, lambda x: model(x, training=False), [spec])

    def __call__(self, images: np.ndarray, weights=None, chunk: int = 1000) -> np.ndarray:
        images = np.asarray(images, np.float32)
        return np.concatenate(
            [self._call(images[i : i + chunk], weights=weights).numpy() for i in range(0, len(images), chunk)]
        )

    def scores(self, images: np.ndarray, labels: np.ndarray, weights=None) -> Evaluation:
        """How well it reads `images` (floats in [0, 1]), per digit too."""
        return Evaluation(labels.astype(np.int64), self(images, weights))


@dataclass(frozen=True)
class Knockout:
    """A session's units switched off in one model (`key` names it): the weights that ignore
    them, and how the model so reads the first TEST_DIGITS test digits."""

    key: str
    scorer: Scorer
    off: dict[str, tuple[int, ...]]
    weights: list[np.ndarray]
    test: Evaluation

    @property
    def described(self) -> str:
        return "; ".join(f"{layer}: {', '.join(map(str, units))}" for layer, units in self.off.items())
