"""Plotly figures: layer heatmaps, class probabilities and training curves.

Each layer is one heatmap (feature maps are tiled into a single grid, not drawn as
subplots) so the Draw page stays cheap to render on every stroke. Cividis is the
colour scale throughout: it was designed to read the same with colour-vision deficiency.
"""

from __future__ import annotations

import base64
import io
from functools import cache
from math import ceil, isqrt
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepviz import plotly_internals
from deepviz.activations import LayerActivation
from deepviz.config import CLASSES
from deepviz.graph import PATCH

if TYPE_CHECKING:
    from deepviz.graph import Column, Graph
    from deepviz.history import History
    from deepviz.liveness import Liveness

COLOR_SCALE = "Cividis"
FONT = 14  # px: the smallest type in a figure, readable at 1400x1000 (Streamlit's chart theme sets 12)
# Weights are signed: ColorBrewer's red-blue diverging scale (colour-blind safe), zero in the middle.
WEIGHT_SCALE = "RdBu"
HIGHLIGHT = "#ffd43b"
MUTED = "#4c6a92"


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for n cells: 128 -> 8x16, 64 -> 8x8.

    Uses an exact factorisation when one is close to square, else pads the last row."""
    side = isqrt(n)
    rows = max(d for d in range(1, side + 1) if n % d == 0)
    if rows * 2 >= side:
        return rows, n // rows
    return side, ceil(n / side)


def unit_grid(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D layer laid out row by row in a near-square grid, NaN-padded, with each cell's unit index."""
    rows, cols = grid_shape(values.size)
    z = np.full(rows * cols, np.nan)
    z[: values.size] = values
    index = np.arange(rows * cols).reshape(rows, cols)
    return z.reshape(rows, cols), np.where(index < values.size, index, -1)


