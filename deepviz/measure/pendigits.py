"""Real pen-drawn digits, as strokes, to replay on the drawing canvas.

The set (`pen-digits/uji-digits.json` beside the MNIST folder) records each digit as the
pen traces its writer made, in the recording device's pixels. Replaying them as mouse
strokes measures how well a model reads what people actually draw, canvas and
preprocessing included, which MNIST's own test images cannot.

`as_canvas` gives an MNIST digit the form the canvas sends a drawing in, for what drives the
Draw page without a browser: the bench's timings and the tests.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepviz.data import DATA_DIR_ENV, DataError
from deepviz.preprocess import CANVAS_SIZE

DIGIT_SHARE = 0.65  # of the canvas: big and centred, as the Draw page's hint asks

Point = tuple[float, float]


@dataclass(frozen=True)
class PenDigit:
    writer: str
    label: int
    strokes: list[list[Point]]  # in the recording device's pixels, y down


def default_path() -> Path | None:
    """Beside the MNIST folder, as this project's shared data lays them out."""
    data_dir = os.environ.get(DATA_DIR_ENV)
    return Path(data_dir).parent / "pen-digits" / "uji-digits.json" if data_dir else None


def load_pen_digits(path: str | os.PathLike | None = None) -> list[PenDigit]:
    path = Path(path) if path else default_path()
    if path is None:
        raise DataError(f"no pen digits: give their file, or set {DATA_DIR_ENV} to the MNIST folder beside them")
    try:
        records = json.loads(Path(path).read_text())
        digits = [
            PenDigit(str(r["writer"]), int(r["label"]), [[(float(x), float(y)) for x, y in s] for s in r["strokes"]])
            for r in records
        ]
    except OSError as error:
        raise DataError(f"cannot read pen digits from {path}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path} is not a list of {{writer, label, strokes}} digits: {error}") from None
    if not digits or any(not 0 <= d.label <= 9 or not any(d.strokes) for d in digits):
        raise DataError(f"{path} holds no digits, or one without a label 0-9 or strokes")
    return digits


def fit_strokes(strokes: list[list[Point]], size: float = CANVAS_SIZE, share: float = DIGIT_SHARE) -> list[list[Point]]:
    """Scale a digit's bounding box into the middle `share` of a size x size canvas, keeping
    its aspect ratio, so writers' different devices and handwriting sizes all land alike."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    scale = share * size / max(width, height, 1)
    left = (size - width * scale) / 2 - min(xs) * scale
    top = (size - height * scale) / 2 - min(ys) * scale
    return [[(left + x * scale, top + y * scale) for x, y in stroke] for stroke in strokes]


def one_of_each(digits: list[PenDigit]) -> list[PenDigit]:
    """Each writer's first sample of each digit: every writer and every digit, half the time to replay."""
    seen: set[tuple[str, int]] = set()
    firsts = []
    for digit in digits:
        if (digit.writer, digit.label) not in seen:
            seen.add((digit.writer, digit.label))
            firsts.append(digit)
    return firsts


def as_canvas(digit: np.ndarray) -> np.ndarray:
    """A 28x28 uint8 digit as the Draw page's canvas returns a drawing: 280x280 RGBA, white ink on black."""
    from PIL import Image

    grey = np.asarray(Image.fromarray(digit).resize((CANVAS_SIZE, CANVAS_SIZE), Image.Resampling.BILINEAR))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
