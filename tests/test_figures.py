import json
from itertools import pairwise

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from deepviz.activations import LayerActivation
from deepviz.figures import (
    COLOR_SCALE,
    activation_figure,
    curves_figure,
    draw_figures,
    grid_shape,
    probability_figure,
    tile_maps,
    unit_grid,
)
from deepviz.graph import Column, Edge, Graph
from deepviz.history import History
from deepviz.liveness import LayerLife, Liveness


@pytest.mark.parametrize(
    ("units", "shape"), [(128, (8, 16)), (64, (8, 8)), (10, (2, 5)), (32, (4, 8)), (256, (16, 16)), (1, (1, 1))]
)
def test_dense_layers_fold_into_near_square_grids(units, shape):
    assert grid_shape(units) == shape


def test_awkward_sizes_are_padded_not_stretched():
    assert grid_shape(127) == (11, 12)  # a prime: a 1x127 strip would be unreadable
    z, index = unit_grid(np.arange(127.0))
    assert np.isnan(z).sum() == 5 and (index == -1).sum() == 5
    assert z[3, 4] == index[3, 4] == 3 * 12 + 4  # row-major: hover shows the unit's own index


def test_feature_maps_are_tiled_with_gaps():
    maps = np.arange(14 * 14 * 16, dtype=float).reshape(14, 14, 16)
    z, channel = tile_maps(maps)
    assert z.shape == (4 * 15 - 1, 4 * 15 - 1)
    assert np.isnan(z[14, :]).all() and (channel[14, :] == -1).all()
    np.testing.assert_array_equal(z[15:29, 30:44], maps[..., 6])
    assert (channel[15:29, 30:44] == 6).all()


@pytest.mark.parametrize(
    ("kind", "values", "z_shape", "hover"),
    [
        ("input", np.random.default_rng(0).random((28, 28)), (28, 28), "row"),
        ("dense", np.random.default_rng(1).random(128), (8, 16), "unit"),
        ("conv", np.random.default_rng(2).random((28, 28, 8)), (2 * 29 - 1, 4 * 29 - 1), "filter"),
        ("output", np.full(10, 0.1), (1, 10), "digit"),
    ],
)
def test_each_layer_is_one_heatmap(kind, values, z_shape, hover):
    figure = activation_figure(LayerActivation("x", kind, values), "title")
    (trace,) = figure.data
    assert trace.type == "heatmap"
    assert np.asarray(trace.z).shape == z_shape
    assert hover in trace.hovertemplate
    assert figure.layout.title.text == "title"


def test_hidden_layers_use_the_colour_blind_safe_scale_and_include_zero():
    import plotly.colors

    figure = activation_figure(LayerActivation("d", "dense", np.array([-2.0, 1.0, 3.0, 0.5])), "t")
    cividis = [color for _, color in plotly.colors.get_colorscale(COLOR_SCALE)]
    assert COLOR_SCALE == "Cividis" and [color for _, color in figure.data[0].colorscale] == cividis
    assert (figure.data[0].zmin, figure.data[0].zmax) == (-2.0, 3.0)
    positive = activation_figure(LayerActivation("d", "dense", np.array([0.5, 2.0])), "t")
    assert (positive.data[0].zmin, positive.data[0].zmax) == (0.0, 2.0)  # zero is always the darkest


def test_probabilities_highlight_the_prediction():
    probabilities = np.full(10, 0.05)
    probabilities[7] = 0.55
    colors = probability_figure(probabilities).data[0].marker.color
    assert colors[7] != colors[0] and len(set(colors)) == 2


