"""Patterns building up: each layer's activations as a 2-D picture and as one number.

The picture is the layer's first two principal components for a fixed sample of test
digits (a softmax's probabilities as their logs), or, asked for one layer, its t-SNE map;
the number is how well a linear classifier tells the digits apart from that layer alone.
Both climb from the pixels to the output as the network builds its patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

SAMPLE = 2000
HELD_OUT = 0.25  # of the sample, kept out of the linear probe's fit to score it on
PROBE_COMPONENTS = 50
SAME = 1e-3  # of a layer's largest mean value: a picture whose dots spread less is one spot
SURE = 1e-6  # the least probability kept before taking logs: a softmax's "surely not" is 0, whose log is -inf


@dataclass(frozen=True)
class LayerProjection:
    name: str
    points: np.ndarray  # (n, 2) the sample in the layer's first two principal components
    labels: np.ndarray  # (n,) true digit per point
    separability: float  # held-out accuracy of a linear probe on the layer's activations
    mean: np.ndarray  # (features,) of the sample, subtracted before projecting
    components: np.ndarray  # (2, features)
    logs: bool = False  # projected as log-probabilities (see features)

    @property
    def flat(self) -> bool:
        """Whether every image lands on one spot, but for rounding: a layer of dead units, or any
        layer after one, gives every image the same numbers."""
        return bool(np.ptp(self.points) <= SAME * (1 + np.abs(self.mean).max()))

    def place(self, activation: np.ndarray) -> np.ndarray:
        """Where one image's activation of this layer (any shape) falls in `points`: (2,)."""
        return (features(activation[None], self.logs)[0] - self.mean) @ self.components.T


def is_probabilities(layer: np.ndarray) -> bool:
    """Whether a layer gives each image probabilities that add up to 1, as a softmax does."""
    rows = layer.reshape(len(layer), -1)
    return bool(rows.min() >= 0 and np.allclose(rows.sum(axis=1), 1, atol=1e-3))


def features(layer: np.ndarray, logs: bool) -> np.ndarray:
    """A layer's activations, one row per image; with `logs`, probabilities as their logs:
    squeezed between 0 and 1, every confident answer sits on one of ten corners, and each
    digit's cloud shrinks to a dot. Their logs spread the clouds out again."""
    rows = layer.reshape(len(layer), -1)
    return np.log(np.clip(rows, SURE, 1)) if logs else rows


def sample_indices(labels: np.ndarray, n: int = SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted indices of n // 10 images of each digit (all of a rarer one); the same every call."""
    rng = np.random.default_rng(seed)
    digits = np.unique(labels)
    per_digit = n // len(digits)
    picks = [rng.permutation(np.flatnonzero(labels == digit))[:per_digit] for digit in digits]
    return np.sort(np.concatenate(picks))


def separability(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Accuracy on held-out images of a logistic regression fitted to these features."""
    fit_x, test_x, fit_y, test_y = train_test_split(
        features, labels, test_size=HELD_OUT, stratify=labels, random_state=seed
    )
    # A conv layer has ~12,500 features: 50 principal components keep the fit to a fraction
    # of a second, and scaling them lets it converge.
    components = min(PROBE_COMPONENTS, *fit_x.shape)
    probe = make_pipeline(PCA(components, random_state=seed), StandardScaler(), LogisticRegression(max_iter=1000))
    return float(probe.fit(fit_x, fit_y).score(test_x, test_y))


def project(name: str, layer: np.ndarray, labels: np.ndarray, seed: int = 0) -> LayerProjection:
    """One layer's activations for the sample, any shape with the images on axis 0."""
    logs = is_probabilities(layer)
    rows = features(layer, logs)
    pca = PCA(2, random_state=seed).fit(rows)
    points = pca.transform(rows)
    return LayerProjection(name, points, labels, separability(rows, labels, seed), pca.mean_, pca.components_, logs)


def project_layers(reader, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> list[LayerProjection]:
    """One projection per layer of `reader`, input first, for scaled (n, 28, 28) images."""
    labels = np.asarray(labels, np.int64)
    layers = reader.batch(images)
    # These matrices are small: more BLAS threads only fight TensorFlow's and other sessions'
    # for the cores (measured: 20 s instead of 3 s for the Small CNN on 2 busy cores), and one
    # thread also adds in a fixed order, so the numbers repeat exactly.
    with threadpool_limits(1):
        return [project(name, layer, labels, seed) for name, layer in zip(reader.names, layers)]


def neighbour_map(layer: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE of one layer's activations for the sample (any shape, images on axis 0): (n, 2).
    Unlike PCA's straight-on view, it keeps each digit's nearest neighbours next to it, so
    clouds that PCA overlaps come apart; distances between clouds mean little. The same points
    every call for the same seed."""
    rows = features(layer, is_probabilities(layer))
    with threadpool_limits(1):  # one thread: the sums run in a fixed order, so the map repeats
        reduced = PCA(min(PROBE_COMPONENTS, *rows.shape), random_state=seed).fit_transform(rows)
        return TSNE(2, init="pca", random_state=seed).fit_transform(reduced)


PICKED_SHOWN = 24  # thumbnails of picked dots: three rows at a desk, enough to see what a cloud holds


class Picked(NamedTuple):
    """Test digits picked in a projection (by click, box or lasso), for the model `model` (its key)."""

    where: str  # the picture they were picked in, as its title names it
    indices: tuple[int, ...]  # in the test set, in the order picked
    model: str


def picked_indices(points: list[dict]) -> tuple[int, ...]:
    """The test digits under picked points of a projection_figure drawn with their `indices`,
    each once: Plotly reports each point's customdata. The drawing's star has none."""
    found = (point.get("customdata") for point in points)
    return tuple(dict.fromkeys(int(index) for index in found if index is not None))


def picked_words(labels: np.ndarray, answers: np.ndarray) -> str:
    """What picked test digits are, in a sentence: which digits (the ones that sit among a
    cloud of another named as such), and how many the network reads wrong."""
    labels, answers = np.asarray(labels), np.asarray(answers)
    counts = np.bincount(labels, minlength=10)
    order = [int(digit) for digit in np.argsort(-counts, kind="stable") if counts[digit]]
    most, others = order[0], order[1:]
    total = len(labels)
    if total == 1:
        what = f"One test digit, {_some(most, 1)}"
    elif not others:
        what = f"{total:,} test digits, all {most}s"
    elif counts[most] * 2 > total:
        strays = [("the " if counts[digit] > 1 else "") + _some(digit, counts[digit]) for digit in others[:3]]
        strays += ["a few others"] if len(others) > 3 else []
        what = f"{total:,} test digits, mostly {most}s, and {_listed(strays)} that sit among the {most}s"
    else:
        mix = [_some(digit, counts[digit]) for digit in order[:4]] + (["others"] if len(order) > 4 else [])
        what = f"{total:,} test digits, a mix: {_listed(mix)}"
    wrong = int((labels != answers).sum())
    if wrong == 0:
        verdict = "the network reads it right" if total == 1 else "the network reads every one right"
    elif total == 1:
        verdict = f"the network reads it as {_some(int(answers[0]), 1)}, wrongly"
    else:
        verdict = f"the network reads {wrong:,} of them wrong (marked ✗)"
    return f"{what}: {verdict}."


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _some(digit: int, count: int) -> str:
    """ "an 8", "a 7", or "7s (4)": a count beside a digit ("4 7s") reads as one number."""
    if count == 1:
        return f"an {digit}" if digit == 8 else f"a {digit}"
    return f"{digit}s ({count})"
