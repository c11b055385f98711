"""How well a model reads real handwriting, without a browser: every pen digit of both shared
sets drawn as the Draw page's canvas draws it (`pendigits.render`), prepared as the page
prepares it (`preprocess.prepare`), and read by the model, writer by writer.

The 30 writers are split by writer: the first 15 (`TUNING`) are the only ones any choice of the
default model's recipe was made on (training with p01-p10, reading p11-p15). The default model
then learns from all 30 writers' digits, so that only the 11 writers of the other set are people
it never saw; `cross_writers` measures the recipe on the 30 too, each half read by a model that
learnt from the other half.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepviz.data import Handwriting, Mnist
from deepviz.pendigits import DIGIT_SHARE, UJI, WRITERS, PenDigit, default_path, drawings, load_pen_digits
from deepviz.preprocess import STROKE_WIDTH

TUNING = tuple(f"p{n:02}" for n in range(1, 16))
# Each set as it is reported: (name, file, which of its writers).
Chosen = tuple[str, str, Callable[[str], bool]]
SETS: tuple[Chosen, ...] = (
    ("p01-p15", WRITERS, lambda writer: writer in TUNING),
    ("p16-p30", WRITERS, lambda writer: writer not in TUNING),
    ("uji w01-w11", UJI, lambda writer: True),
)


@dataclass(frozen=True)
class PenSet:
    name: str
    writers: np.ndarray  # one per digit
    labels: np.ndarray
    images: np.ndarray  # (N, 28, 28) float32: what the network receives

    def score(self, predicted: np.ndarray) -> Scored:
        return Scored(self, predicted)


def prepared(digits: list[PenDigit]) -> np.ndarray:
    """Each digit as the network receives it after being drawn on the canvas, drawn on every core."""
    return drawings([(digit, DIGIT_SHARE, STROKE_WIDTH) for digit in digits], os.cpu_count() or 1)


def pen_sets(folder: Path | None = None, chosen_sets: tuple[Chosen, ...] = SETS) -> list[PenSet]:
    """`chosen_sets` (of SETS), from `folder` (default: pen-digits beside the MNIST folder)."""
    loaded: dict[str, tuple[list[PenDigit], np.ndarray]] = {}
    sets = []
    for name, file, chosen in chosen_sets:
        if file not in loaded:
            every = load_pen_digits(folder / file if folder else default_path(file))
            wanted = [d for d in every if any(c(d.writer) for _, f, c in chosen_sets if f == file)]
            loaded[file] = (wanted, prepared(wanted))
        digits, images = loaded[file]
        keep = np.array([chosen(d.writer) for d in digits])
        sets.append(
            PenSet(
                name,
                np.array([d.writer for d in digits])[keep],
                np.array([d.label for d in digits])[keep],
                images[keep],
            )
        )
    return sets


@dataclass(frozen=True)
class Scored:
    pens: PenSet
    predicted: np.ndarray

    @property
    def right(self) -> np.ndarray:
        return self.predicted == self.pens.labels

    @property
    def accuracy(self) -> float:
        return float(self.right.mean())

    def by(self, keys: np.ndarray) -> dict:
        """Key -> (right, total), in key order."""
        return {key: (int(self.right[keys == key].sum()), int((keys == key).sum())) for key in sorted(set(keys))}

    def per_writer(self) -> dict[str, tuple[int, int]]:
        return self.by(self.pens.writers)

    def per_digit(self) -> dict[int, tuple[int, int]]:
        return {int(k): v for k, v in self.by(self.pens.labels).items()}

    def worst_writer(self) -> tuple[str, float]:
        writer, (right, total) = min(self.per_writer().items(), key=lambda item: item[1][0] / item[1][1])
        return writer, right / total

    def confusions(self) -> Counter:
        """(drawn, read) of the wrong answers, commonest first."""
        wrong = ~self.right
        return Counter(zip(self.pens.labels[wrong].tolist(), self.predicted[wrong].tolist()))

    def report(self, worst: int = 3, confusions: int = 5) -> str:
        pens, right = self.pens, int(self.right.sum())
        writers = self.per_writer()
        lines = [f"{pens.name}: {self.accuracy:.2%} ({right} of {len(pens.labels)}, {len(writers)} writers)"]
        lines.append("  per writer: " + ", ".join(f"{w} {r / n:.0%}" for w, (r, n) in writers.items()))
        lines.append("  per digit: " + ", ".join(f"{d} {r / n:.1%}" for d, (r, n) in self.per_digit().items()))
        ranked = sorted(writers.items(), key=lambda item: item[1][0] / item[1][1])[:worst]
        lines.append("  worst writers: " + ", ".join(f"{w} {r} of {n}" for w, (r, n) in ranked))
        common = self.confusions().most_common(confusions)
        lines.append(
            "  commonest misreadings: " + (", ".join(f"{d} read as {p} x{n}" for (d, p), n in common) or "none")
        )
        return "\n".join(lines)


HALVES = (TUNING, tuple(f"p{n:02}" for n in range(16, 31)))


def cross_writers(
    mnist: Mnist, pens: Handwriting, sets: list[PenSet], progress: Callable[[str], None] = print
) -> list[Scored]:
    """The default model's recipe trained twice from the same seed, each time on MNIST and one half
    of the 30 writers' digits, and each model read on the other half and on the 11 writers: every
    figure is from writers the model never saw. `sets`: pen_sets() (SETS, in order)."""
    import keras

    from deepviz.store import default_config
    from deepviz.training import TrainingRun

    config = default_config()
    thirty = PenSet(
        "p01-p30, each half read by the model trained on the other",
        np.concatenate([s.writers for s in sets[:2]]),
        np.concatenate([s.labels for s in sets[:2]]),
        np.concatenate([s.images for s in sets[:2]]),
    )
    predicted = np.zeros(len(thirty.labels), np.int64)
    scores = []
    for taught, unseen in (HALVES, HALVES[::-1]):
        keras.utils.set_random_seed(0)
        progress(f"Training {config.describe()} with the digits of {taught[0]}-{taught[-1]}...")
        run = TrainingRun(config, mnist, pens=pens.of(taught))
        run.fit()
        trained = run.finish()
        assert trained is not None  # no time limit and no `report` to stop it: it took every step
        chosen = np.isin(thirty.writers, unseen)
        predicted[chosen] = read(trained.model, thirty.images[chosen])
        progress(f"MNIST test accuracy {trained.test_accuracy:.2%}")
        scores.append(measure(trained.model, sets[2:], progress)[0])
    scores.insert(0, thirty.score(predicted))
    progress(scores[0].report())
    return scores


def read(model, images: np.ndarray) -> np.ndarray:
    """The digit `model` (a Keras model taking 28x28 images) reads in each image."""
    return np.argmax(model.predict(images, batch_size=1000, verbose=0), axis=1)


def measure(model, sets: list[PenSet], progress: Callable[[str], None] = print) -> list[Scored]:
    scores = [pens.score(read(model, pens.images)) for pens in sets]
    for scored in scores:
        progress(scored.report())
    return scores
