"""The protocol load generator: sessions that speak Streamlit's websocket protocol, replaying a
recorded browser session with real pen digits. The full-size runs are
`python -m deepviz loadtest --clients protocol`; docs/capacity.md has their figures."""

import json

import pytest

from deepviz.pendigits import fit_strokes, load_pen_digits, render
from deepviz.preprocess import canvas_image, restorable
from measure import protoload


def test_a_drawing_is_sent_as_the_canvas_sends_it_and_reads_back_as_the_same_pixels():
    strokes = fit_strokes(load_pen_digits()[0].strokes)
    sent = json.loads(protoload.canvas_value(strokes))["drawing"]
    assert (canvas_image(sent["data"]) == render(strokes)).all()
    kept = restorable(sent["raw"])
    assert kept is not None and [o["type"] for o in kept["objects"]] == ["Path"] * len(strokes)
    assert kept["objects"][0]["path"][0] == ["M", *strokes[0][0]]


def test_each_digit_is_sent_stroke_by_stroke_the_last_value_the_whole_digit():
    digits = protoload.drawn(3, seed=0)
    assert len(digits) == 3 and all(len(values) >= 1 for values in digits)
    last = json.loads(digits[0][-1])["drawing"]["raw"]["objects"]
    assert len(last) == len(digits[0]) and len(json.loads(digits[0][0])["drawing"]["raw"]["objects"]) == 1


@pytest.mark.browser
@pytest.mark.slow
def test_protocol_sessions_draw_clear_and_train_on_a_real_server_without_errors(default_trained):
    # default_trained: the server loads the default model from the cache folder.
    summary, generator_s = protoload.measure(sessions=4, training=1, duration=10, seed=0)
    print(summary.report())
    assert summary.errors == [], summary.report()
    assert len(summary.predictions_by_session) == 3 and min(summary.predictions_by_session) >= 2, summary.report()
    assert summary.trainings >= 1, summary.report()
    assert summary.rss_samples >= 10 and summary.peak_rss_mb > 100, summary.report()
    # Its whole point: a session costs the generator far less than a Chromium page (about
    # 2-3 CPU seconds a drawing there, at 30 pages).
    assert protoload.cpu_ms_per_drawing(summary, generator_s) < 100, summary.report()


@pytest.mark.parametrize(
    "options", [["--clients", "protocol", "--url", "http://127.0.0.1:8080"], ["--url", "http://x", "--pid", "1"]]
)
def test_a_running_app_is_named_by_url_and_pid_together_for_protocol_clients(options, capsys):
    from deepviz.cli import main

    assert main(["loadtest", *options]) == 2
    err = capsys.readouterr().err
    assert err == "deepviz: error: --url and --pid go together, with --clients protocol\n"
