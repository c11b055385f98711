"""The app in a real browser: Debian's chromium, driven by Playwright, draws a real
handwritten digit on the Draw page's canvas, as a person would with a mouse."""

import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from deepviz.pendigits import fit_strokes, load_pen_digits
from measure.browser import WAIT_MS, replay, running_app, settled

# The first visit to Draw imports TensorFlow and loads the model: well past expect's 5 s default.
expect.set_options(timeout=WAIT_MS)


def pen_three() -> list[list[tuple[float, float]]]:
    three = next(digit for digit in load_pen_digits() if digit.label == 3)
    return fit_strokes(three.strokes)


def screenshot(page, path: Path) -> None:
    """Streamlit scrolls inside its main element, so a full-page shot would cut the layers off:
    grow the viewport to the whole page first."""
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    page.wait_for_timeout(500)  # Plotly redraws its charts for the new size
    page.screenshot(path=path)


def no_exceptions(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_home_page_links_to_every_step(server, page):
    page.goto(server)
    expect(page.get_by_role("heading", name="deepviz", exact=True)).to_be_visible()
    for step in ("Build", "Train", "Draw", "Insights", "Compare"):
        link = page.get_by_test_id("stMain").get_by_role("link").filter(has_text=step)
        expect(link).to_have_attribute("href", re.compile(f"(^|/){step.lower()}$"))
    # The tab's icon comes with the page, not from Google's font servers: offline classrooms too.
    expect(page.locator("link[rel~=icon]")).to_have_attribute("href", re.compile("^data:image/svg"))
    no_exceptions(page)


# What a hostile link could make of the page's warnings: a link, an image every student's browser
# fetches, a colour, LaTeX, an icon, HTML, and bare addresses GFM would turn into links.
HOSTILE = {
    "epochs": "[Log in again](http://e.vil/x)",
    "hide": "![t](http://e.vil/p.png)",
    "lr": ":red[alarm] $x^2$",
    "batch": "www.e.vil/x a@e.vil",
    "opt": ":material/home: <b>bold</b>",
    "images": "https://e.vil/y",
}


def test_a_links_values_show_as_text_and_nothing_is_fetched_from_them(server, page):
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "e.vil" in urlsplit(request.url).netloc else None)
    page.goto(f"{server}/build?{urlencode(HOSTILE)}")
    warnings = page.get_by_test_id("stAlertContentWarning")
    expect(warnings).to_have_count(len(HOSTILE))
    shown = " ".join(text.replace("\u2060", "") for text in warnings.all_inner_texts())
    for value in HOSTILE.values():  # word for word: an icon's shortcode, for one, would show its name
        assert value in shown
    for markup in ("a", "img", ".katex", "span[style*=color]", "b"):
        expect(warnings.locator(markup)).to_have_count(0)
    assert not fetched
    no_exceptions(page)


def draw_a_three(page, server, query=""):
    """Open the Draw page and draw a real pen-written 3; the Prediction metric's locator."""
    page.goto(f"{server}/draw{query}")
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()
    # Drawn once the page's run is over, as a person looking at a fresh page does: a drawing made
    # while the first run goes on was once wiped from the canvas on a busy CI machine (see
    # docs/canvas-first-stroke.md; tests/test_first_stroke.py draws at once on purpose).
    settled(page)
    # The canvas's own toolbar lies over where a pen-written 3 starts: shown, it swallows the stroke.
    expect(page.locator(".dc-toolbar")).to_be_hidden()
    replay(page, canvas, pen_three())
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    return prediction


