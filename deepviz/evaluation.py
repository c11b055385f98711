"""How well a model does on the test set: per digit, which digits it confuses, and where it fails."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from deepviz.config import CLASSES
from deepviz.data import Mnist

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Evaluation:
    labels: np.ndarray  # true digit per test image
    probabilities: np.ndarray  # (images, 10) model outputs

    # Cached: the Draw page's caption gives the accuracy on every stroke (10,000 argmaxes each time).
    @cached_property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def misread(self) -> int:
        return int((self.predictions != self.labels).sum())

    @cached_property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    @property
    def confusion(self) -> np.ndarray:
        """counts[true digit, predicted digit]"""
        counts = np.zeros((CLASSES, CLASSES), np.int64)
        np.add.at(counts, (self.labels, self.predictions), 1)
        return counts

    @property
    def per_class_accuracy(self) -> np.ndarray:
        counts = self.confusion
        return counts.diagonal() / np.maximum(counts.sum(axis=1), 1)

    def mistakes(self, limit: int) -> np.ndarray:
        """Indices of misclassified test images, the most confidently wrong first."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        return wrong[np.argsort(-confidence, kind="stable")][:limit]


def evaluate(model: keras.Model, mnist: Mnist, batch_size: int = 1024) -> Evaluation:
    """Scores every test image once."""
    return evaluate_on(model, mnist.x_test, mnist.y_test, batch_size)


def evaluate_on(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 1024) -> Evaluation:
    """Scores uint8 digits in MNIST's form (a class's drawings, the test set). Calling the model a
    batch at a time skips `predict`'s tracing, which takes longer than scoring 10,000 digits with
    the tutorial MLP."""
    import keras

    scaled = Mnist.scaled(images)
    probabilities = [
        keras.ops.convert_to_numpy(model(scaled[start : start + batch_size], training=False))
        for start in range(0, len(scaled), batch_size)
    ]
    return Evaluation(labels.astype(np.int64), np.concatenate(probabilities))
