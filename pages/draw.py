import numpy as np
import streamlit as st

from deepviz.figures import ACTIVITY_SCALE, HIGHLIGHT, MUTED, difference_figure, draw_figures, responses_figure
from deepviz.guide import word
from deepviz.liveness import SAMPLE
from deepviz.preprocess import Preparation, prepare
from deepviz.ui.canvas import clear_button, drawing_pad
from deepviz.ui.markdown import plain
from deepviz.ui.resources import layer_tops, liveness, other_model, pick_model, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import confidence, figure_font, plot, stage_titles

run_app_first()
preload_tensorflow()

STILL = {"displayModeBar": False}  # no zoom or pan on a projected stage: hover is enough

MORE = ("Replay training", "How your drawing is prepared", "Which pixels decided this", "Fool the network")
# The layers' colour scale in words, with its two ends: one legend for every layer, as each
# layer's colours run from 0 to the top of its own scale.
# Swatches with a grey edge: the dark end is a navy that vanishes on the projector's black.
LEGEND = " ".join(
    f"<span style='display: inline-block; width: 0.8em; height: 0.8em; background: {color}; "
    f"border: 1px solid #9a9a9a; vertical-align: -0.05em'></span> {words}"
    for color, words in ((ACTIVITY_SCALE[0][1], "dark: quiet"), (ACTIVITY_SCALE[-1][1], "bright: active"))
)
# The stage fits one screen: the layers take a fixed height (HEIGHTS), and the canvas
# the height that they, the page's top and the tabs' row leave (measured in Chromium at
# 1280x720 and 1920x1080, in both modes). Static CSS, never user content.
STAGE_CSS = """<style>
.st-key-draw-pad { --deepviz-pad: clamp(240px, calc(100vh - %s), 92vw); }
.deepviz-bars { display: flex; gap: 0.25rem; min-width: 12rem; }
.deepviz-bars > div { flex: 1; display: flex; flex-direction: column; text-align: center; }
.deepviz-bars > div > div { flex: 1; display: flex; align-items: flex-end; }
.deepviz-bars > div > div > div { width: 100%%; min-height: 2px; }
/* A phone stacks the stage (as Streamlit does its columns): the pad takes the width. */
@media (max-width: 640px) { .st-key-draw-pad { --deepviz-pad: calc(100vw - 2.5rem); } }
.st-key-stage-answer { min-width: min(16rem, 100%%); }
</style>"""
# px, in projector mode or not: the probabilities' bars, and the layers (in projector mode just
# the height of seven layers' squares side by side at 1280 px, and their titles)
HEIGHTS = {True: (150, 210), False: (170, 220)}
PAD_ROOM = {True: "420px", False: "580px"}  # what the canvas leaves to the rest of the stage


def replay_training(trained):
    """A slider over the weights kept during training: the snapshot picked, or None for the trained
    model; with each layer's dead units at the snapshot picked."""
    snapshots = trained.snapshots
    if len(snapshots) < 2:
        st.info("This model kept no weights from during its training: train one on the Train page to replay it.")
        return None
    last = len(snapshots) - 1
    at = st.select_slider(
        "Replay training",
        range(len(snapshots)),
        value=last,
        format_func=lambda i: snapshots[i].label,
        help=f"The network's weights were kept before training and after each epoch. {word('epoch')}",
    )
    st.caption(
        "Slide back to watch this network learn: with random weights its answer is a guess; "
        "epoch by epoch, the layers and the scores settle on your digit, and units die or come alive."
    )
    if at == last:
        return None
    # Worked out on the first slide back, never for a stroke on the trained model: seconds, once per model.
    life = liveness(trained.key, trained)
    dead = " · ".join(
        f"{plain(layer.name)} {layer.dead[at]} of {layer.units}"
        + (" (all: it passes only zeros on)" if layer.dead[at] == layer.units else "")
        for layer in life.layers
    )
    st.markdown(
        f"**Dead units {snapshots[at].label}:** {dead}",
        help=f"A dead unit stays quiet (0) for every one of {SAMPLE:,} test digits. {word('dead unit')}",
    )
    # Asked for, not drawn on every stroke while the slider is back.
    if st.toggle("How each layer's units respond", key="replay-responses"):
        plot(responses_figure(life, at))
        st.caption("The share of the test digits' responses at each strength: a tall bar at 0 is units staying quiet.")
    return snapshots[at]


