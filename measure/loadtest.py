"""A class at once: many people drawing and training on one app server, each in their own
headless Chromium session, and how long each drawing waits for its prediction.

`python -m deepviz loadtest` starts the app, warms the default model with one visit to the
Draw page, then for a fixed time drives K sessions from one browser (K contexts, driven
from one asyncio event loop: Playwright's sync objects cannot be shared across threads).
M of them train a small network over and over on the Train page; the others replay real
pen-drawn digits on the Draw page, timing each from the last stroke's mouse-up to the end
of the run it caused, then Clear and a second of thought. The server's memory is sampled
throughout. Everything stays on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from deepviz.config import PRESETS
from deepviz.pendigits import Point, fit_strokes, load_pen_digits
from deepviz.preprocess import CANVAS_SIZE
from measure.browser import (
    CHROMIUM_ARGS,
    RUN_MS,
    STROKE_RUN_MS,
    WAIT_MS,
    WATCH_RUN,
    BrowserError,
    Server,
    async_chromium,
    running_server,
)

HINT = "Draw a digit from 0 to 9"
DONE = re.compile(r"^Your model: trained for")
DIGIT = re.compile(r"^\s*[0-9]\s*$")
# Small enough that several trainings finish within a run, big enough to be real work.
TRAINING = replace(PRESETS["Tutorial MLP"], train_images=6000, epochs=1)
VIEWPORT = {"width": 1400, "height": 1000}
FIRST_VISIT_MS = 600_000  # the first Draw visit of a fresh cache trains the default model
TRAIN_LIMIT_S = 300  # a training still going after this long counts as an error
POLL_MS = 100  # in-page checks; the latency itself is timed in the page, so polling adds nothing
THINK_S = 1.0  # a person's pause between digits, on average
# A class opens the link within half a minute of the teacher showing it, not in the same
# instant; every page load at once would measure only Chromium starting 30 pages.
ARRIVAL_S = 20.0
RSS_EVERY_S = 0.5
# Streamlit keeps a closed tab's session, and its models, this long for a reconnect (120 s by
# default); shorter here, so the test can see memory come back once everyone has left.
SESSION_TTL_S = 5
SHOWN_ERRORS = 3
# Without the tests' unthrottled frames: here the browser shares the CPU with the server it
# measures, and dozens of pages drawing as many frames as they can would starve it.
BROWSER_ARGS = [arg for arg in CHROMIUM_ARGS if arg not in ("--disable-gpu-vsync", "--disable-frame-rate-limit")]
OFF_LOOPBACK = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)[:/])")

# Whether the canvas holds any ink (white strokes on black).
INKED = """(canvas) => {
    const {data} = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) if (data[i] > 128) return true;
    return false;
}"""


class AppError(Exception):
    """The page shows something wrong: a Streamlit exception, or no prediction."""


def error_text(error: Exception) -> str:
    """One line: Playwright's first line, and what it was waiting for from its call log."""
    lines = (getattr(error, "message", None) or str(error)).strip().splitlines() or ["(no message)"]
    waiting = next((line.strip() for line in lines if line.strip().startswith("- waiting for")), None)
    return f"{lines[0]} ({waiting[2:]})" if waiting else lines[0]


@dataclass
class Session:
    kind: str  # "draw" or "train"
    number: int
    latencies_ms: list[float] = field(default_factory=list)
    trainings: int = 0
    untaken: int = 0  # drawings the canvas never took in: no ink, so no run to time
    unsent: int = 0  # drawings the canvas took in but never sent: no run followed (see draw_once)
    untimed: int = 0  # drawings answered, but by a run the page's watch never saw (see draw_once)
    errors: list[str] = field(default_factory=list)
    crashed: bool = False
    over: bool = False  # past the end: what closing the pages causes is not the app's fault

    def error(self, message: str) -> None:
        if not self.over:
            self.errors.append(f"{self.kind} {self.number}: {message}")


