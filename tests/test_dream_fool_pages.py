import re

import numpy as np
import pytest
from apptest import QUICK, no_errors, open_page

from deepviz.config import PRESETS
from deepviz.pendigits import as_canvas

DREAMED = re.compile(r"dreamed (\d): read as (\d) \((over 99\.9%|\d+\.\d%)\)")


def dreamed_captions(at) -> list[re.Match]:
    return [match for image in at.image for caption in image.captions if (match := DREAMED.fullmatch(caption))]


@pytest.mark.slow
def test_insights_shows_the_ten_digits_the_network_dreams_of_and_a_units_dream(default_trained):
    at = open_page({}, "insights")
    no_errors(at)
    captions = dreamed_captions(at)
    assert [int(match[1]) for match in captions] == list(range(10))
    assert sum(match[1] == match[2] for match in captions) >= 9  # read as the digit dreamed of
    layer = at.selectbox(key="dream-layer")
    assert layer.options == ["conv1", "pool1", "conv2", "pool2", "dense1"]
    dreams = [chart for chart in at.get("plotly_chart") if "the picture it dreams of" in chart.proto.spec]
    assert len(dreams) == 1
    layer.set_value("dense1").run()
    at.number_input(key="dream-unit-dense1").set_value(5).run()
    no_errors(at)
    assert any("dense1, unit 5: the picture it dreams of" in chart.proto.spec for chart in at.get("plotly_chart"))
    fading = next(slider for slider in at.slider if slider.label == "Fading (L2)")
    fading.set_value(0.08).run()
    no_errors(at)
    assert len(dreamed_captions(at)) == 10


@pytest.mark.slow
def test_a_dead_unit_or_a_dead_layer_is_one_sentence_not_a_picture(default_trained, monkeypatch):
    import deepviz.units

    monkeypatch.setattr(deepviz.units, "dead_units", lambda strengths: np.arange(strengths.shape[1]) < 2)
    at = open_page({}, "insights")
    no_errors(at)
    assert at.number_input(key="dream-unit-conv1").value >= 2  # it starts on a live unit
    at.number_input(key="dream-unit-conv1").set_value(1).run()
    no_errors(at)
    assert any("Unit 1 of conv1 never fires" in info.value and "30 of 32" in info.value for info in at.info)
    monkeypatch.setattr(deepviz.units, "dead_units", lambda strengths: strengths.max(axis=0) > -np.inf)
    at.run()
    no_errors(at)
    assert any("No unit of conv1 fires" in info.value for info in at.info)


def open_fool_tab(at, target):
    at.session_state["draw-more"] = "Fool the network"
    at.run()
    at.selectbox(key="fool-target").set_value(target).run()
    return at


def test_fooling_the_default_model_shows_before_after_difference_and_the_ink(default_trained, canvas, mnist):
    digit, label = mnist.x_test[0], int(mnist.y_test[0])
    canvas(as_canvas(digit))
    at = open_page({}, "draw")
    target = (label + 1) % 10
    open_fool_tab(at, target)
    no_errors(at)
    assert not any("Changed: read as" in caption for image in at.image for caption in image.captions)
    at.button(key="fool-go").click().run()
    no_errors(at)
    captions = [caption for image in at.image for caption in image.captions]
    assert f"Your drawing: read as {label}" in captions
    assert any(caption.startswith(f"Changed: read as {target} (") for caption in captions)
    assert any("blue ink added" in chart.proto.spec for chart in at.get("plotly_chart"))
    assert any(
        re.match(r"\*\*It took \d+\.\d pixels' worth of ink\*\* \(\d+ pixels changed\)", m.value) for m in at.markdown
    )
    # With no model of the session's own, the reverse lesson says how to get one.
    assert any("Train the tutorial MLP on the Train page" in m.value for m in at.markdown)


def test_a_drawing_already_read_as_the_target_is_told_so(default_trained, canvas, mnist):
    canvas(as_canvas(mnist.x_test[0]))
    at = open_fool_tab(open_page({}, "draw"), int(mnist.y_test[0]))
    no_errors(at)
    assert any(f"already reads your drawing as {int(mnist.y_test[0])}" in info.value for info in at.info)
    assert all(button.key != "fool-go" for button in at.button)


