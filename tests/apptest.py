"""Helpers for the page tests: the app under AppTest, opened on a page with a link's query,
and a stand-in for the drawing canvas, which renders only in a browser."""

import base64
import io
import re
from pathlib import Path
from typing import ClassVar

from PIL import Image
from streamlit import config
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parent.parent / "app.py")
QUICK = {"images": "1000", "epochs": "1"}  # page tests train on a small subset
# A failing page test shows the whole error: config.toml shows students none (and AppTest reads it).
config.set_option("client.showErrorDetails", "full")


def app(query=None, url=None) -> AppTest:
    """The app, run once from a link with `query`; `url`: the page's address, as a browser sends it."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query or {})
    if url:
        at.context = {"url": url}
    return at.run()


def open_page(query, page, url=None) -> AppTest:
    return app(query, url).switch_page(f"pages/{page}.py").run()


def shown(markdown: str) -> str:
    """The text a reader sees of markdown that deepviz.ui.markdown.plain escaped."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


class FakeCanvas:
    """Stands in for streamlit-drawable-canvas's component with a fixed drawing, and keeps each
    call's arguments (`data` holds the canvas's settings, see deepviz.ui.canvas.canvas_sent).

    Like the real one, it sends the drawing's image as a PNG data URL with the canvas's record of
    its strokes; set `image` to None for a canvas that has sent nothing (a fresh one, or one that
    mounted showing a kept drawing), or `sent` to anything else a browser could send instead."""

    STROKES: ClassVar = {"version": "6.0.0", "objects": [{"type": "Path", "path": [["M", 100, 100], ["L", 180, 180]]}]}

    def __init__(self, image):
        self.image = image
        self.sent = None
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.sent is not None:
            return {"drawing": self.sent, "backgroundFit": None}
        if self.image is None:
            return kwargs["default"]
        return {"drawing": {"raw": self.STROKES, "data": png_url(self.image)}, "backgroundFit": None}

    def shows(self) -> list:
        """The strokes the canvas was last told to show."""
        return self.calls[-1]["data"]["initialDrawing"]["objects"]


def png_url(image) -> str:
    """An RGBA array as the canvas sends its image."""
    png = io.BytesIO()
    Image.fromarray(image).save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