def test_curves_show_training_and_validation():
    history = History(epochs=2, steps_per_epoch=10, steps=20)
    history.points = [(0.5, 1.0, 0.6), (1.0, 0.5, 0.8), (1.5, 0.4, 0.85), (2.0, 0.3, 0.9)]
    history.rows = [
        {"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.78},
        {"epoch": 2, "loss": 0.3, "accuracy": 0.9, "val_loss": 0.4, "val_accuracy": 0.88},
    ]
    traces = curves_figure(history).data
    assert [(trace.name, trace.showlegend) for trace in traces] == [
        ("training (recent batches)", True),
        ("validation (after each epoch)", True),
        ("training (recent batches)", False),
        ("validation (after each epoch)", False),
    ]
    assert list(traces[3].y) == [0.78, 0.88]
    no_validation = History(
        epochs=1,
        steps_per_epoch=1,
        steps=1,
        points=[(1.0, 0.5, 0.8)],
        rows=[{"epoch": 1, "loss": 0.5, "accuracy": 0.8}],
    )
    assert [trace.name for trace in curves_figure(no_validation).data] == ["training (recent batches)"] * 2


def test_weights_are_tiled_on_a_diverging_scale_centred_on_zero():
    from deepviz.figures import weights_figure

    templates = np.zeros((4, 28, 28))
    templates[1, 3, 3], templates[2, 5, 5] = 0.5, -2.0
    (trace,) = weights_figure(templates, "w").data
    assert np.asarray(trace.z).shape == (2 * 29 - 1, 2 * 29 - 1)
    assert (trace.zmin, trace.zmax) == (-2.0, 2.0)
    assert "weight" in trace.hovertemplate


def test_digits_are_tiled_in_grey():
    from deepviz.figures import digits_figure

    images = np.full((9, 28, 28), 255, np.uint8)
    (trace,) = digits_figure(images, "d").data
    assert np.asarray(trace.z).shape == (3 * 29 - 1, 3 * 29 - 1) and np.nanmax(trace.z) == 1.0


def test_saliency_outlines_the_drawing_in_colours_the_map_never_uses():
    """The drawing's ink, filled in white under a yellow map, read as the map's bright "decided" end."""
    from PIL.ImageColor import getrgb

    from deepviz.figures import ACTIVITY_SCALE, overlay_figure

    image = np.zeros((28, 28))
    image[6:22, 12:16] = 1.0
    heat = np.zeros((28, 28))
    heat[10, 12] = 4.0
    glow, *outlines = overlay_figure(image, heat, "o").data
    assert glow.type == "heatmap" and glow.colorscale == ACTIVITY_SCALE and (glow.zmin, glow.zmax) == (0, 4.0)
    np.testing.assert_array_equal(glow.z, heat)
    # the drawing only as its edge (no fill), in colours far from the map's bright end
    bright = np.array(getrgb(ACTIVITY_SCALE[-1][1]))
    for trace in outlines:
        assert trace.type == "contour" and trace.contours.coloring == "none" and trace.showlegend is False
        assert trace.contours.start == trace.contours.end == 0.5
        np.testing.assert_array_equal(trace.z, image)
    # one line dark, on which the other reads on the map's bright end
    lines = sorted(np.array(getrgb(trace.line.color)).sum() for trace in outlines)
    assert len(outlines) == 2 and lines[0] < 100 < 600 < lines[1]
    assert all(np.abs(np.array(getrgb(trace.line.color)) - bright).sum() > 150 for trace in outlines)


def test_projection_has_one_trace_per_digit_and_marks_the_drawing():
    from deepviz.figures import DIGIT_COLORS, projection_figure

    points = np.random.default_rng(0).random((100, 2))
    labels = np.arange(100) % 10
    figure = projection_figure(points, labels, "p", drawing=np.array([0.5, 0.5]))
    assert [trace.name for trace in figure.data] == [*map(str, range(10)), "your drawing"]
    assert len(set(DIGIT_COLORS)) == 10 and len(figure.data[3].x) == 10
    assert len(projection_figure(points, labels, "p").data) == 10


def test_two_networks_curves_share_the_axes_in_two_colours():
    from deepviz.figures import NETWORK_COLORS, comparison_figure

    short = History(
        epochs=1,
        steps_per_epoch=1,
        steps=1,
        points=[(1.0, 0.5, 0.8)],
        rows=[{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7}],
    )
    long = History(
        epochs=3,
        steps_per_epoch=1,
        steps=2,
        points=[(1.0, 0.4, 0.85), (2.0, 0.3, 0.9)],
        rows=[{"epoch": 1, "loss": 0.4, "accuracy": 0.85}],
    )  # stopped in epoch 3, no validation
    figure = comparison_figure({"A": short, "B": long})
    assert [(trace.name, trace.line.color) for trace in figure.data if trace.showlegend] == [
        ("A: training (recent batches)", NETWORK_COLORS[0]),
        ("A: validation (after each epoch)", NETWORK_COLORS[0]),
        ("B: training (recent batches)", NETWORK_COLORS[1]),
    ]
    assert figure.layout.xaxis.range == (0, 3) and figure.layout.xaxis2.range == (0, 3)


def test_the_draw_page_gets_every_layer_in_one_stage_and_a_figure_per_map():
    import base64
    import io

    from PIL import Image

    layers = [
        LayerActivation("pixels", "input", np.zeros((28, 28))),
        LayerActivation("dense1", "dense", np.arange(16.0)),
        LayerActivation("conv1", "conv", np.ones((4, 4, 4))),
        LayerActivation("output", "output", np.eye(10)[3]),
    ]
    maps = [("Gradient: ink for 3 (answer)", np.ones((28, 28)))]
    titles = {"dense1": "Dense ×16"}
    figures = draw_figures(np.zeros((28, 28)), layers, maps, titles=titles, tops={"dense1": 10.0}, font=26, height=210)
    stage = figures.stage
    # Built unchecked (deepviz/plotly_internals.py), it is still a figure Plotly's checks accept whole.
    assert json.loads(pio.to_json(go.Figure(stage.to_dict()))) == json.loads(pio.to_json(stage))
    assert [note.text for note in stage.layout.annotations if note.xref == "paper"] == [
        "pixels",
        "Dense ×16",
        "conv1",
        "output",
    ]
    assert [(trace.type, trace.xaxis, trace.yaxis) for trace in stage.data] == [
        ("image", "x", "y"),
        ("image", "x2", "y2"),
        ("image", "x3", "y3"),
        ("image", "x4", "y4"),
    ]
    # left to right, apart, and each with square cells
    domains = [stage.layout[f"xaxis{n}"].domain for n in ("", "2", "3", "4")]
    assert all(a[1] < b[0] for a, b in pairwise(domains)) and domains[0][0] == 0 and domains[-1][1] == 1
    assert [stage.layout[f"yaxis{n}"].scaleanchor for n in ("", "2", "3", "4")] == ["x", "x2", "x3", "x4"]

    def pixels(trace) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(trace.source.split(",", 1)[1]))))

    # a pixel a cell, coloured up to the layer's top: units 0-15 in a 4x4 grid, unit 10 and on at full colour
    dense = pixels(stage.data[1])
    assert dense.shape == (4, 4, 4) and (dense[0, 0, :3] != dense[3, 3, :3]).any()
    assert (dense[2, 2] == dense[3, 3]).all() and (dense[2, 1] != dense[2, 2]).any()
    assert stage.data[1].customdata[2, 3].tolist() == [11, 11.0]  # hover: unit 11, value 11
    # feature maps tiled with transparent gaps; hover names the filter
    conv = pixels(stage.data[2])
    assert conv.shape == (9, 9, 4) and conv[4, 4, 3] == 0 and conv[0, 0, 3] == 255
    assert stage.data[2].customdata[0, 5] == 1 and "filter" in stage.data[2].hovertemplate
    # the output: two rows of five digits, each written in its cell, the answer's brightest
    output = pixels(stage.data[3])
    assert output.shape == (2, 5, 4) and output[0, 3, :3].sum() > output[0, 2, :3].sum()
    digits = [note.text for note in stage.layout.annotations if note.xref == "x4"]
    assert digits == [str(digit) for digit in range(10)]
    assert stage.layout.font.size == 26 and stage.layout.height == 210
    assert [f.layout.title.text for f in figures.maps] == ["Gradient: ink for 3 (answer)"]
    assert draw_figures(np.zeros((28, 28)), layers, []).maps == []  # saliency only when asked for


