import base64
import json
import re

import numpy as np
import pytest
from apptest import app, no_errors

from deepviz.config import ModelConfig
from deepviz.guide import WORDS
from deepviz.trained import opened


def inside(mnist, model=None, drawing=0):
    """The Inside page, with the session's own `model` and a test digit as its drawing."""
    at = app()
    if model is not None:
        at.session_state["model"] = model
    if drawing is not None:
        at.session_state["drawing"] = mnist.x_test[drawing] / 255.0
    return at.switch_page("pages/inside.py").run()


def pick(at, layer, **place):
    at.selectbox(key="inside-layer").set_value(layer).run()
    for name, value in place.items():
        at.number_input(key=f"inside-{layer}-{name}").set_value(value).run()
    no_errors(at)
    return at


def button(at, label):
    return next(button for button in at.button if button.label == label)


def text(at) -> str:
    return " ".join(element.value for element in [*at.markdown, *at.caption, *at.info, *at.subheader])


def decoded(value):
    """A value of a chart's spec: Plotly writes arrays as base64 ('bdata') with their dtype and shape."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]))
        return array.reshape([int(side) for side in value["shape"].split(",")]) if "shape" in value else array
    return value


def charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def heatmap(at, layer) -> np.ndarray:
    """The z of `layer`'s clickable heatmap, as the page sent it."""
    title = next(
        chart for chart in charts(at) if chart["layout"].get("title", {}).get("text", "").startswith(f"{layer}:")
    )
    return decoded(title["data"][0]["z"])


def graph_nodes(at) -> dict:
    """The graph's nodes, by (layer, unit): the width of each one's ring (4: the selected one)."""
    graph = next(chart for chart in charts(at) if chart["data"][-1].get("mode") == "markers+text")
    nodes = graph["data"][-1]
    return {tuple(data): width for data, width in zip(nodes["customdata"], decoded(nodes["marker"]["line"]["width"]))}


def crosses(at) -> list[dict]:
    """The traces that cross out switched-off units, in the heatmaps and the graph."""
    return [trace for chart in charts(at) for trace in chart["data"] if trace.get("marker", {}).get("symbol") == "x"]


@pytest.fixture
def mlp(mnist):
    """The tutorial MLP as a file would bring it (seeded weights, scored on the test digits)."""
    import keras

    from deepviz.network import build_model

    keras.utils.set_random_seed(3)
    config = ModelConfig()
    return opened(config, build_model(config), mnist, "tutorial.keras")


def test_without_a_drawing_it_says_so_and_shows_a_test_digits_arithmetic(default_trained, mnist):
    at = inside(mnist, drawing=None)
    no_errors(at)
    assert any("Draw a digit on the Draw page first" in info.value for info in at.info)
    assert at.number_input[0].label == "Test digit"
    assert len(at.get("plotly_chart")) >= 7  # one clickable heatmap per layer, and the graph
    assert at.selectbox(key="inside-layer").options == ["conv1", "pool1", "conv2", "pool2", "dense1", "output"]
    answer = int(np.argmax(default_trained.reader(mnist.x_test[0] / 255.0)[-1].values))
    assert at.subheader[-1].value == f"output, digit {answer}"  # nothing picked: the answer
    assert "Softmax turns the ten scores into chances" in text(at)
    assert [line.help for line in at.markdown if "Softmax turns" in line.value] == [WORDS["softmax"]]
    assert graph_nodes(at)["output", answer] == 4
    assert [tab.label for tab in at.tabs] == ["Heatmaps", "As a graph"]


def test_the_graph_follows_the_picked_unit_with_its_strongest_inputs(default_trained, mnist):
    at = pick(inside(mnist), "dense1", unit=7)
    nodes = graph_nodes(at)
    assert nodes["dense1", 7] == 4 and sum(width == 4 for width in nodes.values()) == 1
    assert {layer for layer, _ in nodes} == {"pixels", "conv1", "pool1", "conv2", "pool2", "dense1", "output"}
    assert all(sum(layer == name for layer, _ in nodes) <= 16 for name in ("conv2", "pool2", "dense1"))
    at = pick(at, "conv1", row=14, column=14, unit=3)
    assert graph_nodes(at)["conv1", 3] == 4 and at.subheader[-1].value == "conv1, filter 3 at row 14, column 14"


def test_the_default_cnns_dense_unit_shows_its_sum_matching_the_model(default_trained, mnist):
    at = pick(inside(mnist), "dense1", unit=7)
    value = default_trained.reader(mnist.x_test[0] / 255.0)[-2].values[7]
    assert at.subheader[-1].value.startswith("dense1, unit 7")
    table = at.table[0].value
    assert list(table.columns) == ["Input", "Value", "× weight", "= adds"] and len(table) == 8
    assert table["Input"].iloc[0].startswith("pool2 filter")
    assert "relu(" in text(at) and f"= **{value:.4f}**" in text(at)
    assert [line.help for line in at.markdown if "+ bias" in line.value] == [WORDS["bias"]]


