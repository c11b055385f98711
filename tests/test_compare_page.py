"""The Compare page's layers for one drawing: a CNN's conv and pooling layers show their most
active maps, as the Draw page's stage does, beside an MLP's units; at a desk and on a projector."""

import base64
import json

import numpy as np
import pytest
from apptest import app, no_errors

from deepviz.figures import STAGE_MAPS, stage_maps


def compare(cnn, mlp, drawing, query=None):
    at = app(query)
    at.session_state["compared_A"] = cnn
    at.session_state["compared_B"] = mlp
    at.session_state["drawing"] = drawing
    at.switch_page("pages/compare.py").run()
    no_errors(at)
    return at


def layer_charts(at) -> dict[str, dict]:
    """The same-drawing charts of each layer, by title."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {
        spec["layout"]["title"]["text"]: spec
        for spec in specs
        if spec["layout"].get("title", {}).get("text", "")[:4] in ("A · ", "B · ")
    }


def filters(chart: dict) -> list[int]:
    """The filters a tiled heatmap shows, in the order it tiles them (its cells, less the gaps)."""
    cells = chart["data"][0]["customdata"]
    if isinstance(cells, dict):  # Plotly's typed array: base64 bytes and their dtype
        cells = np.frombuffer(base64.b64decode(cells["bdata"]), cells["dtype"])
    cells = np.asarray(cells, dtype=float).ravel()
    return list(dict.fromkeys(int(cell) for cell in cells if cell >= 0))


@pytest.mark.parametrize("query", [None, {"projector": "1"}], ids=["desk", "projector"])
def test_a_cnns_feature_maps_show_their_most_active_nine_beside_an_mlps_units(
    default_trained, tutorial_trained, mnist, query
):
    drawing = mnist.x_test[0] / 255.0
    at = compare(default_trained, tutorial_trained, drawing, query)
    charts = layer_charts(at)
    layers = {activation.name: activation for activation in default_trained.reader(drawing)}
    counts = {"conv1": 32, "pool1": 32, "conv2": 64, "pool2": 64}
    shown = {}
    for name, channels in counts.items():
        (title,) = [title for title in charts if title.startswith(f"A · {name}:")]
        assert title.endswith(f"· top {STAGE_MAPS} of {channels}")
        shown[name] = filters(charts[title])
        assert len(shown[name]) == STAGE_MAPS
    # the most active filters for this drawing, as the Draw stage picks them; a pooling layer the conv's before it
    assert shown["conv1"] == stage_maps(layers["conv1"], None).tolist()
    assert shown["conv2"] == stage_maps(layers["conv2"], None).tolist()
    assert shown["pool1"] == shown["conv1"] and shown["pool2"] == shown["conv2"]
    mlp = [title for title in charts if title.startswith("B · ")]
    assert len(mlp) == 3 and not any(" of " in title for title in mlp)  # dense1, dense2, output: every unit
    assert any("9 of its feature maps most active" in caption.value for caption in at.caption)
