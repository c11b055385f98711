"""The network as a graph: each layer a column of nodes coloured by how active they are for one
drawing, and edges into one selected unit from the nodes of the layer below that move its sum
most (weight x input, from `deepviz.arithmetic.unit_arithmetic`), then, fainter, into those.

A node is a unit of a Dense layer, a digit of the output, a whole feature map of a Conv or
pooling layer (its value: the map's strongest place, as a filter says "I found my pattern" with
its peak, where its mean would drown in the empty background of a drawing), or a 4x4 patch of
pixels (its value: the patch's mean ink). Patches, not pixels: one of 784 pixels adds almost
nothing to a sum, and a column cannot hold 784 nodes; a patch's share is visible, and the
column reads like every other. A column shows at most `nodes` of them (see `thinned`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deepviz.arithmetic import Arithmetic, unit_arithmetic

if TYPE_CHECKING:
    import keras

    from deepviz.activations import LayerActivation

PATCH = 4  # pixels a side of an input node: the 28 x 28 drawing as 7 x 7 patches
EDGES = 6  # edges into the selected unit: its strongest inputs
BACK = 3  # of those, how many show their own strongest inputs, one step further back
BACK_EDGES = 2  # edges into each of those


@dataclass(frozen=True)
class Column:
    """One layer's nodes as the graph shows them."""

    name: str
    kind: str  # input, conv, pool, dense or output
    size: int  # nodes in the whole layer
    units: tuple[int, ...]  # those shown, in index order
    values: np.ndarray  # each shown node's value
    low: float  # the colour scale's ends: the layer's own, as a heatmap's
    top: float
    off: tuple[int, ...] = ()  # shown units switched off

    @property
    def left_out(self) -> int:
        return self.size - len(self.units)


@dataclass(frozen=True)
class Edge:
    source: str  # layer
    source_unit: int
    target: str
    target_unit: int
    value: float  # weight x input, added up over the source node; a pooling unit: what it passes on
    step: int  # 1: into the selected unit; 2: into one of its strongest inputs


@dataclass(frozen=True)
class Graph:
    columns: list[Column]
    edges: list[Edge]
    selected: tuple[str, int]


def node_values(activation: LayerActivation) -> np.ndarray:
    """A layer's value per node: a patch's mean ink, a feature map's strongest place, a unit's value."""
    values = activation.values
    if activation.kind == "input":
        rows, columns = (side // PATCH for side in values.shape)
        return values[: rows * PATCH, : columns * PATCH].reshape(rows, PATCH, columns, PATCH).mean(axis=(1, 3)).ravel()
    if values.ndim == 3:
        return values.reshape(-1, values.shape[-1]).max(axis=0)
    return values


def strongest_place(values: np.ndarray, unit: int) -> tuple[int, ...]:
    """A unit's position: a feature map's at its strongest place."""
    if values.ndim == 1:
        return (unit,)
    row, column = np.unravel_index(int(np.argmax(values[..., unit])), values.shape[:2])
    return int(row), int(column), unit


def _patch(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The input node of each pixel place (places past the border, padding, go to node 0: they add 0)."""
    per_row = shape[1] // PATCH
    inside = (rows >= 0) & (rows < shape[0]) & (columns >= 0) & (columns < shape[1])
    return np.where(inside, np.clip(rows // PATCH, 0, None) * per_row + np.clip(columns // PATCH, 0, None), 0)


def source_nodes(numbers: Arithmetic, below: LayerActivation) -> np.ndarray:
    """For each of a unit's flat inputs, the node of the layer below that it comes from."""
    shape = below.values.shape
    if numbers.kind in ("conv", "pool"):
        side = numbers.inputs.shape[0]
        row, column, channel = numbers.position
        if below.kind != "input":
            channels = np.indices(numbers.inputs.shape)[2]
            return (channels if numbers.kind == "conv" else np.full_like(channels, channel)).ravel()
        if numbers.kind == "pool":
            top, left = row * side, column * side
        else:
            top, left = row - (side - 1) // 2, column - (side - 1) // 2  # 'same' padding, as the arithmetic pads
        rows, columns = np.indices((side, side))
        return _patch(rows + top, columns + left, shape).ravel()
    index = np.arange(numbers.inputs.size)
    if below.kind == "input":
        return _patch(index // shape[1], index % shape[1], shape)
    return index % shape[-1] if len(shape) == 3 else index


def incoming(numbers: Arithmetic, below: LayerActivation) -> np.ndarray:
    """What each node of the layer below adds to the unit's sum (weight x input, added up over
    the node's places and filters); for a pooling unit, the largest value of its one map's window."""
    nodes = source_nodes(numbers, below)
    size = len(node_values(below))
    if numbers.kind == "pool":
        by_node = np.zeros(size)
        by_node[nodes[int(np.argmax(numbers.inputs))]] = numbers.output
        return by_node
    return np.bincount(nodes, weights=numbers.contributions.ravel(), minlength=size)


def _strongest(by_node: np.ndarray, count: int) -> list[int]:
    order = np.argsort(-np.abs(by_node), kind="stable")[:count]
    return [int(node) for node in order if by_node[node] != 0]


def thinned(values: np.ndarray, kept: list[int], nodes: int) -> tuple[int, ...]:
    """At most `nodes` of a layer's nodes, in index order: those in `kept` first (the selected
    unit, the ends of edges, the switched-off ones), then the most active."""
    active = np.argsort(-values, kind="stable")
    chosen = list(dict.fromkeys([*kept, *(int(unit) for unit in active)]))[:nodes]
    return tuple(sorted(chosen))


def network_graph(
    model: keras.Model,
    activations: list[LayerActivation],
    layer: str,
    position: tuple[int, ...],
    nodes: int = 16,
    off: dict[str, tuple[int, ...]] | None = None,
) -> Graph:
    """The graph of the network for one drawing's `activations` (LayerReader's, pixels first),
    with the unit at `position` of `layer` selected; `off`: units switched off, per layer."""
    off = off or {}
    names = [activation.name for activation in activations]
    at = names.index(layer)
    edges = []
    numbers = unit_arithmetic(model, activations, layer, position)
    into = incoming(numbers, activations[at - 1])
    sources = _strongest(into, EDGES)
    edges += [Edge(names[at - 1], node, layer, position[-1], float(into[node]), 1) for node in sources]
    below = activations[at - 1]
    if below.kind != "input":
        for node in sources[:BACK]:
            place = strongest_place(below.values, node)
            back = incoming(unit_arithmetic(model, activations, below.name, place), activations[at - 2])
            edges += [
                Edge(names[at - 2], source, below.name, node, float(back[source]), 2)
                for source in _strongest(back, BACK_EDGES)
            ]
    columns = []
    for activation in activations:
        values = node_values(activation)
        ends = [edge.source_unit for edge in edges if edge.source == activation.name]
        ends += [edge.target_unit for edge in edges if edge.target == activation.name]
        selected = [position[-1]] if activation.name == layer else []
        switched = list(off.get(activation.name, ()))
        units = thinned(values, selected + ends + switched, nodes)
        columns.append(
            Column(
                activation.name,
                activation.kind,
                len(values),
                units,
                values[list(units)],
                min(0.0, float(values.min())),
                max(float(values.max()), 1e-6),
                tuple(unit for unit in switched if unit in units),
            )
        )
    return Graph(columns, edges, (layer, position[-1]))
