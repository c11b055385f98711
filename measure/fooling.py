"""`python -m deepviz fool`: the reverse lesson of the Draw page's "Fool the network". How much
ink the smallest change to a test digit takes to make a network read another digit (its label
plus one), for the default CNN and the tutorial MLP: the median over the first `count` test
digits, the changed pixels, and how many were fooled at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from deepviz.data import Mnist
    from deepviz.trained import TrainedModel


@dataclass(frozen=True)
class Fooled:
    name: str
    count: int
    fooled: float  # share read as their target after the change
    ink: float  # median sum of |change| over those fooled, in pixels of full ink
    pixels: float  # median pixels changed by more than deepviz.fool.CHANGED
    original_ink: float  # median ink of the digits themselves, for scale

    def line(self) -> str:
        return (
            f"{self.name}: {self.fooled:.0%} of {self.count} test digits fooled into reading label + 1; "
            f"median ink changed {self.ink:.1f} (of the digits' own {self.original_ink:.0f}), "
            f"median pixels changed {self.pixels:.0f}"
        )


def targets(labels: np.ndarray) -> np.ndarray:
    """The digit each test digit is turned into: the next one, 9 into 0."""
    return (np.asarray(labels, int) + 1) % 10


def measure(name: str, trained: TrainedModel, mnist: Mnist, count: int = 100) -> Fooled:
    images = (mnist.x_test[:count] / 255.0).astype(np.float32)
    change = trained.fooler.fool(images, targets(mnist.y_test[:count]))
    fooled = change.fooled
    return Fooled(
        name,
        len(images),
        float(fooled.mean()),
        float(np.median(change.ink[fooled])) if fooled.any() else float("nan"),
        float(np.median(change.pixels[fooled])) if fooled.any() else float("nan"),
        float(np.median(images.sum(axis=(1, 2)))),
    )
