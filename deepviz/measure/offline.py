"""How well a model reads real handwriting, without a browser: every pen digit of both shared
sets drawn as the Draw page's canvas draws it (`pendigits.render`), prepared as the page
prepares it (`preprocess.prepare`), and read by the model, writer by writer.

The 30 writers are split by writer: the first 15 (`TUNING`) are the only ones any choice of the
default model's recipe was made on; the other 15 and the 11 writers of the first set are never
looked at for a choice, so their figures are what the model does for people it never saw.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepviz.measure.pendigits import UJI, WRITERS, PenDigit, default_path, fit_strokes, load_pen_digits, render
from deepviz.preprocess import prepare

CHUNK = 500  # digits a process draws at a time
TUNING = tuple(f"p{n:02}" for n in range(1, 16))
# Each set as it is reported: (name, file, which of its writers).
Chosen = tuple[str, str, Callable[[str], bool]]
SETS: tuple[Chosen, ...] = (
    ("p01-p15 (tuning)", WRITERS, lambda writer: writer in TUNING),
    ("p16-p30 (reporting)", WRITERS, lambda writer: writer not in TUNING),
    ("uji w01-w11 (reporting)", UJI, lambda writer: True),
)
REPORTING = SETS[1:]


@dataclass(frozen=True)
class PenSet:
    name: str
    writers: np.ndarray  # one per digit
    labels: np.ndarray
    images: np.ndarray  # (N, 28, 28) float32: what the network receives

    def score(self, predicted: np.ndarray) -> Scored:
        return Scored(self, predicted)


def prepared(digits: list[PenDigit]) -> np.ndarray:
    """Each digit as the network receives it after being drawn on the canvas, drawn on every
    core (4 ms a digit on one). Fresh processes, not forks: TensorFlow's threads may be running."""
    chunks = [digits[start : start + CHUNK] for start in range(0, len(digits), CHUNK)]
    if len(chunks) == 1:
        return drawn(digits)
    with ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        return np.concatenate(list(pool.map(drawn, chunks)))


def drawn(digits: list[PenDigit]) -> np.ndarray:
    images = []
    for digit in digits:
        result = prepare(render(fit_strokes(digit.strokes)))
        assert result is not None  # fit_strokes puts every digit's ink in the middle of the canvas
        images.append(result.image)
    return np.stack(images)


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


def read(model, images: np.ndarray) -> np.ndarray:
    """The digit `model` (a Keras model taking 28x28 images) reads in each image."""
    return np.argmax(model.predict(images, batch_size=1000, verbose=0), axis=1)


def measure(model, sets: list[PenSet], progress: Callable[[str], None] = print) -> list[Scored]:
    scores = [pens.score(read(model, pens.images)) for pens in sets]
    for scored in scores:
        progress(scored.report())
    return scores
