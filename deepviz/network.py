"""Turn a ModelConfig into a compiled Keras model (config.summarize describes it without TensorFlow)."""

from __future__ import annotations

import math
import types
from typing import TYPE_CHECKING

from deepviz.config import CLASSES, IMAGE_SIDE, Conv, ModelConfig, Pool, layer_names
from deepviz.keras_internals import adam_moments

if TYPE_CHECKING:
    import keras
    import tensorflow as tf


def distribution() -> tf.distribute.Strategy:
    """Where training runs: mirrored over every GPU when TensorFlow sees several; else TensorFlow's
    default, which is the GPU when there is one and the CPU otherwise."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus]) if len(gpus) > 1 else tf.distribute.get_strategy()


def build_model(config: ModelConfig) -> keras.Model:
    """The functional model for `config`, compiled and ready to train, on `distribution()`'s devices."""
    with distribution().scope():
        return _build(config)


def _build(config: ModelConfig) -> keras.Model:
    import keras
    from keras import layers

    inputs = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="pixels")
    x = inputs
    if config.has_conv:
        x = layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1), name="channels")(x)
    flat = False
    for name, layer in zip(layer_names(config), config.layers):
        if isinstance(layer, Conv):
            x = layers.Conv2D(layer.filters, layer.kernel, padding="same", activation=layer.activation, name=name)(x)
        elif isinstance(layer, Pool):
            x = layers.MaxPooling2D(layer.size, name=name)(x)
        else:
            if not flat:
                x, flat = layers.Flatten(name="flatten")(x), True
            x = layers.Dense(layer.units, activation=layer.activation, name=name)(x)
            if layer.dropout:
                x = layers.Dropout(layer.dropout, name=f"{name}_dropout")(x)
    if not flat:
        x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(CLASSES, activation="softmax", name="output")(x)
    model = keras.Model(inputs, outputs, name="deepviz")
    model.compile(
        optimizer=make_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_optimizer(config: ModelConfig) -> keras.optimizers.Optimizer:
    import keras

    optimizers = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    learning_rate = config.learning_rate
    if config.schedule == "cosine":
        steps = math.ceil(config.training_images / config.batch_size) * config.epochs
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps)
    optimizer = optimizers[config.optimizer](learning_rate=learning_rate)
    if config.optimizer == "adam":
        # On the instance, not a subclass: a saved model's optimizer is still plain Keras Adam.
        optimizer.update_step = types.MethodType(fused_adam_step, optimizer)
    return optimizer


def fused_adam_step(
    optimizer: keras.optimizers.Adam, gradient: tf.Tensor, variable: keras.Variable, learning_rate: tf.Tensor
) -> None:
    """Keras Adam's update of one variable as TensorFlow's fused kernel, instead of the dozen
    small ops Keras builds: the same arithmetic (equal to float rounding), and with a small
    network's batches of 32 those ops' overhead is much of a training step (see
    docs/performance.md)."""
    import tensorflow as tf

    dtype = variable.dtype
    momentum, velocity = adam_moments(optimizer, variable)
    step = tf.cast(optimizer.iterations + 1, dtype)
    beta_1, beta_2 = tf.cast(optimizer.beta_1, dtype), tf.cast(optimizer.beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle,
        m=momentum.handle,
        v=velocity.handle,
        beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step),
        lr=tf.cast(learning_rate, dtype),
        beta1=beta_1,
        beta2=beta_2,
        epsilon=tf.cast(optimizer.epsilon, dtype),
        grad=tf.cast(gradient, dtype),
    )
