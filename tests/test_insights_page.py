"""The Insights page's unit and projection views, as a class sees them: for the default model,
a trained tutorial MLP and an opened model file whose hidden layer never fires."""

import base64
import json
import re

import numpy as np
import pytest
from apptest import app, no_errors, shown

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
    assert at.number_input(key="dream-unit-conv1").value == at.number_input(key="unit-conv1").value  # dreams too
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


def thumbnails(at) -> list[str]:
    """The captions of the picked test digits the page shows."""
    return [image.caption for images in at.get("image") for image in images.proto.imgs if PICKED.match(image.caption)]


PICK_HINT = "Click a dot or drag a box round a cloud to see those digits."
PICKED = re.compile(r"^\d, read as \d( ✗)?$")  # a picked digit's caption (the mistakes' say "true 7, ...")
PROJECTING_S = 600  # a first visit projects 2,000 test digits at every layer: a minute or more on a busy machine


def test_dots_picked_in_a_projection_show_their_test_digits_with_the_networks_answers(default_trained, mnist):
    from deepviz.projection import PICKED_SHOWN, Picked, sample_indices

    at = app()
    at.session_state["model"] = default_trained  # as the session's own: its key is the one the page shows
    at.switch_page("pages/insights.py").run(timeout=PROJECTING_S)
    no_errors(at)
    assert any(info.value == PICK_HINT for info in at.info)  # nothing picked yet
    pictures = projections(at)
    assert all(picture["layout"]["dragmode"] == "select" for picture in pictures)
    sample = set(sample_indices(mnist.y_test).tolist())
    assert {
        int(i) for picture in pictures[:1] for trace in picture["data"][:10] for i in coordinates(trace, "customdata")
    } == sample
    result = default_trained.evaluation
    wrong = [int(i) for i in np.flatnonzero(result.predictions != result.labels) if int(i) in sample][:2]
    read_right = np.flatnonzero((mnist.y_test == 1) & (result.predictions == 1))
    ones = [int(i) for i in read_right if int(i) in sample][:PICKED_SHOWN]
    picked = (*ones[:3], *wrong, *ones[3:])  # more than the page shows, the mistakes among them
    at.session_state["picked"] = {"pca": Picked("conv2 (PCA)", picked, default_trained.key)}
    at.run()
    no_errors(at)
    captions = thumbnails(at)
    assert len(captions) == PICKED_SHOWN
    for caption, index in zip(captions, (*wrong, *ones)):  # wrong answers first
        label, answer = result.labels[index], result.predictions[index]
        assert caption == f"{label}, read as {answer}" + (" ✗" if index in wrong else "")
    (sentence,) = [shown(md.value) for md in at.markdown if shown(md.value).startswith("**Picked in conv2 (PCA)**")]
    assert f"{len(picked)} test digits" in sentence and "2 of them wrong (marked ✗)" in sentence
    assert sentence.endswith(f"{PICKED_SHOWN} of them, wrong answers first:")
    # picked under another model: its answers would not be these, so nothing is shown
    at.session_state["picked"] = {"pca": Picked("conv2 (PCA)", picked, "another model")}
    at.run()
    assert not thumbnails(at) and any(info.value == PICK_HINT for info in at.info)


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


def test_a_box_dragged_round_dots_in_a_projection_shows_their_digits(server, page):
    # Last in this file: the browser's event loop stays until the module ends.
    from playwright.sync_api import expect
    from test_projector_lesson import scroll_to

    from measure.browser import WAIT_MS

    expect.set_options(timeout=WAIT_MS)
    page.goto(f"{server}/insights")  # a fresh server projects the test digits at every layer first
    expect(page.get_by_text(PICK_HINT)).to_be_visible(timeout=PROJECTING_S * 1000)
    picture = page.locator(".st-key-projection-pixels .nsewdrag")
    box = scroll_to(picture)
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.7 * box["height"], steps=10)
    page.mouse.up()
    expect(page.get_by_text("Picked in pixels (PCA)")).to_be_visible()
    digits = page.get_by_test_id("stImageCaption").filter(has_text=PICKED)
    expect(digits.first).to_be_visible()
    assert 1 <= digits.count() <= 24
    expect(page.get_by_text(PICK_HINT)).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