def tile_maps(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, channels) feature maps tiled into one image with 1-px NaN gaps, plus each pixel's channel."""
    height, width, channels = maps.shape
    rows, cols = grid_shape(channels)
    z = np.full((rows * (height + 1) - 1, cols * (width + 1) - 1), np.nan)
    channel = np.full(z.shape, -1)
    for k in range(channels):
        top, left = (k // cols) * (height + 1), (k % cols) * (width + 1)
        z[top : top + height, left : left + width] = maps[..., k]
        channel[top : top + height, left : left + width] = k
    return z, channel


def _heatmap(z, customdata, hovertemplate, zmin, zmax, colorscale=COLOR_SCALE) -> go.Heatmap:
    return go.Heatmap(
        z=z,
        customdata=customdata,
        hovertemplate=hovertemplate + "<extra></extra>",
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        showscale=False,
        xgap=0,
        ygap=0,
    )


def activation_figure(
    activation: LayerActivation,
    title: str,
    height: int = 260,
    top: float | None = None,
    shown: np.ndarray | None = None,
) -> go.Figure:
    """A layer's heatmap (see layer_trace) in a figure of its own."""
    trace = layer_trace(activation, top, shown)
    return _square_heatmap(trace, title, height, show_digits=activation.kind == "output")


class Grid(NamedTuple):
    """A layer laid out flat, as layer_trace and stage_figure draw it."""

    z: np.ndarray  # 2-D; NaN in the gaps between feature maps and after the last unit
    cells: np.ndarray | None  # each cell's unit, filter or digit (-1 in the gaps); None for pixels
    zmin: float
    zmax: float
    scale: str  # a Plotly colour scale's name
    kind: str  # the layer's


def layer_grid(activation: LayerActivation, top: float | None = None) -> Grid:
    """A layer's values as a 2-D grid. Its colours run from 0 to the layer's most active unit for
    this drawing, or to `top`, fixed per layer (see `activations.fixed_scales`), so colours
    compare across drawings."""
    values, kind = activation.values, activation.kind
    if kind == "input":
        return Grid(values, None, 0.0, 1.0, "Greys_r", kind)
    if kind == "output":
        return Grid(values[np.newaxis, :], np.arange(CLASSES)[np.newaxis, :], 0.0, 1.0, COLOR_SCALE, kind)
    finite = values[np.isfinite(values)]
    zmin = min(0.0, float(finite.min()))
    zmax = top if top is not None else max(float(finite.max()), 1e-6)
    z, cells = tile_maps(values) if values.ndim == 3 else unit_grid(values)
    return Grid(z, cells, zmin, zmax, COLOR_SCALE, kind)


# What a cell is, on hover: a heatmap's value is its z.
CELL_NAMES = {"output": "digit", "conv": "filter", "pool": "filter", "dense": "unit"}


def layer_trace(activation: LayerActivation, top: float | None = None, shown: np.ndarray | None = None) -> go.Heatmap:
    """A layer's heatmap (see layer_grid); of feature maps, only those `shown` (see maps_grid)."""
    grid = layer_grid(activation, top) if shown is None else maps_grid(activation, shown, top)
    if grid.kind == "input":
        hover = "row %{y}, column %{x}: %{z:.2f}"
    else:
        hover = f"{CELL_NAMES[grid.kind]} %{{customdata}}: %{{z:.3f}}"
    return _heatmap(grid.z, grid.cells, hover, grid.zmin, grid.zmax, grid.scale)


def weights_figure(templates: np.ndarray, title: str, height: int = 320) -> go.Figure:
    """Weight templates (units, h, w), tiled: blue where ink raises the unit, red where it lowers it."""
    z, unit = tile_maps(np.moveaxis(templates, 0, -1))
    limit = float(np.nanmax(np.abs(z))) or 1.0
    trace = _heatmap(z, unit, "unit %{customdata}: weight %{z:.3f}", -limit, limit, WEIGHT_SCALE)
    return _square_heatmap(trace, title, height)


def digits_figure(images: np.ndarray, title: str, height: int = 320) -> go.Figure:
    """uint8 digit images (n, 28, 28), tiled in a near-square grid."""
    z, index = tile_maps(np.moveaxis(images, 0, -1) / 255.0)
    trace = _heatmap(z, index, "image %{customdata}", 0.0, 1.0, "Greys_r")
    return _square_heatmap(trace, title, height)


def _square_heatmap(trace: go.Heatmap, title: str, height: int, show_digits: bool = False) -> go.Figure:
    # The layout goes in with the figure: update_layout costs three times as much, on every stroke.
    return go.Figure(trace, layout=_square_layout(title, height, show_digits))


def _square_layout(title: str, height: int, show_digits: bool) -> dict:
    """Image-like axes: square cells, row 0 at the top, ticks only for the output's digits."""
    return {
        "title": {"text": title, "font": {"size": FONT}},
        "height": height,
        "margin": {"l": 4, "r": 4, "t": 36, "b": 4},
        "xaxis": {"visible": show_digits, "tickvals": list(range(CLASSES)), "tickfont": {"size": FONT}},
        "yaxis": {"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain"},
    }


def probability_figure(probabilities: np.ndarray, height: int = 260, font: int = FONT) -> go.Figure:
    """One bar per digit, the answer's highlighted; no axis titles: the digits and the
    percentages say what they are, and the room keeps the height."""
    best = int(np.argmax(probabilities))
    colors = [HIGHLIGHT if digit == best else MUTED for digit in range(CLASSES)]
    bars = go.Bar(
        x=list(range(CLASSES)),
        y=probabilities,
        marker_color=colors,
        hovertemplate="digit %{x}: %{y:.1%}<extra></extra>",
    )
    return go.Figure(
        bars,
        layout={
            "height": height,
            "font": {"size": font},
            "margin": {"l": 4, "r": 4, "t": 8, "b": 4},
            # Tick labels sized here: Streamlit's chart theme gives them its own small size.
            "xaxis": {"tickvals": list(range(CLASSES)), "fixedrange": True, "tickfont": {"size": font}},
            "yaxis": {
                "range": [0, 1],
                "tickvals": [0, 0.5, 1],
                "tickformat": ".0%",
                "fixedrange": True,
                "tickfont": {"size": font},
            },
        },
    )


def curves_figure(history: History, height: int = 300) -> go.Figure:
    """Training loss and accuracy as it trains; validation after each epoch."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    _add_curves(figure, history, "", MUTED, HIGHLIGHT)
    return _curves_layout(figure, history.epochs, height)


# Okabe and Ito's sky blue and orange: apart for every kind of colour vision, and on a dark page.
NETWORK_COLORS = ("#56B4E9", "#E69F00")


def comparison_figure(histories: dict[str, History], height: int = 340) -> go.Figure:
    """Two networks' curves on the same axes, one colour each: validation solid, training faint."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    for (name, history), color in zip(histories.items(), NETWORK_COLORS):
        _add_curves(figure, history, f"{name}: ", color, color, training_opacity=0.4)
    return _curves_layout(figure, max(history.epochs for history in histories.values()), height)


def _add_curves(figure, history, prefix, training_color, validation_color, training_opacity=1.0) -> None:
    x = [point[0] for point in history.points]
    epochs = [row["epoch"] for row in history.rows]
    for col, metric in ((1, "loss"), (2, "accuracy")):
        values = [point[col] for point in history.points]
        figure.add_scatter(
            x=x,
            y=values,
            name=f"{prefix}training (recent batches)",
            legendgroup=f"{prefix}train",
            showlegend=col == 1,
            line_color=training_color,
            opacity=training_opacity,
            row=1,
            col=col,
        )
        if any(f"val_{metric}" in row for row in history.rows):
            validation = [row[f"val_{metric}"] for row in history.rows]
            figure.add_scatter(
                x=epochs,
                y=validation,
                name=f"{prefix}validation (after each epoch)",
                legendgroup=f"{prefix}validation",
                showlegend=col == 1,
                mode="lines+markers",
                line_color=validation_color,
                row=1,
                col=col,
            )


def _curves_layout(figure: go.Figure, epochs: int, height: int) -> go.Figure:
    figure.update_xaxes(title_text="epoch", range=[0, epochs])
    figure.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 36, "b": 4},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.12, "xanchor": "right", "x": 1},
    )
    return _type_size(figure, FONT)


