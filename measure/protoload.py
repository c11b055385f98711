"""A class at once, measured at the server: K sessions that speak Streamlit's own websocket
protocol (its protobuf BackMsg and ForwardMsg, from the installed `streamlit.proto`) instead of
driving K Chromium pages, so that one session costs the load generator a few milliseconds of
CPU and nearly all of the machine is left to the server it measures.

One real Chromium session is recorded first: it opens the Draw page and draws a stroke, and
the messages its page sends are kept (the page's widget states and the drawing's fragment).
Each protocol session then replays them with real pen digits, drawn stroke by stroke as the
canvas would send them: Fabric.js paths and the canvas's PNG. Like a browser, a session reads
the ids of the canvas and of the Clear and Train buttons from the elements the server sends,
so Clear and a new canvas after it work as they do on the page. Training sessions open the
Train page with the load test's small network and press Train, again and again.

What is timed is the server's part: from a drawing's message sent to the prediction's element
received, where the browser load test (measure.loadtest) times mouse-up to painted page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from deepviz.pendigits import Point, fit_strokes, load_pen_digits, render
from measure.browser import Server, chromium, replay, running_server, settled
from measure.loadtest import (
    ARRIVAL_S,
    DONE,
    FIRST_VISIT_MS,
    HINT,
    SESSION_TTL_S,
    THINK_S,
    TRAIN_LIMIT_S,
    TRAINING,
    RssSampler,
    Session,
    Summary,
    drawable,
    driven,
    rss_kb,
)

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

# Digits drawn for the sessions before the load starts (each stroke's canvas PNG made once):
# the generator's own work stays off the timed path, and a class still draws a hundred shapes.
DIGITS = 100
RUN_S = 60.0  # a drawing's run not over by then is an error
STROKE_PAUSE_S = 0.3  # between one stroke's answer and the next stroke: a person moving the pen
CANVAS_KEY = "draw-canvas"  # the Draw page's canvas widget key, before Clear's counter
DRAW_URL_PATH = "/draw"
# Fabric.js's path object, as streamlit-drawable-canvas's canvas sends one, less its defaults.
PATH = {
    "type": "Path",
    "version": "7.4.0",
    "originX": "left",
    "originY": "top",
    "fill": None,
    "stroke": "#FFFFFF",
    "strokeLineCap": "round",
    "strokeLineJoin": "round",
}


class ProtocolError(Exception):
    """What a session saw go wrong: an exception on the page, no prediction, a closed socket."""


@dataclass(frozen=True)
class Recording:
    """What a real browser sent while it opened the Draw page and drew a stroke."""

    open_page: bytes  # the BackMsg that opened the Draw page
    stroke: bytes  # the BackMsg that sent the drawing: its widget states and its fragment


def record(browser, url: str) -> Recording:
    """One Chromium session on the Draw page, its websocket's messages kept: the page opened
    and one stroke drawn (its prediction awaited, so the stroke's message is in)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    sent: list[bytes] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    def keep(frame: bytes) -> None:  # Playwright marks its handlers: a plain function, not sent.append
        sent.append(frame)

    page.on("websocket", lambda socket: socket.on("framesent", keep))
    page.goto(url + DRAW_URL_PATH)
    page.get_by_text(HINT).wait_for(timeout=FIRST_VISIT_MS)
    settled(page)
    replay(page, page.locator("canvas.upper-canvas"), [[(70, 70), (210, 210)]])
    settled(page)
    page.close()
    runs = []
    for frame in sent:
        message = BackMsg()
        message.ParseFromString(frame if isinstance(frame, bytes) else frame.encode())
        if message.WhichOneof("type") == "rerun_script":
            runs.append(message)
    drawn = [m for m in runs if any(CANVAS_KEY in w.id and w.json_value for w in m.rerun_script.widget_states.widgets)]
    if not runs or not drawn:
        raise ProtocolError("the recorded browser session sent no drawing")
    return Recording(runs[0].SerializeToString(), drawn[-1].SerializeToString())


def canvas_value(strokes: list[list[Point]]) -> str:
    """The canvas widget's value for `strokes`, as streamlit-drawable-canvas's page sends it:
    the Fabric.js drawing and the canvas's PNG (white ink on black, the pad's size)."""
    from PIL import Image

    from deepviz.preprocess import STROKE_WIDTH

    png = io.BytesIO()
    Image.fromarray(render(strokes)).save(png, format="PNG")
    objects = [
        PATH | {"strokeWidth": STROKE_WIDTH, "path": [["M", *s[0]], *(["L", *point] for point in s[1:])]}
        for s in strokes
    ]
    data = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    return json.dumps(
        {"drawing": {"raw": {"version": "7.4.0", "objects": objects, "background": "#000000"}, "data": data}}
    )


@dataclass
class Run:
    """What the server sent for one script run."""

    prediction: str | None = None
    prediction_at: float | None = None
    texts: list[str] = field(default_factory=list)  # its markdown and messages
    exceptions: list[str] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class Client:
    """One browser tab's worth of Streamlit session, without the browser."""

    def __init__(self, url: str, recording: Recording):
        self.url, self.recording = url, recording
        self.socket: ClientConnection | None = None
        self.page, self.query = "", ""
        self.run = Run()
        self.canvas_id: str | None = None
        self.buttons: dict[str, str] = {}
        self.reading: asyncio.Task | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin, Subprotocol

        address = urlparse(self.url)
        self.socket = await connect(
            f"ws://{address.netloc}/_stcore/stream",
            subprotocols=[Subprotocol("streamlit")],  # as Streamlit's page asks: without an XSRF token
            origin=Origin(f"{address.scheme}://{address.netloc}"),  # the server refuses other origins
            max_size=None,
        )
        self.reading = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.reading:
            self.reading.cancel()
        if self.socket is not None:
            await self.socket.close()

    async def _read(self) -> None:
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        assert self.socket is not None
        try:
            async for frame in self.socket:
                message = ForwardMsg()
                message.ParseFromString(frame)
                self._take(message)
        except (ConnectionClosed, DecodeError, OSError) as error:
            self.run.exceptions.append(f"connection lost: {error}")
        # Closed under the session: its run, and any later one, ends in an error.
        self.run.exceptions.append("the server closed the connection")
        self.run.ended.set()

    def _take(self, message) -> None:
        kind = message.WhichOneof("type")
        if kind == "script_finished":
            # A run that ends in st.rerun (as Train's does, to show its result) is followed by the rerun.
            if message.script_finished != message.FINISHED_EARLY_FOR_RERUN:
                self.run.ended.set()
        elif kind == "session_event" and message.session_event.WhichOneof("type") == "script_compilation_exception":
            self.run.exceptions.append("the page did not compile")
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            shown = element.WhichOneof("type")
            if shown == "metric" and element.metric.label == "Prediction":
                self.run.prediction, self.run.prediction_at = element.metric.body, time.monotonic()
            elif shown == "exception":
                self.run.exceptions.append(element.exception.message or element.exception.type)
            elif shown in ("markdown", "alert"):  # text, and st.success's "Your model: trained for ..."
                self.run.texts.append(getattr(element, shown).body)
            elif shown == "button":
                self.buttons[element.button.label] = element.button.id
            elif shown == "bidi_component" and CANVAS_KEY in element.bidi_component.id:
                self.canvas_id = element.bidi_component.id

    async def send(self, message, timeout: float = RUN_S) -> Run:
        """Send a BackMsg that starts a run; the run, once the server says it is over."""
        self.run = Run()
        assert self.socket is not None, "connect first"
        await self.socket.send(message.SerializeToString())
        try:
            await asyncio.wait_for(self.run.ended.wait(), timeout)
        except TimeoutError:
            raise ProtocolError(f"no run ended within {timeout:.0f} s") from None
        if self.run.exceptions:
            raise ProtocolError(self.run.exceptions[0])
        return self.run

    async def open(self, page: str, query: str = "") -> Run:
        self.page, self.query = page, query
        return await self.send(self._message(self.recording.open_page, {}))

    def _message(self, recorded: bytes, states: dict[str, tuple[str, object]]):
        """A recorded BackMsg with `states` (widget id: (field, value)) set in place of the
        canvas's entry. The drawing's message keeps its page and fragment; the page-opening
        one runs this session's page with its query."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        message.ParseFromString(recorded)
        rerun = message.rerun_script
        if recorded is self.recording.open_page:
            rerun.page_name, rerun.query_string = self.page, self.query
        kept = [w for w in rerun.widget_states.widgets if CANVAS_KEY not in w.id]
        del rerun.widget_states.widgets[:]
        rerun.widget_states.widgets.extend(kept)
        for widget_id, (kind, value) in states.items():
            widget = rerun.widget_states.widgets.add()
            widget.id = widget_id
            setattr(widget, kind, value)
        return message

    async def draw(self, strokes: tuple[str, ...]) -> float:
        """Send a digit's canvas values (see `drawn`) stroke by stroke, each once the last one's
        run is over; the seconds from the last stroke's message to its prediction."""
        if self.canvas_id is None:
            raise ProtocolError("the Draw page showed no canvas")
        for count, value in enumerate(strokes, 1):
            sent = time.monotonic()
            run = await self.send(self._message(self.recording.stroke, {self.canvas_id: ("json_value", value)}))
            if run.prediction is None or not run.prediction.strip().isdigit():
                raise ProtocolError(f"the prediction reads {run.prediction!r}")
            if count < len(strokes):
                await asyncio.sleep(STROKE_PAUSE_S)
        assert run.prediction_at is not None
        return run.prediction_at - sent

    async def press(self, label: str) -> Run:
        """Press a button: on the Draw page one in its stage (Clear), elsewhere one in the page."""
        if label not in self.buttons:
            raise ProtocolError(f"the page showed no {label} button")
        recorded = self.recording.stroke if self.page == "draw" else self.recording.open_page
        return await self.send(self._message(recorded, {self.buttons[label]: ("trigger_value", True)}), TRAIN_LIMIT_S)


async def draw_session(session: Session, url: str, recording: Recording, deadline: float, rng, digits) -> None:
    """A student on the Draw page: a digit, Clear, a pause; a fresh session after an error."""
    await asyncio.sleep(rng.uniform(0, min(ARRIVAL_S, (deadline - time.monotonic()) / 4)))
    client = None
    while time.monotonic() < deadline:
        try:
            if client is None:
                client = Client(url, recording)
                await client.connect()
                await client.open("draw")
            session.latencies_ms.append(1000 * await client.draw(rng.choice(digits)))
            await client.press("Clear")
        except (ProtocolError, OSError) as error:
            session.error(str(error))
            if client is not None:
                await client.close()
            client = None
        await asyncio.sleep(rng.uniform(0.5, 1.5) * THINK_S)
    if client is not None:
        await client.close()


async def train_session(session: Session, url: str, recording: Recording, deadline: float, rng) -> None:
    """Train the load test's small network in a fresh session, again and again."""
    query = "&".join(f"{key}={value}" for key, value in TRAINING.to_query().items())
    await asyncio.sleep(rng.uniform(0, min(ARRIVAL_S, (deadline - time.monotonic()) / 4)))
    while time.monotonic() < deadline:
        client = Client(url, recording)
        try:
            await client.connect()
            await client.open("train", query)
            run = await client.press("Train")
            if not any(DONE.match(text) for text in run.texts):
                raise ProtocolError("the training's run ended with no result")
            session.trainings += 1
        except (ProtocolError, OSError) as error:
            if time.monotonic() < deadline:
                session.error(str(error))
        finally:
            await client.close()


async def drive(server: Server, recording: Recording, people: list[Session], duration: float, seed: int, digits):
    sampler = RssSampler(server.pid)
    sampling = asyncio.create_task(sampler.run())
    deadline = time.monotonic() + duration
    try:
        await asyncio.gather(
            *(
                train_session(person, server.url, recording, deadline, random.Random(seed * 1000 + i))
                if person.kind == "train"
                else draw_session(person, server.url, recording, deadline, random.Random(seed * 1000 + i), digits)
                for i, person in enumerate(people)
            )
        )
    finally:
        for person in people:
            person.over = True
        sampling.cancel()
    return sampler.finish(), sampler.samples


async def after_everyone_left(server: Server, recording: Recording) -> float:
    """As loadtest's: one more visitor after the sessions' time to live lets them go."""
    await asyncio.sleep(SESSION_TTL_S + 1)
    client = Client(server.url, recording)
    await client.connect()
    await client.open("home")
    await client.close()
    await asyncio.sleep(2)
    return rss_kb(server.pid) / 1024


def drawn(count: int, seed: int) -> list[tuple[str, ...]]:
    """`count` real pen digits, each as the canvas values its strokes send one after another."""
    digits = [strokes for strokes in (fit_strokes(d.strokes) for d in load_pen_digits()) if drawable(strokes)]
    chosen = random.Random(seed).sample(digits, min(count, len(digits)))
    return [tuple(canvas_value(strokes[:end]) for end in range(1, len(strokes) + 1)) for strokes in chosen]


async def load(server: Server, recording: Recording, sessions: int, training: int, duration: float, seed: int, say):
    digits = drawn(DIGITS, seed)
    warm = Client(server.url, recording)  # the first prediction traces the model: not load
    await warm.connect()
    await warm.open("draw")
    await warm.draw(digits[0])
    await warm.close()
    return await driven(
        server,
        sessions,
        training,
        duration,
        say,
        lambda people: drive(server, recording, people, duration, seed, digits),
        lambda: after_everyone_left(server, recording),
        clients="the protocol sessions and everything else on the machine",
        kind="protocol sessions",
    )


def measure(
    sessions: int = 30,
    training: int = 4,
    duration: float = 120,
    seed: int = 0,
    say=lambda line: None,
    server: Server | None = None,
) -> tuple[Summary, float]:
    """Record one browser session on the app, then load it with protocol sessions for
    `duration` seconds: the app started here, or `server` (one already running, such as
    `python -m deepviz school` behind nginx, its CPU and memory read from its process and
    those it started). The summary, and the CPU seconds this generator used."""
    with contextlib.ExitStack() as running:
        if server is None:
            say("Starting the app")
            server = running.enter_context(
                running_server(options={"server.disconnectedSessionTTL": str(SESSION_TTL_S)})
            )
        say("Recording one Chromium session on the Draw page (the first visit ever also trains the default model)")
        with chromium() as browser:  # closed before the load: its CPU is the server's
            recording = record(browser, server.url)
        return asyncio.run(load(server, recording, sessions, training, duration, seed, say))


def cpu_ms_per_drawing(summary: Summary, own_s: float) -> float:
    """The generator's CPU milliseconds per prediction: what one drawing costs the client side."""
    return 1000 * own_s / max(summary.predictions, 1)
