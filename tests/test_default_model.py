"""The default model is made in the background; a page waiting for it shows how far it has got."""

import re
import threading
import time
from dataclasses import replace

import pytest
from apptest import no_errors, open_page

from deepviz.background import DefaultModel
from deepviz.config import DEFAULT_MODEL, PRESETS
from deepviz.data import DataError
from deepviz.slots import TrainingQueue
from deepviz.store import CACHE_ENV, default_path

TRAINING = f"Training the default model ({DEFAULT_MODEL})"
PROGRESS = re.compile(re.escape(TRAINING) + r": epoch 1 of 2, [\d,]+ of 1,800 images, about \d+ (s|min) left")


@pytest.fixture
def small_default(monkeypatch):
    """The default network on 2,000 MNIST images (1,800 to train on) for 2 epochs: seconds."""
    small = replace(PRESETS[DEFAULT_MODEL], train_images=2000, epochs=2, data="mnist")
    monkeypatch.setitem(PRESETS, DEFAULT_MODEL, small)


@pytest.fixture
def paused(monkeypatch):
    """Training pauses at its first progress report until `carry_on` is set, so that what a
    page shows mid-training can be looked at."""
    import deepviz.training

    reported, carry_on = threading.Event(), threading.Event()

    class PausedRun(deepviz.training.TrainingRun):
        def fit(self, report=None):
            def pause(history):
                reported.set()
                carry_on.wait(60)

            super().fit(pause)

    monkeypatch.setattr(deepviz.training, "TrainingRun", PausedRun)
    yield reported, carry_on
    carry_on.set()  # a failed test must not leave the worker's thread waiting


def test_the_worker_waits_its_turn_reports_progress_and_keeps_the_model(small, small_default, paused, tmp_path):
    reported, carry_on = paused
    line = TrainingQueue(1)
    readied = []

    def ready():
        readied.append(worker.model)

    with line.slot():  # a student's training holds the only slot
        worker = DefaultModel(line, tmp_path, data=lambda: small, ready=ready)
        worker.start()
        assert worker.decided(60) and worker.training and not worker.done
        deadline = time.monotonic() + 10
        while not worker.position and time.monotonic() < deadline:
            time.sleep(0.1)
        assert worker.status() == f"{TRAINING} waits for a training slot: number 1 in line."
    assert reported.wait(60)
    assert PROGRESS.fullmatch(worker.status()), worker.status()
    assert 0 < worker.fraction < 1 and line.busy == (1, 0)  # the Train page counts it as training
    carry_on.set()
    assert worker.wait(60) and not worker.error
    assert worker.model.complete and worker.model.history.epochs == 2
    assert readied == [None]  # ready() ran before anyone could see the model
    assert default_path(small, tmp_path).exists() and line.busy == (0, 0)

    again = DefaultModel(TrainingQueue(1), tmp_path, data=lambda: small).start()
    assert again.wait(60) and not again.training  # in the cache folder: loaded, not trained
    assert again.model.test_accuracy == worker.model.test_accuracy


def test_the_worker_says_why_it_could_not_make_the_model(tmp_path):
    def no_data():
        raise DataError("/nowhere is not a folder")

    worker = DefaultModel(TrainingQueue(1), tmp_path, data=no_data).start()
    assert worker.wait(30) and worker.decided(0)
    assert worker.model is None and worker.error == "/nowhere is not a folder"


@pytest.fixture
def fresh_worker(monkeypatch, tmp_path):
    """The app's worker made afresh, over an empty cache folder, and put back afterwards."""
    from deepviz.ui.resources import default_model_worker

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    default_model_worker.clear()
    yield default_model_worker
    default_model_worker().wait(60)
    default_model_worker.clear()  # the next test's pages load the real default model


def test_draw_shows_the_default_models_training_then_the_page_by_itself(
    fresh_worker,
    small_default,
    paused,
    canvas,  # fresh_worker first: torn down last
):
    reported, carry_on = paused
    canvas(None)
    at = open_page({}, "draw")
    assert reported.wait(60)
    at.run()
    no_errors(at)
    [progress] = at.get("progress")
    assert PROGRESS.fullmatch(progress.proto.text), progress.proto.text
    assert not at.metric and not at.caption  # nothing of the page until the model is there

    at.switch_page("pages/home.py").run()
    training = r"it is training now, \d+% done, about \d+ (s|min) left\.$"
    assert any(re.search(training, text.value) for text in at.markdown)

    carry_on.set()
    assert fresh_worker().wait(60)
    at.switch_page("pages/draw.py").run()
    no_errors(at)
    assert not at.get("progress")
    using = f"Using the default model (the {DEFAULT_MODEL}), trained for 2 epochs"
    assert any(using in caption.value for caption in at.caption)


def test_a_default_model_that_cannot_be_made_is_explained_not_a_traceback(fresh_worker, monkeypatch, canvas):
    import deepviz.store

    def unreadable(*args):
        raise PermissionError("cannot read the cache folder")

    monkeypatch.setattr(deepviz.store, "cached_default", unreadable)
    canvas(None)
    at = open_page({}, "draw")
    fresh_worker().wait(30)
    at.run()
    assert not at.exception
    assert "The default model could not be made: cannot read the cache folder." in at.error[0].value
