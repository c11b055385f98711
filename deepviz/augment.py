"""Training digits distorted as people's pens distort them: a configuration's `augment=distort`.

MNIST's writers wrote on paper with similar pens; a class draws with a mouse, a finger or a
stylus, slanted, stretched and wobbly, with strokes thicker or thinner than MNIST's. Each
training batch, a share of the digits is warped by a random affine map (rotation, shear,
stretch) and a smooth random displacement field (Simard et al. 2003's elastic distortion),
and its strokes are thickened or thinned: in TensorFlow, inside the traced training loop, so
that each epoch sees new distortions (for the Small CNN, it takes about as long as the network's
own steps). Measured on pen-drawn digits of writers no
choice was made on (docs/handwriting.md), none of these made the default model read new writers
better, so the default trains without them; a link's configuration may ask for them.
"""

from __future__ import annotations

import math

import tensorflow as tf

from deepviz.config import IMAGE_SIDE

SHARE = 0.5  # of each batch's digits distorted; the rest stay as MNIST has them
ROTATE = math.radians(15)
SHEAR = 0.3
STRETCH = 0.15  # each side scaled by up to 15% either way, independently
ELASTIC_ALPHA = 34.0  # Simard et al.'s values for 28x28 digits: displacement scale, in pixels
ELASTIC_SIGMA = 4.0  # and the smoothing of the random field
THICKNESS = 0.6  # how far towards a 3x3 dilation or erosion a digit's strokes may go


def distorted(images: tf.Tensor) -> tf.Tensor:
    """`images` (B, 28, 28) in [0, 1], SHARE of them distorted afresh."""
    batch = tf.shape(images)[0]
    rows, cols = _sources(batch)
    warped = _thickened(_sampled(images, rows, cols), batch)
    chosen = tf.random.uniform([batch, 1, 1]) < SHARE
    return tf.where(chosen, warped, images)


def _sources(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Where each output pixel reads from: a random affine map about the centre, plus a
    smooth random displacement."""
    centre = (IMAGE_SIDE - 1) / 2
    grid = tf.range(IMAGE_SIDE, dtype=tf.float32) - centre
    y, x = grid[None, :, None], grid[None, None, :]

    def uniform(limit: float) -> tf.Tensor:
        return tf.random.uniform([batch, 1, 1], -limit, limit)

    angle, shear = uniform(ROTATE), uniform(SHEAR)
    scale_y, scale_x = tf.exp(uniform(STRETCH)), tf.exp(uniform(STRETCH))
    cos, sin = tf.cos(angle), tf.sin(angle)
    # The inverse map, output to input: stretch, then shear along x, then rotate.
    ys, xs = y / scale_y, (x + shear * y) / scale_x
    rows = cos * ys - sin * xs + centre
    cols = sin * ys + cos * xs + centre
    dy, dx = _elastic(batch)
    return rows + dy, cols + dx


def _elastic(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
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


def _thickened(images: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """Each digit's strokes blended towards their 3x3 dilation (thicker) or erosion (thinner)."""
    planes = images[..., None]
    thicker = tf.nn.max_pool2d(planes, 3, 1, "SAME")[..., 0]
    thinner = -tf.nn.max_pool2d(-planes, 3, 1, "SAME")[..., 0]
    amount = tf.random.uniform([batch, 1, 1], -THICKNESS, THICKNESS)
    return images + tf.nn.relu(amount) * (thicker - images) + tf.nn.relu(-amount) * (thinner - images)