def handwriting_cnn_layers(rng) -> list[LayerActivation]:
    """The default model's layers, with random activity: conv1 and pool1 of 32 maps, conv2 and pool2 of 64."""
    return [
        LayerActivation("pixels", "input", rng.random((28, 28))),
        LayerActivation("conv1", "conv", rng.random((28, 28, 32))),
        LayerActivation("pool1", "pool", rng.random((14, 14, 32))),
        LayerActivation("conv2", "conv", rng.random((14, 14, 64))),
        LayerActivation("pool2", "pool", rng.random((7, 7, 64))),
        LayerActivation("dense1", "dense", rng.random(128)),
        LayerActivation("output", "output", np.eye(10)[4]),
    ]


def shown_pixels(trace) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(trace.source.split(",", 1)[1]))))


@pytest.mark.parametrize(
    ("width", "height", "font"),
    # the Draw page's stage as measured in Chromium: at 1400x1000, and at 1280x720 in projector mode
    [(940, 220, 14), (1040, 210, 26)],
)
def test_the_stages_feature_maps_are_large_enough_to_read(width, height, font):
    """All 64 of conv2's maps in one layer's square were 13 px smudges at 1400x1000."""
    from deepviz.figures import stage_figure

    layers = handwriting_cnn_layers(np.random.default_rng(0))
    stage = stage_figure(layers, {}, {}, font, height)
    margin = stage.layout.margin
    for index, layer in enumerate(layers[1:5], start=1):
        axis = stage.layout[f"xaxis{index + 1}"]
        room = ((width - margin.l - margin.r) * (axis.domain[1] - axis.domain[0]), height - margin.t - margin.b)
        rows, cols = shown_pixels(stage.data[index]).shape[:2]
        px_per_cell = min(room[0] / cols, room[1] / rows)  # square cells, as large as the layer's room allows
        assert px_per_cell * layer.values.shape[0] >= 30, layer.name


