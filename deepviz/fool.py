"""Fool the network: the smallest change to a drawing that makes the model read another digit.

Gradient steps on the target digit's log-probability, each followed by an L1 shrink of the
change (every changed pixel gives back a little, so only the pixels that matter stay
changed), the image kept in [0, 1]; each picture stops changing as soon as the model reads
it as its target. How little ink that takes says how much the model leans on a few pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from deepviz.config import IMAGE_SIDE

if TYPE_CHECKING:
    import keras

STEPS = 300
STEP_SIZE = 0.1  # the most a pixel moves in one step
SHRINK = 0.01  # L1: what every changed pixel gives back at each step
CHANGED = 0.05  # a pixel counts as changed when it moved by more than this (of the 0-1 ink scale)


class Change(NamedTuple):
    """Per image: the changed image, the change, how the model reads it, and the ink it took."""

    images: np.ndarray  # (n, 28, 28) in [0, 1]
    differences: np.ndarray  # (n, 28, 28): changed minus original, in [-1, 1]
    probabilities: np.ndarray  # (n, 10): how the model reads the changed images
    fooled: np.ndarray  # (n,) bool: read as the target

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def ink(self) -> np.ndarray:
        """Sum of |change| per image: 1 is one pixel turned from blank to full ink."""
        return np.abs(self.differences).sum(axis=(1, 2))

    @property
    def pixels(self) -> np.ndarray:
        """How many pixels each change moved by more than CHANGED."""
        return (np.abs(self.differences) > CHANGED).sum(axis=(1, 2))


class Fooler:
    """Traced once per model: build one per model and reuse it. The model must end in a softmax."""

    def __init__(self, model: keras.Model):
        import tensorflow as tf

        images = tf.TensorSpec((None, IMAGE_SIDE, IMAGE_SIDE), tf.float32)

        @tf.function(input_signature=[images, tf.TensorSpec((None,), tf.int32), tf.TensorSpec((), tf.int32)])
        def search(originals, targets, steps):
            change = tf.zeros_like(originals)
            for _ in tf.range(steps):
                with tf.GradientTape() as tape:
                    tape.watch(change)
                    probabilities = model(originals + change, training=False)
                    chosen = tf.gather(probabilities, targets, batch_dims=1)
                    score = tf.reduce_sum(tf.math.log(chosen + 1e-12))
                done = tf.equal(tf.argmax(probabilities, axis=1, output_type=tf.int32), targets)
                if tf.reduce_all(done):
                    break
                grad = tape.gradient(score, change)
                # The largest pixel's step is STEP_SIZE, however faint or steep the gradient.
                top = tf.reduce_max(tf.abs(grad), axis=[1, 2], keepdims=True) + 1e-12
                stepped = change + STEP_SIZE * grad / top
                shrunk = tf.sign(stepped) * tf.nn.relu(tf.abs(stepped) - SHRINK)
                kept = tf.clip_by_value(originals + shrunk, 0.0, 1.0) - originals
                change = tf.where(done[:, tf.newaxis, tf.newaxis], change, kept)
            return change, model(originals + change, training=False)

        self._search = search

    def fool(self, images: np.ndarray, targets: list[int] | np.ndarray, steps: int = STEPS) -> Change:
        """For each image (n, 28, 28 in [0, 1]) the smallest change found, within `steps`
        steps, that makes the model read it as its target; `fooled` says where none was."""
        originals = np.asarray(images, np.float32)
        targets = np.asarray(targets, np.int32)
        change, probabilities = self._search(originals, targets, np.int32(steps))
        change, probabilities = change.numpy(), probabilities.numpy()
        return Change(originals + change, change, probabilities, probabilities.argmax(axis=1) == targets)
