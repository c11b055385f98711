from functools import partial

import numpy as np
import streamlit as st

from deepviz.dream import OUTPUT, Settings
from deepviz.figures import (
    confusion_figure,
    digit_key_figure,
    digits_figure,
    per_class_figure,
    projection_figure,
    thumbnails,
    weights_figure,
)
from deepviz.guide import word
from deepviz.projection import PICKED_SHOWN, Picked, picked_indices, picked_words
from deepviz.ui.markdown import plain
from deepviz.ui.resources import (
    mnist,
    neighbour_map,
    pick_model,
    preload_tensorflow,
    projection_sample,
    projections,
    unit_strengths,
)
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import confidence, plot
from deepviz.units import dead_summary, dead_units, first_layer_templates, telling_unit, top_images

run_app_first()
preload_tensorflow()

GALLERY = 16
PER_ROW = 8
PROJECTIONS_PER_ROW = 4
PICKING = {"selection_mode": ("points", "box", "lasso")}  # a click picks a dot; a drag, every dot in a box


def patterns_building_up(trained) -> None:
    st.header("Patterns building up, layer by layer", help=word("projection"))
    st.caption(
        "2,000 test digits, each a dot coloured by its true digit, squeezed onto a flat picture "
        "(PCA) at every layer. In the pixels the digits are a jumble; layer by layer, each digit "
        "gathers into its own cloud. The number is how well a straight line can tell the digits "
        "apart at that layer (a linear probe, on digits it was not fitted to): it climbs towards the output. "
        "Click a dot, or drag a box round part of a cloud, to see those test digits below the pictures."
    )
    layers, sample = projections(trained.key, trained), projection_sample()
    drawing = session.drawing
    placed = None if drawing is None else [a.values for a in trained.reader(drawing)]
    if placed is None:
        st.info("Draw a digit on the Draw page to see where it lands among them.", icon=":material/draw:")
    previous = None
    for column, layer in zip(st.columns(len(layers)), layers):
        delta = None if previous is None else f"{layer.separability - previous:+.1%}"
        column.metric(layer.name, f"{layer.separability:.1%}", delta, help="Linear-probe accuracy at this layer.")
        previous = layer.separability
    plot(digit_key_figure())  # the colours' one key, for every picture below
    for start in range(0, len(layers), PROJECTIONS_PER_ROW):
        row = list(enumerate(layers))[start : start + PROJECTIONS_PER_ROW]
        for column, (index, layer) in zip(st.columns(PROJECTIONS_PER_ROW), row):
            if layer.flat:
                column.info(
                    f"{plain(layer.name)} gives every test digit the same numbers: all its dots fall on one spot, "
                    "so there is no picture to draw.",
                    icon=":material/visibility_off:",
                )
                continue
            star = None if placed is None else layer.place(placed[index])
            title = f"{layer.name}: {layer.separability:.0%}"
            figure = projection_figure(layer.points, layer.labels, title, star, indices=sample)
            chart = f"projection-{layer.name}"
            where = f"{layer.name} (PCA)"
            plot(figure, column, key=chart, on_select=partial(pick, "pca", chart, where, trained.key), **PICKING)
    picked_digits(trained, "pca")
    neighbours_kept_together(trained, [layer.name for layer in layers])


def pick(section: str, chart: str, where: str, model: str) -> None:
    """Dots picked in a projection (`chart` keys it, `where` names it): their test digits, for
    `section` of the page to show."""
    indices = picked_indices(st.session_state[chart].selection.points)
    session.picked = {**session.picked, section: Picked(where, indices, model)}


def picked_digits(trained, section: str) -> None:
    """The test digits last picked in `section`'s projections: their images, each with its true
    digit and the network's answer (a wrong one framed and marked), and what they are in a sentence."""
    picked = session.picked.get(section)
    if picked is None or not picked.indices or picked.model != trained.key:
        st.info("Click a dot or drag a box round a cloud to see those digits.", icon=":material/touch_app:")
        return
    result, indices = trained.evaluation, np.array(picked.indices)
    labels, answers = result.labels[indices], result.predictions[indices]
    wrong_first = np.argsort(labels == answers, kind="stable")  # the mistakes are what a class asks about
    indices, labels, answers = indices[wrong_first], labels[wrong_first], answers[wrong_first]
    more = f" {PICKED_SHOWN} of them, wrong answers first:" if len(indices) > PICKED_SHOWN else ""
    st.markdown(f"**Picked in {plain(picked.where)}**: {picked_words(labels, answers)}{more}")
    shown = slice(PICKED_SHOWN)
    st.image(
        thumbnails(mnist().x_test[indices[shown]], labels[shown] != answers[shown]),
        caption=[
            f"{label}, read as {answer}" + (" ✗" if label != answer else "")
            for label, answer in zip(labels[shown], answers[shown])
        ],
    )


