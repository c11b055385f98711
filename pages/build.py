from dataclasses import replace

import pandas as pd
import streamlit as st

from deepviz.config import (
    ACTIVATIONS,
    MAX_HIDDEN_LAYERS,
    MNIST_TRAIN_IMAGES,
    OPTIMIZERS,
    PRESETS,
    ConfigError,
    Conv,
    Dense,
    Pool,
)
from deepviz.network import count_params, summarize
from pages.common import config, preload_tensorflow, run_app_first, set_config

run_app_first()
preload_tensorflow()

# Widgets are keyed by this version; a preset, an added or a removed layer bumps it so every
# widget is drawn afresh from the new configuration instead of keeping its old value.
st.session_state.setdefault("build_version", 0)


def replace_config(new) -> None:
    set_config(new)
    st.session_state.build_version += 1


def change_layers(layers: list) -> None:
    try:
        new = config().with_layers(tuple(layers))
    except ConfigError as error:
        st.session_state.build_error = f"Not changed: {error}."
        return
    replace_config(new)


def add_layer(layer) -> None:
    layers = list(config().layers)
    # Conv and pooling layers go before the Flatten, i.e. after the last of their kind.
    at = len(layers) if isinstance(layer, Dense) else sum(not isinstance(x, Dense) for x in layers)
    layers.insert(at, layer)
    change_layers(layers)


def remove_layer(index: int) -> None:
    layers = list(config().layers)
    del layers[index]
    change_layers(layers)


def with_current(options: list, current) -> list:
    """Slider stops, plus the current value if a shared link chose one off the stops."""
    return sorted(set(options) | {current})


def edit_layer(layer, key: str):
    if isinstance(layer, Dense):
        a, b, c = st.columns(3)
        units = a.slider("Units", 1, 512, layer.units, key=f"{key}-units", help="How many neurons this layer has.")
        activation = b.selectbox(
            "Activation", ACTIVATIONS, ACTIVATIONS.index(layer.activation), key=f"{key}-act",
            help="The function each unit applies to its weighted sum.",
        )
        dropout = c.slider(
            "Dropout", 0.0, 0.9, layer.dropout, 0.05, key=f"{key}-drop",
            help="Fraction of units switched off at random while training, against overfitting.",
        )
        return Dense(units, activation, dropout)
    if isinstance(layer, Conv):
        a, b, c = st.columns(3)
        filters = a.slider("Filters", 1, 128, layer.filters, key=f"{key}-filters", help="How many patterns it looks for.")
        kernel = b.select_slider("Kernel size", [1, 3, 5, 7], layer.kernel, key=f"{key}-kernel")
        activation = c.selectbox("Activation", ACTIVATIONS, ACTIVATIONS.index(layer.activation), key=f"{key}-act")
        return Conv(filters, kernel, activation)
    size = st.select_slider("Pool size", [2, 3, 4], layer.size, key=f"{key}-size", help="Keeps the strongest value of each size x size patch.")
    return Pool(size)


st.title("Build a network")
st.caption("Every change is saved in the address bar: copy the URL to share this exact network.")

current = config()
version = st.session_state.build_version
if error := st.session_state.pop("build_error", None):
    st.error(error)

st.write("**Start from a preset**")
for column, (name, preset) in zip(st.columns(len(PRESETS)), PRESETS.items()):
    column.button(
        name, on_click=replace_config, args=(preset,), width="stretch",
        type="primary" if preset == current else "secondary",
    )

editor, summary = st.columns([1, 1], gap="large")
with editor:
    st.subheader("Hidden layers")
    st.caption("Input: a 28x28 image. Conv and MaxPool layers come first, then Flatten, then Dense layers; "
               "the output layer (10 digits, softmax) is always last.")
    layers = []
    for index, layer in enumerate(current.layers):
        with st.container(border=True):
            title, remove = st.columns([3, 1])
            title.markdown(f"**{index + 1}. {layer.describe()}**")
            remove.button("Remove", key=f"{version}-{index}-remove", on_click=remove_layer, args=(index,))
            layers.append(edit_layer(layer, f"{version}-{index}"))
    full = len(current.layers) >= MAX_HIDDEN_LAYERS
    add_dense, add_conv, add_pool = st.columns(3)
    add_dense.button("Add Dense layer", on_click=add_layer, args=(Dense(64),), disabled=full, width="stretch")
    add_conv.button("Add Conv layer", on_click=add_layer, args=(Conv(16, 3),), disabled=full, width="stretch")
    add_pool.button("Add MaxPool layer", on_click=add_layer, args=(Pool(2),), disabled=full, width="stretch")
    if full:
        st.caption(f"At most {MAX_HIDDEN_LAYERS} hidden layers.")

    st.subheader("Training")
    a, b = st.columns(2)
    optimizer = a.selectbox("Optimizer", OPTIMIZERS, OPTIMIZERS.index(current.optimizer), key=f"{version}-opt")
    learning_rate = b.select_slider(
        "Learning rate", with_current([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0], current.learning_rate),
        current.learning_rate, key=f"{version}-lr", help="How big a step each update takes.",
    )
    batch_size = a.select_slider(
        "Batch size", with_current([8, 16, 32, 64, 128, 256, 512, 1024], current.batch_size),
        current.batch_size, key=f"{version}-batch", help="Images per weight update.",
    )
    epochs = b.slider("Epochs", 1, max(20, current.epochs), current.epochs, key=f"{version}-epochs",
                      help="Passes over the training images.")
    validation_split = a.slider(
        "Validation split", 0.0, 0.5, current.validation_split, 0.05, key=f"{version}-val",
        help="Share of training images held back to check for overfitting.",
    )
    train_images = b.slider(
        "Training images", min(1000, current.train_images), MNIST_TRAIN_IMAGES, current.train_images, 1000,
        key=f"{version}-images", help="Fewer images train faster, and less well.",
    )

try:
    edited = replace(
        current, layers=tuple(layers), optimizer=optimizer, learning_rate=learning_rate, batch_size=batch_size, epochs=epochs,
        validation_split=validation_split, train_images=train_images,
    )
except ConfigError as error:
    st.error(f"Not changed: {error}.")
    edited = current
if edited != current:
    set_config(edited)
    st.rerun()  # so the URL and the preset buttons show the change straight away

with summary:
    st.subheader("Summary")
    rows = summarize(current)
    st.metric("Parameters", f"{count_params(current):,}", help="Weights and biases the network will learn.")
    st.dataframe(
        pd.DataFrame(
            {
                "Layer": [row.name for row in rows],
                "What it is": [row.description for row in rows],
                "Output shape": [" x ".join(map(str, row.output_shape)) for row in rows],
                "Parameters": [row.params for row in rows],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.page_link("pages/train.py", label="Train this network", icon=":material/model_training:")
