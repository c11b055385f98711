"""The drawing pad's canvas: what a browser sends as a drawing is checked before it is decoded,
and deepviz calls streamlit-drawable-canvas's component as the library's own st_canvas does."""

import base64
import io

import numpy as np
from apptest import FakeCanvas, no_errors, open_page, png_url
from PIL import Image
from streamlit.testing.v1 import AppTest

from deepviz.pendigits import as_canvas
from deepviz.preprocess import CANVAS_SIZE, canvas_image

REFUSED = "The drawing pad sent something deepviz cannot read"


def test_the_pad_calls_the_canvas_component_as_st_canvas_does(monkeypatch):
    # deepviz.ui.canvas.canvas_sent is the one use of the library's private API, its component (`out`):
    # this fails when an upgrade moves it, calls it otherwise, or reads its value otherwise.
    AppTest.from_string("import streamlit_drawable_canvas").run()  # registers the component, as a server does
    import streamlit_drawable_canvas

    from deepviz.ui.canvas import canvas_sent

    image = png_url(as_canvas(np.eye(28, dtype=np.uint8) * 255))
    calls = []

    def component(**kwargs):
        calls.append({name: "a callback" if callable(value) else value for name, value in kwargs.items()})
        return {"drawing": {"raw": FakeCanvas.STROKES, "data": image}, "backgroundFit": None}

    monkeypatch.setattr(streamlit_drawable_canvas, "out", component)
    for shown in (None, FakeCanvas.STROKES):
        theirs = streamlit_drawable_canvas.st_canvas(
            stroke_width=17,
            stroke_color="#FFFFFF",
            background_color="#000000",
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            initial_drawing=shown,
            return_image_data=True,
            key="pad",
        )
        ours = canvas_sent(17, shown, "pad")
        assert calls[-1] == calls[-2]
        assert ours[0] == theirs.json_data == FakeCanvas.STROKES
        assert (canvas_image(ours[1]) == theirs.image_data).all()


def test_a_drawing_that_is_not_the_pads_png_is_refused_with_a_sentence_and_the_last_one_kept(
    default_trained, canvas, mnist
):
    pad = canvas(as_canvas(mnist.x_test[0]))
    at = open_page({}, "draw")
    no_errors(at)
    assert at.metric[0].value == str(mnist.y_test[0])
    kept = at.session_state.sketch

    huge = io.BytesIO()
    Image.new("1", (9000, 9000)).save(huge, format="PNG")  # 13 KB, 81 million pixels
    png = "data:image/png;base64,"
    sent = [
        (
            "its image is 9000x9000 pixels",
            {"raw": pad.STROKES, "data": png + base64.b64encode(huge.getvalue()).decode()},
        ),
        ("far more than a drawing takes", {"raw": pad.STROKES, "data": png + "A" * 1_000_000}),
        ("not a PNG image", {"raw": pad.STROKES, "data": "data:image/svg+xml;base64,PHN2Zy8+"}),
        ("not valid base64", {"raw": pad.STROKES, "data": png + "not base64!"}),
        ("its PNG is damaged", {"raw": pad.STROKES, "data": png_url(as_canvas(mnist.x_test[1]))[:-400]}),
        ("not a PNG image", {"raw": None, "data": 12}),
        ("not a PNG image", [1, 2]),
    ]
    for reason, drawing in sent:
        pad.sent = drawing
        at.run()
        no_errors(at)
        (warning,) = [warning.value for warning in at.warning if REFUSED in warning.value]
        assert reason in warning
        assert at.metric[0].value == str(mnist.y_test[0])  # the last drawing, still read
        assert at.session_state.sketch is kept

    # Strokes that are not fit to show again are dropped; the image that came with them is read.
    pad.sent = {"raw": "strokes", "data": png_url(as_canvas(mnist.x_test[1]))}
    at.run()
    no_errors(at)
    assert not [warning for warning in at.warning if REFUSED in warning.value]
    assert at.metric[0].value == str(mnist.y_test[1])
    assert at.session_state.sketch.strokes is None