def confusion_figure(confusion: np.ndarray, height: int = 420) -> go.Figure:
    """Counts of test images by true digit (rows) and predicted digit (columns)."""
    off_diagonal = confusion * (1 - np.eye(len(confusion), dtype=confusion.dtype))
    figure = go.Figure(
        go.Heatmap(
            # Colour the mistakes: the diagonal's hundreds would wash every error out.
            z=np.where(np.eye(len(confusion), dtype=bool), np.nan, off_diagonal),
            text=confusion,
            texttemplate="%{text}",
            customdata=confusion,
            hovertemplate="true %{y}, predicted %{x}: %{customdata} images<extra></extra>",
            colorscale=COLOR_SCALE,
            zmin=0,
            showscale=False,
        )
    )
    ticks = {"tickvals": list(range(CLASSES)), "dtick": 1}
    figure.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 8, "b": 4},
        xaxis={**ticks, "title": "predicted digit", "side": "top"},
        yaxis={**ticks, "title": "true digit", "autorange": "reversed", "scaleanchor": "x"},
    )
    return _type_size(figure, FONT)


def per_class_figure(per_class_accuracy: np.ndarray, height: int = 260) -> go.Figure:
    worst = int(np.argmin(per_class_accuracy))
    figure = go.Figure(
        go.Bar(
            x=list(range(CLASSES)),
            y=per_class_accuracy,
            marker_color=[HIGHLIGHT if digit == worst else MUTED for digit in range(CLASSES)],
            text=[f"{value:.1%}" for value in per_class_accuracy],
            textangle=0,
            hovertemplate="digit %{x}: %{y:.2%} right<extra></extra>",
        )
    )
    low = max(0.0, float(per_class_accuracy.min()) - 0.05)
    figure.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 8, "b": 4},
        xaxis={"tickvals": list(range(CLASSES)), "title": "digit"},
        yaxis={"range": [low, 1], "tickformat": ".0%", "title": "test accuracy"},
    )
    return _type_size(figure, FONT)


def accuracy_change_figure(before: np.ndarray, after: np.ndarray, height: int = 300) -> go.Figure:
    """Per-digit test accuracy with every unit on and with some switched off, side by side; the
    axis starts near the lowest, so that a drop shows."""
    figure = go.Figure(
        [
            go.Bar(name="all units on", x=list(range(CLASSES)), y=before, marker_color=MUTED),
            go.Bar(name="units switched off", x=list(range(CLASSES)), y=after, marker_color=HIGHLIGHT),
        ]
    )
    figure.update_layout(
        height=height,
        barmode="group",
        margin={"l": 4, "r": 4, "t": 8, "b": 4},
        xaxis={"tickvals": list(range(CLASSES)), "title": "digit"},
        yaxis={
            "range": [max(0.0, min(before.min(), after.min()) - 0.05), 1],
            "tickformat": ".0%",
            "title": "test accuracy",
        },
        legend={"orientation": "h", "y": -0.3},
    )
    return _type_size(figure, FONT)


def numbers_figure(values: np.ndarray, title: str, symmetric: bool, height: int = 260) -> go.Figure:
    """A small grid of numbers (a patch, a kernel, a window), each printed in its cell."""
    limit = float(np.abs(values).max()) or 1.0
    trace = go.Heatmap(
        z=values,
        text=np.round(values, 2),
        texttemplate="%{text}",
        colorscale=WEIGHT_SCALE if symmetric else "Greys_r",
        zmin=-limit if symmetric else 0.0,
        zmax=limit,
        showscale=False,
        hovertemplate="%{z:.4f}<extra></extra>",
    )
    layout = {
        "title": {"text": title},
        "height": height,
        "margin": {"l": 4, "r": 4, "t": 36, "b": 4},
        "xaxis": {"visible": False},
        "yaxis": {"visible": False, "autorange": "reversed", "scaleanchor": "x"},
    }
    return _type_size(go.Figure(trace, layout=layout), FONT)


# The drawing's outline over a saliency map: white, on a black halo, so it reads on the scale's
# dark and bright ends alike, and is never mistaken for the map's bright "decided" colour.
OUTLINE = (("black", 5), ("white", 2))


def overlay_figure(image: np.ndarray, heat: np.ndarray, title: str, height: int = 260) -> go.Figure:
    """`heat` on the activity scale (dark: no effect, bright: decided most), under the 28x28
    `image`'s outline: the ink edge, not the ink, which filled in white would hide the map."""
    glow = _heatmap(heat, None, "row %{y}, column %{x}: %{z:.3f}", 0.0, float(heat.max()) or 1.0)
    outline = [
        go.Contour(
            z=image,
            contours={"start": 0.5, "end": 0.5, "coloring": "none"},
            line={"color": color, "width": width},
            showscale=False,
            showlegend=False,
            hoverinfo="skip",
        )
        for color, width in OUTLINE
    ]
    return go.Figure([glow, *outline], layout=_square_layout(title, height, show_digits=False))