def probability_bars(probabilities: np.ndarray, height: int) -> str:
    """The ten digits' probabilities as bars, the answer's highlighted: plain HTML, not a chart.
    A stroke's page paints it in a millisecond where a Plotly chart took about 45 ms, a fifth
    of the time from a stroke to its answer. Hover a bar for its number. Only numbers go in."""
    best = int(np.argmax(probabilities))
    bars = "".join(
        f"<div title='digit {digit}: {chance:.1%}'><div>"
        f"<div style='height: {chance:.1%}; background: {HIGHLIGHT if digit == best else MUTED}'></div>"
        f"</div>{digit}</div>"
        for digit, chance in enumerate(probabilities)
    )
    chart = "role='img' aria-label='probability of each digit'"
    return f"<div class='deepviz-bars' style='height: {height}px' {chart}>{bars}</div>"


def preparation_steps() -> Preparation:
    crop, scale, centre = st.columns(3)
    return Preparation(
        crop=crop.toggle("Crop to the ink", True, help="Cut away the empty canvas around your digit."),
        scale=scale.toggle("Scale to a 20-pixel box", True, help="MNIST's digits fit 20x20, in a 28x28 frame."),
        centre=centre.toggle("Centre by mass", True, help="Put the ink's centre of mass in the middle."),
    )


def show_preparation(prepared) -> None:
    st.caption(
        "MNIST's digits were all prepared this way, so the network only knows digits that are "
        "cropped, 20 pixels tall or wide, and centred. Switch a step off and watch the prediction: "
        "an off-centre or oddly sized digit is one the network has never seen."
    )
    stages = (
        ("Your drawing", prepared.ink),
        ("Cropped", prepared.crop),
        ("Scaled", prepared.scaled),
        ("What the network receives", prepared.image),
    )
    for column, (caption, image) in zip(st.columns(len(stages)), stages):
        column.image(image, caption=f"{caption}, {image.shape[0]}x{image.shape[1]}", clamp=True, width="stretch")


def fool_the_network(trained, image: np.ndarray, digit: int) -> None:
    """The smallest change to the drawing that makes the trained network (which reads it as
    `digit`) read a chosen digit: searched for only when asked, never on a stroke's run."""
    st.caption(
        "How little would you have to change your drawing for the network to read another digit? "
        "The search nudges the pixels that move the network's answer most, and lets every other pixel "
        "fall back to your drawing. A person still reads your digit; the network does not."
    )
    choose, find = st.columns([2, 1], vertical_alignment="bottom")
    target = choose.selectbox("Make it read", range(10), (digit + 1) % 10, key="fool-target")
    if target == digit:
        st.info(f"The network already reads your drawing as {digit}: pick another digit to fool it into.")
        return
    if not find.button("Find the smallest change", key="fool-go"):
        return
    with st.spinner(f"Searching for the smallest change that makes it read {target}..."):
        change = trained.fooler.fool(image[np.newaxis], [target])
    if not change.fooled[0]:
        st.info(f"No small change made the network read {target}: this drawing holds firm. Try another digit.")
        return
    before, after, difference = st.columns(3)
    before.image(image, caption=f"Your drawing: read as {digit}", clamp=True, width="stretch")
    show_change(change, target, after, difference, "The change: blue ink added, red taken away")
    st.markdown(
        f"**It took {change.ink[0]:.1f} pixels' worth of ink** ({change.pixels[0]} pixels changed), "
        f"where your drawing has {image.sum():.0f}."
    )
    fool_the_other(trained, image, target, change.ink[0], change.pixels[0])


def show_change(change, target: int, after, difference, title: str) -> None:
    """The changed drawing as the network reads it (in `after`), and the change (in `difference`)."""
    after.image(
        change.images[0],
        caption=f"Changed: read as {target} ({confidence(change.probabilities[0][target])})",
        clamp=True,
        width="stretch",
    )
    plot(difference_figure(change.differences[0], title), difference)


