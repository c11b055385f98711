"""Teach a network a class's handwriting, and measure it on students it never saw.

A copy of a trained model is fine-tuned for a few epochs, at a low learning rate, on the
drawings of some of the class's students, oversampled and mixed with a sample of MNIST so
that it keeps reading MNIST as well as it did. The other students' drawings are held out:
how the model reads them before and after is what tuning did for the class's handwriting,
not for the very drawings it trained on. The run is `deepviz.tuning.TuningRun` (TensorFlow:
imported when a tuning starts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deepviz.config import IMAGE_SIDE, plural
from deepviz.data import Handwriting
from deepviz.evaluation import Evaluation, evaluate_on

if TYPE_CHECKING:
    from deepviz.data import Mnist
    from deepviz.drawings import Drawing
    from deepviz.history import History
    from deepviz.trained import TrainedModel
    from deepviz.tuning import TuningRun

HELD_OUT_SHARE = 1 / 3  # of the students: a third measures, two thirds teach
MIN_STUDENTS = 2  # one to teach the network, one to measure it on
SEED = 0  # the same class is always split the same way


class TeachError(ValueError):
    """The class's drawings cannot teach and measure a network; the message says why."""


@dataclass(frozen=True)
class Recipe:
    """How a copy of a model is tuned: measured on the shared 30 writers as a simulated class
    (docs/handwriting.md, "Class lab")."""

    epochs: int = 3
    learning_rate: float = 1e-4  # a tenth of Adam's usual: nudge the weights, do not retrain them
    mnist_images: int = 6000  # a sample of MNIST in every epoch, so MNIST accuracy holds
    class_share: float = 0.25  # of each epoch's images: the class's drawings, repeated to fill it


RECIPE = Recipe()


def handwriting(drawings: Sequence[Drawing]) -> Handwriting:
    """A class's drawings from the store, as arrays."""
    return Handwriting(
        np.array([d.image for d in drawings], np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE),
        np.array([d.label for d in drawings], np.int64),
        np.array([d.nickname for d in drawings], dtype=object),
    )


@dataclass(frozen=True)
class Split:
    taught: tuple[str, ...]
    held_out: tuple[str, ...]


def split_students(students: Sequence[str], held_out: float | int = HELD_OUT_SHARE, seed: int = SEED) -> Split:
    """Split the students, never their drawings: a share (a float below 1) or a number of them is
    held out. The same students and seed always give the same split, whatever their order."""
    names = sorted(set(students))
    if len(names) < MIN_STUDENTS:
        raise TeachError(
            f"it needs drawings from at least {MIN_STUDENTS} students, one to learn from and one to test on; "
            f"there {'is' if len(names) == 1 else 'are'} {plural(len(names), 'student')}"
        )
    count = held_out if isinstance(held_out, int) else round(len(names) * held_out)
    count = min(max(count, 1), len(names) - 1)
    order = np.random.default_rng(seed).permutation(len(names))
    out = {names[i] for i in order[:count]}
    return Split(tuple(n for n in names if n not in out), tuple(n for n in names if n in out))


@dataclass(frozen=True)
class Tuning:
    """What a tuned model learned from, and how it and its starting model read held-out students."""

    class_code: str
    taught_students: int
    taught_drawings: int
    held_out: tuple[str, ...]
    before: Evaluation | None  # the model it started from, on the held-out students' drawings
    after: Evaluation | None  # the tuned model, on the same drawings
    mnist_before: float  # the starting model's MNIST test accuracy
    start: TrainedModel  # what was tuned: teaching again starts there, so held-out students stay unseen

    @property
    def whose(self) -> str:
        return f"class {self.class_code}'s" if self.class_code else "a class's"


def class_accuracy(trained: TrainedModel, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """How `trained` reads these drawings: `accuracy` overall, `per_class_accuracy` per digit."""
    return evaluate_on(trained.model, images, labels)


def fine_tune(
    trained: TrainedModel,
    mnist: Mnist,
    images: np.ndarray,
    labels: np.ndarray,
    recipe: Recipe = RECIPE,
    report: Callable[[History], None] | None = None,
) -> TrainedModel:
    """A copy of `trained` tuned on these drawings; an exception raised by `report` stops it and propagates."""
    from deepviz.tuning import TuningRun

    taught = Handwriting(images, labels, np.full(len(labels), "", dtype=object))
    return finished(TuningRun(trained, mnist, taught, recipe=recipe), report)


def leave_students_out(
    trained: TrainedModel,
    mnist: Mnist,
    drawings: Handwriting,
    split: Split,
    class_code: str = "",
    recipe: Recipe = RECIPE,
    report: Callable[[History], None] | None = None,
) -> TrainedModel:
    """A copy of `trained` tuned on the taught students' drawings; its `tuning` holds how it and
    `trained` read the held-out students' drawings, and `trained`'s MNIST accuracy."""
    from deepviz.tuning import TuningRun

    run = TuningRun(trained, mnist, drawings.of(split.taught), drawings.of(split.held_out), class_code, recipe)
    return finished(run, report)


def finished(run: TuningRun, report: Callable[[History], None] | None) -> TrainedModel:
    run.fit(report)
    tuned = run.finish()
    assert tuned is not None  # no time limit, and only an exception from `report` stops it: it took every step
    return tuned