@st.fragment
def neighbours_kept_together(trained, names: list[str]) -> None:
    st.subheader("Neighbours kept together (t-SNE)", help=word("projection"))
    st.caption(
        "PCA shows a layer straight on, like a shadow: clouds can hide behind one another. t-SNE instead "
        "puts each test digit next to the digits most like it at that layer, so clouds that overlap above "
        "come apart. Only who sits next to whom means something, not the distances between clouds; and "
        "it cannot place a new drawing, so your drawing's star is on the PCA pictures only."
    )
    picked = st.selectbox(
        "Map a layer with t-SNE",
        names,
        index=None,
        key="tsne-layer",
        placeholder="Pick a layer: it takes several seconds, once per model",
        help=word("layer"),
    )
    if picked is not None:
        points, labels = neighbour_map(trained.key, trained, picked)
        figure = projection_figure(points, labels, f"{picked}, t-SNE", height=520, indices=projection_sample())
        chart = f"tsne-{picked}"
        plot(figure, key=chart, on_select=partial(pick, "tsne", chart, f"{picked} (t-SNE)", trained.key), **PICKING)
        picked_digits(trained, "tsne")


@st.fragment
def what_units_look_for(trained, test) -> None:
    st.header("What a unit looks for")
    st.caption(
        "A first-layer unit weighs every pixel: blue where ink makes it fire, red where ink holds it "
        "back. Deeper units never see pixels, only the layer before, so what they look for shows in "
        "the digits that excite them most: simple strokes early, whole shapes of a digit later. "
        "A unit that never fires, whatever the digit, is dead: it passes only 0 on."
    )
    first, templates = first_layer_templates(trained.model)
    strengths = unit_strengths(trained.key, trained)
    dead = {name: dead_units(values) for name, values in strengths.items()}
    layer_column, unit_column = st.columns(2)
    layer = layer_column.selectbox(
        "Layer",
        list(strengths),
        key="units-layer",
        format_func=lambda name: f"{name}: {dead_summary(dead[name])}",
        help=f"{word('layer')} Beside each, its dead units: {word('dead unit')}",
    )
    start = telling_unit(strengths[layer], test.y_test)
    if start is None:
        st.warning(
            f"No unit of {plain(layer)} fires for any of the {len(test.y_test):,} test digits: every one is dead, "
            "passing only 0 on, so no digit can show what they look for. Try another layer, or train again "
            "(a smaller learning rate often keeps units alive).",
            icon=":material/visibility_off:",
        )
    else:
        unit = unit_column.number_input(
            "Unit",
            0,
            len(dead[layer]) - 1,
            start,
            key=f"unit-{layer}",
            help=f"{word('unit')} Its number is the one the Draw page's heatmaps show on hover. Each layer opens "
            "on a live unit whose top digits are most alike.",
        )
        weights, digits = st.columns(2)
        with weights:
            if layer == first:
                plot(weights_figure(templates[unit : unit + 1], f"{layer}, unit {unit}: its weights"))
            else:
                st.info(
                    f"{plain(layer)} reads the layer before it, not pixels: its top digits show what it responds to."
                )
        with digits:
            if dead[layer][unit]:
                st.info(
                    f"Unit {unit} never fires: for every one of the {len(test.y_test):,} test digits its total is "
                    "0 or below, so it passes only 0 on. It is dead, and no digit excites it more than another, "
                    f"so there are no top digits to show. In {plain(layer)}, {dead_summary(dead[layer])}.",
                    icon=":material/visibility_off:",
                )
            else:
                best = top_images(strengths[layer], unit)
                plot(digits_figure(test.x_test[best], f"The {len(best)} test digits that excite it most"))
    st.subheader(f"Every unit of {first}, the first layer")
    plot(weights_figure(templates, f"{len(templates)} weight templates", height=420))


st.title("Insights")
trained = pick_model()
result = trained.evaluation
test = mnist()

st.header("How well it does")
st.caption(
    f"All {len(result.labels):,} test digits, which the network never saw while training: it reads "
    f"{result.accuracy:.2%} of them right. Below, where the other {(result.predictions != result.labels).sum():,} go."
)
matrix, classes = st.columns([3, 2], gap="large")
with matrix:
    st.subheader("Which digits it confuses")
    st.caption(
        "Each row is the true digit, each column the network's answer. The diagonal counts the "
        "right answers; the coloured squares off it are mistakes, brighter for more of them."
    )
    plot(confusion_figure(result.confusion))
