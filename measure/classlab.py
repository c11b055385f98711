"""The Teach page's measurement on a simulated class: the 30 writers of the shared pen digits.

Each digit is drawn as the Draw page's canvas draws it and kept as the Collect page keeps a
drawing (prepared, then stored as uint8). The writers are split as the Teach page splits a class's
students (`teach.split_students`): the taught writers give one drawing of each digit, as a
student's 0-9 round on the Collect page; every digit of the held-out writers measures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepviz.data import Handwriting
from deepviz.drawings import checked_image
from deepviz.pendigits import PenDigit, one_of_each
from deepviz.teach import SEED, Split, split_students
from deepviz.trained import TrainedModel
from measure.offline import prepared

HELD_OUT_WRITERS = 10
CLASS_CODE = "simulated"


def simulated_class(
    digits: Sequence[PenDigit], held_out: int = HELD_OUT_WRITERS, seed: int = SEED
) -> tuple[Handwriting, Split]:
    """The class's drawings (taught writers' first of each digit, held-out writers' every digit),
    and the split of its writers (`seed`: which writers are held out)."""
    split = split_students([d.writer for d in digits], held_out, seed)
    chosen = one_of_each([d for d in digits if d.writer in split.taught])
    chosen += [d for d in digits if d.writer in split.held_out]
    images = np.stack([checked_image(image) for image in prepared(chosen)])
    labels = np.array([d.label for d in chosen], np.int64)
    return Handwriting(images, labels, np.array([d.writer for d in chosen], dtype=object)), split


def summary(name: str, tuned: TrainedModel) -> str:
    """Before and after on the held-out writers, overall and per digit, and MNIST's test accuracy."""
    tuning = tuned.tuning
    assert tuning is not None and tuning.before is not None and tuning.after is not None
    before, after = tuning.before, tuning.after
    counts = after.confusion.sum(axis=1)
    right = (len(before.labels) - before.misread, len(after.labels) - after.misread)
    lines = [
        (
            f"{name}: tuned on {tuning.taught_drawings} drawings of {tuning.taught_students} writers in "
            f"{tuned.history.seconds:.1f} s; measured on {len(after.labels)} drawings of "
            f"{len(tuning.held_out)} held-out writers ({', '.join(tuning.held_out)})"
        ),
        f"  held-out writers: {before.accuracy:.2%} -> {after.accuracy:.2%} ({right[0]} -> {right[1]} right)",
        f"  MNIST test: {tuning.mnist_before:.2%} -> {tuned.test_accuracy:.2%}",
        "  per digit (before -> after, of n):",
    ]
    lines += [
        f"    {digit}: {b:.1%} -> {a:.1%} of {n}"
        for digit, (b, a, n) in enumerate(zip(before.per_class_accuracy, after.per_class_accuracy, counts))
    ]
    return "\n".join(lines)
