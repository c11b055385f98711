from dataclasses import replace

import pandas as pd
import streamlit as st

from deepviz.config import (
    ACTIVATIONS,
    AUGMENTATIONS,
    DATASETS,
    FILTER_CHOICES,
    MAX_BATCH_VALUES,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_PARAMS,
    MAX_TRAINING_SECONDS,
    MNIST_TRAIN_IMAGES,
    OPTIMIZERS,
    PEN_DIGITS,
    PEN_DRAWINGS,
    PRESETS,
    SCHEDULES,
    UNIT_CHOICES,
    ConfigError,
    Conv,
    Dense,
    Pool,
    count_params,
    duration,
    plural,
    summarize,
    training_seconds,
    with_layer_added,
)
from deepviz.guide import word
from deepviz.lesson import NETWORK, TRAINING
from deepviz.ui.resources import pens_available, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first

run_app_first()
preload_tensorflow()


def change_layers(layers: list) -> None:
    try:
        new = session.config.with_layers(tuple(layers))
    except ConfigError as error:
        session.build_error = f"Not changed: {error}."
        return
    session.load_config(new)


def add_layer(layer) -> None:
    try:
        new, notes = with_layer_added(session.config, layer)
    except ConfigError as error:
        session.build_error = f"Not added: {error}."
        return
    session.load_config(new)
    session.build_notes = notes


def remove_layer(index: int) -> None:
    layers = list(session.config.layers)
    del layers[index]
    change_layers(layers)


def with_current(options: list, current) -> list:
    """Slider stops, plus the current value if a shared link chose one off the stops."""
    return sorted(set(options) | {current})


def switch(column, label: str, name: str, values: tuple[str, str], help_text: str) -> str:
    """A toggle for a configuration field of two values, (off, on): the value it is set to."""
    off, on = values
    checked = column.toggle(
        label, getattr(session.config, name) == on, key=f"{session.build_version}-{name}", help=help_text
    )
    return on if checked else off


def edit_layer(layer, key: str):
    if isinstance(layer, Dense):
        a, b, c = st.columns(3)
        units = a.select_slider(
            "Units",
            with_current(UNIT_CHOICES, layer.units),
            layer.units,
            key=f"{key}-units",
            help=word("unit"),
        )
        activation = b.selectbox(
            "Activation",
            ACTIVATIONS,
            ACTIVATIONS.index(layer.activation),
            key=f"{key}-act",
            help=word("activation function"),
        )
        dropout = c.slider(
            "Dropout",
            0.0,
            0.9,
            layer.dropout,
            0.05,
            key=f"{key}-drop",
            help=word("dropout"),
        )
        return Dense(units, activation, dropout)
    if isinstance(layer, Conv):
        a, b, c = st.columns(3)
        filters = a.select_slider(
            "Filters",
            with_current(FILTER_CHOICES, layer.filters),
            layer.filters,
            key=f"{key}-filters",
            help=word("filter"),
        )
        kernel = b.select_slider(
            "Kernel size",
            with_current([1, 3, 5, 7], layer.kernel),
            layer.kernel,
            key=f"{key}-kernel",
            help="Each filter's width and height, in pixels.",
        )
        activation = c.selectbox(
            "Activation",
            ACTIVATIONS,
            ACTIVATIONS.index(layer.activation),
            key=f"{key}-act",
            help=word("activation function"),
        )
        return Conv(filters, kernel, activation)
    size = st.select_slider("Pool size", [2, 3, 4], layer.size, key=f"{key}-size", help=word("pooling"))
    return Pool(size)


st.title("Build a network")
st.caption("Every change is saved in the address bar: copy the URL to share this exact network.")

current = session.config
# Widgets are keyed by this version; a preset, an added or a removed layer bumps it (see
# Session.load_config) so every widget is drawn afresh from the new configuration.
version = session.build_version

hidden = session.lesson_hidden  # what the lesson link this session opened hides (see deepviz.lesson)
if NETWORK not in hidden:
    st.write("**Start from a preset**")
    for column, (name, preset) in zip(st.columns(len(PRESETS)), PRESETS.items()):
        column.button(
            name,
            on_click=session.load_config,
            args=(preset,),
            width="stretch",
            type="primary" if preset == current else "secondary",
        )