def test_a_conv_unit_in_a_feature_map_and_the_output(default_trained, mnist):
    at = pick(inside(mnist), "conv2", row=3, column=4, unit=5)
    assert at.subheader[-1].value == "conv2, filter 5 at row 3, column 4"
    assert "It reads all 32 filters of pool1" in text(at)
    assert list(at.table[0].value.columns) == ["pool1 filter", "patch × kernel, added up"]
    at = pick(at, "output", unit=7)  # the first test digit is a 7
    assert "Softmax turns the ten scores into chances" in text(at)
    assert [line.help for line in at.markdown if "Softmax turns" in line.value] == [WORDS["softmax"]]


def test_switching_units_off_shows_the_answer_and_accuracy_before_and_after_and_undo(default_trained, mnist):
    at = pick(inside(mnist), "dense1", unit=0)
    count = len(at.get("plotly_chart"))
    before = heatmap(at, "dense1").ravel()
    assert not crosses(at)
    button(at, "Switch off the top 5 of this layer").click().run()
    no_errors(at)
    kept = at.session_state.knockout
    assert list(kept.off) == ["dense1"] and len(kept.off["dense1"]) == 5
    after = heatmap(at, "dense1").ravel()
    off = list(kept.off["dense1"])
    assert (before[off] > 0).all() and (after[off] == 0).all()  # the heatmap shows them off
    assert "show the network with dense1:" in text(at)
    heatmap_cross, graph_cross = crosses(at)
    assert len(decoded(heatmap_cross["x"])) == 5 and {tuple(data) for data in graph_cross["customdata"]} <= {
        ("dense1", unit) for unit in off
    }
    assert [metric.label for metric in at.metric] == ["Before: it read", "With them off"]
    assert at.metric[0].value == "7" and len(at.get("plotly_chart")) == count + 1
    assert "Switched off: dense1:" in text(at) and "with them off" in text(at)
    button(at, "Switch this unit off").click().run()
    assert len(at.session_state.knockout.off["dense1"]) in (5, 6)
    button(at, "Undo").click().run()
    no_errors(at)
    assert at.session_state.knockout is None and not at.metric and button(at, "Undo").disabled


def test_switching_a_conv_filter_off_empties_its_pooled_map_below(default_trained, mnist):
    at = pick(inside(mnist), "conv1", row=14, column=14, unit=3)
    assert np.nanmax(heatmap(at, "pool1")) > 0
    button(at, "Switch this unit off").click().run()
    no_errors(at)
    _, _, filters = default_trained.reader(mnist.x_test[0] / 255.0)[2].values.shape
    rows, columns = 4, 8  # pool1's 32 maps of 14 x 14, as figures.grid_shape lays them
    pooled = heatmap(at, "pool1")[(3 // columns) * 15 :][:14, (3 % columns) * 15 :][:, :14]
    assert filters == rows * columns and (pooled == 0).all() and np.nanmax(heatmap(at, "pool1")) > 0
    assert any("This filter is switched off" in info.value for info in at.info)


def test_the_tutorial_mlp_from_a_file_shows_pixels_as_inputs(default_trained, mnist, mlp):
    at = inside(mnist, mlp)
    no_errors(at)
    assert at.radio[0].value == "Your model"
    assert at.selectbox(key="inside-layer").options == ["dense1", "dense2", "output"]
    assert {layer for layer, _ in graph_nodes(at)} == {"pixels", "dense1", "dense2", "output"}
    at = pick(at, "dense1", unit=0)
    assert at.table[0].value["Input"].iloc[0].startswith("pixel row")
    button(at, "Switch this unit off").click().run()
    no_errors(at)
    assert at.session_state.knockout.off == {"dense1": (0,)}


def test_a_network_with_no_hidden_layer_shows_its_output_sum_and_graph(default_trained, mnist):
    from dataclasses import replace

    from deepviz.network import build_model

    config = replace(ModelConfig(), layers=())
    at = inside(mnist, opened(config, build_model(config), mnist, "no-hidden.keras"))
    no_errors(at)
    assert at.selectbox(key="inside-layer").options == ["output"]
    assert {layer for layer, _ in graph_nodes(at)} == {"pixels", "output"}
    assert at.table[0].value["Input"].iloc[0].startswith("pixel row")
    assert button(at, "Switch this unit off").disabled


def test_a_dead_unit_and_a_layer_with_no_live_unit_are_each_one_sentence(default_trained, mnist, mlp):
    layer = mlp.model.get_layer("dense1")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, np.where(np.arange(len(bias)) == 4, -1000.0, bias)])
    dense2 = mlp.model.get_layer("dense2")
    kernel2, bias2 = dense2.get_weights()
    dense2.set_weights([kernel2, np.full_like(bias2, -1000.0)])
    at = pick(inside(mnist, mlp), "dense1", unit=4)
    assert any("never fires on any of the 10,000 test digits" in info.value for info in at.info)
    at = pick(at, "dense2")
    assert any("No unit of dense2 fires for this drawing" in info.value for info in at.info)
    assert button(at, "Switch off the top 5 of this layer").disabled
    assert any("there is no top 5 to switch off" in info.value for info in at.info)


