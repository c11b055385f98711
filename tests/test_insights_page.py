"""The Insights page's unit and projection views, as a class sees them: for the default model,
a trained tutorial MLP and an opened model file whose hidden layer never fires."""

import base64
import json

import numpy as np
import pytest
from apptest import app, no_errors

from deepviz.config import ModelConfig
from deepviz.network import build_model
from deepviz.trained import opened
from deepviz.units import dead_summary, dead_units, telling_unit, unit_strengths


def insights(model=None):
    at = app()
    if model is not None:
        at.session_state["model"] = model
    at.switch_page("pages/insights.py").run()
    no_errors(at)
    return at


def charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def projections(at) -> list[dict]:
    return [chart for chart in charts(at) if [trace.get("name") for trace in chart["data"][:10]] == list("0123456789")]


def coordinates(trace: dict, axis: str) -> np.ndarray:
    """A trace's x or y as sent: a list, or Plotly's typed array (base64 bytes and their dtype)."""
    values = trace[axis]
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"])
    return np.asarray(values)


def title(chart: dict) -> str:
    return chart["layout"].get("title", {}).get("text", "")


def top_digits(at) -> int:
    """How many charts of a unit's top test digits the page shows (the dreams section shows one too)."""
    return sum("excite it most" in title(chart) for chart in charts(at))


@pytest.fixture(scope="module")
def default_strengths(default_trained, mnist):
    return unit_strengths(default_trained.reader, mnist.scaled(mnist.x_test))


def test_the_default_model_opens_on_a_telling_unit_and_counts_dead_units(default_trained, default_strengths, mnist):
    at = insights()
    layers = at.selectbox(key="units-layer")
    dead = {name: dead_units(values) for name, values in default_strengths.items()}
    assert layers.options == [f"{name}: {dead_summary(dead[name])}" for name in default_strengths]
    assert any("never fire" in option for option in layers.options)  # dense1 has dead units
    assert at.number_input(key="unit-conv1").value == telling_unit(default_strengths["conv1"], mnist.y_test)
    assert top_digits(at) >= 1


def test_picking_a_dead_unit_says_so_instead_of_showing_digits(default_trained, default_strengths):
    layer = next(name for name, values in default_strengths.items() if dead_units(values).any())
    unit = int(np.flatnonzero(dead_units(default_strengths[layer]))[0])
    at = insights()
    at.selectbox(key="units-layer").set_value(layer).run()
    shown = top_digits(at)
    at.number_input(key=f"unit-{layer}").set_value(unit).run()
    no_errors(at)
    assert any(f"Unit {unit} never fires" in info.value for info in at.info)
    assert top_digits(at) == shown - 1  # no arbitrary digits for it


def test_projections_share_one_key_and_are_scaled_to_their_dots(default_trained):
    at = insights()
    pictures = projections(at)
    assert len(pictures) == 7  # pixels, five hidden layers, output
    assert all(picture["layout"]["showlegend"] is False for picture in pictures)
    keys = [chart for chart in charts(at) if chart["data"][0].get("text") == list("0123456789")]
    assert len(keys) == 1
    for picture in pictures:  # each scaled to the bulk of its dots: only a few fall outside
        xs = np.concatenate([coordinates(trace, "x") for trace in picture["data"][:10]])
        low, high = picture["layout"]["xaxis"]["range"]
        assert len(xs) == 2000 and ((xs < low) | (xs > high)).mean() < 0.03


def test_the_tutorial_mlp_opens_on_a_live_unit_and_maps_a_layer_with_t_sne(tutorial_trained, mnist, monkeypatch):
    import deepviz.projection

    at = insights(tutorial_trained)
    assert [option.split(":")[0] for option in at.selectbox(key="units-layer").options] == ["dense1", "dense2"]
    strengths = unit_strengths(tutorial_trained.reader, mnist.scaled(mnist.x_test))
    unit = at.number_input(key="unit-dense1").value
    assert not dead_units(strengths["dense1"])[unit] and top_digits(at) >= 1
    # the page's wiring; the map itself is tested in test_projection.py (seconds of t-SNE)
    monkeypatch.setattr(deepviz.projection, "neighbour_map", lambda layer, seed=0: layer.reshape(len(layer), -1)[:, :2])
    assert not any("t-SNE" in title(chart) for chart in projections(at))
    at.selectbox(key="tsne-layer").set_value("dense2").run()
    no_errors(at)
    (mapped,) = [chart for chart in projections(at) if title(chart) == "dense2, t-SNE"]
    assert sum(len(coordinates(trace, "x")) for trace in mapped["data"][:10]) == 2000


def test_a_layer_with_no_live_unit_gets_its_own_sentence(default_trained, mnist):
    config = ModelConfig()
    model = build_model(config)
    first = model.get_layer("dense1")
    kernel, bias = first.get_weights()
    first.set_weights([np.zeros_like(kernel), np.full_like(bias, -1.0)])  # never above 0: every unit dead
    at = insights(opened(config, model, mnist, "dead.keras"))
    assert at.selectbox(key="units-layer").options[0] == "dense1: none of its 128 units ever fires"
    assert any("No unit of dense1 fires" in warning.value for warning in at.warning)
    assert top_digits(at) == 0  # neither here nor in the dreams below, which say so too
    assert any("dense1 gives every test digit the same numbers" in info.value for info in at.info)
    assert len(projections(at)) == 1  # the pixels; dense1 is dead, and dense2 and the output after it are flat