# Side by side, except on the projector: in its type, the layer table needs the page's width.
editor, summary = (st.container(), st.container()) if session.projector else st.columns([1, 1], gap="large")
with editor:
    st.subheader("Hidden layers", help=word("layer"))
    st.caption(
        "Input: a 28x28 image. Conv and MaxPool layers come first, then Flatten, then Dense layers; "
        "the output layer (10 digits, softmax) is always last."
    )
    layers = []
    if NETWORK in hidden:
        st.info("Your teacher fixed the network for this lesson.", icon=":material/lock:")
        layers = list(current.layers)
        st.markdown("\n".join(f"{index + 1}. {layer.describe()}" for index, layer in enumerate(layers)) or "None.")
    else:
        # In the card of each layer that came with the one asked for: where the eye is after the
        # click, as layers added push the buttons down, out of sight on a small screen.
        notes = session.take("build_notes") or {}
        for index, layer in enumerate(current.layers):
            with st.container(border=True):
                # A row, not columns: a fixed share of the card cut Remove to "Re..." in projector type.
                with st.container(horizontal=True, vertical_alignment="center"):
                    st.markdown(f"**{index + 1}. {layer.describe()}**", width="stretch")
                    st.button("Remove", key=f"{version}-{index}-remove", on_click=remove_layer, args=(index,))
                if note := notes.get(index):
                    st.info(note, icon=":material/info:")
                layers.append(edit_layer(layer, f"{version}-{index}"))
        full = len(current.layers) >= MAX_HIDDEN_LAYERS
        add_dense, add_conv, add_pool = st.columns(3)
        add_dense.button("Add Dense layer", on_click=add_layer, args=(Dense(64),), disabled=full, width="stretch")
        add_conv.button("Add Conv layer", on_click=add_layer, args=(Conv(16, 3),), disabled=full, width="stretch")
        add_pool.button("Add MaxPool layer", on_click=add_layer, args=(Pool(2),), disabled=full, width="stretch")
        if full:
            st.caption(f"At most {MAX_HIDDEN_LAYERS} hidden layers.")
        if error := session.take("build_error"):
            st.error(error)  # under the button clicked: a refused layer leaves it where it was

    st.subheader(
        "Training",
        help="Training shows the network the training images, batch by batch, and nudges "
        "its weights after each batch so that its answers get a little less wrong.",
    )
    if TRAINING in hidden:
        st.info("Your teacher fixed the training settings for this lesson.", icon=":material/lock:")
        st.caption(
            f"{current.optimizer}, learning rate {current.learning_rate:g}"
            + (" falling to 0" if current.schedule == "cosine" else "")
            + f", batch size {current.batch_size}, "
            f"{plural(current.epochs, 'epoch')}, {current.validation_split:.0%} held back for validation, "
            f"{current.train_images:,} training images"
            + (", distorted" if current.augment == "distort" else "")
            + (", and 30 people's pen-drawn digits." if current.data == "mnist-pen" else ".")
        )
        optimizer, learning_rate, batch_size = current.optimizer, current.learning_rate, current.batch_size
        epochs, validation_split, train_images = current.epochs, current.validation_split, current.train_images
        augment, data, schedule = current.augment, current.data, current.schedule
    else:
        a, b = st.columns(2)
        optimizer = a.selectbox(
            "Optimizer",
            OPTIMIZERS,
            OPTIMIZERS.index(current.optimizer),
            key=f"{version}-opt",
            help="The recipe for changing the weights after each batch: adam and rmsprop adapt each "
            "weight's step as they learn (adam is a safe choice); sgd takes plain steps of the learning rate.",
        )
        learning_rate = b.select_slider(
            "Learning rate",
            with_current([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0], current.learning_rate),
            current.learning_rate,
            key=f"{version}-lr",
            help=word("learning rate"),
        )
        batch_size = a.select_slider(
            "Batch size",
            with_current([8, 16, 32, 64, 128, 256, 512, 1024], current.batch_size),
            current.batch_size,
            key=f"{version}-batch",
            help=word("batch"),
        )
        epochs = b.slider("Epochs", 1, MAX_EPOCHS, current.epochs, key=f"{version}-epochs", help=word("epoch"))
        validation_split = a.slider(
            "Validation split",
            0.0,
            0.5,
            current.validation_split,
            0.05,
            key=f"{version}-val",
            help=word("validation"),
        )
        train_images = b.slider(
            "Training images",
            min(1000, current.train_images),
            MNIST_TRAIN_IMAGES,
            current.train_images,
            1000,
            key=f"{version}-images",
            help="Fewer images train faster, and less well.",
        )
        augment = switch(
            a,
            "Distort the training digits",
            "augment",
            AUGMENTATIONS,
            "Data augmentation: half of each batch is bent a little, afresh every batch, as people's "
            "strokes wobble, so the network sees more kinds of handwriting than MNIST has.",
        )
        pens_help = (
            f"Besides MNIST's scanned digits, {PEN_DIGITS:,} digits that 30 people drew with a pen, each drawn "
            f"{PEN_DRAWINGS} times as the Draw page's canvas draws, at different sizes: the network meets the "
            "ways people draw on a screen, and reads a class's drawings better."
        )
        if pens_available() or current.data == "mnist-pen":
            data = switch(b, "Learn from pen-drawn digits too", "data", DATASETS, pens_help)
        else:
            data = "mnist"
            b.caption("Pen-drawn digits to learn from: not on this server.", help=pens_help)
        schedule = switch(
            a,
            "Let the learning rate fall to 0",
            "schedule",
            SCHEDULES,
            "Big steps while the network has much to learn, then ever smaller ones, along half a cosine "
            "to 0 at the last batch: the last epochs settle the weights instead of shaking them.",
        )
        if data == "mnist-pen" and not pens_available():
            st.warning(
                "The 30 people's pen-drawn digits are not on this server, so this network cannot learn from "
                "them here: switch **Learn from pen-drawn digits too** off to train it on MNIST alone.",
                icon=":material/draw:",
            )

try:
    edited = replace(
        current,
        layers=tuple(layers),
        optimizer=optimizer,
        learning_rate=learning_rate,
        schedule=schedule,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=validation_split,
        train_images=train_images,
        augment=augment,
        data=data,
    )
except ConfigError as error:
    st.error(f"Not changed: {error}.")
    edited = current
if edited != current:
    session.set_config(edited)
    st.rerun()  # so the URL and the preset buttons show the change straight away

with summary:
    st.subheader("Summary")
    rows = summarize(current)
    parameters, training_time = st.columns(2)
    parameters.metric("Parameters", f"{count_params(current):,}", help="Weights and biases the network will learn.")
    training_time.metric(
        "Training time",
        f"about {duration(training_seconds(current))}",
        help="Estimated for this server from the network's arithmetic: every multiply-add of every training "
        "image, forward and backward, every epoch. Others training or drawing at once can slow it down.",
    )
    st.caption(
        f"This server's limits, so one network cannot use up its memory or its time: {MAX_HIDDEN_LAYERS} hidden "
        f"layers, {MAX_PARAMS:,} parameters, {MAX_BATCH_VALUES:,} values in one training batch, "
        f"{MAX_EPOCHS} epochs, about {duration(MAX_TRAINING_SECONDS)} of training."
    )
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
