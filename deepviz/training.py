"""Train a configured model with live progress, and keep a consistent result if it is cut short.

The progress callback writes into a plain `History` as it goes, so whoever holds the run
(a Streamlit session, the CLI) still has the curves and the partly trained model when
`fit` is interrupted by an exception raised in `report` (Stop button, page change).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import keras
import numpy as np

from deepviz.config import ModelConfig, duration, plural
from deepviz.data import Mnist
from deepviz.evaluation import Evaluation, evaluate
from deepviz.network import build_model
from deepviz.steps import STEPS_PER_CALL, Steps, shuffled, tensors

REPORT_EVERY_S = 0.25
# Validation only reads: big batches are fewer steps, and still bounded memory for the biggest CNN.
VALIDATION_BATCH = 1000
MAX_SNAPSHOTS = 21  # before training, then up to 20 epochs' ends: a few MB for the biggest models


@dataclass
class History:
    epochs: int
    steps_per_epoch: int
    steps: int = 0
    seconds: float = 0.0
    # (fractional epoch, loss, accuracy) over the batches since the previous point
    points: list[tuple[float, float, float]] = field(default_factory=list)
    # one dict per finished epoch: epoch, loss, accuracy, val_loss, val_accuracy, seconds
    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @property
    def fraction(self) -> float:
        return self.steps / self.total_steps

    @property
    def epoch_progress(self) -> float:
        return self.steps / self.steps_per_epoch

    @property
    def seconds_left(self) -> float | None:
        """Estimated at the pace so far, None before the first step. The first batches also
        build the network's graph, so it errs long."""
        return self.seconds * (1 - self.fraction) / self.fraction if self.steps else None

    @property
    def epochs_done(self) -> float:
        """Epochs done to a tenth, rounded down: a run stopped just short of its end never
        reads as finished ("2.9 of 3", not "3.0 of 3")."""
        return self.steps * 10 // self.steps_per_epoch / 10

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(**{**data, "points": [tuple(p) for p in data["points"]]})


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
            (history.epoch_progress, (self.epoch_sums[1] - loss_sum) / fresh, (self.epoch_sums[2] - accuracy_sum) / fresh)
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


@dataclass(frozen=True)
class Snapshot:
    epoch: float  # 0 before training; a fraction when training stopped mid-epoch
    weights: list[np.ndarray]  # as `model.get_weights()`

    @property
    def label(self) -> str:
        if self.epoch == 0:
            return "before training (random weights)"
        if self.epoch == int(self.epoch):
            return f"after epoch {int(self.epoch)}"
        return f"stopped at epoch {int(self.epoch * 10) / 10:.1f}"  # rounded down, as History.epochs_done


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


@dataclass
class TrainedModel:
    config: ModelConfig
    model: Any  # keras.Model
    history: History
    evaluation: Evaluation  # every test digit's scores: accuracy, confusions, mistakes
    complete: bool
    data_source: str
    snapshots: list[Snapshot] = field(default_factory=list)  # replays training, first to last
    # Names this model in caches of results computed from it (unit strengths, projections).
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    opened_from: str = ""  # the file a model trained elsewhere came from; its training is unknown
    time_limit: float | None = None  # the limit it was stopped at, when that is what stopped it

    @property
    def test_accuracy(self) -> float:
        return self.evaluation.accuracy

    @property
    def label(self) -> str:
        if self.opened_from:
            return f"opened from {self.opened_from}, test accuracy {self.test_accuracy:.4f}"
        if self.complete:
            return f"trained for {plural(self.history.epochs, 'epoch')}, test accuracy {self.test_accuracy:.4f}"
        limit = f" at this server's time limit of {duration(self.time_limit)}" if self.time_limit else ""
        return (
            f"partly trained: stopped{limit} at epoch {self.history.epochs_done:.1f} of "
            f"{self.history.epochs}, test accuracy {self.test_accuracy:.4f}"
        )

    @cached_property
    def reader(self):
        from deepviz.activations import LayerReader

        return LayerReader(self.model)

    @cached_property
    def saliency(self):
        from deepviz.saliency import Saliency

        return Saliency(self.model)


class _TracedGradients:
    """Frees what TensorFlow keeps of every training for the life of the process.

    Each traced training step registers a "CustomGradient-N" function for the all_reduce in
    Keras's optimizer step in TensorFlow's global gradient registry, which never removes it, and
    each holds its whole traced graph: about 10 MB a training, so a server that 30 students
    train on grows without end. They are needed only while a step is being traced, so once no
    training is running, the ones registered since the first of them began are removed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = 0
        self._before: set[str] = set()

    @staticmethod
    def _registry() -> dict:
        from tensorflow.python.framework import ops  # private: if it moves, nothing is freed

        return getattr(getattr(ops, "_gradient_registry", None), "_registry", {})

    def __enter__(self):
        with self._lock:
            if not self._running:
                self._before = set(self._registry())
            self._running += 1

    def __exit__(self, *exc):
        with self._lock:
            self._running -= 1
            if not self._running:
                registry = self._registry()
                for name in set(registry) - self._before:
                    if name.startswith("CustomGradient-"):
                        registry.pop(name, None)


_traced_gradients = _TracedGradients()


class TrainingRun:
    """`time_limit`: the most seconds `fit` trains for; it stops there as the Stop button does,
    and `finish` keeps the partly trained model."""

    def __init__(self, config: ModelConfig, mnist: Mnist, time_limit: float | None = None):
        self.config = config
        self.time_limit = time_limit
        self.timed_out = False
        self.mnist = mnist
        self.model = build_model(config)
        images = min(config.train_images, len(mnist.x_train))
        # Keras's validation_split: the last images, taken before any shuffling.
        train_images = images - int(images * config.validation_split)
        self.train = (mnist.x_train[:train_images], mnist.y_train[:train_images])
        self.validation = (mnist.x_train[train_images:images], mnist.y_train[train_images:images])
        self.history = History(config.epochs, math.ceil(train_images / config.batch_size))
        self.snapshots: list[Snapshot] = []
        self.finished = False
        self._idle = threading.Event()  # set while `fit` is not running
        self._idle.set()
        self._lock = threading.Lock()
        self._result: tuple[TrainedModel | None] | None = None

    def fit(self, report: Callable[[History], None] | None = None) -> None:
        """Train; an exception raised by `report` stops training and propagates."""
        self._idle.clear()
        try:
            with _traced_gradients:
                self._epochs(report)
            self.finished = not self.timed_out
        finally:
            self._idle.set()

    def _epochs(self, report: Callable[[History], None] | None) -> None:
        """What `fit` does, with deepviz's faster steps (steps.py), calling the same callbacks."""
        callbacks = keras.callbacks.CallbackList(
            [LiveProgress(self.history, report), WeightSnapshots(self.snapshots, self.config.epochs)], model=self.model
        )
        steps = Steps(self.model, self.config.batch_size)
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
            self.config, self.model, self.history, evaluate(self.model, self.mnist), self.finished,
            self.mnist.source, snapshots, time_limit=self.time_limit if self.timed_out else None,
        )


def train(config: ModelConfig, mnist: Mnist, report: Callable[[History], None] | None = None) -> TrainedModel:
    run = TrainingRun(config, mnist)
    run.fit(report)
    return run.finish()


def opened(config: ModelConfig, model, mnist: Mnist, name: str) -> TrainedModel:
    """A model from a file (modelfile.load_bytes), scored on the test set like a trained one."""
    return TrainedModel(config, model, History(config.epochs, 1), evaluate(model, mnist), True, mnist.source, opened_from=name)
