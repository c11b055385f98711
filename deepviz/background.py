"""The default model, made ready in a thread of its own from the moment a server starts.

Loaded from the cache folder it takes seconds; trained on a fresh server, a minute or two.
Either way nobody waits for it blind: the worker says how far it has got (in line for a
training slot, which epoch, how many images, about how long is left), so a page can show
that until the model is ready, or say why it could not be made.

Nothing heavy is imported until the thread runs: a server's first page, usually the home
page, starts the worker and must not wait for NumPy or TensorFlow to load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from deepviz.config import DEFAULT_MODEL, duration
from deepviz.slots import TrainingQueue

if TYPE_CHECKING:
    from deepviz.data import Mnist
    from deepviz.trained import TrainedModel
    from deepviz.training import TrainingRun


class DefaultModel:
    """Loads the default model from the cache folder, or else trains it (and keeps it there).

    `queue`: the server's training line, where its training waits its turn like anyone's;
    `data`: gives MNIST (load_mnist unless told); `ready`: called in the thread once the
    model is in memory, before anyone is told it is there."""

    def __init__(
        self,
        queue: TrainingQueue | None = None,
        directory: Path | None = None,
        data: Callable[[], Mnist] | None = None,
        ready: Callable[[], None] | None = None,
    ):
        self.queue = queue
        self.directory = directory
        self.data = data
        self.ready = ready
        self.training = False  # known once the cache folder had no model
        self.position = 0  # place in the training line while waiting there
        self.elsewhere = False  # while another server process sharing the cache folder trains it
        self.drawing = False  # while the pen-drawn digits it learns from are drawn, before training
        self.run: TrainingRun | None = None  # once training has begun
        self.model: TrainedModel | None = None  # once ready
        self.error = ""  # why it could not be made
        self._decided = threading.Event()  # set once loaded, failed, or known to need training
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._work, name="default-model", daemon=True)

    def start(self) -> DefaultModel:
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def decided(self, timeout: float | None = None) -> bool:
        """Wait until the model is ready, has failed, or is known to need training (which is
        when waiting is worth showing: loading from the cache folder takes seconds)."""
        return self._decided.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the model is ready or has failed; False if `timeout` seconds passed first."""
        return self._finished.wait(timeout)

    @property
    def fraction(self) -> float:
        return self.run.history.fraction if self.run else 0.0

    def status(self) -> str:
        """How far it has got, for a page to show while it waits."""
        name = f"the default model ({DEFAULT_MODEL})"
        if self.elsewhere:
            return f"Another server process is training {name}: this one loads it once it is done..."
        if self.position:
            return f"Training {name} waits for a training slot: number {self.position} in line."
        left, run = self.seconds_left, self.run  # `left` first: once it is known, `run` is set
        if run is None and self.drawing:
            return f"Training {name}: first drawing 30 people's pen digits to learn from (once, a few minutes)..."
        if run is None or left is None:
            return f"Training {name}: starting..."
        history = run.history
        epoch = min(int(history.epoch_progress), history.epochs - 1)
        images = len(run.train[0])
        batches = history.steps - epoch * history.steps_per_epoch
        done = min(batches * run.config.batch_size, images)
        return (
            f"Training {name}: epoch {epoch + 1} of {history.epochs}, "
            f"{done:,} of {images:,} images, about {duration(left)} left"
        )

    @property
    def seconds_left(self) -> float | None:
        """See History.seconds_left; None until training has begun."""
        return None if self.run is None else self.run.history.seconds_left

    def _work(self) -> None:
        from deepviz import store
        from deepviz.data import load_mnist

        try:
            mnist = (self.data or load_mnist)()
            model = store.cached_default(mnist, self.directory)
            if model is None:
                self.training = True
                self._decided.set()
                with store.only_one(store.default_path(mnist, self.directory), self._waiting_elsewhere):
                    self.elsewhere = False
                    # Trained meanwhile by another server process sharing the cache folder, or by this one now.
                    model = store.cached_default(mnist, self.directory) or self._train(mnist)
            if self.ready:
                self.ready()
            self.model = model
        except Exception as error:  # noqa: BLE001 - a page says what went wrong, not wait for ever
            self.error = str(error) or type(error).__name__
        finally:
            self._decided.set()
            self._finished.set()

    def _train(self, mnist: Mnist) -> TrainedModel:
        from deepviz import store

        with self.queue.slot(self._waiting_at) if self.queue else nullcontext():
            self.position = 0
            self.drawing = store.default_config().data == "mnist-pen"
            # TensorFlow loads here (seconds), after the page has said that training comes.
            self.run = store.train_default(mnist, self.directory)
            self.run.fit()
            model = self.run.finish()
            assert model is not None  # no time limit and no `report` to stop it: it took every step
        return store.kept(model, store.default_path(mnist, self.directory))

    def _waiting_at(self, position: int) -> None:
        self.position = position

    def _waiting_elsewhere(self) -> None:
        self.elsewhere = True