@dataclass
class Summary:
    sessions: int
    training: int
    duration_s: float
    predictions_by_session: list[int]  # one count per drawing session
    latencies_ms: list[float]
    trainings: int
    errors: list[str]
    peak_rss_mb: float
    rss_samples: int
    untaken: int = 0
    unsent: int = 0
    untimed: int = 0
    # Drawings answered, timed or not, one count per drawing session.
    answered_by_session: list[int] = field(default_factory=list)
    warm_rss_mb: float = math.nan  # after warming up, before anyone came
    left_rss_mb: float = math.nan  # once everyone has left and their sessions were let go
    server_cpu_s: float = math.nan  # CPU time the server used during the load
    machine_cpu_s: float = math.nan  # CPU time every process used: the server, the browsers, this driver
    clients: str = "browsers and this driver"  # what used the CPU besides the server

    @property
    def predictions(self) -> int:
        return sum(self.predictions_by_session)

    def percentile(self, share: float) -> float:
        """Nearest rank; NaN without predictions, so that any bound on it fails."""
        ranked = sorted(self.latencies_ms)
        return ranked[max(math.ceil(share * len(ranked)) - 1, 0)] if ranked else math.nan

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50)

    @property
    def p95_ms(self) -> float:
        return self.percentile(0.95)

    @property
    def max_ms(self) -> float:
        return self.percentile(1.0)

    def report(self) -> str:
        drawing = self.sessions - self.training
        per_session = " ".join(map(str, self.predictions_by_session))
        cores = os.cpu_count()
        assert cores is not None  # the load test reads /proc: Linux, which always tells
        lines = [
            f"sessions: {self.sessions} ({drawing} drawing, {self.training} training), {self.duration_s:.0f} s",
            f"predictions: {self.predictions} ({self.predictions / self.duration_s:.1f} per s"
            + (f"; per drawing session: {per_session})" if per_session else ")"),
            f"latency_ms: p50 {self.p50_ms:.0f} p95 {self.p95_ms:.0f} max {self.max_ms:.0f}",
            f"trainings_completed: {self.trainings}",
            f"drawings_the_canvas_did_not_take: {self.untaken}",
            f"drawings_the_canvas_never_sent: {self.unsent}",
            f"drawings_answered_but_not_timed: {self.untimed}",
            f"errors: {len(self.errors)}",
            *(f"  {error}" for error in self.errors[:SHOWN_ERRORS]),
            *([f"  ... and {len(self.errors) - SHOWN_ERRORS} more"] if len(self.errors) > SHOWN_ERRORS else []),
            f"server_peak_rss_mb: {self.peak_rss_mb:.0f} ({self.rss_samples} samples)",
            (
                f"server_rss_mb: {self.warm_rss_mb:.0f} before the sessions came, "
                f"{self.left_rss_mb:.0f} after they all left"
            ),
            (
                f"cpu_s: server {self.server_cpu_s:.0f}, "
                f"{self.clients} {self.machine_cpu_s - self.server_cpu_s:.0f}, "
                f"of {cores * self.duration_s:.0f} ({cores} cores)"
            ),
        ]
        if self.predictions:
            lines.append(
                f"server_cpu_ms_per_prediction: {1000 * self.server_cpu_s / self.predictions:.0f} (training included)"
            )
        return "\n".join(lines)


# The server's memory: the Streamlit process and any children it starts, from /proc.


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass  # gone since it was listed
    return 0


