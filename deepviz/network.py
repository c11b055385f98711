"""Turn a ModelConfig into a Keras model, and describe that model without building it.

`summarize` is plain arithmetic so the Build page can show shapes and parameter counts
on every slider move without importing TensorFlow; a test checks it against Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepviz.config import IMAGE_SIDE, Conv, ModelConfig, Pool

CLASSES = 10
# Keras fuses this many batches into one call; progress callbacks then fire once per group.
STEPS_PER_EXECUTION = 32


@dataclass(frozen=True)
class LayerRow:
    name: str
    description: str
    output_shape: tuple[int, ...]
    params: int


def layer_names(config: ModelConfig) -> list[str]:
    """Explicit, stable names: conv1, pool1, conv2, ..., dense1, dense2 (Keras auto names drift)."""
    counts: dict[str, int] = {}
    names = []
    for layer in config.layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        names.append(f"{layer.kind}{counts[layer.kind]}")
    return names


def summarize(config: ModelConfig) -> list[LayerRow]:
    rows = [LayerRow("pixels", "Input 28x28 image", (IMAGE_SIDE, IMAGE_SIDE), 0)]
    side, channels, width = IMAGE_SIDE, 1, None
    for name, layer in zip(layer_names(config), config.layers):
        if isinstance(layer, Conv):
            params = (layer.kernel * layer.kernel * channels + 1) * layer.filters
            channels = layer.filters
            rows.append(LayerRow(name, layer.describe(), (side, side, channels), params))
        elif isinstance(layer, Pool):
            side //= layer.size
            rows.append(LayerRow(name, layer.describe(), (side, side, channels), 0))
        else:
            if width is None:
                width = side * side * channels
                rows.append(LayerRow("flatten", "Flatten", (width,), 0))
            rows.append(LayerRow(name, layer.describe(), (layer.units,), (width + 1) * layer.units))
            width = layer.units
    if width is None:
        width = side * side * channels
        rows.append(LayerRow("flatten", "Flatten", (width,), 0))
    rows.append(LayerRow("output", f"Dense {CLASSES} softmax", (CLASSES,), (width + 1) * CLASSES))
    return rows


def count_params(config: ModelConfig) -> int:
    return sum(row.params for row in summarize(config))


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
