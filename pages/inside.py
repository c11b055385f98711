from functools import partial

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from deepviz.activations import LayerActivation
from deepviz.arithmetic import Arithmetic, unit_arithmetic
from deepviz.evaluation import Evaluation
from deepviz.figures import (
    HIGHLIGHT,
    accuracy_change_figure,
    activation_figure,
    graph_figure,
    grid_shape,
    numbers_figure,
)
from deepviz.graph import network_graph, strongest_place
from deepviz.guide import word
from deepviz.knockout import TEST_DIGITS, Knockout, Scorer, masked, silenced, strongest
from deepviz.ui.resources import mnist, pick_model, preload_tensorflow, unit_strengths
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import confidence, plot
from deepviz.units import dead_units

run_app_first()
preload_tensorflow()

TOP_INPUTS = 8  # rows of a unit's table: the inputs that move its sum most
TOP_UNITS = 5  # "Switch off the top 5"
PER_ROW = {False: 3, True: 2}  # heatmaps side by side; in projector mode each has its colour legend
WHAT = {"conv": "filter", "pool": "filter", "dense": "unit", "output": "digit"}
GRAPH_NODES = {False: 16, True: 10}  # nodes a column of the graph shows: on the projector, fewer and larger
GRAPH_HEIGHT = {False: 640, True: 600}  # px; on the projector, the graph and its tabs fit a 1280x720 screen


