"""Projector mode, as a teacher uses it in front of a class: every page renders, with no
traceback and no error box, for the default model and for the tutorial MLP trained on Train."""

import json

import pytest
from apptest import QUICK, app, no_errors

from deepviz.config import PRESETS
from deepviz.figures import PROJECTOR_FONT
from deepviz.pendigits import as_canvas

PAGES = ("home", "build", "train", "draw", "insights", "inside", "compare", "collect", "wall", "teach")
PROJECTOR = {"projector": "1"}


def chart_fonts(at) -> list[int | None]:
    """The font size of every chart on the page, as sent to the browser."""
    return [json.loads(chart.proto.spec)["layout"].get("font", {}).get("size") for chart in at.get("plotly_chart")]


def visit_every_page(at) -> dict[str, int]:
    """Open each page in turn, as the menu does, checking that each renders for a projector:
    no traceback, no error, and every chart in large type. How many charts each page showed."""
    charts = {}
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        no_errors(at)
        assert at.session_state.projector, f"projector mode was lost on {page}"
        fonts = chart_fonts(at)
        assert all(size and size >= PROJECTOR_FONT for size in fonts), (page, fonts)
        charts[page] = len(fonts)
    return charts


@pytest.fixture
def drawing(canvas, mnist):
    canvas(as_canvas(mnist.x_test[0]))


def test_every_page_renders_in_projector_mode_with_the_default_model(default_trained, drawing):
    at = app(PROJECTOR)
    no_errors(at)
    charts = visit_every_page(at)
    assert charts["draw"] and charts["insights"]  # Insights' confusion matrix crashed for_projector
    at.switch_page("pages/draw.py").run()
    assert [metric.label for metric in at.metric] == ["Prediction"]  # it read the drawing


def test_every_page_renders_in_projector_mode_with_a_trained_tutorial_mlp(default_trained, drawing):
    at = app(PRESETS["Tutorial MLP"].to_query() | QUICK | PROJECTOR).switch_page("pages/train.py").run()
    next(button for button in at.button if button.label == "Train").click().run()
    no_errors(at)
    assert at.session_state.model.complete
    charts = visit_every_page(at)
    assert charts["draw"] and charts["insights"]
    at.switch_page("pages/insights.py").run()
    assert at.radio[0].value == "Your model"
    at.switch_page("pages/draw.py").run()
    assert at.radio[0].value == "Your model" and [metric.label for metric in at.metric] == ["Prediction"]
