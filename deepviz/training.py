"""Train a configured model with live progress, and keep a consistent result if it is cut short.

The progress callback writes into a plain `History` as it goes, so whoever holds the run
(a Streamlit session, the CLI) still has the curves and the partly trained model when an
exception raised in `report` (Stop button, page change) ends training between two groups of
batches.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from deepviz.config import ModelConfig, held_back
from deepviz.data import DataError, Handwriting, Mnist
from deepviz.evaluation import evaluate
from deepviz.history import History, Snapshot
from deepviz.network import build_model
from deepviz.steps import STEPS_PER_CALL, Steps, shuffled, tensors
from deepviz.tensorflow_internals import traced_gradients
from deepviz.trained import TrainedModel

Examples = tuple[np.ndarray, np.ndarray]  # uint8 images (N, 28, 28) and their labels
Watcher = Callable[[int, keras.Model], None]  # given the epochs done and the model: see EpochWatch

REPORT_EVERY_S = 0.25
# Validation only reads: big batches are fewer steps, and still bounded memory for the biggest CNN.
VALIDATION_BATCH = 1000
MAX_SNAPSHOTS = 21  # before training, then up to 20 epochs' ends: a few MB for the biggest models


class LiveProgress(keras.callbacks.Callback):
    """Fills `history` and calls `report` at most every REPORT_EVERY_S, and after each epoch.

    Training calls back once per group of STEPS_PER_CALL batches, so the step count comes
    from the batch index reported, never from counting calls."""

    def __init__(self, history: History, report: Callable[[History], None] | None):
        super().__init__()
        self.record = history
        self.report = report

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.last_report = 0.0
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_started = time.perf_counter()
        self.epoch_sums = (0, 0.0, 0.0)  # batches, loss and accuracy summed over this epoch so far

    def on_train_batch_end(self, batch, logs=None):
        history = self.record
        done = batch + 1
        history.steps = self.epoch * history.steps_per_epoch + done
        history.seconds = time.perf_counter() - self.started
        # The logs hold the epoch's running mean, which lags and jumps at each new epoch; the
        # batches since the last call show where training is now.
        seen, loss_sum, accuracy_sum = self.epoch_sums
        self.epoch_sums = (done, float(logs["loss"]) * done, float(logs["accuracy"]) * done)
        fresh = done - seen
        history.points.append(
            (
                history.epoch_progress,
                (self.epoch_sums[1] - loss_sum) / fresh,
                (self.epoch_sums[2] - accuracy_sum) / fresh,
            )
        )
        if self.report and history.seconds - self.last_report >= REPORT_EVERY_S:
            self.last_report = history.seconds
            self.report(history)

    def on_epoch_end(self, epoch, logs=None):
        history = self.record
        row = {"epoch": epoch + 1, **{name: float(value) for name, value in logs.items()}}
        row["seconds"] = time.perf_counter() - self.epoch_started
        history.rows.append(row)
        history.seconds = time.perf_counter() - self.started
        if self.report:
            self.report(history)


class WeightSnapshots(keras.callbacks.Callback):
    """Keeps the weights before training and at the end of epochs, so training can be replayed.

    Long trainings keep every n-th epoch (and always the last) to stay within MAX_SNAPSHOTS."""

    def __init__(self, snapshots: list[Snapshot], epochs: int):
        super().__init__()
        self.snapshots = snapshots
        self.epochs = epochs
        self.every = math.ceil(epochs / (MAX_SNAPSHOTS - 1))

    def on_train_begin(self, logs=None):
        self.snapshots.append(Snapshot(0, self.model.get_weights()))

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every == 0 or done == self.epochs:
            self.snapshots.append(Snapshot(done, self.model.get_weights()))


class EpochWatch(keras.callbacks.Callback):
    """Hands the model and the epochs done to `watch` before training (0) and at each epoch's
    end. First in the callbacks: LiveProgress's report of an epoch then shows what `watch` made
    of it. It must only read the model: training goes on from the same weights and random stream."""

    def __init__(self, watch: Watcher):
        super().__init__()
        self.watch = watch

    def on_train_begin(self, logs=None):
        self.watch(0, self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.watch(epoch + 1, self.model)


class TrainingRun:
    """`time_limit`: the most seconds this run's `fit` trains for; it stops there as the Stop button does,
    and `finish` keeps the partly trained model. `pens`: the pen-drawn digits a configuration with
    `data="mnist-pen"` trains on besides MNIST."""

    def __init__(
        self, config: ModelConfig, mnist: Mnist, time_limit: float | None = None, pens: Handwriting | None = None
    ):
        self.config = config
        self.time_limit = time_limit
        self.timed_out = False
        self.mnist = mnist
        self.model = build_model(config)
        self.train, self.validation = self._examples(pens)
        self.history = History(config.epochs, math.ceil(len(self.train[0]) / config.batch_size))
        self.snapshots: list[Snapshot] = []
        self.finished = False
        self._idle = threading.Event()  # set while `fit` is not running
        self._idle.set()
        self._lock = threading.Lock()
        self._result: tuple[TrainedModel | None] | None = None

    def _examples(self, pens: Handwriting | None) -> tuple[Examples, Examples]:
        """The (images, labels) to train on and to validate with: MNIST's training digits, the last
        ones held back as Keras's validation_split holds them (before any shuffling), and for a
        configuration that asks for them, the pen-drawn digits, all trained on."""
        config, mnist = self.config, self.mnist
        images = min(config.train_images, len(mnist.x_train))
        train_images = images - held_back(images, config.validation_split)
        train = (mnist.x_train[:train_images], mnist.y_train[:train_images].astype(np.int64))
        validation = (mnist.x_train[train_images:images], mnist.y_train[train_images:images].astype(np.int64))
        if config.data == "mnist-pen":
            if pens is None:
                raise DataError("this configuration trains on pen-drawn digits too, and none were given")
            train = (np.concatenate([train[0], pens.images]), np.concatenate([train[1], pens.labels]))
        return train, validation

    def fit(self, report: Callable[[History], None] | None = None, watch: Watcher | None = None) -> None:
        """Train; an exception raised by `report` stops training and propagates. `watch`: see EpochWatch."""
        self._idle.clear()
        try:
            with traced_gradients:
                self._epochs(report, watch)
            self.finished = not self.timed_out
        finally:
            self._idle.set()

    def _epochs(self, report: Callable[[History], None] | None, watch: Watcher | None) -> None:
        """What Keras's `Model.fit` does, with deepviz's faster steps (steps.py), calling the same callbacks."""
        watching = [EpochWatch(watch)] if watch else []
        progress = [LiveProgress(self.history, report), WeightSnapshots(self.snapshots, self.config.epochs)]
        callbacks = keras.callbacks.CallbackList([*watching, *progress], model=self.model)
        steps = Steps(self.model, self.config.batch_size, distort=self.config.augment == "distort")
        train, validation = tensors(*self.train), tensors(*self.validation)
        per_epoch = self.history.steps_per_epoch
        callbacks.on_train_begin()
        for epoch in range(self.config.epochs):
            callbacks.on_epoch_begin(epoch)
            steps.reset()
            order = shuffled(len(self.train[0]))
            for first in range(0, per_epoch, STEPS_PER_CALL):
                last = min(first + STEPS_PER_CALL, per_epoch)
                logs = steps.train(train, order, first, last)
                callbacks.on_train_batch_end(last - 1, logs)
                if self._out_of_time():
                    self.timed_out = True
                    return
            if len(self.validation[0]):
                logs |= {f"val_{name}": value for name, value in steps.score(validation, VALIDATION_BATCH).items()}
            callbacks.on_epoch_end(epoch, logs)
        callbacks.on_train_end(logs)

    def _out_of_time(self) -> bool:
        """Whether the time limit has come with steps still to take: a run done at the limit is done."""
        history = self.history
        return self.time_limit is not None and history.seconds >= self.time_limit and history.fraction < 1

    def finish(self) -> TrainedModel | None:
        """The model as it stands, scored on the test set; None if not one step was taken.

        Safe to call from several threads at once (a UI may stop a run from one thread while
        it unwinds in another): it waits for `fit` to return, scores once, and every caller
        gets the same result."""
        self._idle.wait()
        with self._lock:
            if self._result is None:
                self._result = (self._score() if self.history.steps else None,)
            return self._result[0]

    def _score(self) -> TrainedModel:
        snapshots = list(self.snapshots)
        if snapshots[-1].epoch < self.history.epoch_progress:  # stopped between epochs
            snapshots.append(Snapshot(self.history.epoch_progress, self.model.get_weights()))
        return TrainedModel(
            self.config,
            self.model,
            self.history,
            evaluate(self.model, self.mnist),
            self.finished,
            self.mnist.source,
            snapshots,
            time_limit=self.time_limit if self.timed_out else None,
        )


def train(
    config: ModelConfig,
    mnist: Mnist,
    report: Callable[[History], None] | None = None,
    pens: Handwriting | None = None,
    watch: Watcher | None = None,
) -> TrainedModel:
    run = TrainingRun(config, mnist, pens=pens)
    run.fit(report, watch)
    trained = run.finish()
    # No time limit, and only an exception from `report` stops this run: it took every step.
    assert trained is not None
    return trained
