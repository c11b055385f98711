"""Helpers for the page tests: the app under AppTest, opened on a page with a link's query,
and a stand-in for the drawing canvas, which renders only in a browser."""

import re
import types
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parent.parent / "app.py")
QUICK = {"images": "1000", "epochs": "1"}  # page tests train on a small subset


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
    """The text a reader sees of markdown that pages.common.plain escaped."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


class FakeCanvas:
    """Stands in for streamlit-drawable-canvas with a fixed drawing, and keeps each call's arguments.

    Like the real one, it sends the drawing's image with the canvas's record of its strokes;
    set `image` to None for a canvas that has sent nothing (a fresh one, or one that mounted
    showing a kept drawing)."""

    STROKES = {"version": "6.0.0", "objects": [{"type": "Path", "path": [["M", 100, 100], ["L", 180, 180]]}]}

    def __init__(self, image):
        self.image = image
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        strokes = None if self.image is None else self.STROKES
        return types.SimpleNamespace(image_data=self.image, json_data=strokes)