with classes:
    st.subheader("Accuracy per digit")
    st.caption("Some digits are harder than others; the hardest is highlighted.")
    plot(per_class_figure(result.per_class_accuracy))

st.subheader("Its most confident mistakes")
st.caption(
    "Test digits the network got wrong while being most sure of itself. Would you have read them "
    "right? Some are hard even for people."
)
mistakes = result.mistakes(GALLERY)
for start in range(0, len(mistakes), PER_ROW):
    for column, index in zip(st.columns(PER_ROW), mistakes[start : start + PER_ROW]):
        predicted = result.predictions[index]
        column.image(
            test.x_test[index],
            caption=f"true {result.labels[index]}, read as {predicted} "
            f"({confidence(result.probabilities[index, predicted])})",
            width="stretch",
        )

patterns_building_up(trained)
what_units_look_for(trained, test)


@st.cache_data(max_entries=32, show_spinner="Growing pictures by gradient ascent...")
def dreamed(key: str, _trained, layer: str, units: tuple[int, ...], settings: Settings):
    """Per model (`key` names it) and settings: the pictures that excite `units` of `layer`."""
    return _trained.dreamer.dream(layer, list(units), settings)


@st.fragment
def what_the_network_dreams_of(trained, test) -> None:
    st.header("What the network dreams of")
    st.caption(
        "Start from a faint grey smudge and change its pixels, step by step, in whatever direction "
        "makes one unit (or one digit's score) stronger: the picture that grows is what that unit looks "
        "for. Left alone it grows noise; the sliders keep it readable: jitter shifts the picture a "
        "little at every step, so no single pixel can matter; blur smooths away speckle; fading makes "
        "every pixel earn its ink."
    )
    defaults = Settings()
    jitter, blur, fade = st.columns(3)
    settings = Settings(
        jitter=jitter.slider(
            "Jitter (pixels)", 0, 4, defaults.jitter, help="How far the picture shifts at random at each step."
        ),
        blur=blur.slider(
            "Blur", 0.0, 2.0, defaults.blur, 0.25, help="How much speckle is smoothed away every few steps."
        ),
        decay=fade.slider(
            "Fading (L2)",
            0.0,
            0.1,
            defaults.decay,
            0.01,
            help="The share of every pixel's ink that fades at each step.",
        ),
    )
    st.subheader("The ten digits, as it imagines them")
    st.caption(
        "Under each: what the network reads in the picture it grew, and how sure it is. "
        "Do they look like digits to you?"
    )
    digits = dreamed(trained.key, trained, OUTPUT, tuple(range(trained.dreamer.units(OUTPUT))), settings)
    per_row = 5 if session.projector else 10
    for start in range(0, len(digits.images), per_row):
        for column, digit in zip(st.columns(per_row), range(start, start + per_row)):
            read_as = int(digits.probabilities[digit].argmax())
            column.image(
                digits.images[digit],
                caption=f"dreamed {digit}: read as {read_as} ({confidence(digits.probabilities[digit, read_as])})",
                width="stretch",
            )

    st.subheader("What one unit dreams of")
    strengths = unit_strengths(trained.key, trained)
    layer_column, unit_column = st.columns(2)
    layer = layer_column.selectbox("Layer", list(strengths), key="dream-layer", help=word("layer"))
    dead = dead_units(strengths[layer])
    start = telling_unit(strengths[layer], test.y_test)  # as "What a unit looks for" opens
    if start is None:
        st.info(
            f"No unit of {plain(layer)} fires for any test digit: every one is dead, so there is nothing to dream of."
        )
        return
    unit = unit_column.number_input("Unit", 0, len(dead) - 1, start, key=f"dream-unit-{layer}", help=word("unit"))
    if dead[unit]:
        st.info(
            f"Unit {unit} of {plain(layer)} never fires for any test digit: it is dead, and passes only 0 on. "
            f"No picture can make it fire by small steps. {int((~dead).sum())} of {len(dead)} units of this "
            "layer are alive."
        )
        return
    dream = dreamed(trained.key, trained, layer, (unit,), settings)
    picture, digits_column = st.columns(2)
    plot(digits_figure(np.round(dream.images * 255), f"{layer}, unit {unit}: the picture it dreams of"), picture)
    best = top_images(strengths[layer], unit)
    title = f"{layer}, unit {unit}: the {len(best)} test digits that excite it most"
    plot(digits_figure(test.x_test[best], title), digits_column)


what_the_network_dreams_of(trained, test)
