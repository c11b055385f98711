"""Which pixels decided a prediction: input-gradient (SmoothGrad) and occlusion maps.

Both run on every stroke, so each is one traced call on one batch, never `model.predict`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from deepviz.activations import traced_with_weights
from deepviz.config import IMAGE_SIDE

if TYPE_CHECKING:
    import keras

SMOOTH = 16  # noisy copies averaged into each gradient map on the Draw page


def top_two(probabilities: np.ndarray) -> tuple[int, int]:
    """The predicted digit and the runner-up."""
    first, second = np.argsort(-np.asarray(probabilities), kind="stable")[:2]
    return int(first), int(second)


@cache
def patch_masks(patch: int, stride: int) -> np.ndarray:
    """(patches, 28, 28) float32, 1 inside each patch; the last row and column of patches
    sit on the edge so every pixel is covered, for any stride up to the patch side."""
    if not 1 <= stride <= patch <= IMAGE_SIDE:
        raise ValueError(f"need 1 <= stride <= patch <= {IMAGE_SIDE}, got patch {patch}, stride {stride}")
    starts = sorted({*range(0, IMAGE_SIDE - patch + 1, stride), IMAGE_SIDE - patch})
    masks = np.zeros((len(starts) ** 2, IMAGE_SIDE, IMAGE_SIDE), np.float32)
    for k, (top, left) in enumerate((top, left) for top in starts for left in starts):
        masks[k, top : top + patch, left : left + patch] = 1
    return masks


class Saliency:
    """Saliency maps for one trained model, traced once: build one per model (like LayerReader)
    and reuse it for every drawing.

    The model must end in a Dense softmax layer, as every `build_model` model does: the
    gradient is taken of that layer's logit for the digit (the class score), not of the
    softmax, whose gradient vanishes for a confident prediction and, taken for the
    runner-up, only mirrors the predicted digit's map.

    Both maps take `weights`: a training snapshot to use in place of the model's own."""

    def __init__(self, model: keras.Model):
        import keras
        import tensorflow as tf

        head = model.layers[-1]
        if getattr(head, "activation", None) is not keras.activations.softmax:
            raise ValueError(f"the model must end in a Dense softmax layer, not {head.name}")
        features = keras.Model(model.inputs, head.input)
        spec = tf.TensorSpec((None, IMAGE_SIDE, IMAGE_SIDE), tf.float32)

        def gradient(images, digits):
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits = tf.matmul(features(images, training=False), head.kernel) + head.bias
                # Images do not interact in inference, so one sum gives each its own gradient.
                score = tf.reduce_sum(tf.gather(logits, digits, batch_dims=1))
            return tape.gradient(score, images)

        self._gradient = traced_with_weights(model, gradient, [spec, tf.TensorSpec((None,), tf.int32)])
        self._probabilities = traced_with_weights(model, lambda x: model(x, training=False), [spec])

    def gradients(
        self,
        image: np.ndarray,
        digits: list[int],
        smooth: int = 0,
        noise: float = 0.1,
        seed: int | None = 0,
        times_input: bool = True,
        weights=None,
    ) -> np.ndarray:
        """(len(digits), 28, 28) >= 0: for each digit, |d score(digit) / d pixel|, times the
        pixel's ink by default; all digits in one call.

        With `smooth` > 0 it is SmoothGrad: the gradient's magnitude averaged over `smooth`
        copies of the image with Gaussian noise of std `noise` added (the same copies for
        every digit). Times the ink, the map says which drawn pixels decided; without, where
        ink would change the score. For an MLP that second map covers the whole canvas,
        because first-layer weights of pixels that are almost never inked in training barely
        move from their random starting values."""
        image = np.asarray(image, np.float32)
        copies = image[np.newaxis]
        if smooth > 0:
            rng = np.random.default_rng(seed)
            copies = copies + rng.normal(0, noise, (smooth, IMAGE_SIDE, IMAGE_SIDE)).astype(np.float32)
        images = np.tile(copies, (len(digits), 1, 1))
        per_image = np.repeat(np.asarray(digits, np.int32), len(copies))
        grads = self._gradient(images, per_image, weights=weights).numpy()
        magnitude = np.abs(grads).reshape(len(digits), len(copies), IMAGE_SIDE, IMAGE_SIDE).mean(axis=1)
        return magnitude * image if times_input else magnitude

    def occlusions(
        self, image: np.ndarray, digits: list[int], patch: int = 4, stride: int = 2, weights=None
    ) -> np.ndarray:
        """(len(digits), 28, 28): for each digit, the drop in p(digit) when a `patch` x `patch`
        square is blanked, averaged over the patches covering each pixel; one call for all.
        Negative where blanking raises p(digit); zero on blank paper, since blanking it
        changes nothing."""
        image = np.asarray(image, np.float32)
        masks = patch_masks(patch, stride)
        # The untouched image rides in the same batch as the blanked ones.
        images = np.concatenate([image[np.newaxis], image * (1 - masks)])
        probability = self._probabilities(images, weights=weights).numpy()[:, digits]
        drops = probability[0] - probability[1:]
        flat = masks.reshape(len(masks), -1)
        return ((drops.T @ flat) / flat.sum(axis=0)).reshape(len(digits), IMAGE_SIDE, IMAGE_SIDE)

    def explain(self, image: np.ndarray, probabilities: np.ndarray, weights=None) -> list[tuple[str, np.ndarray]]:
        """The Draw page's four maps, titled: which ink pushes the network towards its answer
        and towards its second choice (SmoothGrad), and where covering the drawing lowers each."""
        best, runner_up = top_two(probabilities)
        gradients = self.gradients(image, [best, runner_up], smooth=SMOOTH, weights=weights)
        # Covering what makes the answer usually helps the second choice: show only real drops.
        drops = np.maximum(self.occlusions(image, [best, runner_up], weights=weights), 0)
        return [
            (f"Gradient: ink for {best} (answer)", gradients[0]),
            (f"Gradient: ink for {runner_up} (second)", gradients[1]),
            (f"Occlusion: covering lowers {best}", drops[0]),
            (f"Occlusion: covering lowers {runner_up}", drops[1]),
        ]
