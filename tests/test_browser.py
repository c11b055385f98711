"""The app in a real browser: Debian's chromium, driven by Playwright, draws a real
handwritten digit on the Draw page's canvas, as a person would with a mouse."""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CANVAS_SIZE = 280
DIGIT_SHARE = 0.65  # of the canvas: big and centred, as the page's hint asks
WAIT_MS = 30_000
SCREENSHOT_ENV = "DEEPVIZ_SCREENSHOT_DIR"
# The first visit to Draw imports TensorFlow and loads the model: well past expect's 5 s default.
expect.set_options(timeout=WAIT_MS)

Point = tuple[float, float]


def pen_digits() -> list[dict]:
    path = Path(os.environ["DEEPVIZ_DATA_DIR"]).parent / "pen-digits" / "uji-digits.json"
    return json.loads(path.read_text())


def fit_strokes(
    strokes: list[list[list[float]]], size: float = CANVAS_SIZE, share: float = DIGIT_SHARE
) -> list[list[Point]]:
    """Scale a digit's bounding box into the middle `share` of a size x size canvas, keeping
    its aspect ratio, so writers' different devices and handwriting sizes all land alike."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    scale = share * size / max(width, height, 1)
    left = (size - width * scale) / 2 - min(xs) * scale
    top = (size - height * scale) / 2 - min(ys) * scale
    return [[(left + x * scale, top + y * scale) for x, y in stroke] for stroke in strokes]


def replay(page, canvas, strokes: list[list[Point]]) -> None:
    """Draw each stroke as one press, drag and release, in canvas coordinates."""
    canvas.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = canvas.bounding_box()
    for stroke in strokes:
        points = [(box["x"] + x, box["y"] + y) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return answer.read().strip() == b"ok"
    except OSError:
        return False


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_app():
    """A Streamlit server for app.py on a free port, stopped afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
    ]
    # A file, not a pipe: nothing reads the log while tests run, and a full pipe stalls the server.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=os.environ, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                log.seek(0)
                pytest.fail(f"Streamlit did not come up at {url}:\n{log.read()}")
            time.sleep(0.5)
        yield url
        stop(process)


@pytest.fixture(scope="module")
def server(default_trained):
    """The default model is already in the cache folder, so the Draw page loads it instead of training."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


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
    no_exceptions(page)


def draw_a_three(page, server):
    """Open the Draw page and draw a real pen-written 3; the Prediction metric's locator."""
    page.goto(f"{server}/draw")
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible()
    three = next(digit for digit in pen_digits() if digit["label"] == 3)
    replay(page, canvas, fit_strokes(three["strokes"]))
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    return prediction


def test_drawing_a_real_digit_shows_a_prediction_and_every_layer(server, page):
    prediction = draw_a_three(page, server)
    hint = page.get_by_text("Draw a digit from 0 to 9")
    # Probabilities; one heatmap per layer (input, dense1, dense2, output); four saliency maps.
    charts = page.locator(".js-plotly-plot")
    expect(charts).to_have_count(9)
    expect(page.get_by_role("heading", name="Which pixels decided this")).to_be_visible()
    no_exceptions(page)
    if os.environ.get(SCREENSHOT_ENV):
        screenshot(page, Path(os.environ[SCREENSHOT_ENV]) / "draw-page.png")

    # Replay training back to the random weights it started from: the answer becomes a guess.
    page.get_by_role("slider", name="Replay training").press("Home")
    expect(page.get_by_text(re.compile(r"sure, before training \(random weights\)$"))).to_be_visible()
    expect(charts).to_have_count(9)
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
        names = ["Home", "Build", "Train", "Draw", "Insights", "Compare"]  # each after its icon's ligature name
        expect(nav.get_by_role("link")).to_have_text([re.compile(f"{name}$") for name in names])
        no_exceptions(page)


def test_stopping_training_keeps_the_partly_trained_model(server, page):
    page.goto(f"{server}/train?images=20000&epochs=5")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train").click()
    expect(main.get_by_text(re.compile(r"Epoch 1 of 5 · \d+%"))).to_be_visible()
    main.get_by_role("button", name="Stop").click()
    expect(main.get_by_text(re.compile(r"partly trained: stopped at epoch \d\.\d of 5"))).to_be_visible()
    no_exceptions(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Draw").click()
    expect(page.get_by_role("radiogroup").get_by_text("Your model")).to_be_visible()
    no_exceptions(page)


def test_the_drawing_is_placed_among_the_test_digits_at_every_layer(server, page):
    draw_a_three(page, server)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Patterns building up, layer by layer")).to_be_visible()
    expect(page.locator(".js-plotly-plot").filter(has_text="your drawing")).to_have_count(4, timeout=60_000)
    no_exceptions(page)
    if os.environ.get(SCREENSHOT_ENV):
        screenshot(page, Path(os.environ[SCREENSHOT_ENV]) / "insights-page.png")


def test_comparing_two_networks_trains_both_and_reads_one_drawing_with_each(server, page):
    page.goto(f"{server}/compare?images=3000&epochs=1")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train and compare").click()
    table = main.get_by_test_id("stDataFrame")
    expect(table).to_be_visible(timeout=120_000)
    expect(main.get_by_text(re.compile(r"^Network [AB] misreads \d"))).to_be_visible()
    canvas = page.locator("canvas.upper-canvas")
    three = next(digit for digit in pen_digits() if digit["label"] == 3)
    replay(page, canvas, fit_strokes(three["strokes"]))
    for side in "AB":
        reading = page.get_by_test_id("stMetric").filter(has_text=f"Network {side} reads")
        expect(reading.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\s*[0-9]\s*$"))
    # The curves, two probability bars, then A's dense1 and dense2 beside B's dense1, and both outputs.
    expect(page.locator(".js-plotly-plot")).to_have_count(1 + 2 + 3 + 2)
    no_exceptions(page)
    if os.environ.get(SCREENSHOT_ENV):
        screenshot(page, Path(os.environ[SCREENSHOT_ENV]) / "compare-page.png")
