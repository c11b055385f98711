"""The app in a real browser: a Streamlit server on loopback, Debian's Chromium driven by
Playwright, and pen strokes replayed on the Draw page's canvas as a person's mouse would.

Shared by the browser tests and the handwriting measurement. Playwright is a
development requirement, imported only here and only when a browser is wanted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from deepviz.pendigits import Point
from deepviz.preprocess import CANVAS_SIZE
from deepviz.school import free_port, healthy

ROOT = Path(__file__).parents[1]  # app.py's folder
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu-vsync",
    "--disable-frame-rate-limit",
]
WAIT_MS = 30_000


class BrowserError(RuntimeError):
    """The app or the browser could not be started; the message says why."""


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # the Streamlit process's: the load test samples its memory


@contextmanager
def running_app(timeout_s: float = 60) -> Iterator[str]:
    """A Streamlit server for app.py on a free loopback port, stopped afterwards; yields its URL."""
    with running_server(timeout_s) as server:
        yield server.url


@contextmanager
def running_server(
    timeout_s: float = 60,
    options: dict[str, str] | None = None,
    poll_s: float = 0.5,
    script: str = "app.py",
    folder: Path = ROOT,
) -> Iterator[Server]:
    """running_app, yielding the URL and the server's process id; `options`: more Streamlit
    settings, such as {"server.disconnectedSessionTTL": "5"}; `poll_s`: how often to ask
    whether it is up; `script` in `folder`: another app than deepviz's, with that folder's
    settings (.streamlit/config.toml)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        *(part for name, value in (options or {}).items() for part in (f"--{name}", value)),
    ]
    # A file, not a pipe: nothing reads the log while the app runs, and a full pipe stalls the server.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=folder, env=os.environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while not healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise BrowserError(f"Streamlit did not come up at {url}:\n{log.read()}")
                time.sleep(poll_s)
            yield Server(url, process.pid)
        finally:
            stop(process)


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium under Playwright (never `playwright install`: it downloads)."""
    if not CHROMIUM.exists():
        raise BrowserError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserError("playwright is missing: pip install -r requirements-dev.txt") from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@asynccontextmanager
async def async_chromium(args: list[str] = CHROMIUM_ARGS) -> AsyncIterator:
    """chromium() for Playwright's async API: one browser that many sessions share from one
    event loop (the sync API's objects cannot be shared between threads)."""
    if not CHROMIUM.exists():
        raise BrowserError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.async_api import Error, async_playwright
    except ImportError:
        raise BrowserError("playwright is missing: pip install -r requirements-dev.txt") from None
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        except Error as error:
            raise BrowserError(f"Chromium did not start: {error.message}") from None  # the CLI shows its first line
        try:
            yield browser
        finally:
            await browser.close()


# Before a stroke's mouse-up: note the moment of the mouse-up, and the moment the page has
# painted what the run it causes drew, in the page's own clock (how often Python polls for it
# does not matter). Painted: two animation frames after the run's end, as the first frame's
# callbacks run before it paints and the second's after.
WATCH_RUN = """() => {
    const app = document.querySelector("[data-testid=stApp]");
    // A run already going when the stroke ends takes the stroke in: Streamlit restarts it, and
    // the page stays "running" until the restarted run is over.
    const going = app.getAttribute("data-test-script-state") === "running";
    const watch = window.deepvizRun = {runs: going ? 1 : 0, up: null, ended: null, painted: null};
    window.addEventListener("mouseup", () => { watch.up = performance.now(); }, {capture: true, once: true});
    window.deepvizRunObserver?.disconnect();
    const painted = (ended) => requestAnimationFrame(() => requestAnimationFrame(() => {
        if (watch.ended === ended) watch.painted = performance.now();  // else a later run ended since
    }));
    // A quick run can start and end before the observer is called: read each change's new
    // value (the next record's old value; the last one's is the attribute now), not only the last.
    window.deepvizRunObserver = new MutationObserver((records) => {
        const states = [
            ...records.slice(1).map((record) => record.oldValue), app.getAttribute("data-test-script-state"),
        ];
        for (const state of states) {
            if (state === "running") watch.runs += 1;
            else if (state === "notRunning" && watch.runs > 0) {
                watch.ended = performance.now();
                watch.painted = null;
                painted(watch.ended);
            }
        }
    });
    window.deepvizRunObserver.observe(
        app, {attributes: true, attributeOldValue: true, attributeFilter: ["data-test-script-state"]},
    );
}"""
# Milliseconds from the mouse-up to the page painted after its run, once that is so; else null.
RUN_MS = """() => {
    const watch = window.deepvizRun;
    const state = document.querySelector("[data-testid=stApp]").getAttribute("data-test-script-state");
    const done = state === "notRunning" && watch.painted !== null && watch.up !== null;
    return done ? Math.max(watch.painted - watch.up, 0.001) : null;
}"""
STROKE_RUN_MS = 5_000  # a stroke the canvas does not send (a dot it drops) causes no run


def replay(page, canvas, strokes: list[list[Point]]) -> list[float | None]:
    """Draw each stroke as one press, drag and release, in the canvas's own coordinates (scaled
    to the size the page shows it at), and wait for the app's run that each stroke causes, so
    that what the page shows afterwards is the whole digit. Returns each stroke's milliseconds
    from its mouse-up to the page painted after its run (RUN_MS), or None for a stroke that
    caused no run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    canvas.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = still_box(page, canvas)
    scale = box["width"] / CANVAS_SIZE  # the page shows the canvas at the screen's size, not its own
    times = []
    for stroke in strokes:
        points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
        page.evaluate(WATCH_RUN)
        page.mouse.up()
        try:
            times.append(page.wait_for_function(RUN_MS, timeout=STROKE_RUN_MS).json_value())
        except PlaywrightTimeout:
            times.append(None)
    return times


def still_box(page, locator, wait_ms: float = 10_000) -> dict:
    """`locator`'s bounding box once it has stopped moving, as a person draws where the canvas
    is, not where it was: in projector mode the sidebar folds away after the page shows, sliding
    the canvas left. (Suspected, wrongly, of a lost drawing in CI: docs/canvas-first-stroke.md.)"""
    box = locator.bounding_box()
    deadline = time.monotonic() + wait_ms / 1000
    while time.monotonic() < deadline:
        page.wait_for_timeout(150)
        box, before = locator.bounding_box(), box
        if box is not None and box == before:
            return box
    raise BrowserError(f"{locator} kept moving (or vanished) for {wait_ms / 1000:.0f} s")


def settled(page) -> None:
    """Wait until the app's current run is over."""
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for(timeout=WAIT_MS)