# Ten clearly different hues, bright enough for the app's dark background on a projector: any
# two at least 35 apart in CIELAB, each at least 4.8:1 against the background (tests/test_projection_figure.py).
DIGIT_COLORS = (
    "#4E9BFF",  # blue
    "#FF8C1A",  # orange
    "#3CCB5A",  # green
    "#FF4B4B",  # red
    "#B57BFF",  # purple
    "#FFE135",  # yellow
    "#00D5D5",  # cyan
    "#FF7EDB",  # pink
    "#A0785A",  # brown
    "#E0E0E0",  # light grey
)
SHOWN_SHARE = (1, 99)  # percentiles of each axis a projection's picture spans: stray dots fall outside


def _spread(values: np.ndarray, extra: np.ndarray | None) -> list[float]:
    """An axis range over the bulk of `values` and all of `extra`, with a margin: a few stray
    points must not squeeze every cloud into a corner."""
    low, high = np.percentile(values, SHOWN_SHARE)
    if extra is not None:
        low, high = min(low, extra.min()), max(high, extra.max())
    margin = 0.05 * (high - low) or 1.0
    return [float(low - margin), float(high + margin)]


def projection_figure(
    points: np.ndarray,
    labels: np.ndarray,
    title: str,
    drawing=None,
    height: int = 380,
    indices: np.ndarray | None = None,
) -> go.Figure:
    """A layer's 2-D projection, one colour per true digit (digit_key_figure is their one
    legend), scaled to the bulk of its points; `drawing`, if given, as a star, always in view.
    With each point's test-set `indices`, hover names the test digit, a picked point reports
    it as its customdata (see projection.picked_indices), and dragging draws a box to pick with."""
    figure = go.Figure()
    for digit in range(CLASSES):
        mine = labels == digit
        figure.add_scattergl(
            x=points[mine, 0],
            y=points[mine, 1],
            mode="markers",
            name=str(digit),
            marker={"size": 4, "color": DIGIT_COLORS[digit], "opacity": 0.7},
            customdata=None if indices is None else indices[mine],
            hovertemplate=f"a test digit {digit}"
            + ("" if indices is None else ", number %{customdata}")
            + "<extra></extra>",
        )
    if drawing is not None:
        figure.add_scatter(
            x=[drawing[0]],
            y=[drawing[1]],
            mode="markers+text",
            name="your drawing",
            # Named on the picture itself: with one shared key and no legend, a star alone says nothing.
            text=["your drawing"],
            textposition="top center",
            textfont={"size": FONT, "color": "white"},
            marker={"size": 18, "symbol": "star", "color": "white", "line": {"width": 2, "color": "black"}},
            hovertemplate="your drawing<extra></extra>",
        )
    star = None if drawing is None else np.asarray(drawing)
    figure.update_layout(
        title={"text": title, "font": {"size": FONT}},
        height=height,
        margin={"l": 4, "r": 4, "t": 36, "b": 4},
        xaxis={"visible": False, "range": _spread(points[:, 0], None if star is None else star[:1])},
        yaxis={"visible": False, "range": _spread(points[:, 1], None if star is None else star[1:])},
        showlegend=False,
        dragmode=None if indices is None else "select",
    )
    return figure


THUMBNAIL_SCALE = 4  # a 28-pixel digit drawn 112 pixels wide, sharp: a browser would blur it up
WRONG = "#FF4B4B"  # the frame round a digit the network reads wrong


def thumbnails(images: np.ndarray, wrong: np.ndarray) -> list[np.ndarray]:
    """uint8 digit images (n, 28, 28) as RGB pictures, each THUMBNAIL_SCALE times as large,
    those `wrong` framed in WRONG."""
    big = np.repeat(np.repeat(images, THUMBNAIL_SCALE, axis=1), THUMBNAIL_SCALE, axis=2)
    pictures = np.repeat(big[..., np.newaxis], 3, axis=-1)
    frame = np.zeros(big.shape[1:], bool)
    frame[:THUMBNAIL_SCALE], frame[-THUMBNAIL_SCALE:] = True, True
    frame[:, :THUMBNAIL_SCALE], frame[:, -THUMBNAIL_SCALE:] = True, True
    pictures[np.asarray(wrong)[:, np.newaxis, np.newaxis] & frame] = plotly.colors.hex_to_rgb(WRONG)
    return list(pictures)