def stat_fields(stat: Path) -> list[str]:
    """A /proc/PID/stat line's fields after the process name (which may hold spaces); from
    the third field of the documented layout: state, ppid, ... utime (12th here), stime."""
    return stat.read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat_fields(stat)[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def rss_kb(pid: int) -> int:
    return sum(status_kb(child, "VmRSS") for child in process_tree(pid))


def cpu_s(pid: int) -> float:
    """CPU seconds used by the process and any children it has now."""
    ticks = 0
    for child in process_tree(pid):
        try:
            fields = stat_fields(Path(f"/proc/{child}/stat"))
        except OSError:
            continue  # gone since it was listed
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_s() -> float:
    """CPU seconds every process on the machine has used since it started (all cores)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class RssSampler:
    def __init__(self, pid: int):
        self.pid, self.peak_kb, self.samples = pid, 0, 0
        # Restart the kernel's high-water mark: the warm-up, or a default model trained in it, is not
        # load. Where that is refused, it counts from the server's start: a peak no lower than the load's.
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")

    def sample(self) -> None:
        kb = rss_kb(self.pid)
        if kb:
            self.peak_kb, self.samples = max(self.peak_kb, kb), self.samples + 1

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(RSS_EVERY_S)

    def finish(self) -> float:
        """The peak in MB. The kernel's own high-water mark catches a peak between samples."""
        self.sample()
        return max(self.peak_kb, status_kb(self.pid, "VmHWM")) / 1024


# One person's session.


def drawable(strokes: list[list[Point]]) -> bool:
    """Every stroke moves: the canvas drops a dot, and then no run would come to time."""
    return all(len(set(stroke)) >= 2 for stroke in strokes)


def from_the_app(message, url: str) -> bool:
    """A console error the app caused. Not one about an address off the server (the load test
    blocks those), nor Streamlit's probe for its endpoints under a page's path (a 404 it expects)."""
    where = message.location.get("url") or url
    probe = re.search(r"/[^/]+/_stcore/(health|host-config)$", where) and "404" in message.text
    return message.type == "error" and where.startswith(url) and not probe


async def open_page(context, session: Session, url: str):
    page = await context.new_page()

    def console(message) -> None:
        if from_the_app(message, url):
            session.error(f"console error: {message.text} (at {message.location.get('url') or 'the page'})")

    page.on("console", console)
    page.on("pageerror", lambda error: session.error(f"page error: {error}"))

    def crash(_page) -> None:
        session.crashed = True
        session.error("the page crashed")

    page.on("crash", crash)
    return page


async def no_exception(page) -> None:
    exceptions = page.get_by_test_id("stException")
    if await exceptions.count():
        raise AppError(f"exception shown: {await exceptions.first.inner_text()}")


async def settled(page) -> None:
    await page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for()


async def stroke(page, box, points: list[Point], wait_ms: float) -> float | None:
    """Press, drag and release, `points` in the canvas's own coordinates (scaled to its `box`
    on screen); the milliseconds from the release to the page painted after the run it caused
    (None if there was none within wait_ms)."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    scale = box["width"] / CANVAS_SIZE
    points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
    await page.mouse.move(*points[0])
    await page.mouse.down()
    for point in points[1:]:
        await page.mouse.move(*point)
    await page.evaluate(WATCH_RUN)
    await page.mouse.up()
    try:
        return await (await page.wait_for_function(RUN_MS, polling=POLL_MS, timeout=wait_ms)).json_value()
    except PlaywrightTimeout:
        return None


async def open_draw(page, url: str) -> None:
    await page.goto(f"{url}/draw")
    await page.get_by_text(HINT).wait_for()
    await settled(page)


async def draw_once(page, session: Session, digit: list[list[Point]], wait_ms: float = WAIT_MS) -> None:
    """Draw a digit stroke by stroke (each stroke's run over before the next, as a person's
    pause would allow), time the last, check the prediction shows, and Clear."""
    from playwright.async_api import expect

    canvas = page.locator("canvas.upper-canvas")
    # After Clear, the old canvas can linger beside the new one for a moment: draw on one alone.
    await expect(canvas).to_have_count(1, timeout=wait_ms)
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    for points in digit[:-1]:
        await stroke(page, box, points, STROKE_RUN_MS)
    latency = await stroke(page, box, digit[-1], wait_ms)
    if latency is None and not await page.locator("canvas.lower-canvas").last.evaluate(INKED):
        session.untaken += 1  # drawn before the canvas was ready: a person would see that, and draw again
        return
    if latency is None:
        state = await page.get_by_test_id("stApp").get_attribute("data-test-script-state")
        status = " ".join(await page.get_by_test_id("stStatusWidget").all_inner_texts())
        if state != "notRunning" or status:
            raise AppError(
                f"no run ended within {wait_ms / 1000:.0f} s of the last stroke (script {state}, status: {status})"
            )
        # Ink on the canvas, the page connected and idle, and no run seen. On a page starved of
        # CPU, React can apply a run's start and end in one update, so the watch never sees it:
        # if the answer shows, the drawing was sent and answered, only not timed.
        await no_exception(page)
        answer = prediction(page)
        if await answer.count() and DIGIT.match(await answer.inner_text()):
            session.untimed += 1
        else:
            session.unsent += 1  # the canvas never sent it: a person would draw again
        await clear(page)
        return
    await no_exception(page)
    value = prediction(page)
    if not DIGIT.match(await value.inner_text()):
        raise AppError(f"the prediction reads {await value.inner_text()!r}")
    session.latencies_ms.append(latency)
    await clear(page)


def prediction(page):
    return page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")


async def clear(page) -> None:
    await page.get_by_role("button", name="Clear").click()
    await page.get_by_text(HINT).wait_for()
    await settled(page)  # the old canvas is gone only once the run is over
    await no_exception(page)


async def train_once(page, session: Session, url: str, query: str, deadline: float) -> None:
    """A fresh session on the Train page, so no earlier result can pass for this one: press
    Train and wait for the result. Waiting in the app's queue counts as training time."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    await page.goto(f"{url}/train?{query}")
    main = page.get_by_test_id("stMain")
    await main.get_by_role("button", name="Train").click()
    done = main.get_by_text(DONE)
    left_s = deadline - time.monotonic()
    try:
        await done.or_(page.get_by_test_id("stException")).first.wait_for(
            timeout=max(min(left_s, TRAIN_LIMIT_S), 0.1) * 1000
        )
    except PlaywrightTimeout:
        if time.monotonic() >= deadline and left_s < TRAIN_LIMIT_S:
            return  # cut short by the end of the load test, not slow
        raise
    await no_exception(page)
    session.trainings += 1


async def run_session(session: Session, context, url: str, deadline: float, rng: random.Random, digits) -> None:
    """Until the deadline; after an error, start again on a fresh page load (or a fresh page, if it crashed)."""
    from playwright.async_api import Error as PlaywrightError

    query = "&".join(f"{key}={value}" for key, value in TRAINING.to_query().items())
    page = await open_page(context, session, url)
    ready = False
    await asyncio.sleep(rng.uniform(0, min(ARRIVAL_S, (deadline - time.monotonic()) / 4)))
    while time.monotonic() < deadline:
        try:
            if session.crashed:
                session.crashed = False
                page = await open_page(context, session, url)
            if session.kind == "train":
                await train_once(page, session, url, query, deadline)
            else:
                if not ready:
                    await open_draw(page, url)
                    ready = True
                await draw_once(page, session, rng.choice(digits))
        # AssertionError: a Playwright `expect` that ran out of time (the canvas never showed).
        except (PlaywrightError, AppError, AssertionError) as error:
            session.error(error_text(error))
            ready = False
        await asyncio.sleep(rng.uniform(0.5, 1.5) * THINK_S)


async def new_context(browser):
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    # Loopback only: the app's icons from Google's font server, say, are not the app's to load-test.
    await context.route(OFF_LOOPBACK, lambda route: route.abort())
    return context


async def warm(browser, url: str, digit: list[list[Point]]) -> None:
    """One visit to Draw and one drawing, so that the timed part neither imports TensorFlow,
    nor trains the default model, nor waits while the server traces its first prediction."""
    from playwright.async_api import Error as PlaywrightError

    context = await new_context(browser)
    page = await context.new_page()
    try:
        await page.goto(f"{url}/draw")
        await page.get_by_text(HINT).wait_for(timeout=FIRST_VISIT_MS)
        await settled(page)
        await draw_once(page, Session("warm", 0), digit, FIRST_VISIT_MS)
    except (PlaywrightError, AppError, AssertionError) as error:
        raise BrowserError(f"the Draw page did not work: {error_text(error)}") from None
    finally:
        await context.close()


async def drive(
    browser, server: Server, people: list[Session], duration: float, seed: int, digits
) -> tuple[float, int]:
    """Run every session until the deadline; the server's peak memory meanwhile, in MB."""
    contexts = [await new_context(browser) for _ in people]
    sampler = RssSampler(server.pid)
    sampling = asyncio.create_task(sampler.run())
    deadline = time.monotonic() + duration
    try:
        await asyncio.gather(
            *(
                run_session(person, context, server.url, deadline, random.Random(seed * 1000 + i), digits)
                for i, (person, context) in enumerate(zip(people, contexts))
            )
        )
    finally:
        for person in people:
            person.over = True
        sampling.cancel()
        for context in contexts:
            await context.close()
    return sampler.finish(), sampler.samples


async def after_everyone_left(browser, server: Server) -> float:
    """The server's memory once the sessions of all who left are gone: Streamlit drops expired
    sessions when the next one leaves, so one more visitor comes and goes after the wait."""
    await asyncio.sleep(SESSION_TTL_S + 1)
    context = await new_context(browser)
    await (await context.new_page()).goto(server.url)
    await context.close()
    await asyncio.sleep(2)
    return rss_kb(server.pid) / 1024


async def load(sessions: int, training: int, duration: float, seed: int, say) -> Summary:
    digits = [strokes for strokes in (fit_strokes(d.strokes) for d in load_pen_digits()) if drawable(strokes)]
    # The browser first: if it cannot start, say so before the app's start-up wait.
    async with async_chromium(BROWSER_ARGS) as browser:
        say("Starting the app")
        with running_server(options={"server.disconnectedSessionTTL": str(SESSION_TTL_S)}) as server:
            say("Warming up: one drawing on the Draw page (the first visit ever also trains the default model)")
            await warm(browser, server.url, digits[0])
            summary, _ = await driven(
                server,
                sessions,
                training,
                duration,
                say,
                lambda people: drive(browser, server, people, duration, seed, digits),
                lambda: after_everyone_left(browser, server),
            )
    return summary


async def driven(
    server: Server,
    sessions: int,
    training: int,
    duration: float,
    say: Callable[[str], None],
    drive: Callable[[list[Session]], Awaitable[tuple[float, int]]],
    leave: Callable[[], Awaitable[float]],
    clients: str = "browsers and this driver",
    kind: str = "sessions",
) -> tuple[Summary, float]:
    """Both load tests' timed part, on a warmed-up `server`: `training` of `sessions` people train
    and the rest draw, run by `drive` (which gives the server's peak memory and its samples),
    then all leave (`leave` gives the server's memory after). The summary, with the CPU the
    server and the machine used meanwhile, and this process's own CPU seconds."""
    warm_mb = rss_kb(server.pid) / 1024
    people = [Session("train", n + 1) for n in range(training)]
    people += [Session("draw", n + 1) for n in range(sessions - training)]
    say(f"Driving {sessions} {kind} ({sessions - training} drawing, {training} training) for {duration:g} s")
    server_start, machine_start, own_start = cpu_s(server.pid), machine_cpu_s(), time.process_time()
    peak_mb, samples = await drive(people)
    server_used, machine_used = cpu_s(server.pid) - server_start, machine_cpu_s() - machine_start
    own_used = time.process_time() - own_start
    say(f"Everyone has left: waiting {SESSION_TTL_S} s for their sessions to be let go")
    left_mb = await leave()
    summary = Summary(
        predictions_by_session=[len(p.latencies_ms) for p in people if p.kind == "draw"],
        latencies_ms=[ms for p in people for ms in p.latencies_ms],
        trainings=sum(p.trainings for p in people),
        untaken=sum(p.untaken for p in people),
        unsent=sum(p.unsent for p in people),
        untimed=sum(p.untimed for p in people),
        answered_by_session=[len(p.latencies_ms) + p.untimed for p in people if p.kind == "draw"],
        errors=[error for p in people for error in p.errors],
        sessions=sessions,
        training=training,
        duration_s=duration,
        peak_rss_mb=peak_mb,
        rss_samples=samples,
        warm_rss_mb=warm_mb,
        left_rss_mb=left_mb,
        server_cpu_s=server_used,
        machine_cpu_s=machine_used,
        clients=clients,
    )
    return summary, own_used


def measure(
    sessions: int = 30,
    training: int = 4,
    duration: float = 120,
    seed: int = 0,
    say: Callable[[str], None] = lambda line: None,
) -> Summary:
    """Start a browser and the app, and load the app for `duration` seconds (after warming up)."""
    return asyncio.run(load(sessions, training, duration, seed, say))
