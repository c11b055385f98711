"""Drawing by touch, in a real browser: on a phone, a tablet or an interactive whiteboard a
finger on the Draw page's canvas draws, and the page does not scroll away under it.

Playwright's touch emulation (`has_touch`) only taps, so the strokes go to Chromium as the
touch screen's own events (touchStart, touchMove, touchEnd) over the DevTools protocol.
Streamlit scrolls its page inside its main element (`stMain`), not the window: the test
watches both, and the canvas's place on screen, which any scrolling container would move.
The app's server and the browser are conftest.py's `server` and `browser`.
"""

import re

import pytest
from playwright.sync_api import expect

from deepviz.pendigits import fit_strokes, load_pen_digits
from deepviz.preprocess import CANVAS_SIZE
from measure.browser import WAIT_MS, settled

# A fresh server's first Draw page imports TensorFlow and loads the model: a minute or more
# on a busy machine.
FIRST_VISIT_MS = 180_000

# An interactive whiteboard is a big touch screen that runs a desktop browser.
DEVICES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True},
    "whiteboard": {"viewport": {"width": 1920, "height": 1080}, "is_mobile": False},
}

POSITION = """canvas => ({
    window: [window.scrollX, window.scrollY],
    main: document.querySelector('[data-testid=stMain]').scrollTop,
    canvas: canvas.getBoundingClientRect().top,
})"""

Point = tuple[float, float]


@pytest.fixture(params=list(DEVICES))
def touch_page(request, browser):
    context = browser.new_context(has_touch=True, device_scale_factor=2, **DEVICES[request.param])
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    context.close()


def touch_stroke(cdp, points: list[Point]) -> None:
    """One finger down at the first point, along the rest, and up; in page CSS pixels."""
    first, *rest = points
    touch = {"type": "touchStart", "touchPoints": [{"x": first[0], "y": first[1]}]}
    cdp.send("Input.dispatchTouchEvent", touch)
    for x, y in rest:
        touch = {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        cdp.send("Input.dispatchTouchEvent", touch)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def place(canvas) -> None:
    """Scroll the canvas to 100 px below the top of the screen, clear of Streamlit's header,
    leaving page to scroll above it and below it wherever the page is long enough."""
    canvas.scroll_into_view_if_needed()
    canvas.evaluate("""canvas => {
        const main = document.querySelector('[data-testid=stMain]');
        main.scrollTop += canvas.getBoundingClientRect().top - 100;
    }""")


def draw_without_scrolling(page, cdp, canvas, strokes: list[list[Point]]) -> None:
    """Touch-draw `strokes`, in canvas coordinates, checking after each that nothing scrolled."""
    place(canvas)
    box = canvas.bounding_box()
    scale = box["width"] / CANVAS_SIZE  # the page shows the canvas at the screen's size, not its own
    before = canvas.evaluate(POSITION)
    for stroke in strokes:
        touch_stroke(cdp, [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke])
        page.wait_for_timeout(50)  # a scroll the gesture started would have begun by now
        after = canvas.evaluate(POSITION)
        assert after == before, f"the page scrolled while drawing from {stroke[0]} to {stroke[-1]}"


def test_drawing_by_touch_predicts_and_never_scrolls_the_page(server, touch_page):
    page = touch_page
    cdp = page.context.new_cdp_session(page)
    page.goto(f"{server}/draw")
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=FIRST_VISIT_MS)
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()

    three = next(digit for digit in load_pen_digits() if digit.label == 3)
    draw_without_scrolling(page, cdp, canvas, fit_strokes(three.strokes))
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    settled(page)

    # Now the page is long on every screen, so it could scroll either way. (Before, the
    # whiteboard's page fit its screen; and the 3 starts sideways, where the page cannot
    # scroll.) Vertical strokes from edge to edge are what a browser most readily takes for
    # scrolling. The one at the right starts where the canvas component's toolbar lay
    # (invisible until a mouse hovers): it swallowed the stroke and let the page scroll, until
    # the app took it away. Each stroke must draw, and nothing scroll.
    place(canvas)
    assert page.get_by_test_id("stMain").evaluate(
        "main => main.scrollTop > 50 && main.scrollHeight - main.clientHeight - main.scrollTop > 50"
    ), "the page should have room to scroll both ways, or this test could not see it scroll"
    edge_to_edge = [float(y) for y in range(2, CANVAS_SIZE - 1, 8)]
    down = [(0.75 * CANVAS_SIZE, y) for y in edge_to_edge]
    up = [(0.25 * CANVAS_SIZE, y) for y in reversed(edge_to_edge)]
    for stroke in (down, up):
        ink = canvas.screenshot()
        draw_without_scrolling(page, cdp, canvas, [stroke])
        assert canvas.screenshot() != ink, f"the stroke from {stroke[0]} drew nothing"
    settled(page)
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