def digit_key_figure(height: int = 60) -> go.Figure:
    """The one legend of every projection: each digit beside its colour, in a row."""
    figure = go.Figure(
        go.Scatter(
            x=list(range(CLASSES)),
            y=[0] * CLASSES,
            mode="markers+text",
            marker={"size": 16, "color": DIGIT_COLORS},
            text=[str(digit) for digit in range(CLASSES)],
            textposition="middle right",
            hoverinfo="skip",
        )
    )
    figure.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        xaxis={"visible": False, "range": [-0.3, CLASSES]},
        yaxis={"visible": False},
        showlegend=False,
    )
    return _type_size(figure, FONT)  # projector mode enlarges it with the rest


PROJECTOR_FONT = 26  # px: at least 24 px, and 1/75 of a 1920-pixel-wide screen (see README)
PROJECTOR_GROWTH = 1.5  # heatmaps, two to a row instead of four
ACTIVITY_SCALE = go.Heatmap(colorscale=COLOR_SCALE).colorscale  # as Plotly spells it out on a trace


class DrawFigures(NamedTuple):
    """Every chart the Draw page shows for one drawing; the bench times building them."""

    stage: go.Figure  # every layer, left to right
    maps: list[go.Figure]  # saliency: only when asked for


def draw_figures(
    image: np.ndarray,
    activations: list[LayerActivation],
    maps: list[tuple[str, np.ndarray]],
    titles: dict[str, str] | None = None,
    tops: dict[str, float] | None = None,
    font: int = FONT,
    height: int = 220,
) -> DrawFigures:
    """For a prepared drawing: the stage of every layer (titled and scaled by layer name where
    `titles` and `tops` say, `height` pixels tall), and its saliency `maps` over the drawing."""
    titles, tops = titles or {}, tops or {}
    return DrawFigures(
        stage_figure(activations, titles, tops, font, height),
        [overlay_figure(image, heat, title) for title, heat in maps],
    )


def _type_size(figure: go.Figure, size: int) -> go.Figure:
    """All of the figure's type at `size` px: ticks, titles, legends, text in bars and cells,
    each set on its own, as Streamlit's chart theme sets each smaller."""
    font = {"size": size}
    figure.update_layout(font=font, title_font=font, legend_font=font)
    figure.update_xaxes(tickfont=font, title_font=font)
    figure.update_yaxes(tickfont=font, title_font=font)
    figure.update_annotations(font=font)
    figure.update_traces(
        textfont=font,
        selector=lambda trace: trace.type in ("bar", "heatmap") or getattr(trace, "text", None) is not None,
    )
    return figure


def for_projector(figure: go.Figure) -> go.Figure:
    """The figure for a room of viewers: all its type large (ticks, titles, legends, text in
    bars and cells; Streamlit's chart theme would set its own, smaller), and beside every
    heatmap of activity its colour scale as a legend, from quiet (0) to the top of the layer's scale."""
    font = {"size": PROJECTOR_FONT}
    # Text in a bar that does not fit at this size is left out, not shrunk out of reach.
    _type_size(figure, PROJECTOR_FONT).update_layout(uniformtext={"minsize": PROJECTOR_FONT, "mode": "hide"})
    if any(trace.type == "heatmap" for trace in figure.data) and figure.layout.height:
        figure.update_layout(height=round(figure.layout.height * PROJECTOR_GROWTH))
    for trace in figure.data:
        # Only a scale with both ends fixed has a legend to read. The confusion matrix leaves its
        # top to Plotly (the largest count) and prints each count in its cell instead.
        activity = trace.type == "heatmap" and trace.colorscale == ACTIVITY_SCALE
        if activity and None not in (trace.zmin, trace.zmax):
            zmin, zmax = trace.zmin, trace.zmax
            trace.update(
                showscale=True,
                colorbar={
                    "tickvals": [zmin, zmax],
                    "ticktext": [f"{zmin:.2g} quiet", f"{zmax:.2g} active"],
                    "thickness": 16,
                    "len": 0.9,
                    "tickfont": font,
                },
            )
    return figure


# The Draw page's stage: every layer in one figure, left to right from pixels to the decision.
# One figure instead of one per layer: a stroke sends and paints one chart, not seven.
STAGE_GAP = 0.02  # of the figure's width, between two layers
# Feature maps a layer shows on the stage, 3 by 3: each a third of the layer's square. All 64 of
# conv2's maps, 8 by 8, were smudges of 13 px at 1400x1000.
STAGE_MAPS = 9


def stage_maps(activation: LayerActivation, before: np.ndarray | None) -> np.ndarray:
    """Which of a layer's feature maps the stage shows, in order: all, if STAGE_MAPS or fewer;
    else the STAGE_MAPS most active (highest mean) for this drawing, most active first. A
    pooling layer shows those the layer before it showed: the same filters, seen shrinking."""
    channels = activation.values.shape[-1]
    if activation.kind == "pool" and before is not None:
        return before
    if channels <= STAGE_MAPS:
        return np.arange(channels)
    return np.argsort(-activation.values.mean(axis=(0, 1)), kind="stable")[:STAGE_MAPS]