def test_the_stage_shows_a_layers_most_active_maps_and_says_how_many():
    from deepviz.figures import STAGE_MAPS, stage_figure

    layers = handwriting_cnn_layers(np.random.default_rng(1))
    conv2 = np.zeros((14, 14, 64))
    conv2[..., 40:50] = np.arange(1, 11)  # filter 49 the most active, then 48, ...; filter 40 just misses
    layers[3] = LayerActivation("conv2", "conv", conv2)
    layers[4] = LayerActivation("pool2", "pool", conv2[::2, ::2])
    stage = stage_figure([*layers, LayerActivation("conv3", "conv", np.ones((7, 7, 4)))], {}, {})
    for trace, side in ((stage.data[3], 14), (stage.data[4], 7)):
        # 3 by 3 maps, most active first, hover naming each map's own filter
        assert shown_pixels(trace).shape[:2] == (3 * side + 2, 3 * side + 2)
        filters = trace.customdata[:: side + 1, :: side + 1]
        assert filters.ravel().tolist() == list(range(49, 49 - STAGE_MAPS, -1))
    # pool2 shows the filters conv2 showed; conv1 shows its own most active
    conv1 = layers[1].values.mean(axis=(0, 1))
    assert stage.data[1].customdata[0, 0] == int(np.argmax(conv1))
    captions = {note.yref: note.text for note in stage.layout.annotations if note.yref != "paper"}
    assert [captions.get(f"y{n}") for n in range(2, 6)] == ["top 9 of 32", "top 9 of 32", "top 9 of 64", "top 9 of 64"]
    assert "y8" not in captions  # a layer of 4 maps shows them all
    assert shown_pixels(stage.data[7]).shape[:2] == (15, 15)


def sample_figures():
    """Every chart figures.py builds, from small but typical data, by builder name."""
    from deepviz import figures

    rng = np.random.default_rng(0)
    layers = [
        LayerActivation("pixels", "input", rng.random((28, 28))),
        LayerActivation("conv", "conv", rng.random((14, 14, 4))),
        LayerActivation("dense", "dense", rng.random(16) - 0.2),
        LayerActivation("output", "output", np.eye(10)[3]),
    ]
    history = History(
        epochs=2,
        steps_per_epoch=1,
        steps=2,
        points=[(1.0, 0.5, 0.8), (2.0, 0.3, 0.9)],
        rows=[{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7}],
    )
    draw = figures.draw_figures(rng.random((28, 28)), layers, [("m", rng.random((28, 28)))])
    confusion = rng.integers(0, 20, (10, 10)) + np.diag(np.full(10, 900))
    edges = np.linspace(0, 2, 9)
    life = Liveness(
        ["before training", "after epoch 1"],
        [0.0, 1.0],
        [LayerLife(name, 8, np.array([0, 3]), edges, rng.dirichlet(np.ones(8), 2)) for name in ("conv1", "dense1")],
    )
    return {
        "activation_figure": [figures.activation_figure(layer, layer.name) for layer in layers],
        "weights_figure": [figures.weights_figure(rng.normal(size=(4, 28, 28)), "w")],
        "digits_figure": [figures.digits_figure(rng.integers(0, 256, (4, 28, 28), np.uint8), "d")],
        "probability_figure": [figures.probability_figure(np.eye(10)[3])],
        "curves_figure": [figures.curves_figure(history)],
        "comparison_figure": [figures.comparison_figure({"A": history, "B": history})],
        "confusion_figure": [figures.confusion_figure(confusion)],
        "per_class_figure": [figures.per_class_figure(rng.random(10))],
        "overlay_figure": [figures.overlay_figure(rng.random((28, 28)), rng.random((28, 28)), "o")],
        "projection_figure": [figures.projection_figure(rng.random((50, 2)), np.arange(50) % 10, "p", rng.random(2))],
        "digit_key_figure": [figures.digit_key_figure()],
        "stage_figure": [figures.stage_figure(layers, {}, {})],
        "draw_figures": [draw.stage, *draw.maps],
        "dead_units_figure": [figures.dead_units_figure(life, 1)],
        "responses_figure": [figures.responses_figure(life, 1)],
        "difference_figure": [figures.difference_figure(rng.random((28, 28)) - 0.5, "change")],
        "accuracy_change_figure": [figures.accuracy_change_figure(rng.random(10), rng.random(10))],
        "numbers_figure": [
            figures.numbers_figure(rng.random((3, 3)), "patch", symmetric=False),
            figures.numbers_figure(rng.normal(size=(3, 3)), "kernel", symmetric=True),
        ],
        "graph_figure": [
            figures.graph_figure(
                Graph(
                    [
                        Column("pixels", "input", 49, (0, 1), np.array([0.0, 1.0]), 0.0, 1.0),
                        Column("dense1", "dense", 128, (3, 7), np.array([0.5, 2.0]), 0.0, 2.0, (3,)),
                    ],
                    [Edge("pixels", 1, "dense1", 7, 0.8, 1), Edge("pixels", 0, "dense1", 7, -0.2, 1)],
                    ("dense1", 7),
                )
            )
        ],
    }