@pytest.mark.slow
def test_a_trained_and_an_uploaded_model_dream_are_looked_inside_and_fooled(default_trained, canvas, mnist):
    from deepviz.modelfile import model_bytes
    from deepviz.network import build_model

    canvas(as_canvas(mnist.x_test[1]))
    at = open_page(PRESETS["Tutorial MLP"].to_query() | QUICK, "train")
    next(b for b in at.button if b.label == "Train").click().run()
    for upload in (False, True):
        if upload:
            at.switch_page("pages/train.py").run()
            at.file_uploader(key="model-file").upload("shallow.keras", model_bytes(build_model(PRESETS["Shallow net"])))
            at.run()
        at.switch_page("pages/insights.py").run()
        no_errors(at)
        assert at.radio[0].value == "Your model" and len(dreamed_captions(at)) == 10
        at.switch_page("pages/inside.py").run()  # its sum, with the real numbers of this model
        no_errors(at)
        assert any("Inputs × weights add up to" in line.value for line in at.markdown)
        at.switch_page("pages/draw.py").run()
        read = int(at.metric[0].value)
        open_fool_tab(at, (read + 3) % 10).button(key="fool-go").click().run()
        no_errors(at)
        said = " ".join([m.value for m in at.markdown] + [info.value for info in at.info])
        if "Your drawing: read as" in " ".join(c for image in at.image for c in image.captions):
            # Fooled: the same change asked of the default model, and the ink each needed.
            assert (
                "Ink needed to make it read" in said and "- your model: **" in said and "- the default model" in said
            ) or "it holds firm where your model did not" in said
        else:
            assert "holds firm" in said


@pytest.mark.slow
def test_on_the_projector_the_dreams_go_five_to_a_row_and_the_change_is_large(default_trained, canvas, mnist):
    canvas(as_canvas(mnist.x_test[0]))
    at = open_page({"projector": "1"}, "insights")
    no_errors(at)
    columns = [column for column in at.columns if any(DREAMED.fullmatch(c) for i in column.image for c in i.captions)]
    assert len(columns) == 10 and {round(column.weight, 3) for column in columns} == {0.2}  # five to a row
    at.switch_page("pages/draw.py").run()
    open_fool_tab(at, (int(mnist.y_test[0]) + 1) % 10).button(key="fool-go").click().run()
    no_errors(at)
    (change,) = [chart for chart in at.get("plotly_chart") if "blue ink added" in chart.proto.spec]
    assert '"size":26' in change.proto.spec.replace(" ", "")  # projector type, PROJECTOR_FONT


# In a real browser, last in this file: Playwright's event loop stays until the module's end.
def test_in_a_browser_a_drawing_is_fooled_and_the_digits_dreamed_of_show(server, page, screenshots):
    from playwright.sync_api import expect
    from test_browser import draw_a_three, no_exceptions

    page.goto(f"{server}/draw")  # a fresh server's first Draw page waits for the default model
    expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=120_000)
    draw_a_three(page, server)
    page.get_by_role("tab", name="Fool the network").click()
    page.get_by_role("button", name="Find the smallest change").click()
    expect(page.get_by_text(re.compile(r"^It took \d+\.\d pixels' worth of ink")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Changed: read as \d \("))).to_have_count(1)
    no_exceptions(page)
    if screenshots:  # from the tabs down: the drawing, the change and the ink it took
        page.get_by_role("tab", name="Fool the network").evaluate("tab => tab.scrollIntoView()")
        page.wait_for_timeout(500)
        page.screenshot(path=screenshots / "fool-the-network.png")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights").click()
    # The page first works out every layer's projections and unit strengths, once per server.
    expect(page.get_by_role("heading", name="What the network dreams of")).to_be_visible(timeout=240_000)
    expect(page.get_by_text(re.compile(r"^dreamed \d: read as \d \("))).to_have_count(10, timeout=120_000)
    no_exceptions(page)
    if screenshots:
        page.get_by_role("heading", name="What the network dreams of").evaluate("heading => heading.scrollIntoView()")
        page.wait_for_timeout(500)
        page.screenshot(path=screenshots / "dreams.png")