def shown_maps(activations: list[LayerActivation]) -> list[np.ndarray | None]:
    """Per layer, the feature maps it shows (see stage_maps), in order; None for a layer of units."""
    shown, before = [], None
    for activation in activations:
        if activation.values.ndim == 3:
            before = stage_maps(activation, before)
        shown.append(before if activation.values.ndim == 3 else None)
    return shown


def maps_grid(activation: LayerActivation, shown: np.ndarray, top: float | None) -> Grid:
    """A layer's feature maps `shown`, tiled, each pixel's cell its filter's number in the
    whole layer; coloured to `top`, else to the whole layer's most active value, so a colour
    means the same whether the layer's brightest map is shown or not."""
    values = activation.values
    top = top if top is not None else max(float(values.max()), 1e-6)
    grid = layer_grid(LayerActivation(activation.name, activation.kind, values[..., shown]), top)
    assert grid.cells is not None  # tiled maps number their pixels' filters
    return grid._replace(cells=np.where(grid.cells >= 0, shown[grid.cells], -1))


def maps_note(shown: np.ndarray, activation: LayerActivation) -> str | None:
    """What a layer's picture leaves out, in a few words ("top 9 of 64"); None if it shows every map."""
    channels = activation.values.shape[-1]
    return f"top {len(shown)} of {channels}" if len(shown) < channels else None


def stage_figure(
    activations: list[LayerActivation],
    titles: dict[str, str],
    tops: dict[str, float],
    font: int = FONT,
    height: int = 220,
) -> go.Figure:
    """Every layer side by side in one figure, each with square cells, titled by `titles` and
    coloured as layer_trace does (to `tops`).

    Each layer is an image, a pixel a cell, not a heatmap: measured in Chromium, the page
    painted a stroke's seven heatmaps in about 150 ms, cell by cell, and the images in a
    fraction of it. Hover names each cell and gives its value, except in the tiled feature maps,
    where it names the filter: a value per pixel there cost the page 35 ms a stroke to unpack."""
    count = len(activations)
    width = (1 - STAGE_GAP * (count - 1)) / count
    traces, annotations = [], []
    layout = {"height": height, "margin": {"l": 2, "r": 2, "t": round(font * 1.8), "b": 2}, "font": {"size": font}}
    for index, (activation, shown) in enumerate(zip(activations, shown_maps(activations))):
        axis = "" if index == 0 else str(index + 1)
        left = index * (width + STAGE_GAP)
        values = activation.values
        if shown is not None:
            grid = maps_grid(activation, shown, tops.get(activation.name))
            note = maps_note(shown, activation)
            if note is not None:
                annotations.append(
                    {
                        "text": note,
                        "hovertext": f"the {len(shown)} most active of the layer's {values.shape[-1]} filters",
                        "x": (grid.z.shape[1] - 1) / 2,
                        "y": grid.z.shape[0] - 0.5,
                        "xref": f"x{axis}",
                        "yref": f"y{axis}",
                        "yanchor": "top",
                        "showarrow": False,
                        "font": {"size": font},
                    }
                )
        else:
            grid = layer_grid(activation, tops.get(activation.name))
        z, cells = grid.z.astype(np.float32), grid.cells
        if grid.kind == "output":  # two rows of five digits, each written in its cell
            assert cells is not None  # layer_grid numbers the output's digits
            z, cells = z.reshape(2, 5), cells.reshape(2, 5)
            annotations += [
                {
                    "text": str(digit),
                    "x": digit % 5,
                    "y": digit // 5,
                    "xref": f"x{axis}",
                    "yref": f"y{axis}",
                    "showarrow": False,
                    "font": {"size": font, "color": "black" if z.flat[digit] > 0.5 else "white"},
                }
                for digit in range(CLASSES)
            ]
        if cells is None:  # the input layer's pixels, the only layer without cells
            data, hover = z, "row %{y}, column %{x}: %{customdata:.2f}"
        elif z.ndim == 2 and activation.values.ndim == 3:
            data, hover = cells.astype(np.int16), "filter %{customdata}"
        else:
            data = np.dstack([cells, z]).astype(np.float32)
            hover = f"{CELL_NAMES[grid.kind]} %{{customdata[0]}}: %{{customdata[1]:.3f}}"
        traces.append(
            {
                "type": "image",
                "source": _png(_colour(z, grid.zmin, grid.zmax, grid.scale)),
                "customdata": data,
                "hovertemplate": hover + "<extra></extra>",
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
            }
        )
        layout[f"xaxis{axis}"] = {"domain": [left, left + width], "visible": False, "fixedrange": True}
        layout[f"yaxis{axis}"] = {
            "visible": False,
            "autorange": "reversed",
            "scaleanchor": f"x{axis}",
            "constrain": "domain",
            "constraintoward": "top",
            "fixedrange": True,  # squares under their titles, however wide
        }
        annotations.append(
            {
                "text": titles.get(activation.name, activation.name),
                "x": left + width / 2,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": font},
            }
        )
    return plotly_internals.unchecked_figure(traces, layout | {"annotations": annotations})


