"""A small class at once, in CI: three people drawing and one training on one app server,
each in their own Chromium session, for 30 s. The full-size run (30 sessions, 4 training)
is `python -m deepviz loadtest`.

The bound on latency is generous: the server and the four browser pages share 2 cores, the
browser taking about as much as the server, and measured here (with other jobs running
beside) the 95th percentile came to 4-8 s. It still catches drawings stuck behind a training."""

import math
from pathlib import Path

import pytest

from deepviz.cli import main
from measure import browser as browsers
from measure.loadtest import Summary, measure

P95_MS = 10_000
LEFT_BEHIND_MB = 600


@pytest.mark.browser
@pytest.mark.slow
def test_four_people_drawing_and_training_at_once_get_their_answers_without_errors(default_trained):
    # default_trained: the default model is in the cache folder, so warming up only loads it.
    summary = measure(sessions=4, training=1, duration=30, seed=0)
    print(summary.report())
    assert summary.errors == [], summary.report()
    # The canvas component can lose a page's first drawing when the page is starved of CPU.
    assert summary.unsent <= len(summary.predictions_by_session), summary.report()
    # Every person's drawings are answered. On a machine this busy (the browsers took all of 2
    # cores in one CI run) React can apply a run's start and end at once, so a session's one
    # answered drawing may go untimed (draw_once): counted here, and apart in the report.
    assert len(summary.answered_by_session) == 3 and min(summary.answered_by_session) >= 1, summary.report()
    assert summary.p95_ms < P95_MS, summary.report()
    assert summary.trainings >= 1, summary.report()
    assert summary.rss_samples >= 10 and summary.peak_rss_mb > 100, summary.report()
    # Measured: 0.19 GB more once everyone left (TensorFlow's and the allocator's pools grown).
    assert summary.left_rss_mb - summary.warm_rss_mb < LEFT_BEHIND_MB, summary.report()


def test_the_summary_reads_latencies_by_nearest_rank_and_shows_the_first_errors():
    summary = Summary(
        sessions=4,
        training=1,
        duration_s=45,
        predictions_by_session=[2, 1, 0],
        latencies_ms=[300.0, 100.0, 200.0],
        trainings=2,
        errors=[f"draw {n}: Timeout 30000ms exceeded." for n in range(1, 6)],
        peak_rss_mb=812.4,
        rss_samples=90,
    )
    assert (summary.predictions, summary.p50_ms, summary.p95_ms, summary.max_ms) == (3, 200.0, 300.0, 300.0)
    report = summary.report()
    assert "latency_ms: p50 200 p95 300 max 300" in report and "server_peak_rss_mb: 812 (90 samples)" in report
    assert "drawings_the_canvas_never_sent: 0" in report
    assert "errors: 5" in report and "draw 3: Timeout" in report and "draw 4" not in report and "and 2 more" in report
    assert math.isnan(Summary(1, 0, 1, [0], [], 0, [], 0, 0).p95_ms)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepviz: error: ")
    return err


def test_without_a_browser_the_load_test_stops_at_once_with_one_line(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(browsers, "CHROMIUM", Path("/no/such/chromium"))
    assert main(["loadtest", "--sessions", "2", "--training", "1", "--duration", "5"]) == 1
    assert "/no/such/chromium is missing" in one_line_error(capsys)


def test_more_training_sessions_than_sessions_is_one_line(capsys):
    assert main(["loadtest", "--sessions", "2", "--training", "3"]) == 2
    assert "--training 3 is more than --sessions 2" in one_line_error(capsys)