def test_drawing_a_real_digit_shows_a_prediction_and_every_layer(server, page, screenshots):
    prediction = draw_a_three(page, server)
    hint = page.get_by_text("Draw a digit from 0 to 9")
    # The probability bars, and the stage: one image per layer of the default model (input, conv1,
    # pool1, conv2, pool2, dense1, output), all on the first screen with the canvas.
    expect(page.locator(".deepviz-bars > div")).to_have_count(10)
    charts = page.locator(".js-plotly-plot")
    expect(charts).to_have_count(1)
    expect(page.locator(".st-key-stage-layers .js-plotly-plot image")).to_have_count(7)
    assert page.locator(".st-key-stage-layers").bounding_box()["y"] + 200 < page.viewport_size["height"]
    # Guard: the page sends each stroke at once through this button of the canvas's own
    # toolbar (deepviz/ui/canvas.py, CANVAS_SCRIPT); without it, each answer waits 200 ms more.
    send = "host => !!host.shadowRoot.querySelector('button[aria-label=\"Update the app with this drawing\"]')"
    assert page.get_by_test_id("stBidiComponentIsolated").first.evaluate(send)
    no_exceptions(page)
    if screenshots:  # the first screen: the canvas grows with the window's height
        page.screenshot(path=screenshots / "draw-page.png")

    # Which pixels decided it: made when its tab opens, for the answer and the runner-up.
    page.get_by_role("tab", name="Which pixels decided this").click()
    expect(charts).to_have_count(1 + 4)
    no_exceptions(page)

    # Replay training back to the random weights it started from: the answer becomes a guess.
    page.get_by_role("tab", name="Replay training").click()
    page.get_by_role("slider", name="Replay training").press("Home")
    expect(page.get_by_text(re.compile(r"sure, before training \(random weights\)$"))).to_be_visible()
    expect(charts).to_have_count(1)
    no_exceptions(page)

    page.get_by_role("button", name="Clear").click()
    expect(hint).to_be_visible()
    expect(prediction).to_have_count(0)
    no_exceptions(page)


def test_a_shared_link_as_a_fresh_servers_first_request_opens_its_page(default_trained, page):
    # With a pages/ folder, Streamlit runs a page's file alone until some session has run
    # st.navigation: without app.py, the link's configuration and the menu would be lost.
    with running_app() as url:
        page.goto(f"{url}/build?layers=conv-8-3-relu,pool-2,32&epochs=7")
        expect(page.get_by_role("heading", name="Build a network")).to_be_visible()
        expect(page.get_by_text("1. Conv 8x3x3 relu")).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav")
        # Each after its icon's ligature name.
        names = ["Home", "Build", "Train", "Draw", "Insights", "Inside", "Compare", "Collect", "Wall", "Teach"]
        expect(nav.get_by_role("link")).to_have_text([re.compile(f"{name}$") for name in names])
        no_exceptions(page)


def test_stopping_training_keeps_the_partly_trained_model(server, page):
    page.goto(f"{server}/train?layers=256,128&epochs=20")  # about a minute: long enough to stop
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train").click()
    expect(main.get_by_text(re.compile(r"Epoch 1 of 20 · \d+%"))).to_be_visible()
    main.get_by_role("button", name="Stop").click()
    expect(main.get_by_text(re.compile(r"partly trained: stopped at epoch \d+\.\d of 20"))).to_be_visible()
    no_exceptions(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Draw").click()
    expect(page.get_by_role("radiogroup").get_by_text("Your model")).to_be_visible()
    no_exceptions(page)


def test_a_second_training_waits_in_line_and_a_closed_tab_frees_the_slot(server, browser):
    """The test server trains one network at a time (conftest sets DEEPVIZ_TRAINING_SLOTS=1)."""
    first, second = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(2))
    # Long enough (about a minute) to still be training when the second arrives and leaves.
    first.goto(f"{server}/train?layers=256,128&epochs=20")
    first.get_by_role("button", name="Train").click()
    expect(first.get_by_text(re.compile(r"Epoch 1 of 20 · \d+%"))).to_be_visible()

    second.goto(f"{server}/train?images=1000&epochs=1")
    expect(second.get_by_text("1 training now, 0 waiting")).to_be_visible()
    second.get_by_role("button", name="Train").click()
    expect(second.get_by_text("you are number 1 in line")).to_be_visible()
    second.get_by_role("button", name="Stop").click()
    expect(second.get_by_text("you are number 1 in line")).to_be_hidden()
    expect(second.get_by_text("Press Train to train this network")).to_be_visible()

    no_exceptions(first)
    first.context.close()  # closing the tab mid-training ends it and frees the slot
    second.get_by_role("button", name="Train").click()
    expect(second.get_by_text(re.compile(r"^Your model: trained for 1 epoch"))).to_be_visible()
    no_exceptions(second)
    second.context.close()


