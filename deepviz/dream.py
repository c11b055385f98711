"""What a unit or a digit looks for: an input image grown, by gradient ascent, to excite it.

Left alone, the ascent finds speckled noise that excites a unit as well as any digit does
but that no one can read. Three regularisers make the picture readable: jitter (each step
sees the image shifted a pixel or two, so no single pixel's position counts), blur (high
frequencies smoothed away every few steps) and L2 decay (ink fades unless it earns its place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from deepviz.activations import PASS_THROUGH
from deepviz.config import IMAGE_SIDE

if TYPE_CHECKING:
    import keras

OUTPUT = "output"  # the layer whose units are the ten digits
BLUR_EVERY = 4  # steps between blurs
BLUR_RADIUS = 2  # pixels: the Gaussian's 5x5 kernel covers sigmas up to about 1
LEAK = 0.1  # how much a feature map's quiet positions count towards its channel's score


@dataclass(frozen=True)
class Settings:
    """How a picture is grown; the same settings (seed included) give the same picture."""

    jitter: int = 2  # pixels of random shift at each step
    blur: float = 1.0  # the Gaussian's sigma, in pixels; 0 for none
    decay: float = 0.02  # L2: the share of every pixel's ink taken away at each step
    steps: int = 96
    step_size: float = 0.1
    seed: int = 0


class Dream(NamedTuple):
    images: np.ndarray  # (n, 28, 28) in [0, 1], one per unit asked for
    probabilities: np.ndarray  # (n, 10): how the model reads each


class Dreamer:
    """Traces the ascent once per layer of one model: build one per model and reuse it.

    The ascent raises a unit's weighted sum before its activation function: after a relu, a
    unit that is quiet for the starting picture gives no gradient to climb. A Dense unit is
    that sum; a Conv or Pool channel is its mean over the feature map, quiet positions
    counting a tenth (a pattern found anywhere in the picture); a digit is its log-probability,
    which the ascent can raise only by making that digit's score beat the other nine, unlike
    the bare score (the logit), which a picture can raise along with every other digit's."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.layers = [
            layer.name
            for layer in model.layers
            if type(layer).__name__ not in PASS_THROUGH and layer.name != model.layers[-1].name
        ] + [OUTPUT]
        self._traced: dict = {}

    def units(self, layer: str) -> int:
        if layer == OUTPUT:
            return int(self.model.outputs[0].shape[-1])
        return int(self.model.get_layer(layer).output.shape[-1])

    def dream(self, layer: str, units: list[int], settings: Settings = Settings()) -> Dream:
        """One picture per unit of `layer` (a name in `self.layers`), all in one call."""
        if layer not in self._traced:
            self._traced[layer] = self._trace(layer)
        images, probabilities = self._traced[layer](
            np.asarray(units, np.int32),
            np.int32(settings.steps),
            np.float32(settings.step_size),
            np.int32(settings.jitter),
            np.float32(settings.blur),
            np.float32(settings.decay),
            np.int32(settings.seed),
        )
        return Dream(images.numpy(), probabilities.numpy())

    def digits(self, settings: Settings = Settings()) -> Dream:
        """A picture of each digit, 0 to 9, as the model imagines it."""
        return self.dream(OUTPUT, list(range(self.units(OUTPUT))), settings)

    def _weighted(self, layer: str):
        """The layer whose weighted sums the ascent raises for `layer`: itself, or for a Pool
        layer the Conv layer before it (pooling keeps the strongest of a channel's values)."""
        layers = self.model.layers
        at = len(layers) - 1 if layer == OUTPUT else [found.name for found in layers].index(layer)
        while not hasattr(layers[at], "kernel"):
            at -= 1
        return layers[at]

    def _trace(self, layer: str):
        import keras
        import tensorflow as tf

        model = self.model
        weighted = self._weighted(layer)
        features = keras.Model(model.inputs, weighted.input)

        def scores(images):
            values = features(images, training=False)
            if len(values.shape) == 4:
                values = weighted.convolution_op(values, weighted.kernel)
            else:
                values = tf.matmul(values, weighted.kernel)
            values = values + weighted.bias if weighted.use_bias else values
            if layer == OUTPUT:
                return tf.nn.log_softmax(values)
            if len(values.shape) == 4:
                # Leaky: every position's gradient flows, and positions that fire count in full.
                return tf.reduce_mean(tf.maximum(values, LEAK * values), axis=[1, 2])
            return values

        # One trace serves every setting: they go in as tensors, not as Python numbers.
        scalars = (tf.int32, tf.float32, tf.int32, tf.float32, tf.float32, tf.int32)
        spec = [tf.TensorSpec((None,), tf.int32), *(tf.TensorSpec((), dtype) for dtype in scalars)]

        @tf.function(input_signature=spec)
        def ascend(units, steps, step_size, jitter, blur, decay, seed):
            shape = (tf.shape(units)[0], IMAGE_SIDE, IMAGE_SIDE)
            images = tf.random.stateless_uniform(shape, [seed, -1], 0.0, 0.1)  # a faint grey smudge
            kernel = gaussian(blur)
            for step in tf.range(steps):
                shift = tf.random.stateless_uniform((2,), [seed, step], -jitter, jitter + 1, tf.int32)
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    # The gradient flows back through the shift: the step lands on the unshifted image.
                    shifted = tf.roll(images, shift, axis=[1, 2])
                    score = tf.reduce_sum(tf.gather(scores(shifted), units, batch_dims=1))
                grad = tape.gradient(score, images)
                # Each picture's step is its gradient's size in units of its own spread: a steady
                # pace whether the unit answers faintly or strongly.
                spread = tf.math.reduce_std(grad, axis=[1, 2], keepdims=True) + 1e-8
                images = (images + step_size * grad / spread) * (1 - decay)
                if step % BLUR_EVERY == BLUR_EVERY - 1:
                    images = tf.nn.conv2d(images[..., tf.newaxis], kernel, 1, "SAME")[..., 0]
                images = tf.clip_by_value(images, 0.0, 1.0)
            return images, model(images, training=False)

        return ascend


def gaussian(sigma):
    """A 5x5 Gaussian blur kernel for tf.nn.conv2d; sigma 0 leaves the image as it is."""
    import tensorflow as tf

    offsets = tf.range(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=tf.float32)
    line = tf.exp(-(offsets**2) / (2 * tf.maximum(sigma, 1e-3) ** 2))
    square = line[:, tf.newaxis] * line[tf.newaxis, :]
    return (square / tf.reduce_sum(square))[:, :, tf.newaxis, tf.newaxis]
