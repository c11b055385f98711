"""The server's limits on one training, as the Build and Train pages show them: the training's
estimated time and its budget, the time limit, and the training line's length (issue 15)."""

import pytest
from apptest import QUICK, app, no_errors, open_page, shown

from deepviz.config import MAX_EPOCHS, ModelConfig
from deepviz.slots import LENGTH_ENV, SECONDS_ENV
from deepviz.ui.training import training_queue

# Issue 15's link: days of training on 2 cores, under the limits of its day.
DAY_LONG_LINK = {
    "layers": "conv-128-7-relu,conv-128-7-relu,conv-90-7-relu,dense-1-relu",
    "batch": "58",
    "epochs": "50",
    "val": "0",
}


@pytest.fixture
def server_settings(monkeypatch):
    """Set the server's DEEPVIZ_ settings for one test: the training line is made once per
    server (st.cache_resource), so it is made afresh before and after."""
    training_queue.clear()
    yield monkeypatch.setenv
    monkeypatch.undo()
    training_queue.clear()


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_build_page_shows_the_estimated_training_time_beside_the_parameters():
    at = open_page({}, "build")
    no_errors(at)
    assert metrics(at) == {"Parameters": "109,386", "Training time": "about 4 s"}
    next(b for b in at.button if b.label == "Small CNN").click().run()
    assert metrics(at)["Training time"] == "about 60 s"
    assert "20 epochs, about 10 min of training." in at.caption[-1].value


def test_a_day_long_link_opens_the_default_and_says_why():
    at = app(DAY_LONG_LINK)
    assert at.session_state.config == ModelConfig() and not at.exception
    warnings = [shown(warning.value) for warning in at.warning]
    assert f"epochs must be between 1 and {MAX_EPOCHS}, got 50" in warnings[0]
    assert "training this network would take about" in warnings[1] and "hours on this server" in warnings[1]


def test_the_epochs_slider_stops_at_the_limit_and_epochs_over_the_budget_are_refused():
    query = {"layers": "conv-32-5-relu,pool-2,conv-64-5-relu,pool-2,128", "epochs": "5"}
    at = open_page(query, "build")
    no_errors(at)
    assert metrics(at)["Training time"] == "about 10 min"
    epochs = at.slider(key=f"{at.session_state.build_version}-epochs")
    assert epochs.max == MAX_EPOCHS
    epochs.set_value(MAX_EPOCHS).run()
    assert at.session_state.config.epochs == 5
    assert "Not changed: training this network would take about 40 min on this server" in at.error[0].value
    assert "train for 5 epochs or fewer" in at.error[0].value


def test_a_training_at_the_servers_time_limit_keeps_the_partly_trained_model_and_says_so(server_settings):
    server_settings(SECONDS_ENV, "1")
    at = open_page({"images": "3000", "epochs": "20"}, "train")  # 20 s or so: far past 1 s
    next(b for b in at.button if b.label == "Train").click().run()
    no_errors(at)
    trained = at.session_state.model
    assert not trained.complete and trained.history.seconds < 10
    assert "partly trained: stopped at this server's time limit of 1 s at epoch" in shown(at.warning[0].value)
    assert "choose fewer epochs, fewer images or a smaller network" in shown(at.warning[0].value)


def test_a_full_training_line_refuses_a_training_with_the_reason(server_settings):
    server_settings(LENGTH_ENV, "1")
    line = training_queue()
    running, waiting = line.join(), line.join()
    try:
        for page, button, result in (("train", "Train", "model"), ("compare", "Train and compare", "compared_A")):
            at = open_page(QUICK, page)
            next(b for b in at.button if b.label == button).click().run()
            assert not at.exception and result not in at.session_state
            assert "The training line is full: 1 training waiting" in shown(at.warning[0].value)
    finally:
        line.leave(running)
        line.leave(waiting)