def test_the_drawing_is_placed_among_the_test_digits_at_every_layer(server, page, screenshots):
    draw_a_three(page, server)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Patterns building up, layer by layer")).to_be_visible()
    expect(page.locator(".js-plotly-plot").filter(has_text="your drawing")).to_have_count(
        7, timeout=60_000
    )  # every layer of the default model
    no_exceptions(page)
    if screenshots:
        screenshot(page, screenshots / "insights-page.png")


def test_comparing_two_networks_trains_both_and_reads_one_drawing_with_each(server, page, screenshots):
    page.goto(f"{server}/compare?images=3000&epochs=1")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train and compare").click()
    table = main.get_by_test_id("stDataFrame")
    expect(table).to_be_visible(timeout=120_000)
    expect(main.get_by_text(re.compile(r"^Network [AB] misreads \d"))).to_be_visible()
    canvas = page.locator("canvas.upper-canvas")
    replay(page, canvas, pen_three())
    for side in "AB":
        reading = page.get_by_test_id("stMetric").filter(has_text=f"Network {side} reads")
        expect(reading.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    # The curves, two probability bars, then A's dense1 and dense2 beside B's dense1, and both outputs.
    expect(page.locator(".js-plotly-plot")).to_have_count(1 + 2 + 3 + 2)
    no_exceptions(page)
    if screenshots:
        screenshot(page, screenshots / "compare-page.png")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_projector_mode_shows_the_canvas_the_answer_and_every_layer_on_one_screen(
    server, browser, width, height, screenshots
):
    """The default model's seven layers; test_projector_lesson.py gives a whole lesson."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    draw_a_three(page, server, "?projector=1")
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_test_id("stCaptionContainer").first).to_be_hidden()
    font_px = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert font_px >= max(24, width / 75)
    answer = page.get_by_test_id("stMetricValue").bounding_box()
    assert answer["height"] >= 3 * font_px  # the answer is big
    things = [
        page.locator("canvas.upper-canvas"),
        page.get_by_role("button", name="Clear"),
        page.get_by_test_id("stMetricValue"),
        page.locator(".st-key-stage-layers .js-plotly-plot"),
    ]
    for box in [thing.bounding_box() for thing in things]:
        assert box["y"] >= 0 and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, box
    expect(page.locator(".st-key-stage-layers .js-plotly-plot image")).to_have_count(7)
    no_exceptions(page)
    if screenshots:
        page.screenshot(path=screenshots / f"projector-{width}x{height}.png")
    context.close()


def test_the_guided_tour_moves_to_each_steps_page(server, page):
    page.goto(server)
    page.get_by_test_id("stMain").get_by_role("button", name="Take the guided tour").click()
    panel = page.locator(".st-key-tour-panel")
    expect(panel.get_by_text("Guided tour, step 1 of 5: Train the tutorial network")).to_be_visible()
    panel.get_by_role("link", name="Go to the Train page").click()
    expect(page).to_have_url(re.compile(r"/train\?"))
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    settled(page)  # the home page's panel is gone only once the run is over
    panel.get_by_role("button", name="Next").click()
    expect(panel.get_by_text("Guided tour, step 2 of 5: Draw a digit")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/draw\?"))
    expect(page.get_by_role("heading", name="Draw a digit", exact=True)).to_be_visible()
    panel.get_by_role("button", name="End the tour").click()
    expect(panel).to_have_count(0)
    no_exceptions(page)
