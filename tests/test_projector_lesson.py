"""A teacher's lesson on the projector, in Chromium at the two usual projector sizes, with
projector mode on: train the tutorial MLP, draw a digit and see every layer with the canvas on
one screen, clear and draw again, then Insights and Compare. Each control is pressed only
after checking that a person could: visible, and inside the screen."""

import re

import pytest
from playwright.sync_api import expect

from deepviz.pendigits import fit_strokes, load_pen_digits
from deepviz.preprocess import CANVAS_SIZE
from measure.browser import WAIT_MS, replay, settled

TRAINING = "images=12000&epochs=1"  # the tutorial MLP, on a fifth of MNIST: a few seconds
# Readable from 10 m: text at least 1/250 of the distance tall (40 mm), on a projected image
# 3 m wide, is font_px >= 40 mm / (3000 mm / width_px) = width_px / 75; and never under 24 px.
LEGIBLE_PX_PER_WIDTH = 1 / 75
LEGIBLE_PX = 24

# Every piece of text on screen with its type size: HTML elements with text of their own, and
# the charts' SVG text. Hidden elements and empty ones do not count.
SMALL_TYPE = """(least) => {
    const small = [];
    const seen = (element) => {
        const box = element.getBoundingClientRect();
        return box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== "hidden";
    };
    for (const element of document.querySelectorAll("[data-testid=stMain] *")) {
        const own = [...element.childNodes].some((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
        const size = parseFloat(getComputedStyle(element).fontSize);
        if (own && seen(element) && size < least) small.push(`${element.textContent.trim().slice(0, 40)}: ${size}px`);
    }
    return small;
}"""


def pen_digit(label: int) -> list[list[tuple[float, float]]]:
    return fit_strokes(next(digit for digit in load_pen_digits() if digit.label == label).strokes)


def on_screen(page, locator) -> dict:
    """Assert that a person sees `locator` whole, inside the screen; its bounding box."""
    expect(locator).to_be_visible()
    box = box_of(locator)
    size = page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"] + 1 and box["y"] + box["height"] <= size["height"] + 1, (box, size)
    return box


def scroll_to(locator) -> dict:
    """Scroll to `locator` as a person would; its bounding box. Streamlit swaps an element for its
    next render (a button is disabled, then enabled again, while a run goes on; a chart is drawn
    anew), and Playwright gives up on an element swapped while it waits for it to be still."""
    from playwright.sync_api import Error

    for attempt in range(5):
        try:
            locator.scroll_into_view_if_needed()
            break
        except Error as error:
            if "not attached" not in str(error) or attempt == 4:
                raise
            locator.page.wait_for_timeout(200)
    return box_of(locator)


def box_of(locator) -> dict:
    """`locator`'s bounding box, waiting out the moment Streamlit swaps the element (None)."""
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None:
            return box
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} has no box on screen")


def press(page, locator) -> None:
    """Scroll to a control as a person would, check it is on screen, and click it."""
    expect(locator).to_be_enabled()
    scroll_to(locator)
    on_screen(page, locator)
    locator.click()


def no_exceptions(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def go_to(page, name: str) -> None:
    """The teacher's way between pages in projector mode: open the folded sidebar, pick the
    page, fold the sidebar away again."""
    press(page, page.get_by_test_id("stExpandSidebarButton"))
    press(page, page.get_by_test_id("stSidebarNav").get_by_role("link", name=name))
    settled(page)
    press(page, page.get_by_test_id("stSidebarCollapseButton"))
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    no_exceptions(page)


def draw(page, label: int) -> None:
    canvas = page.locator("canvas.upper-canvas")
    settled(page)
    # Still: a folding sidebar slides the page, and a stroke aimed mid-slide lands elsewhere.
    boxes = [None, canvas.bounding_box()]
    while boxes[-1] != boxes[-2]:
        page.wait_for_timeout(200)
        boxes.append(canvas.bounding_box())
    replay(page, canvas, pen_digit(label))
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")
    expect(prediction).to_have_text(re.compile(r"^\s*[0-9]\s*$"))


def the_stage_is_on_one_screen(page, layers: int) -> None:
    """The canvas, the prediction and every layer's heatmap visible together, no scrolling."""
    canvas = on_screen(page, page.locator("canvas.upper-canvas"))
    assert canvas["width"] > CANVAS_SIZE  # the pad grows with the screen
    on_screen(page, page.get_by_test_id("stMetric").filter(has_text="Prediction"))
    on_screen(page, page.get_by_role("button", name="Clear"))
    stage = page.locator(".st-key-stage-layers .js-plotly-plot")
    on_screen(page, stage)
    images = stage.locator("image")  # a layer an image
    expect(images).to_have_count(layers)
    for index in range(layers):
        on_screen(page, images.nth(index))
    on_screen(page, page.locator(".deepviz-bars"))


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_a_whole_lesson_in_projector_mode(server, browser, width, height, screenshots):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    least = max(LEGIBLE_PX, width * LEGIBLE_PX_PER_WIDTH)

    # Train the tutorial MLP.
    page.goto(f"{server}/train?projector=1&{TRAINING}")
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    main = page.get_by_test_id("stMain")
    press(page, main.get_by_role("button", name="Train", exact=True))
    expect(main.get_by_text(re.compile(r"^Your model: trained for 1 epoch"))).to_be_visible(timeout=120_000)
    no_exceptions(page)
    assert (small := page.evaluate(SMALL_TYPE, least)) == [], small

    # Draw: the canvas, the answer and all four layers (pixels, dense1, dense2, output) at once.
    go_to(page, "Draw")
    on_screen(page, page.get_by_role("radiogroup").get_by_text("Your model"))
    draw(page, 3)
    the_stage_is_on_one_screen(page, layers=4)
    assert (small := page.evaluate(SMALL_TYPE, least)) == [], small
    if screenshots:
        page.screenshot(path=screenshots / f"projector-lesson-{width}x{height}.png")

    # Clear, and draw again.
    press(page, page.get_by_role("button", name="Clear"))
    on_screen(page, page.get_by_text("Draw a digit from 0 to 9"))
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    draw(page, 7)
    the_stage_is_on_one_screen(page, layers=4)
    no_exceptions(page)

    # The default model, every layer of the small CNN on the same screen.
    press(page, page.get_by_role("radiogroup").get_by_text("Default model"))
    settled(page)
    the_stage_is_on_one_screen(page, layers=7)
    no_exceptions(page)

    # Insights for the model just trained, the drawing placed among the test digits.
    go_to(page, "Insights")
    expect(page.get_by_role("heading", name="Patterns building up, layer by layer")).to_be_visible(timeout=60_000)
    expect(page.locator(".js-plotly-plot").filter(has_text="your drawing")).to_have_count(4, timeout=60_000)
    no_exceptions(page)
    assert (small := page.evaluate(SMALL_TYPE, least)) == [], small

    # Compare it with the same network trained again; the 7 is still drawn there.
    go_to(page, "Compare")
    press(page, main.get_by_role("button", name="Train and compare"))
    expect(main.get_by_text(re.compile(r"^(Network [AB] misreads|Both networks misread) \d"))).to_be_visible(
        timeout=120_000
    )
    for side in "AB":
        reading = page.get_by_test_id("stMetric").filter(has_text=f"Network {side} reads")
        expect(reading.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    no_exceptions(page)
    assert (small := page.evaluate(SMALL_TYPE, least)) == [], small
    context.close()
