"""What the pages share: cached data and default model, the session's configuration and model."""

from __future__ import annotations

import gc
import importlib
import re
import string
import threading
import uuid
from typing import NamedTuple

import streamlit as st

from deepviz.config import DEFAULT_MODEL, ModelConfig, plural, summarize
from deepviz.guide import TOUR, TUTORIAL
from deepviz.lesson import (
    HIDEABLE,
    MENU,
    app_root,
    is_local,
    lesson_query,
    lesson_url,
    network_address,
    network_root,
    qr_png,
    read_lesson,
)

# Markdown would read a link's or a file's text as a live link, an image every student's
# browser fetches, a colour, an icon or LaTeX: every ASCII punctuation mark is escaped (CommonMark
# allows escaping any), and line breaks become spaces so that no line starts a block.
MARKDOWN_ESCAPES = str.maketrans({mark: "\\" + mark for mark in string.punctuation} | {"\r": " ", "\n": " "})
# GFM links bare addresses after escapes are resolved, so escaping cannot stop it: an invisible
# word joiner breaks the pattern instead ("http:" then "//", "www" then ".", and "@").
BARE_LINK_PARTS = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` shown as it is in any of Streamlit's markdown (st.warning, st.error, st.caption, help):
    for text that comes from a link, a file or the browser, which anyone can write."""
    return BARE_LINK_PARTS.sub(WORD_JOINER, str(text)).translate(MARKDOWN_ESCAPES)


def keep_keras_state() -> None:
    """Stop Streamlit calling `keras.backend.clear_session()` each time a script run ends.

    Streamlit does it to tidy up after scripts that build a model on every run. Here it is
    wrong and slow. Wrong: the reset is process-wide, so a run ending in one session wipes
    Keras's global state under another session that is training, or replaying a snapshot
    (a StatelessScope lives in that state). Slow: it also flushes TensorFlow's kernel cache
    and runs a full gc.collect(), which under load cost each stroke twice the stroke's own work.
    deepviz builds models only on purpose and frees what TensorFlow leaks itself (training.py)."""
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = lambda: None  # deepviz uses no pyplot: nothing else to tidy


def run_app_first() -> None:
    """Call first on every page: make sure app.py's main (navigation, shared-link restore,
    settling an interrupted training) runs, even when Streamlit runs this page's file alone.

    With a folder named pages/ beside app.py, Streamlit starts in its legacy multipage mode
    and runs a page's file by itself until some session has called st.navigation: that is
    the first visitor of a fresh server who opens a shared link, and every AppTest run. Run
    main, which runs this page inside it, and end the bare run. No rerun: that would lose
    the click that started this run."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        from app import main

        main()
        st.stop()


def settle_heap() -> None:
    """Exempt what is in memory now (TensorFlow, the default model) from garbage collection.

    Streamlit runs a full gc.collect() after every script run, which frees a closed session's
    models, but scans every object in the process: with TensorFlow's half a million, that
    took 0.2 s of each stroke. Frozen, they are skipped, and a collection costs milliseconds."""
    gc.collect()
    gc.freeze()


def import_keras() -> None:
    importlib.import_module("keras")
    settle_heap()


@st.cache_resource(show_spinner=False)
def preload_tensorflow() -> threading.Thread:
    """Import TensorFlow in the background, once per server: the home page stays fast, and
    by the time someone presses Train or draws, the 3-6 s import is already done."""
    thread = threading.Thread(target=import_keras, daemon=True)
    thread.start()
    return thread


@st.cache_data(show_spinner="Loading MNIST...")
def mnist():
    from deepviz.data import load_mnist

    return load_mnist()


@st.cache_data(max_entries=8, show_spinner="Finding what excites each unit, over all 10,000 test digits...")
def unit_strengths(key: str, _trained):
    """Per model (`key` names it): every hidden unit's response to every test digit."""
    from deepviz.units import unit_strengths

    test = mnist()
    return unit_strengths(_trained.probe, test.scaled(test.x_test))


@st.cache_data(max_entries=8, show_spinner="Projecting 2,000 test digits at every layer...")
def projections(key: str, _trained):
    """Per model (`key` names it): each layer's 2-D picture of a fixed sample of test digits."""
    from deepviz.projection import project_layers, sample_indices

    test = mnist()
    sample = sample_indices(test.y_test)
    return project_layers(_trained.probe, test.scaled(test.x_test[sample]), test.y_test[sample])


@st.cache_data(max_entries=8, show_spinner=False)
def fixed_scales(key: str, _trained) -> dict[str, float]:
    """Per model (`key` names it): each hidden layer's fixed colour scale, from 500 test digits."""
    from deepviz.activations import fixed_scales

    test = mnist()
    return fixed_scales(_trained.probe, test.scaled(test.x_test[:500]))


def layer_tops(trained) -> dict[str, float]:
    """The top of each layer's colour scale: fixed in projector mode, so that a room watching
    sees a unit brighten or fade as the drawing changes; else none, each drawing's own range."""
    return fixed_scales(trained.key, trained) if projector() else {}


@st.cache_resource(show_spinner=False)
def default_model_worker():
    """Started once per server, by the first page any session opens (app.py), so that a
    teacher who opens Home first finds the default model ready on Draw. Its training waits
    in the server's training line like anyone's: students who press Train meanwhile queue
    behind it instead of halving its speed, and the Train page counts it as training."""
    from deepviz.background import DefaultModel

    try:
        line = training_line()
    except ValueError:  # a bad DEEPVIZ_TRAINING_SLOTS: the Train page says so; Draw still needs it
        line = None
    return DefaultModel(line, ready=settle_heap).start()


def default_model():
    """Shared by every session, and never trained further: each user's own model lives in their session.

    Until it is ready the page shows how its training goes instead of the rest of the page
    (st.stop), and runs again by itself once it is ready."""
    worker = default_model_worker()
    if not worker.decided(0):
        with st.spinner(f"Loading the default model (the {DEFAULT_MODEL})..."):
            worker.decided()  # from the cache folder in seconds, or known to need training
    if worker.error:
        st.error(
            f"The default model could not be made: {plain(worker.error)}. Restart the server to try again, "
            "or train your own network on the Train page.",
            icon=":material/error:",
        )
    elif worker.model is None:
        until_default_model_ready(lambda: st.progress(worker.fraction, text=worker.status()))
    else:
        return worker.model
    st.stop()


@st.fragment(run_every=1)
def until_default_model_ready(show) -> None:
    """Calls `show` afresh every second while the default model is not ready, then runs the
    whole page again, which finds it ready."""
    if default_model_worker().done:
        st.rerun(scope="app")
    show()


def default_model_status() -> None:
    """The home page's line on the ready-trained network: live while it loads or trains. Not
    small print: a teacher opening the lesson on the projector wants to know Draw is ready."""
    worker = default_model_worker()
    network = f"a ready-trained network (the {DEFAULT_MODEL}, which reads hand-drawn digits best)"
    if worker.error:
        st.markdown(f":material/error: The ready-trained network for Draw could not be made: {plain(worker.error)}.")
    elif worker.model is not None:
        st.markdown(f":material/check_circle: In a hurry? Go straight to Draw: {network} is ready there.")
    else:
        until_default_model_ready(lambda: st.markdown(
            f":material/hourglass_top: In a hurry? Draw starts with {network}: {progress_words(worker)}"
        ))


def progress_words(worker) -> str:
    """How far the default model has got, in a few words."""
    from deepviz.background import duration

    if worker.position:
        return "it is waiting for a free training slot."
    left = worker.seconds_left
    if left is not None:
        return f"it is training now, {worker.fraction:.0%} done, about {duration(left)} left."
    return "it is training now." if worker.training else "it is loading."


def pick_model():
    """The session's own model if it trained one (a radio offers the default too), else the default."""
    own = st.session_state.get("model")
    if own is None:
        data_banner(mnist())
        trained = default_model()
        st.caption(f"Using the default model (the {DEFAULT_MODEL}), {trained.label}. Train your own on the Train page.")
        return trained
    choice = st.radio(
        "Model", ["Your model", f"Default model ({DEFAULT_MODEL})"], horizontal=True,
        help=f"Your model is {plain(own.label)}.",
        label_visibility="collapsed" if projector() else "visible",  # the choices say it: room for the stage
    )
    return own if choice == "Your model" else default_model()


def config() -> ModelConfig:
    return st.session_state.config


def set_config(new: ModelConfig) -> None:
    st.session_state.config = new
    st.session_state.link_problems = []
    share(new)


def load_config(new: ModelConfig) -> None:
    """Set a whole new configuration (a preset, a layer added or removed): the Build page's
    widgets are keyed by `build_version`, so bumping it draws them afresh from `new`."""
    set_config(new)
    st.session_state.build_version = st.session_state.get("build_version", 0) + 1


def share(current: ModelConfig) -> None:
    """Keep the address bar a link to this configuration, keeping the lesson link's `hide`
    and projector mode, so a reload (or the link copied from the address bar) keeps them."""
    query = lesson_query(current, hidden_groups(), projector())
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def restore_config() -> None:
    """A session starts from the configuration in the link it was opened with, and keeps
    hiding the controls that link hides (see deepviz.lesson) for as long as it lasts."""
    if "config" not in st.session_state:
        lesson = read_lesson(st.query_params.to_dict())
        st.session_state.config, st.session_state.lesson_hidden = lesson.config, lesson.hidden
        st.session_state.projector, st.session_state.link_problems = lesson.projector, lesson.problems
    for problem in st.session_state.link_problems:
        st.warning(plain(problem), icon=":material/link:")
    share(config())


def hidden_groups() -> frozenset[str]:
    """The control groups the session's lesson link hides: names from deepviz.lesson.HIDEABLE."""
    return st.session_state.get("lesson_hidden", frozenset())


def share_popover(page) -> None:
    """The Share control, in the sidebar of every page (`page`: the one st.navigation picked):
    a lesson link to this page and configuration, hiding what the teacher ticks, and its QR code.

    Not drawn when the session's link hides the page menu. Such a link is a student's: it
    keeps them on the lesson's page with only what they need; a Share control there would
    be one more thing to click, and would hand out links as if from the teacher (with the
    controls the teacher hid shown again, if unticked). A teacher who wants to share again
    opens the app without `hide=menu`."""
    if MENU in hidden_groups():
        return
    # Tracked (a rerun on opening), so that the QR code is made only when someone looks: an
    # image costs each run its PNG, and a fresh server's first page the import of NumPy.
    share = st.sidebar.popover("Share", icon=":material/share:", width="stretch", key="share", on_change="rerun")
    with share:
        hidden = st.multiselect(
            "Hide for students", list(HIDEABLE), default=sorted(hidden_groups(), key=list(HIDEABLE).index),
            format_func=HIDEABLE.get, key="share_hide", placeholder="Nothing: students see every control",
            help="What students who open the link will not see. Anyone can still edit the address bar: "
            "this keeps a lesson focused, it does not lock anything.",
        )
        root = app_root(st.context.url, page.url_path)
        if root is not None and is_local(root):
            root = network_choice(root)
        url = lesson_url(root or "", page.url_path, config(), hidden)
        st.code(url, language=None, wrap_lines=True)
        # No st.caption or st.markdown here: the sidebar comes after the page in AppTest's
        # element lists, and page tests read the page's last captions and markdown.
        if root is None:
            st.info("Could not read this app's address: put it in front of this link before sharing it.")
            return
        if is_local(root):
            st.warning("This address works on this computer only: for students' phones, "
                       "open the app through its network address first.", icon=":material/wifi_off:")
        if share.open:
            st.image(qr_png(url), width=260, alt="QR code of the lesson link",
                     caption="Give students the link, or show them this code to scan with a phone: "
                     "they get this page and this network, without the controls you hid.")


def network_choice(root: str) -> str:
    """For a page opened on a local address (`root`), which phones cannot open: this server's
    network address instead, by default, where it has one."""
    from streamlit import net_util

    address = network_address(st.get_option("server.address"), net_util.get_internal_ip())
    if address is None:
        return root
    network = network_root(root, address, st.get_option("server.port"))
    on = st.toggle(
        f"For students' phones: {network}", value=True, key="share_network",
        help="This computer's address on the local network: phones and other computers on the same "
        "network (Wi-Fi) open the link there. Off: the address this browser uses, for this computer only.",
    )
    return network if on else root


STOP_HELP = (
    "Stop training now: the network keeps what it has learned so far, labelled as partly "
    "trained. While waiting for a training slot: leave the line."
)


@st.cache_resource(show_spinner=False)
def training_line():
    """One line for the whole server: every session's trainings queue here."""
    from deepviz.slots import line_from_settings

    return line_from_settings()


def line_refusal() -> None:
    """Says why this session's last training found no place in line, if it did not: train_into
    keeps the reason, as its page reruns once training ends, which wipes what the run showed."""
    if refusal := st.session_state.pop("line_refusal", None):
        st.warning(refusal, icon=":material/block:")


def server_line():
    """The training line, or None after saying why this server cannot train."""
    try:
        return training_line()
    except ValueError as error:  # a bad DEEPVIZ_ setting (see deepviz.slots): the server's owner must fix it
        st.error(f"This server cannot train: {error}.", icon=":material/error:")
        return None


def line_text(line) -> str:
    running, waiting = line.busy
    return (
        f"This server trains {plural(line.size, 'network')} at a time: "
        f"{running} training now, {waiting} waiting."
    )


def train_into(slot: str, current: ModelConfig, data, report) -> None:
    """Train `current` and keep the model in `st.session_state[slot]`, however training ends.

    Waits in the server's line for a free training slot first. Clicking Stop (or leaving
    the page) leaves the line, or interrupts `fit` at its next progress report;
    settle_training then keeps the partly trained model, labelled as such, as it does when
    training reaches the server's time limit. A session has one place in line (see SlotLine.join)."""
    from deepviz.slots import LineError
    from deepviz.training import (
        TrainingRun,  # TensorFlow loads in seconds: after the page shows progress
    )

    line = server_line()
    if line is None:
        return
    notice = st.empty()

    def waiting(position: int) -> None:
        notice.info(
            f"Waiting for a free training slot: you are number {position} in line. "
            f"{line_text(line)} Press **Stop** to leave the line.",
            icon=":material/hourglass_top:",
        )

    try:
        with line.slot(waiting, owner=st.session_state.setdefault("line_owner", uuid.uuid4().hex)):
            notice.empty()
            run = TrainingRun(current, data, line.time_limit)
            st.session_state.training = (run, slot)
            try:
                run.fit(report)
            finally:
                settle_training(run)
    except LineError as error:
        st.session_state.line_refusal = f"{error}."


def progress_text(history) -> str:
    text = (
        f"Epoch {min(int(history.epoch_progress) + 1, history.epochs)} of {history.epochs} · "
        f"{history.fraction:.0%} · {history.seconds:.1f} s elapsed"
    )
    if history.seconds_left is not None and history.fraction < 1:
        from deepviz.background import duration

        text += f", about {duration(history.seconds_left)} left"
    return text


def epochs_done(history) -> str:
    """'3 of 3' for whole epochs, '1.4 of 3' part way (see History.epochs_done)."""
    done = history.epochs_done
    return f"{done:g} of {history.epochs}" if done == int(done) else f"{done:.1f} of {history.epochs}"


def settle_training(run=None) -> None:
    """Keep the model of a training run that ended: finished, stopped, or left mid-way.

    Clicking Stop or leaving the page makes Streamlit start the next script run at once,
    while the interrupted run is still unwinding in its own thread. So both settle: the
    interrupted run (with its own `run`) and every new run (any run left in the session),
    and whichever comes first scores the model for both."""
    pending = st.session_state.get("training")
    if pending is None or (run is not None and pending[0] is not run):
        return
    trained = pending[0].finish()
    if trained is not None:
        st.session_state[pending[1]] = trained
    if st.session_state.get("training") is pending:
        del st.session_state.training


# Measured: MNIST's test digits carry 104 units of ink on average; real pen digits drawn over
# two thirds of the canvas carry 84 at a 20 px stroke, 109 at 28, 130 at 36.
STROKE_WIDTH = 28


# The canvas lives in the component's shadow root, out of the page's CSS: put a rule into
# every canvas's root, now and whenever Streamlit mounts one. Static code, never user content.
# The rule hides the toolbar (see drawing_pad) and shows the canvas at --deepviz-pad, a size
# the page's CSS gives from the screen's (see the Draw page's STAGE_CSS): the canvas keeps its CANVAS_SIZE
# pixels, so a drawing, its stroke width and what the network receives are the same at any
# size, and Fabric.js maps the pointer through the CSS scale.
CANVAS_SCRIPT = """<script>
(() => {
  if (window.deepvizStyleCanvases) return;
  const rule = `.dc-toolbar { display: none !important; }
    .dc-root { width: fit-content; }
    .dc-container, .dc-container .canvas-container {
      width: var(--deepviz-pad, 280px) !important; height: var(--deepviz-pad, 280px) !important; }
    .dc-container canvas { width: 100% !important; height: 100% !important; }`;
  // An adopted sheet, not a style element: the component redraws its root's content (and
  // watching it for that, to add the rule again, sets the two against each other for good).
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(rule);
  window.deepvizStyleCanvases = () => {
    for (const host of document.querySelectorAll("[data-testid=stBidiComponentIsolated]")) {
      const root = host.shadowRoot;
      if (root && !root.adoptedStyleSheets.includes(sheet)) {
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
      }
    }
  };
  new MutationObserver(window.deepvizStyleCanvases).observe(document.body, {childList: true, subtree: true});
  window.deepvizStyleCanvases();

  // Send each stroke the moment it ends. The component sends a drawing 200 ms after its last
  // change (a debounce), so every answer came 200 ms late; its toolbar's own button sends at
  // once (and cancels the wait). Pressed for the student after the stroke's pointer-up, once
  // the canvas has made the stroke (its handlers run first: document before window).
  let drawnOn = null;
  window.addEventListener("pointerdown", (event) => {
    const target = event.composedPath()[0];
    drawnOn = target instanceof HTMLCanvasElement && target.classList.contains("upper-canvas") ? target.getRootNode() : null;
  }, true);
  window.addEventListener("pointercancel", () => { drawnOn = null; });
  window.addEventListener("pointerup", () => {
    const root = drawnOn;
    drawnOn = null;
    if (root) setTimeout(() => root.querySelector('button[aria-label="Update the app with this drawing"]')?.click(), 0);
  });
})();
</script>"""


def canvas_sent(stroke_width: int, initial_drawing: dict | None, key: str) -> tuple[object, object]:
    """The drawing pad's canvas (white ink on black, CANVAS_SIZE pixels square, showing
    `initial_drawing`) and what its browser last sent, unchecked: the strokes (Fabric.js JSON) and
    the image as a data URL, which is None until the canvas is drawn on.

    Not streamlit-drawable-canvas's st_canvas: its result decodes whatever image the browser sends,
    of any size (a 410 KB PNG of 9000x9000 pixels took 9 s and 1.3 GB, again on every rerun), and
    it fails with a traceback on a value of another shape. So deepviz calls the component itself,
    as st_canvas does for these arguments, and checks the image before decoding it (see
    preprocess.canvas_image). The one use of the library's private API: tests/test_canvas.py fails
    if an upgrade moves the component or calls it otherwise."""
    import streamlit_drawable_canvas  # looked up per call: page tests swap in a fake

    from deepviz.preprocess import CANVAS_SIZE

    shown = {"objects": []} if initial_drawing is None else dict(initial_drawing)
    shown["background"] = "#000000"
    settings = {
        "fillColor": "#eee", "strokeWidth": stroke_width, "strokeColor": "#FFFFFF", "backgroundColor": "#000000",
        "backgroundImageURL": None, "realtimeUpdateStreamlit": True, "canvasWidth": CANVAS_SIZE,
        "canvasHeight": CANVAS_SIZE, "drawingMode": "freedraw", "initialDrawing": shown, "displayRadius": 3,
        "returnImageData": True, "disabled": False, "backgroundImageFit": "stretch", "maxDisplayHeight": None,
        "fontSize": 20, "label": "",
    }
    sent = streamlit_drawable_canvas.out(
        data=settings, key=key, default={"drawing": {"raw": shown, "data": None}, "backgroundFit": None},
        on_drawing_change=lambda: None, on_backgroundFit_change=lambda: None, width="content", height="content",
    ).get("drawing")
    if isinstance(sent, dict):
        return sent.get("raw"), sent.get("data")
    return None, sent  # None: nothing sent yet; anything else is no image, which canvas_image refuses


def drawing_pad(page: str, controls=None):
    """A canvas with a stroke-width slider (in `controls`, a container, if given); returns the
    canvas's RGBA image, or None before anything is drawn. See clear_button for its Clear.

    Each page has its own canvas, but the session keeps the latest drawing (its strokes and
    image): a canvas shows it again when it mounts, on this page or another, so a drawing
    survives leaving the page, and Compare starts from the digit drawn on Draw."""
    from deepviz.preprocess import CanvasError, canvas_image, restorable

    controls = controls or st
    version = f"{page}_canvas_version"
    st.session_state.setdefault(version, 0)
    key = f"{page}-canvas-{st.session_state[version]}"
    start = f"{page}_canvas_start"
    if key not in st.session_state:  # mounting: Streamlit forgets a widget not drawn in a run
        sketch = st.session_state.get("sketch")
        st.session_state[start] = sketch if sketch is not None and sketch.strokes is not None else None
    stroke = controls.slider(
        "Stroke width", 5, 40, STROKE_WIDTH, key=f"{page}-stroke",
        help="How thick your pen is. The default gives a digit that fills two thirds of the square "
        "as much ink as MNIST's digits have; much thinner or thicker, and the network reads less well.",
    )
    # On a touch screen a finger on the pad must never scroll the page, and must draw wherever
    # it lands. The canvas component's toolbar (undo, redo, reset, edit, download) is in the way
    # of both: invisible until a mouse hovers, it lies over the canvas's top right, where it
    # swallows the start of a stroke (always, on a screen that cannot hover) and lets the page
    # scroll. Clear is all a class needs, so the toolbar goes; and since a browser applies every
    # ancestor's touch-action, the rule on the pad's container holds even if the script cannot run.
    # (The script that hides the toolbar runs on every page: see sidebar_switches.)
    st.html(f"<style>[class*='st-key-{page}-canvas-'] {{ touch-action: none; }}</style>")
    kept = st.session_state[start]
    strokes, sent = canvas_sent(stroke, None if kept is None else kept.strokes, key)
    if sent is not None:
        try:
            image = canvas_image(sent)
        except CanvasError as refused:
            controls.warning(
                f"The drawing pad sent something deepviz cannot read ({refused}), so your drawing is kept as it was.",
                icon=":material/block:",
            )
            latest = st.session_state.get("sketch")
            return None if latest is None else latest.image
        st.session_state.sketch = Sketch(restorable(strokes), image)
        return image
    # A canvas that mounted with the kept drawing shows it, but sends nothing until drawn on.
    return None if kept is None else kept.image


def clear_button(page: str, where=st) -> None:
    """The Clear button of `page`'s drawing pad: wipes the drawing, there and on every page."""
    def clear() -> None:
        st.session_state[f"{page}_canvas_version"] += 1  # a new key gives a fresh, empty canvas
        st.session_state.sketch = st.session_state[f"{page}_canvas_start"] = st.session_state.drawing = None

    where.button("Clear", on_click=clear, icon=":material/ink_eraser:", help="Wipe the square to draw another digit.")


class Sketch(NamedTuple):
    """The latest drawing: the canvas's record of its strokes (None if not fit to keep) and its image."""

    strokes: dict | None
    image: object  # the RGBA array the canvas sent


def stage_titles(config: ModelConfig) -> dict[str, str]:
    """Short layer titles, for the Draw page's stage, where layers stand side by side in order:
    their kind and size say enough there ("Conv x16"), and fit a narrow square in large type."""
    def title(row) -> str:
        if row.name in ("pixels", "output"):
            return {"pixels": "Pixels", "output": "Output"}[row.name]
        return f"{row.name.rstrip('0123456789').capitalize()} ×{row.output_shape[-1]}"

    return {row.name: title(row) for row in summarize(config)}


def figure_font() -> int:
    """Type size of the figures: readable from the back of the room in projector mode."""
    from deepviz.figures import PROJECTOR_FONT

    return PROJECTOR_FONT if projector() else 14


def layer_titles(config: ModelConfig) -> dict[str, str]:
    return {row.name: f"{row.name}: {row.description}" for row in summarize(config)} | {
        "pixels": "Input: what the network receives",
        "output": "Output: one score per digit",
    }


def sure(probability: float) -> str:
    """A probability as a confidence a class can read; a rounded "100%" would overstate it."""
    return "over 99.9%" if probability > 0.999 else f"{probability:.1%}"


def data_banner(data) -> None:
    if data.notes:
        st.warning("  \n".join(data.notes), icon=":material/dataset:")


# Projector mode: large type and the most contrast a projector can give (pure white on pure
# black), and no small print: captions, help icons and the stroke-width slider are for the
# teacher's own screen, who says what they explain. Static CSS only, never user content.
PROJECTOR_CSS = """<style>
html { font-size: max(24px, 1.4vw); }
.stApp, [data-testid="stHeader"] { background-color: #000000; }
/* The page starts below the header (3.75rem), which would cover the top of the canvas. */
[data-testid="stMainBlockContainer"] { padding-top: 3.75rem; }
.stApp p, .stApp label, .stApp li, .stApp h1, .stApp h2, .stApp h3, .stApp [data-testid="stMetricValue"] { color: #ffffff; }
/* Streamlit sets labels, tabs, buttons and table cells a little smaller than the text: not here. */
.stApp p, .stApp label, .stApp li, .stApp button, .stApp [data-testid="stMetricLabel"] *,
.stApp [data-testid="stMarkdownContainer"], .stApp [data-baseweb="tab"] *,
.stApp [data-testid="stFileUploaderDropzoneInstructions"] * { font-size: 1rem; }
.stApp [data-testid="stMetricValue"], .stApp [data-testid="stMetricValue"] * { font-size: 4rem; line-height: 1.1; }
[data-testid="stCaptionContainer"], [data-testid="stHeaderActionElements"],
.st-key-draw-stroke, .st-key-compare-stroke { display: none; }
/* Help icons go. The same tooltip element wraps each button that has help: those stay. */
[data-testid="stTooltipIcon"]:not(:has([data-testid^="stBaseButton"])) { display: none; }
</style>"""


def projector() -> bool:
    return bool(st.session_state.get("projector"))


def sidebar_switches() -> None:
    """Projector mode and the guided tour, on every page."""
    st.sidebar.toggle(
        "Projector mode", key="projector", on_change=lambda: share(config()),
        help="For the back of a classroom: large type, high contrast, colour legends on every "
        "heatmap, no small print, sidebar folded away. The address bar keeps it (projector=1).",
    )
    if touring():
        st.sidebar.button("End the guided tour", key="tour-end", on_click=end_tour, icon=":material/tour:", width="stretch")
    else:
        st.sidebar.button(
            "Take the guided tour", key="tour-start", on_click=start_tour, icon=":material/tour:", width="stretch",
            help="Five steps: train the tutorial network, draw a digit, see its layers, add a layer, compare.",
        )
    if projector():
        st.html(PROJECTOR_CSS)
    # Here, not with the canvas: a page's fragments cannot write to the sidebar.
    st.sidebar.html(CANVAS_SCRIPT, unsafe_allow_javascript=True)


def touring() -> bool:
    return st.session_state.get("tour_step") is not None


def start_tour() -> None:
    st.session_state.tour_step = 0


def end_tour() -> None:
    st.session_state.tour_step = None


def page_file(path: str) -> str:
    return f"pages/{path or 'home'}.py"


def tour_panel(page) -> None:
    """While the guided tour is on, its current step above the page (`page`: the one
    st.navigation picked): what to do, a way to that step's page, and Back and Next."""
    if not touring():
        return
    index = st.session_state.tour_step
    step = TOUR[index]
    done = step.done is not None and step.done(st.session_state)
    with st.container(border=True, key="tour-panel"):
        tick = " :green[:material/check_circle: done]" if done else ""
        st.markdown(f"**Guided tour, step {index + 1} of {len(TOUR)}: {step.title}**{tick}")
        st.markdown(step.text)
        if index == 0 and config().layers != TUTORIAL.layers:
            st.button("Set up the tutorial network", on_click=load_config, args=(TUTORIAL,), icon=":material/restart_alt:")
        if page.url_path != step.page:
            st.page_link(page_file(step.page), label=f"Go to the {step.page.capitalize()} page", icon=":material/arrow_forward:")
        back, forward, end = st.columns(3)
        if back.button("Back", disabled=index == 0, icon=":material/arrow_back:", width="stretch"):
            go_to_step(index - 1)
        if index == len(TOUR) - 1:
            forward.button("Finish", on_click=end_tour, type="primary", icon=":material/flag:", width="stretch")
        elif forward.button(
            "Next", type="primary" if done or step.done is None else "secondary",
            icon=":material/arrow_forward:", width="stretch",
        ):
            go_to_step(index + 1)
        end.button("End the tour", on_click=end_tour, width="stretch")


def go_to_step(index: int) -> None:
    st.session_state.tour_step = index
    st.switch_page(page_file(TOUR[index].page))


def plot(figure, where=st) -> None:
    """A Plotly chart, enlarged and with colour legends in projector mode."""
    from deepviz.figures import for_projector

    where.plotly_chart(for_projector(figure) if projector() else figure)
