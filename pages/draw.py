import numpy as np
import streamlit as st

from deepviz.figures import draw_figures
from deepviz.guide import word
from deepviz.preprocess import Steps, prepare
from pages.common import (
    drawing_pad,
    layer_titles,
    layer_tops,
    pick_model,
    plot,
    preload_tensorflow,
    projector,
    run_app_first,
    sure,
)

run_app_first()
preload_tensorflow()

LAYERS_PER_ROW = 4
PROJECTED_PER_ROW = 2  # in projector mode: bigger heatmaps, with their colour legends beside them


def replay_training(snapshots):
    """A slider over the weights kept during training: the snapshot picked, or None for the trained model."""
    if len(snapshots) < 2:
        return None
    last = len(snapshots) - 1
    at = st.select_slider(
        "Replay training", range(len(snapshots)), value=last, format_func=lambda i: snapshots[i].label,
        help=f"The network's weights were kept before training and after each epoch. {word('epoch')}",
    )
    st.caption(
        "Slide back to watch this network learn: with random weights its answer is a guess; "
        "epoch by epoch, the layers below and the scores settle on your digit."
    )
    return None if at == last else snapshots[at]


@st.fragment
def draw_and_explain(trained) -> None:
    pad, prediction = st.columns([1, 1], gap="medium")
    with pad:
        drawing = drawing_pad("draw")
        replayed = replay_training(trained.snapshots)
    preparation = st.expander("How your drawing is prepared, step by step", icon=":material/tune:")
    with preparation:
        crop, scale, centre = st.columns(3)
        steps = Steps(
            crop=crop.toggle("Crop to the ink", True, help="Cut away the empty canvas around your digit."),
            scale=scale.toggle("Scale to a 20-pixel box", True, help="MNIST's digits fit 20x20, in a 28x28 frame."),
            centre=centre.toggle("Centre by mass", True, help="Put the ink's centre of mass in the middle."),
        )
    prepared = prepare(drawing, steps) if drawing is not None else None
    # The Insights page places the latest drawing among the test digits.
    st.session_state.drawing = None if prepared is None else prepared.image
    if prepared is None:
        prediction.info("Draw a digit from 0 to 9 in the black square: big, and in the middle.", icon=":material/draw:")
        return

    weights = None if replayed is None else replayed.weights
    activations = trained.probe(prepared.image, weights)
    probabilities = activations[-1].values
    digit = int(np.argmax(probabilities))
    maps = trained.saliency.explain(prepared.image, probabilities, weights)
    figures = draw_figures(prepared.image, activations, maps, layer_titles(trained.config), layer_tops(trained))
    with prediction:
        st.metric("Prediction", digit, help="The digit with the highest output score.")
        st.caption(f"{sure(probabilities[digit])} sure" + ("" if replayed is None else f", {replayed.label}"))
        plot(figures.probabilities)

    with preparation:
        st.caption(
            "MNIST's digits were all prepared this way, so the network only knows digits that are "
            "cropped, 20 pixels tall or wide, and centred. Switch a step off and watch the prediction: "
            "an off-centre or oddly sized digit is one the network has never seen."
        )
        stages = (
            ("Your drawing", prepared.ink), ("Cropped", prepared.crop),
            ("Scaled", prepared.scaled), ("What the network receives", prepared.image),
        )
        for column, (caption, image) in zip(st.columns(len(stages)), stages):
            column.image(image, caption=f"{caption}, {image.shape[0]}x{image.shape[1]}", clamp=True, width="stretch")

    st.subheader("Layer by layer: from pixels to a decision", help=f"{word('layer')}\n\n{word('activation')}")
    st.caption(
        "First, your drawing as the network receives it: cropped, scaled to 20 pixels and centred "
        "in 28x28, the way MNIST's digits were made. Then each layer: every square is one unit (a "
        "neuron), brighter means more active for your drawing."
        + (" Conv and pooling layers show one small map per filter." if trained.config.has_conv else "")
        + " Hover a cell for its unit number and value."
    )
    per_row = PROJECTED_PER_ROW if projector() else LAYERS_PER_ROW
    for start in range(0, len(figures.layers), per_row):
        for column, figure in zip(st.columns(per_row), figures.layers[start : start + per_row]):
            plot(figure, column)

    st.subheader("Which pixels decided this")
    st.caption(
        "Yellow marks the pixels that mattered most. Left: which of your ink pushes the network "
        "towards its answer, and towards its second choice (the input gradient, averaged over "
        "slightly noisy copies of your drawing: SmoothGrad). Right: how much the network's "
        "confidence drops when a small patch of your drawing is covered up (occlusion)."
    )
    for column, figure in zip(st.columns(len(figures.maps)), figures.maps):
        plot(figure, column)


st.title("Draw a digit")
draw_and_explain(pick_model())