def fool_the_other(trained, image: np.ndarray, target: int, ink: float, pixels: int) -> None:
    """The reverse lesson: the same change asked of the session's other network, and the ink
    each needed. A CNN reads strokes, so fooling it takes strokes and dots; an MLP weighs every
    pixel on its own, so a faint haze over the whole square can do it."""
    other = other_model(trained)
    if other is None:
        st.markdown(
            "Train the tutorial MLP on the Train page (about half a minute) and come back: this tab then "
            "fools both networks, yours and the default CNN, and shows how much ink each needed. "
            "An MLP's change is a faint haze over the whole square, where a CNN's gathers into strokes and dots."
        )
        return
    this_name, other_name, other_trained = other
    with st.spinner(f"Searching for the smallest change that makes {other_name} read {target}..."):
        theirs = other_trained.fooler.fool(image[np.newaxis], [target])
    if not theirs.fooled[0]:
        st.info(f"No small change made {other_name} read {target}: it holds firm where {this_name} did not.")
        return
    st.markdown(f"**The same question for {other_name}:**")
    after, difference, sums = st.columns(3)
    show_change(theirs, target, after, difference, "Its change")
    sums.markdown(
        f"**Ink needed to make it read {target}:**\n\n"
        f"- {this_name}: **{ink:.1f}** ({pixels} pixels)\n"
        f"- {other_name}: **{theirs.ink[0]:.1f}** ({theirs.pixels[0]} pixels)"
    )


@st.fragment
def stage() -> None:
    """The drawing, the answer and every layer on one screen; the rest in tabs below, each
    made only while open (a stroke's run makes what is on screen, nothing more)."""
    top = st.container(horizontal=True, gap="medium", key="stage-top")
    pad, answer = top.container(width="content", key="draw-pad"), top.container(key="stage-answer")
    layers, more = st.container(key="stage-layers"), st.container()
    with answer:
        trained = pick_model()  # while the default model is still training: its progress, and no more
    replay_tab, prepare_tab, saliency_tab, fool_tab = more.tabs(MORE, key="draw-more", on_change="rerun")
    with pad:
        drawing = drawing_pad("draw", controls=answer)
    # One row: Clear, the answer and how sure, the scores: the room reads it at a glance, and
    # on a 720-pixel projector the layers still fit below.
    reading = answer.container(horizontal=True, vertical_alignment="center", key="stage-reading")
    clear_button("draw", reading)
    verdict = reading.container(width="content")
    with replay_tab:
        replayed = replay_training(trained)
    with prepare_tab:
        steps = preparation_steps()
    prepared = prepare(drawing, steps) if drawing is not None else None
    # The Insights page places the latest drawing among the test digits.
    session.drawing = None if prepared is None else prepared.image
    if prepared is None:
        answer.info("Draw a digit from 0 to 9 in the black square: big, and in the middle.", icon=":material/draw:")
        return

    weights = None if replayed is None else replayed.weights
    activations = trained.reader(prepared.image, weights)
    probabilities = activations[-1].values
    digit = int(np.argmax(probabilities))
    maps = trained.saliency.explain(prepared.image, probabilities, weights) if saliency_tab.open else []
    bars, layers_height = HEIGHTS[session.projector]
    figures = draw_figures(
        prepared.image,
        activations,
        maps,
        stage_titles(trained.config),
        layer_tops(trained),
        figure_font(),
        layers_height,
    )
    verdict.metric("Prediction", digit, help="The digit with the highest output score.")
    verdict.markdown(
        f"**{confidence(probabilities[digit])} sure**" + ("" if replayed is None else f", {replayed.label}")
    )
    reading.html(probability_bars(probabilities, bars))
    with layers:
        st.markdown(
            f"**Layer by layer, from pixels to a decision:** {LEGEND}",
            unsafe_allow_html=True,
            help=f"{word('layer')}\n\n{word('activation')}",
        )
        st.plotly_chart(figures.stage, config=STILL)
    if prepare_tab.open:
        with prepare_tab:
            show_preparation(prepared)
    if saliency_tab.open:
        with saliency_tab:
            st.caption(
                "Your drawing is outlined in white; bright yellow marks the pixels that mattered most, "
                "dark blue those that did not matter. Left: which of your ink pushes the network "
                "towards its answer, and towards its second choice (the input gradient, averaged over "
                "slightly noisy copies of your drawing: SmoothGrad). Right: how much the network's "
                "confidence drops when a small patch of your drawing is covered up (occlusion)."
            )
            # On the projector two to a row, answer left and second choice right: four left each
            # map a thumbnail beside its colour scale, and its title cut off.
            columns = st.columns(2 if session.projector else len(figures.maps))
            for index, figure in enumerate(figures.maps):
                plot(figure, columns[index % len(columns)])
    if fool_tab.open:
        with fool_tab:
            # The trained network's reading is the stage's own unless the stage replays an epoch.
            read = digit if replayed is None else int(np.argmax(trained.reader(prepared.image)[-1].values))
            fool_the_network(trained, prepared.image, read)


if not session.projector:  # on the projector the stage is the page: its space goes to the canvas
    st.title("Draw a digit")
st.html(STAGE_CSS % PAD_ROOM[session.projector])
stage()
