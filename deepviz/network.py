"""Turn a ModelConfig into a compiled Keras model (config.summarize describes it without TensorFlow)."""

from __future__ import annotations

from deepviz.config import CLASSES, IMAGE_SIDE, Conv, ModelConfig, Pool, layer_names

# Keras fuses this many batches into one call; progress callbacks then fire once per group.
STEPS_PER_EXECUTION = 32


def build_model(config: ModelConfig):
    """The functional model for `config`, compiled and ready to fit."""
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
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    return model


def make_optimizer(config: ModelConfig):
    import keras

    optimizers = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    return optimizers[config.optimizer](learning_rate=config.learning_rate)
