"""The drawing pad: a canvas a student draws a digit on, on phone, tablet or laptop, whose
drawing every page with a pad shares."""

from __future__ import annotations

import numpy as np
import streamlit as st

from deepviz.preprocess import STROKE_WIDTH
from deepviz.ui.session import Sketch, session

# The canvas lives in the component's shadow root, out of the page's CSS: put a rule into
# every canvas's root, now and whenever Streamlit mounts one. Static code, never user content.
# The rule hides the toolbar (see drawing_pad) and shows the canvas at --deepviz-pad, a size
# the page's CSS gives from the screen's (see the Draw page's STAGE_CSS): the canvas keeps its CANVAS_SIZE
# pixels, so a drawing, its stroke width and what the network receives are the same at any
# size, and Fabric.js maps the pointer through the CSS scale.
CANVAS_SCRIPT = """<script>
(() => {
  if (window.deepvizStyleCanvases) return;
  const WAIT_FRAMES = 600;
  const rule = `.dc-toolbar { display: none !important; }
    .dc-root { width: fit-content; }
    .dc-container, .dc-container .canvas-container {
      width: var(--deepviz-pad, 280px) !important; height: var(--deepviz-pad, 280px) !important; }
    .dc-container canvas { width: 100% !important; height: 100% !important; }`;
  // An adopted sheet, not a style element: the component redraws its root's content (and
  // watching it for that, to add the rule again, sets the two against each other for good).
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(rule);
  // Streamlit inserts a canvas's host first and attaches its shadow root in a later effect, so
  // the insertion's call can find no root, and a quiet page may never call again: then the
  // toolbar stayed, over where a digit starts, and swallowed the stroke. Look again each frame
  // until every host has its root (a few frames; at most WAIT_FRAMES for one that never does).
  let frames = 0, frame = null;
  window.deepvizStyleCanvases = () => {
    let rootless = false;
    for (const host of document.querySelectorAll("[data-testid=stBidiComponentIsolated]")) {
      const root = host.shadowRoot;
      if (!root) rootless = true;
      else if (!root.adoptedStyleSheets.includes(sheet)) {
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
      }
    }
    if (!rootless) frames = 0;
    else if (frame === null && frames < WAIT_FRAMES) {
      frame = requestAnimationFrame(() => { frame = null; frames += 1; window.deepvizStyleCanvases(); });
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
    const pad = target instanceof HTMLCanvasElement && target.classList.contains("upper-canvas");
    drawnOn = pad ? target.getRootNode() : null;
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
        "fillColor": "#eee",
        "strokeWidth": stroke_width,
        "strokeColor": "#FFFFFF",
        "backgroundColor": "#000000",
        "backgroundImageURL": None,
        "realtimeUpdateStreamlit": True,
        "canvasWidth": CANVAS_SIZE,
        "canvasHeight": CANVAS_SIZE,
        "drawingMode": "freedraw",
        "initialDrawing": shown,
        "displayRadius": 3,
        "returnImageData": True,
        "disabled": False,
        "backgroundImageFit": "stretch",
        "maxDisplayHeight": None,
        "fontSize": 20,
        "label": "",
    }
    sent = streamlit_drawable_canvas.out(
        data=settings,
        key=key,
        default={"drawing": {"raw": shown, "data": None}, "backgroundFit": None},
        on_drawing_change=lambda: None,
        on_backgroundFit_change=lambda: None,
        width="content",
        height="content",
    ).get("drawing")
    if isinstance(sent, dict):
        return sent.get("raw"), sent.get("data")
    return None, sent  # None: nothing sent yet; anything else is no image, which canvas_image refuses


def drawing_pad(page: str, controls=None) -> np.ndarray | None:
    """A canvas with a stroke-width slider (in `controls`, a container, if given); returns the
    canvas's RGBA image, or None before anything is drawn. See clear_button for its Clear.

    Each page has its own canvas, but the session keeps the latest drawing (its strokes and
    image): a canvas shows it again when it mounts, on this page or another, so a drawing
    survives leaving the page, and Compare starts from the digit drawn on Draw."""
    from deepviz.preprocess import CanvasError, canvas_image, restorable

    controls = controls or st
    key = f"{page}-canvas-{session.canvas_versions.get(page, 0)}"
    if key not in st.session_state:  # mounting: Streamlit forgets a widget not drawn in a run
        sketch = session.sketch
        shown = sketch if sketch is not None and sketch.strokes is not None else None
        session.canvas_starts = session.canvas_starts | {page: shown}
    stroke = controls.slider(
        "Stroke width",
        5,
        40,
        STROKE_WIDTH,
        key=f"{page}-stroke",
        help="How thick your pen is. The default gives a digit that fills two thirds of the square "
        "as much ink as MNIST's digits have; much thinner or thicker, and the network reads less well.",
    )
    # On a touch screen a finger on the pad must never scroll the page, and must draw wherever
    # it lands. The canvas component's toolbar (undo, redo, reset, edit, download) is in the way
    # of both: invisible until a mouse hovers, it lies over the canvas's top right, where it
    # swallows the start of a stroke (always, on a screen that cannot hover) and lets the page
    # scroll. Clear is all a class needs, so the toolbar goes; and since a browser applies every
    # ancestor's touch-action, the rule on the pad's container holds even if the script cannot run.
    # (The script that hides the toolbar runs on every page: see classroom.sidebar_switches.)
    st.html(f"<style>[class*='st-key-{page}-canvas-'] {{ touch-action: none; }}</style>")
    kept = session.canvas_starts[page]
    strokes, sent = canvas_sent(stroke, None if kept is None else kept.strokes, key)
    if sent is not None:
        try:
            image = canvas_image(sent)
        except CanvasError as refused:
            controls.warning(
                f"The drawing pad sent something deepviz cannot read ({refused}), so your drawing is kept as it was.",
                icon=":material/block:",
            )
            latest = session.sketch
            return None if latest is None else latest.image
        session.sketch = Sketch(restorable(strokes), image)
        return image
    # A canvas that mounted with the kept drawing shows it, but sends nothing until drawn on.
    return None if kept is None else kept.image


def clear_pad(page: str) -> None:
    """Wipe the drawing on `page`'s pad and on every page."""
    # A new key gives a fresh, empty canvas.
    session.canvas_versions = session.canvas_versions | {page: session.canvas_versions.get(page, 0) + 1}
    session.canvas_starts = session.canvas_starts | {page: None}
    session.sketch = session.drawing = None


def clear_button(page: str, where=st) -> None:
    """The Clear button of `page`'s drawing pad."""
    where.button(
        "Clear",
        on_click=clear_pad,
        args=(page,),
        icon=":material/ink_eraser:",
        help="Wipe the square to draw another digit.",
    )