def test_clicking_a_heatmap_cell_shows_its_arithmetic_and_switching_it_off(server, page, screenshots):
    # Last in this file: the browser's event loop stays until the module ends.
    from playwright.sync_api import expect
    from test_browser import draw_a_three
    from test_projector_lesson import press, scroll_to

    from measure.bench import FIRST_VISIT_MS

    page.goto(f"{server}/draw")  # a fresh server loads the default model first, past expect's wait on a busy machine
    expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=FIRST_VISIT_MS)
    draw_a_three(page, server)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Inside").click()
    expect(page.get_by_role("heading", name="Inside the network")).to_be_visible()
    cells = page.locator(".st-key-inside-chart-dense1 .nsewdrag")
    box = scroll_to(cells)
    rows, columns = 8, 16  # dense1's 128 units, as figures.grid_shape lays them
    page.mouse.click(box["x"] + 5.5 / columns * box["width"], box["y"] + 2.5 / rows * box["height"])
    expect(page.get_by_role("heading", name="dense1, unit 37")).to_be_visible()
    expect(page.get_by_test_id("stTable")).to_contain_text("pool2 filter")
    press(page, page.get_by_role("button", name="Switch this unit off"))
    expect(page.get_by_test_id("stMetric").filter(has_text="With them off")).to_be_visible()
    expect(page.get_by_text("Switched off: dense1: 37.")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    if screenshots:  # the unit's sum, then the answer and accuracy with it off
        page.get_by_role("heading", name="dense1, unit 37").evaluate("heading => heading.scrollIntoView()")
        page.wait_for_timeout(500)
        page.screenshot(path=screenshots / "inside-page.png")


def test_the_graph_on_the_projector_is_on_screen_and_a_click_on_a_node_picks_its_unit(server, browser, screenshots):
    from playwright.sync_api import expect
    from test_projector_lesson import on_screen

    from measure.bench import FIRST_VISIT_MS
    from measure.browser import settled

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(
        FIRST_VISIT_MS
    )  # a busy machine's first visit to the page: TensorFlow and the model load
    page = context.new_page()
    page.goto(f"{server}/inside?projector=1")  # no drawing: a test digit
    expect(page.get_by_role("heading", name="Inside the network")).to_be_visible(timeout=FIRST_VISIT_MS)
    expect(page.get_by_role("heading", name=re.compile(r"^output, digit \d$"))).to_be_visible(timeout=FIRST_VISIT_MS)
    page.get_by_role("tab", name="As a graph").click()
    graph = page.locator(".st-key-inside-graph")
    graph.scroll_into_view_if_needed()
    expect(graph.locator(".nsewdrag")).to_be_visible()
    on_screen(page, graph)
    # The nodes are the last trace; on the projector each column shows 10: the pixels' and the
    # four conv and pooling layers' come first, so the 51st is dense1's first.
    node = graph.locator(".scatterlayer .trace").last.locator("path.point").nth(50)
    where = node.bounding_box()
    page.mouse.click(where["x"] + where["width"] / 2, where["y"] + where["height"] / 2)
    expect(page.get_by_role("heading", name=re.compile(r"^dense1, unit \d+$"))).to_be_visible()
    expect(page.get_by_test_id("stTable")).to_contain_text("pool2 filter")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    if screenshots:  # the graph with the clicked unit's strongest inputs
        settled(page)  # the click's run over: no stale copy of the graph left
        graph.evaluate('graph => graph.scrollIntoView({block: "end"})')
        page.wait_for_timeout(500)
        page.screenshot(path=screenshots / "inside-graph.png")
    context.close()


def test_clicking_a_conv1_cell_shows_that_filters_arithmetic(server, page):
    from playwright.sync_api import expect
    from test_projector_lesson import scroll_to

    from measure.bench import FIRST_VISIT_MS

    page.set_default_timeout(FIRST_VISIT_MS)
    page.goto(f"{server}/inside")
    expect(page.get_by_role("heading", name="Inside the network")).to_be_visible()
    cells = page.locator(".st-key-inside-chart-conv1 .nsewdrag")
    box = scroll_to(cells)
    # conv1's 32 maps of 28 x 28, 4 rows of 8 with 1-cell gaps (figures.tile_maps): 231 x 115 cells,
    # kept square, so centred in the chart's box along its longer side.
    cell = min(box["width"] / 231, box["height"] / 115)
    left, top = box["x"] + (box["width"] - 231 * cell) / 2, box["y"] + (box["height"] - 115 * cell) / 2
    # The middle of filter 3, the fourth map of the first row (the place within it as the chart's
    # margins leave it: its filter is what the click must pick):
    page.mouse.click(left + (3 * 29 + 14.5) * cell, top + 14.5 * cell)
    expect(page.get_by_role("heading", name=re.compile(r"^conv1, filter 3 at row \d+, column \d+$"))).to_be_visible()
    expect(page.get_by_text("Its 3x3 kernel lies over the patch of pixels")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
