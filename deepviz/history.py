"""The record of a training: loss and accuracy as it went and per epoch (`History`), and the
weights it passed through (`Snapshot`), which the replay steps through. Plain data, without
TensorFlow: training.py's callbacks fill it, and store.py saves and loads it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


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