@cache
def _stops(scale: str) -> tuple[np.ndarray, np.ndarray]:
    """A Plotly colour scale's positions and RGB colours, read once (the stage colours every stroke)."""
    stops = plotly.colors.get_colorscale(scale)
    positions = np.array([position for position, _ in stops])
    rgb = np.array(
        [
            plotly.colors.hex_to_rgb(colour) if colour.startswith("#") else plotly.colors.unlabel_rgb(colour)
            for _, colour in stops
        ]
    )
    return positions, rgb


def _colour(z: np.ndarray, zmin: float, zmax: float, scale: str) -> np.ndarray:
    """`z` through a Plotly colour scale, as RGBA bytes; NaN (the gaps between maps) transparent."""
    positions, rgb = _stops(scale)
    level = np.clip((np.nan_to_num(z, nan=zmin) - zmin) / max(zmax - zmin, 1e-12), 0, 1)
    channels = [np.interp(level, positions, rgb[:, c]) for c in range(3)]
    return np.dstack([*channels, np.where(np.isnan(z), 0, 255)]).round().astype(np.uint8)


def _png(rgba: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def dead_units_figure(life: Liveness, at: int, height: int = 300) -> go.Figure:
    """Each layer's share of dead units per kept epoch, one line per layer; the epoch `at` marked."""
    figure = go.Figure()
    # Dashes as well as colours: lines that lie on top of each other (all 0%, all 100%) still show.
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")
    for index, (layer, color) in enumerate(zip(life.layers, DIGIT_COLORS)):
        figure.add_scatter(
            x=life.epochs,
            y=layer.dead / layer.units,
            name=layer.name,
            mode="lines+markers",
            line={"color": color, "width": 3, "dash": dashes[index % len(dashes)]},
            marker={"size": 9},
            customdata=np.stack([layer.dead, np.full(len(layer.dead), layer.units)], axis=-1),
            hovertemplate=f"{layer.name}: %{{customdata[0]}} of %{{customdata[1]}} units dead<extra></extra>",
        )
    figure.add_vline(x=life.epochs[at], line={"color": HIGHLIGHT, "dash": "dot"})
    figure.update_xaxes(title_text="epoch", range=[0, max(*life.epochs, 1)])
    figure.update_yaxes(title_text="dead units", range=[0, 1.05], tickformat=".0%", tickvals=[0, 0.5, 1])
    figure.update_layout(
        height=height,
        margin={"l": 4, "r": 4, "t": 36, "b": 4},
        # On the left: Plotly's toolbar takes the top right corner.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    )
    return _type_size(figure, FONT)


def responses_figure(life: Liveness, at: int, height: int = 260) -> go.Figure:
    """Per layer, how its units respond to the digits at kept epoch `at`: the share of responses
    in each of the layer's bins. Bins and axes stay the same at every epoch, so a slider over
    the epochs shows the responses move; a tall bar at 0 is units staying quiet."""
    columns = min(len(life.layers), 3)
    rows = ceil(len(life.layers) / columns)
    titles = [f"{layer.name}: {layer.dead[at]} of {layer.units} dead" for layer in life.layers]
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.06)
    for index, layer in enumerate(life.layers):
        row, col = index // columns + 1, index % columns + 1
        figure.add_bar(
            x=(layer.edges[:-1] + layer.edges[1:]) / 2,
            y=layer.shares[at],
            width=np.diff(layer.edges),
            marker_color=MUTED,
            showlegend=False,
            hovertemplate="response %{x:.2g}: %{y:.1%} of responses<extra></extra>",
            row=row,
            col=col,
        )
        figure.update_xaxes(range=[layer.edges[0], layer.edges[-1]], title_text="response", row=row, col=col)
        top = float(layer.shares.max()) * 1.05
        figure.update_yaxes(range=[0, top], tickformat=".0%", nticks=3, row=row, col=col)
    figure.update_layout(height=height * rows, margin={"l": 4, "r": 4, "t": 36, "b": 4}, bargap=0)
    return _type_size(figure, FONT)


def difference_figure(difference: np.ndarray, title: str, height: int = 260) -> go.Figure:
    """A change to a 28x28 image: blue where ink was added, red where it was taken away."""
    limit = float(np.abs(difference).max()) or 1.0
    trace = _heatmap(difference, None, "row %{y}, column %{x}: %{z:+.2f} ink", -limit, limit, WEIGHT_SCALE)
    return _square_heatmap(trace, title, height)


def graph_figure(graph: Graph, height: int = 640) -> go.Figure:
    """The network as a graph (deepviz.graph): a column of nodes per layer, each coloured by its
    activity against its layer's own most active (as the heatmaps are), the selected unit ringed;
    edges into it from its strongest inputs, their width by how much they add and their colour
    by sign, and fainter ones a step further back. Each node's customdata is (layer, unit)."""
    # The scale's mid-tones, not its darkest ends: an edge must show on a dark theme and a light one.
    negative, positive = (f"rgb{tuple(int(c) for c in rgb)}" for rgb in _stops(WEIGHT_SCALE)[1][[2, -3]])
    rows = max(len(column.units) for column in graph.columns)
    gap = (height - 150) / (rows + 2.5)  # px between two nodes: the type and margins take the rest
    size = max(8.0, 0.7 * gap)
    place = {}
    x, y, colour, text, hover, data, outline = [], [], [], [], [], [], []
    for at, column in enumerate(graph.columns):
        for row, (unit, value) in enumerate(zip(column.units, column.values)):
            place[column.name, unit] = (at, (len(column.units) - 1) / 2 - row)
            x.append(at)
            y.append(place[column.name, unit][1])
            colour.append((value - column.low) / (column.top - column.low))
            text.append("" if column.kind == "input" else str(unit))
            hover.append(f"{_node_name(column, unit)}: {value:.3f}")
            data.append((column.name, unit))
            outline.append(4 if (column.name, unit) == graph.selected else 1)
    traces = [
        go.Scatter(x=[None], y=[None], mode="lines", line={"color": colour_, "width": 6}, name=name)
        for colour_, name in ((positive, "adds to the sum"), (negative, "takes away from it"))
    ]
    strongest = {step: max((abs(e.value) for e in graph.edges if e.step == step), default=1.0) for step in (1, 2)}
    for edge in graph.edges:
        (x0, y0), (x1, y1) = place[edge.source, edge.source_unit], place[edge.target, edge.target_unit]
        widest = 10 if edge.step == 1 else 5
        traces.append(
            go.Scatter(
                x=[x0, x1],
                y=[y0, y1],
                mode="lines",
                line={
                    "color": positive if edge.value > 0 else negative,
                    "width": 1 + widest * abs(edge.value) / strongest[edge.step],
                },
                opacity=1.0 if edge.step == 1 else 0.4,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    off = [(place[c.name, unit], (c.name, unit)) for c in graph.columns for unit in c.off]
    if off:
        traces.append(
            go.Scatter(
                x=[xy[0] for xy, _ in off],
                y=[xy[1] for xy, _ in off],
                customdata=[name for _, name in off],
                mode="markers",
                marker={"symbol": "x", "size": size * 1.2, "color": "white", "line": {"color": "black", "width": 2}},
                name="switched off",
                hoverinfo="skip",
            )
        )
    ring = outline.index(4)
    traces.append(  # around the selected unit, a gap of the page's own colour, then a ring
        go.Scatter(
            x=[x[ring]],
            y=[y[ring]],
            mode="markers",
            marker={"symbol": "circle-open", "size": size * 2.1, "color": HIGHLIGHT, "line": {"width": 4}},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    traces.append(
        go.Scatter(
            x=x,
            y=y,
            customdata=data,
            mode="markers+text",
            text=text,
            textposition="middle right",
            hovertext=hover,
            hoverinfo="text",
            marker={
                "size": [size * (1.4 if width > 1 else 1) for width in outline],
                "color": colour,
                "colorscale": ACTIVITY_SCALE,
                "cmin": 0,
                "cmax": 1,
                "line": {"color": "grey", "width": outline},
            },
            showlegend=False,
        )
    )
    titles = [
        {"x": at, "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False, "text": _column_title(column)}
        for at, column in enumerate(graph.columns)
    ]
    notes = [
        {
            "x": at,
            "y": -(len(c.units) + 1) / 2,
            "yanchor": "top",
            "showarrow": False,
            "text": f"+ {c.left_out}<br>quieter",
        }
        for at, c in enumerate(graph.columns)
        if c.left_out
    ]
    figure = go.Figure(
        traces,
        layout={
            "height": height,
            "margin": {"l": 4, "r": 4, "t": 100, "b": 50},
            "xaxis": {"visible": False, "range": [-0.7, len(graph.columns) - 0.3]},
            "yaxis": {"visible": False, "range": [-(rows + 5) / 2, rows / 2]},
            "annotations": titles + notes,
            "legend": {"orientation": "h", "x": 0.5, "xanchor": "center", "y": 0, "yanchor": "top"},
            "clickmode": "event+select",
            "dragmode": False,
            "hovermode": "closest",
        },
    )
    return _type_size(figure, FONT)


COLUMN_WORDS = {"input": "4x4 patches", "conv": "filters", "pool": "filters", "dense": "units", "output": "digits"}


def _column_title(column: Column) -> str:
    return f"{column.name}<br>{column.size} {COLUMN_WORDS[column.kind]}"


def _node_name(column: Column, unit: int) -> str:
    if column.kind == "input":
        row, col = (PATCH * place for place in divmod(unit, round(column.size**0.5)))  # 28 x 28: 7 x 7 patches
        return f"pixels, rows {row}-{row + PATCH - 1}, columns {col}-{col + PATCH - 1} (mean ink)"
    return f"{column.name} {CELL_NAMES[column.kind]} {unit}"