def type_sizes(figure) -> list[float]:
    """The size of each kind of text the figure shows, 0 for one it leaves to the chart theme
    (Streamlit's sets ticks and axis titles at 12 px)."""
    layout, sizes = figure.to_dict()["layout"], []
    if layout.get("title", {}).get("text"):
        sizes.append(layout["title"].get("font", {}).get("size", 0))
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and axis.get("visible", True):
            sizes.append(axis.get("tickfont", {}).get("size", 0))
            if axis.get("title", {}).get("text"):
                sizes.append(axis["title"].get("font", {}).get("size", 0))
    sizes += [note.get("font", {}).get("size", 0) for note in layout.get("annotations", [])]
    if any(getattr(trace, "showlegend", False) for trace in figure.data):
        sizes.append(layout.get("legend", {}).get("font", {}).get("size", 0))
    sizes += [trace.textfont.size or 0 for trace in figure.data if getattr(trace, "text", None) is not None]
    return sizes


def test_every_label_of_every_figure_is_readable_at_1400x1000_and_larger_on_the_projector():
    """Per-digit accuracies were printed at 10 px; ticks, axis titles and legends left at Streamlit's 12."""
    from deepviz.figures import FONT, PROJECTOR_FONT, for_projector

    small = {
        name: sizes
        for name, made in sample_figures().items()
        for figure in made
        if min(sizes := type_sizes(figure)) < FONT or min(type_sizes(for_projector(figure))) < PROJECTOR_FONT
    }
    assert not small, f"type smaller than {FONT} px (0: the chart theme's 12 px): {small}"


def test_every_figure_survives_projector_mode():
    """Projector mode passes whatever a page plots through for_projector: every builder's figure
    must come out larger, still drawable, and with a legend only where its scale has two ends."""
    from deepviz import figures

    samples = sample_figures()
    builders = {name for name in vars(figures) if name.endswith(("_figure", "_figures")) and not name.startswith("_")}
    assert builders == set(samples), "a new figure builder needs a sample here"
    for name, made in samples.items():
        for figure in made:
            projected = figures.for_projector(figure)
            projected.to_json()  # what Streamlit sends to the browser
            assert projected.layout.font.size == figures.PROJECTOR_FONT, name
            for trace in projected.data:
                if trace.type == "heatmap" and trace.showscale:
                    assert [text.split()[-1] for text in trace.colorbar.ticktext] == ["quiet", "active"], name
    (confusion,) = samples["confusion_figure"]
    assert not confusion.data[0].showscale  # counts are in the cells; no range to label
    dense = samples["activation_figure"][2].data[0]
    assert dense.showscale and list(dense.colorbar.ticktext) == [f"{dense.zmin:.2g} quiet", f"{dense.zmax:.2g} active"]
