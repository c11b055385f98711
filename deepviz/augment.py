"""Training digits distorted as people's pens distort them: a configuration's `augment=distort`.

MNIST's writers wrote on paper with similar pens; a class draws with a mouse, a finger or a
stylus, and its strokes wobble and bend. Each training batch, half of the digits is warped by a
smooth random displacement field (Simard et al. 2003's elastic distortion), in TensorFlow inside
the traced training loop, so that each epoch sees new distortions. Affine distortion (rotation,
shear, stretch) and stroke-width variation were measured too, on pen-drawn digits of writers no
choice was made on, and read them worse (docs/handwriting.md): the page's preparation already
removes a drawing's size, position and slant, and a rotated 1 or 7 looks like the other.
"""

from __future__ import annotations

import tensorflow as tf

from deepviz.config import IMAGE_SIDE

SHARE = 0.5  # of each batch's digits distorted; the rest stay as they are
ELASTIC_ALPHA = 34.0  # Simard et al.'s values for 28x28 digits: displacement scale, in pixels
ELASTIC_SIGMA = 4.0  # and the smoothing of the random field


def distorted(images: tf.Tensor) -> tf.Tensor:
    """`images` (B, 28, 28) in [0, 1], SHARE of them distorted afresh."""
    batch = tf.shape(images)[0]
    grid = tf.range(IMAGE_SIDE, dtype=tf.float32)
    dy, dx = _elastic(batch)
    warped = _sampled(images, grid[None, :, None] + dy, grid[None, None, :] + dx)
    chosen = tf.random.uniform([batch, 1, 1]) < SHARE
    return tf.where(chosen, warped, images)


def _elastic(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """A smooth random displacement (rows, columns) of every pixel: uniform noise, blurred by a
    Gaussian of ELASTIC_SIGMA and scaled by ELASTIC_ALPHA."""
    field = tf.random.uniform([batch, IMAGE_SIDE, IMAGE_SIDE, 2], -1.0, 1.0)
    radius = int(2 * ELASTIC_SIGMA)
    taps = tf.exp(-tf.square(tf.range(-radius, radius + 1, dtype=tf.float32)) / (2 * ELASTIC_SIGMA**2))
    taps /= tf.reduce_sum(taps)
    column = tf.tile(tf.reshape(taps, [-1, 1, 1, 1]), [1, 1, 2, 1])
    row = tf.reshape(column, [1, -1, 2, 1])
    smooth = tf.nn.depthwise_conv2d(field, column, [1, 1, 1, 1], "SAME")
    smooth = tf.nn.depthwise_conv2d(smooth, row, [1, 1, 1, 1], "SAME") * ELASTIC_ALPHA
    return smooth[..., 0], smooth[..., 1]


def _sampled(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """Bilinear sampling of `images` at (rows, cols), black outside."""
    top, left = tf.floor(rows), tf.floor(cols)
    down, right = rows - top, cols - left
    top, left = tf.cast(top, tf.int32), tf.cast(left, tf.int32)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1]])  # out-of-range reads land on the black border
    side = IMAGE_SIDE + 2
    flat = tf.reshape(padded, [-1])
    first = tf.range(tf.shape(images)[0])[:, None, None] * side * side

    def at(r: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
        r = tf.clip_by_value(r + 1, 0, side - 1)
        c = tf.clip_by_value(c + 1, 0, side - 1)
        return tf.gather(flat, first + r * side + c)

    return (1 - down) * ((1 - right) * at(top, left) + right * at(top, left + 1)) + down * (
        (1 - right) * at(top + 1, left) + right * at(top + 1, left + 1)
    )