def cell_places(layer: LayerActivation) -> tuple[np.ndarray, np.ndarray]:
    """Where each unit's cell lies in the layer's heatmap, in `np.ndindex(shape)` order."""
    shape = layer.values.shape
    if len(shape) == 3:
        height, width, channels = shape
        columns = grid_shape(channels)[1]
        rows, cols, filters = np.indices(shape).reshape(3, -1)
        return (filters % columns) * (width + 1) + cols, (filters // columns) * (height + 1) + rows
    columns = shape[0] if layer.kind == "output" else grid_shape(shape[0])[1]  # as figures.layer_grid lays them
    return np.arange(shape[0]) % columns, np.arange(shape[0]) // columns


def crossed(figure: go.Figure, layer: LayerActivation, units: tuple[int, ...]) -> go.Figure:
    """A cross on each switched-off unit's cell (a filter's: the middle of its map)."""
    if not units:
        return figure
    shape = layer.values.shape
    cells = (
        [np.ravel_multi_index((shape[0] // 2, shape[1] // 2, unit), shape) for unit in units]
        if len(shape) == 3
        else list(units)
    )
    x, y = cell_places(layer)
    size = 28 if len(shape) == 3 else 14
    figure.add_trace(
        go.Scatter(
            x=x[cells],
            y=y[cells],
            mode="markers",
            marker={"symbol": "x", "size": size, "color": "white", "line": {"color": "black", "width": 2}},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    return figure


def clickable(figure: go.Figure, layer: LayerActivation) -> go.Figure:
    """The layer's heatmap with an invisible point on every cell: Streamlit reports clicks on
    points, not on heatmap cells. Points go in `np.ndindex(shape)` order, so a clicked point's
    index is its unit's flat index (see `picked`)."""
    x, y = cell_places(layer)
    figure.data[0].hoverinfo = "skip"
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={"size": 6, "opacity": 0, "color": HIGHLIGHT},
            selected={"marker": {"opacity": 1}},
            hoverinfo="none",
            showlegend=False,
        )
    )
    figure.update_layout(clickmode="event+select", dragmode=False, hovermode="closest")
    return figure


def select(layer: str, place: tuple[int, ...]) -> None:
    """The unit at `place` of `layer` into the boxes below, which both views and the arithmetic follow."""
    st.session_state["inside-layer"] = layer
    for name, value in zip(("row", "column", "unit") if len(place) == 3 else ("unit",), place):
        st.session_state[f"inside-{layer}-{name}"] = int(value)


def picked(layer: str, shape: tuple[int, ...]) -> None:
    """A click on `layer`'s heatmap: its unit goes into the number boxes below."""
    points = st.session_state[f"inside-chart-{layer}"].selection.points
    if points:
        select(layer, tuple(int(value) for value in np.unravel_index(int(points[0]["point_index"]), shape)))


def picked_node(activations: list[LayerActivation]) -> None:
    """A click on a node of the graph: its unit, or its feature map at its strongest place.
    The pixels are not units: a click on them picks nothing."""
    points = st.session_state["inside-graph"].selection.points
    nodes = [point["customdata"] for point in points if point.get("customdata")]
    if not nodes or nodes[0][0] == "pixels":
        return
    layer, unit = nodes[0][0], int(nodes[0][1])
    values = next(activation.values for activation in activations if activation.name == layer)
    select(layer, strongest_place(values, unit))


def pick_unit(activations, layer: str) -> tuple[int, ...]:
    """Number boxes for the unit (and its place, in a feature map): for keyboards and screen
    readers, and where a click cannot reach."""
    shape = activations.values.shape
    if len(shape) == 1:
        what = "Digit" if activations.kind == "output" else "Unit"
        first = int(np.argmax(activations.values)) if activations.kind == "output" else 0  # the answer
        return (st.number_input(what, 0, shape[0] - 1, first, key=f"inside-{layer}-unit", help=word("unit")),)
    row, column, unit = st.columns(3)
    return (
        row.number_input("Row", 0, shape[0] - 1, shape[0] // 2, key=f"inside-{layer}-row"),
        column.number_input("Column", 0, shape[1] - 1, shape[1] // 2, key=f"inside-{layer}-column"),
        unit.number_input("Filter", 0, shape[2] - 1, 0, key=f"inside-{layer}-unit", help=word("filter")),
    )


def show_total(numbers: Arithmetic) -> None:
    """The sum's last steps: the bias, then the activation function (the output's softmax)."""
    sum_words = f"Inputs × weights add up to **{numbers.weighted_sum:.4f}**"
    if numbers.kind == "output":
        line = (
            f"{sum_words}; + bias {numbers.bias:.4f} = **{numbers.total:.4f}**, this digit's score. "
            f"Softmax turns the ten scores into chances: e^{numbers.total:.2f} ÷ (e^ of every score, added up) "
            f"= **{numbers.output:.4f}**, that is {confidence(numbers.output)}."
        )
    else:
        line = (
            f"{sum_words}; + bias {numbers.bias:.4f} = **{numbers.total:.4f}**; "
            f"{numbers.activation}({numbers.total:.4f}) = **{numbers.output:.4f}**, what this unit passes on."
        )
    st.markdown(line, help=word("softmax" if numbers.kind == "output" else "bias"))


def dense_arithmetic(numbers: Arithmetic) -> None:
    top = numbers.strongest(TOP_INPUTS)
    flat_inputs, flat_weights = numbers.inputs.reshape(-1), numbers.weights.reshape(-1)
    st.caption(
        f"It reads all {flat_inputs.size:,} numbers of {numbers.source}. The {len(top)} that move its sum "
        "most, either way:"
    )
    st.table(
        {
            "Input": [numbers.input_name(int(index)) for index in top],
            "Value": [f"{flat_inputs[index]:.4f}" for index in top],
            "× weight": [f"{flat_weights[index]:.4f}" for index in top],
            "= adds": [f"{flat_inputs[index] * flat_weights[index]:+.4f}" for index in top],
        }
    )
    show_total(numbers)


def conv_arithmetic(numbers: Arithmetic) -> None:
    by_filter = numbers.contributions.sum(axis=(0, 1))
    channel = int(np.argmax(np.abs(by_filter)))
    side = numbers.inputs.shape[0]
    many = numbers.inputs.shape[2] > 1
    st.caption(
        f"Its {side}x{side} kernel lies over the patch of {numbers.source} around this place "
        "(past the border, zeros): each number times the weight on it, all added up."
        + (
            f" It reads all {numbers.inputs.shape[2]} filters of {numbers.source}; below, the one that adds most."
            if many
            else ""
        )
    )
    patch, kernel = st.columns(2)
    where = f"filter {channel} of {numbers.source}" if many else numbers.source
    plot(numbers_figure(numbers.inputs[..., channel], f"Patch of {where}", symmetric=False), patch)
    plot(numbers_figure(numbers.weights[..., channel], "Kernel (its weights)", symmetric=True), kernel)
    if many:
        order = np.argsort(-np.abs(by_filter), kind="stable")[:TOP_INPUTS]
        st.table(
            {
                f"{numbers.source} filter": [int(index) for index in order],
                "patch × kernel, added up": [f"{by_filter[index]:+.4f}" for index in order],
            }
        )
    show_total(numbers)


def pool_arithmetic(numbers: Arithmetic) -> None:
    st.caption(f"{word('pooling')} Its window on {numbers.source}:")
    plot(numbers_figure(numbers.inputs[..., 0], "Window", symmetric=False), st.columns(2)[0])
    st.markdown(f"The largest of these is **{numbers.output:.4f}**: that is all it passes on.")


def quiet_notes(trained, numbers: Arithmetic, values: np.ndarray, unit: int) -> None:
    """One sentence for a relu unit that passes nothing on, or a layer where none does."""
    layer, kind = numbers.layer, numbers.kind
    if numbers.activation != "relu":
        return
    if (values <= 0).all():
        st.info(f"No {WHAT[kind]} of {layer} fires for this drawing: the layers after it read only zeros from it.")
    elif dead_units(unit_strengths(trained.key, trained)[layer])[unit]:
        st.info(
            f"{WHAT[kind].capitalize()} {unit} of {layer} never fires on any of the 10,000 test digits: "
            "a dead unit, which passes nothing on whatever the drawing."
        )
    elif numbers.output <= 0:
        st.info(f"This {WHAT[kind]} is quiet here: its total is 0 or below, and relu passes 0 on.")


def knockout_of(trained) -> Knockout | None:
    """The session's units switched off, if in this model."""
    kept = session.knockout
    return kept if kept is not None and kept.key == trained.key else None


def with_units_off(reader, image: np.ndarray, kept: Knockout) -> list[LayerActivation]:
    """The drawing's activations as the network computes them with `kept`'s units switched off."""
    outputs = masked(reader.names, reader.kinds, reader.batch(image[np.newaxis], weights=kept.weights), kept.off)
    return [LayerActivation(name, kind, values[0]) for name, kind, values in zip(reader.names, reader.kinds, outputs)]


def switch_off(trained, layer: str, units: tuple[int, ...]) -> None:
    kept = knockout_of(trained)
    off = dict(kept.off) if kept else {}
    off[layer] = tuple(sorted(set(off.get(layer, ())) | set(units)))
    test = mnist()
    weights = silenced(trained.model, off)
    scorer = kept.scorer if kept else Scorer(trained.model)
    scores = scorer.scores(test.scaled(test.x_test[:TEST_DIGITS]), test.y_test[:TEST_DIGITS], weights)
    session.knockout = Knockout(trained.key, scorer, off, weights, scores)


def undo() -> None:
    session.knockout = None


def knock_out(
    trained, before: np.ndarray, after: np.ndarray, layer: str, kind: str, values: np.ndarray, unit: int
) -> None:
    """`before` and `after`: the drawing's chances with every unit on, and with the session's switched off."""
    st.header("Switch units off")
    st.caption(
        "What happens when part of the network stops working? Switch a unit off (in a conv layer, its "
        "whole filter) and it passes on 0, whatever it reads: see whether the network still reads your "
        f"drawing, and how many of {TEST_DIGITS:,} test digits it still reads right. Undo brings it back."
    )
    hidden = kind in ("dense", "conv")
    top = strongest(values, TOP_UNITS) if hidden else ()
    one, five, back = st.columns(3)
    one.button(
        "Switch this unit off",
        on_click=switch_off,
        args=(trained, layer, (unit,)),
        disabled=not hidden,
        help=None
        if hidden
        else "Pick a Dense or Conv layer: pooling only passes on its filters, and the output is the answer.",
    )
    five.button(
        f"Switch off the top {TOP_UNITS} of this layer",
        on_click=switch_off,
        args=(trained, layer, top),
        disabled=not top,
    )
    kept = knockout_of(trained)
    back.button("Undo", on_click=undo, disabled=kept is None, help="Switch every unit back on.")
    if hidden and not top:
        st.info(f"None of {layer}'s {WHAT[kind]}s fires for this drawing: there is no top {TOP_UNITS} to switch off.")
    if kept is None:
        return
    st.markdown(f"Switched off: {kept.described}.")
    for column, label, chances in zip(st.columns(2), ("Before: it read", "With them off"), (before, after)):
        column.metric(label, int(np.argmax(chances)))
        column.markdown(f"{confidence(float(chances.max()))} sure")
    labels = kept.test.labels
    intact = Evaluation(labels, trained.evaluation.probabilities[: len(labels)])
    st.caption(
        f"Test accuracy on the first {len(labels):,} test digits: {intact.accuracy:.1%} with every unit on, "
        f"{kept.test.accuracy:.1%} with them off."
    )
    plot(accuracy_change_figure(intact.per_class_accuracy, kept.test.per_class_accuracy))


st.title("Inside the network")
st.caption(
    f"Every unit does the same small sum. {word('unit')} Click a square in a layer below, or a circle "
    "of the network drawn as a graph (or type its number), to see that sum with the real numbers for the drawing."
)
trained = pick_model()
image = session.drawing
if image is None:
    st.info("Draw a digit on the Draw page first. Until then, here is a test digit.", icon=":material/draw:")
    test = mnist()
    index = st.number_input("Test digit", 0, len(test.x_test) - 1, 0)
    image = test.scaled(test.x_test[index])

reader = trained.reader
intact = reader(image)
kept = knockout_of(trained)
activations = with_units_off(reader, image, kept) if kept else intact
off = kept.off if kept else {}
layers = activations[1:]
st.header("Click a unit")
if kept:
    st.caption(
        f"These pictures show the network with {kept.described} switched off (crossed out): each passes "
        "on 0, so the layers after it read less. Undo, below, switches them back on."
    )
heatmaps, as_graph = st.tabs(["Heatmaps", "As a graph"])
per_row = PER_ROW[session.projector]
for start in range(0, len(layers), per_row):
    for column, layer in zip(heatmaps.columns(per_row), layers[start : start + per_row]):
        figure = activation_figure(layer, f"{layer.name}: {layer.values.shape[-1]} {WHAT[layer.kind]}s", 300)
        plot(
            crossed(clickable(figure, layer), layer, off.get(layer.name, ())),
            column,
            key=f"inside-chart-{layer.name}",
            on_select=partial(picked, layer.name, layer.values.shape),
            selection_mode="points",
        )

names = [layer.name for layer in layers]
name = st.selectbox("Layer", names, len(names) - 1, key="inside-layer", help=word("layer"))
picked_layer = layers[names.index(name)]
position = tuple(int(value) for value in pick_unit(picked_layer, name))
with as_graph:
    st.caption(
        "Each column is a layer; each circle one of its units (in a conv or pooling layer, a whole "
        "filter's map, coloured by its strongest place), brighter when more active, against the layer's "
        "own most active. The lines run into the ringed unit from the units below that move its sum most: "
        "wider for more, blue where they add to it, red where they take away; fainter ones go one step "
        "further back. Click a circle to pick it."
    )
    graph = network_graph(trained.model, activations, name, position, GRAPH_NODES[session.projector], off)
    plot(
        graph_figure(graph, GRAPH_HEIGHT[session.projector]),
        key="inside-graph",
        on_select=partial(picked_node, activations),
        selection_mode="points",
    )
    if not any(edge.step == 1 for edge in graph.edges):
        st.info(f"Nothing reaches {name}'s {WHAT[picked_layer.kind]} {position[-1]} here: all it reads is 0.")
numbers = unit_arithmetic(trained.model, activations, name, position)
st.subheader(
    f"{name}, {WHAT[picked_layer.kind]} {position[-1]}"
    + (f" at row {position[0]}, column {position[1]}" if len(position) == 3 else "")
)
{"dense": dense_arithmetic, "output": dense_arithmetic, "conv": conv_arithmetic, "pool": pool_arithmetic}[
    picked_layer.kind
](numbers)
if position[-1] in off.get(name, ()):
    st.info(f"This {WHAT[picked_layer.kind]} is switched off: whatever its sum, it passes on 0.")
else:
    quiet_notes(trained, numbers, picked_layer.values, position[-1])
knock_out(
    trained, intact[-1].values, activations[-1].values, name, picked_layer.kind, picked_layer.values, position[-1]
)
