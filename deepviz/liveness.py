"""Units living and dying while a network trains: per layer and per kept epoch, the share of
dead units and how strongly the units respond to digits.

Computed on a fixed sample of test digits with one `LayerReader`, each training snapshot's
weights standing in for the model's own (`LayerReader.batch(weights=...)`): no model is
rebuilt, and the trained model is never written to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from deepviz.history import Snapshot
from deepviz.units import dead_units, unit_strengths

if TYPE_CHECKING:
    import keras

    from deepviz.activations import LayerReader
    from deepviz.data import Mnist
    from deepviz.trained import TrainedModel

# MNIST's first 1,000 test digits, about 100 of each: a unit that fires for any kind of digit
# fires on dozens of them, so one silent on all 1,000 is silent on the rest too, and the
# sample keeps a whole replay of the biggest CNN to seconds.
SAMPLE = 1000
BINS = 24


@dataclass(frozen=True)
class LayerLife:
    name: str
    units: int
    dead: np.ndarray  # (snapshots,) how many units fire on none of the sample's digits
    edges: np.ndarray  # (BINS + 1,) the layer's response bins, the same for every snapshot
    shares: np.ndarray  # (snapshots, BINS) share of (digit, unit) responses in each bin

    def dead_share(self, at: int) -> float:
        return float(self.dead[at] / self.units)


@dataclass(frozen=True)
class Liveness:
    labels: list[str]  # one per snapshot, as Snapshot.label says it
    epochs: list[float]
    layers: list[LayerLife]

    def all_dead(self, at: int) -> list[str]:
        """The layers in which no unit fires on any digit at snapshot `at`."""
        return [layer.name for layer in self.layers if layer.dead[at] == layer.units]


def sample(mnist: Mnist) -> np.ndarray:
    return mnist.scaled(mnist.x_test[:SAMPLE])


def liveness(trained: TrainedModel, images: np.ndarray) -> Liveness:
    """Every kept snapshot of `trained`'s training, or, for a model without (one opened from a
    file), its weights as they are: one point, labelled so."""
    snapshots = trained.snapshots
    weights: list[list[np.ndarray] | None] = [snapshot.weights for snapshot in snapshots] or [None]
    labels = [snapshot.label for snapshot in snapshots] or ["as it is now"]
    epochs = [float(snapshot.epoch) for snapshot in snapshots] or [float(trained.history.epochs_done)]
    reader = trained.reader
    return gathered(labels, epochs, [responses(reader, images, snapshot) for snapshot in weights])


def responses(
    reader: LayerReader, images: np.ndarray, weights: list[np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """One snapshot: how strongly each unit of each conv and dense layer responds to each of
    `images`, (images, units) per layer; with `weights` in place of the model's own, if given."""
    strengths = unit_strengths(reader, images, weights=weights)
    # Pooling keeps each filter's strongest values: a pooled filter lives or dies with its conv layer.
    return {name: strengths[name] for name, kind in zip(reader.names, reader.kinds) if kind in ("conv", "dense")}


def gathered(labels: list[str], epochs: list[float], snapshots: list[dict[str, np.ndarray]]) -> Liveness:
    """The snapshots' `responses`, each layer's counted and binned on bins that span all of them."""
    return Liveness(labels, epochs, [_life(name, [each[name] for each in snapshots]) for name in snapshots[0]])


class Watch:
    """Units living and dying while a network trains: `TrainingRun.fit(watch=...)` calls it with
    the model before training and at each epoch's end, so each epoch's units are read once, in
    training's own thread; whoever shows progress reads `life`, the epochs so far.

    `life`'s bins span the epochs so far, so they may shift from one epoch to the next; when
    training ends they are `liveness()`'s for the same snapshots."""

    def __init__(self, images: np.ndarray):
        self.images = images
        self.life: Liveness | None = None
        self._reader: LayerReader | None = None
        self._epochs: list[int] = []
        self._seen: list[dict[str, np.ndarray]] = []

    def __call__(self, epochs: int, model: keras.Model) -> None:
        from deepviz.activations import LayerReader

        if self._reader is None:  # traced once, on the model training changes in place
            self._reader = LayerReader(model)
        self._seen.append(responses(self._reader, self.images))
        self._epochs.append(epochs)
        labels = [Snapshot(epoch, []).label for epoch in self._epochs]
        self.life = gathered(labels, [float(epoch) for epoch in self._epochs], self._seen)


def _life(name: str, per_snapshot: list[np.ndarray]) -> LayerLife:
    every = np.concatenate([values.ravel() for values in per_snapshot])
    # The top 0.5% of responses in the last bin, so that a few huge ones leave the rest readable.
    low, high = float(every.min()), float(np.percentile(every, 99.5))
    edges = np.linspace(low, max(high, low + 1e-6), BINS + 1)
    shares = np.array(
        [np.histogram(np.clip(values, low, edges[-1]), edges)[0] / values.size for values in per_snapshot]
    )
    dead = np.array([int(dead_units(values).sum()) for values in per_snapshot])
    return LayerLife(name, per_snapshot[0].shape[1], dead, edges, shares)
