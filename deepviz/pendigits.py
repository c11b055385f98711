"""Real pen-drawn digits, as strokes, to replay on the drawing canvas.

The sets beside the MNIST folder (`pen-digits/uji-digits.json`, 11 writers, and
`pen-digits/pendigits-train-writers.json.gz`, 30 others) record each digit as the pen traces
its writer made, in the recording device's pixels. Replaying them as mouse
strokes measures how well a model reads what people actually draw, canvas and
preprocessing included, which MNIST's own test images cannot.

They also teach: `training_drawings` draws every digit of a set as the canvas would, at several
sizes and pen widths, for a configuration that trains on MNIST and the 30 writers' digits.

`as_canvas` gives an MNIST digit the form the canvas sends a drawing in, for what drives the
Draw page without a browser: the bench's timings and the tests. `render` draws a pen digit's
strokes as the canvas does, to measure many digits without a browser.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from deepviz.config import PEN_DRAWINGS
from deepviz.data import DATA_DIR_ENV, DataError, Handwriting
from deepviz.preprocess import CANVAS_SIZE, STROKE_WIDTH, prepare

DIGIT_SHARE = 0.65  # of the canvas: big and centred, as the Draw page's hint asks
SUPERSAMPLE = 4  # drawn 4x larger, then averaged down: the canvas's antialiased edges

# Each training digit is drawn config.PEN_DRAWINGS times: once as big as the Draw page asks, with
# its pen, and then at random sizes and pen widths in these ranges, as people draw small or big
# with the same pen (measured against one drawing repeated: docs/handwriting.md).
SIZES = (0.45, 0.85)  # the digit's share of the canvas
PEN_WIDTHS = (18.0, 38.0)  # in canvas pixels
SEED = 0  # the same digits are always drawn the same way
CHUNK = 500  # drawings a process draws at a time; fewer than this are drawn in this process

Point = tuple[float, float]


@dataclass(frozen=True)
class PenDigit:
    writer: str
    label: int
    strokes: list[list[Point]]  # in the recording device's pixels, y down


UJI = "uji-digits.json"
WRITERS = "pendigits-train-writers.json.gz"


def default_path(name: str = UJI) -> Path | None:
    """Beside the MNIST folder, as this project's shared data lays them out."""
    data_dir = os.environ.get(DATA_DIR_ENV)
    return Path(data_dir).parent / "pen-digits" / name if data_dir else None


def training_source() -> Path | None:
    """The 30 writers' file beside the MNIST folder, if it is there: what data="mnist-pen" trains on."""
    path = default_path(WRITERS)
    return path if path and path.exists() else None


def load_pen_digits(path: str | os.PathLike | None = None) -> list[PenDigit]:
    """The digits of a .json file, or of a gzipped one (.json.gz)."""
    path = Path(path) if path else default_path()
    if path is None:
        raise DataError(f"no pen digits: give their file, or set {DATA_DIR_ENV} to the MNIST folder beside them")
    try:
        raw = path.read_bytes()
        records = json.loads(gzip.decompress(raw) if path.name.endswith(".gz") else raw)
        digits = [
            PenDigit(str(r["writer"]), int(r["label"]), [[(float(x), float(y)) for x, y in s] for s in r["strokes"]])
            for r in records
        ]
    except OSError as error:  # gzip's BadGzipFile too
        raise DataError(f"cannot read pen digits from {path}: {error.strerror or error}") from None
    except (ValueError, KeyError, TypeError, EOFError, zlib.error) as error:
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


def drawing(digit: PenDigit, share: float = DIGIT_SHARE, width: float = STROKE_WIDTH) -> np.ndarray:
    """`digit` as the network receives it after being drawn on the canvas: 28x28 floats in [0, 1]."""
    result = prepare(render(fit_strokes(digit.strokes, share=share), width=width))
    assert result is not None  # fit_strokes puts every digit's ink in the middle of the canvas
    return result.image


def drawings(jobs: list[tuple[PenDigit, float, float]], workers: int = 1) -> np.ndarray:
    """Each (digit, share, pen width) as `drawing` draws it: (N, 28, 28) floats. About 5 ms a
    drawing on one core; `workers` > 1 draws a long list in that many fresh processes (not
    forks, as TensorFlow's threads may be running; and not from a Streamlit server, whose script
    would run again in each)."""
    if workers > 1 and len(jobs) > CHUNK:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            return np.stack(list(pool.map(_drawn, jobs, chunksize=CHUNK)))
    return np.stack([_drawn(job) for job in jobs])


def training_drawings(digits: list[PenDigit], workers: int = 1) -> Handwriting:
    """Every digit drawn PEN_DRAWINGS times (see SIZES), as uint8 images as MNIST's, with its
    writer; `workers` as for `drawings`."""
    rng = np.random.default_rng(SEED)
    jobs = [
        (digit, DIGIT_SHARE, STROKE_WIDTH) if copy == 0 else (digit, rng.uniform(*SIZES), rng.uniform(*PEN_WIDTHS))
        for copy in range(PEN_DRAWINGS)
        for digit in digits
    ]
    return Handwriting(
        np.round(drawings(jobs, workers) * 255).astype(np.uint8),
        np.tile([d.label for d in digits], PEN_DRAWINGS).astype(np.int64),
        np.tile([d.writer for d in digits], PEN_DRAWINGS),
    )


def _drawn(job: tuple[PenDigit, float, float]) -> np.ndarray:
    return drawing(*job)


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


def render(strokes: list[list[Point]], width: float = STROKE_WIDTH, size: int = CANVAS_SIZE) -> np.ndarray:
    """Strokes already in canvas pixels (see fit_strokes) drawn as the Draw page's canvas draws
    them: Fabric.js's pencil smooths each stroke into quadratic curves through the midpoints of
    its points, with round caps and joins, white on black. Returns the 280x280 RGBA image the
    canvas would send."""
    from PIL import Image, ImageDraw

    big = Image.new("L", (size * SUPERSAMPLE, size * SUPERSAMPLE), 0)
    pen = ImageDraw.Draw(big)
    radius = width * SUPERSAMPLE / 2
    for stroke in strokes:
        points = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in smoothed(stroke)]
        for x, y in points:  # round caps and joins
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
        if len(points) > 1:
            pen.line(points, fill=255, width=round(2 * radius))
    grey = np.asarray(big.reduce(SUPERSAMPLE))  # a box average, as resize's BOX, five times faster
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def smoothed(stroke: list[Point], steps: int = 8) -> list[Point]:
    """Fabric.js's PencilBrush path: from the first point, a quadratic curve to the midpoint of
    each next pair with the point between as its control, then a line to the last point."""
    if len(stroke) < 3:
        return list(stroke)
    path = [stroke[0]]
    start = stroke[0]
    for control, after in pairwise(stroke[1:]):
        end = ((control[0] + after[0]) / 2, (control[1] + after[1]) / 2)
        for step in range(1, steps + 1):
            t = step / steps
            path.append(
                (
                    (1 - t) ** 2 * start[0] + 2 * (1 - t) * t * control[0] + t**2 * end[0],
                    (1 - t) ** 2 * start[1] + 2 * (1 - t) * t * control[1] + t**2 * end[1],
                )
            )
        start = end
    path.append(stroke[-1])
    return path
