"""What a unit looks for: its first-layer weights, and the test digits that excite it most."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras


def first_layer_templates(model: keras.Model) -> tuple[str, np.ndarray]:
    """The first weighted layer's name and one picture per unit: a Dense unit's 784 input
    weights as 28x28, or a Conv filter's kernel. Positive weight: ink there raises the unit."""
    layer = next(layer for layer in model.layers if type(layer).__name__ in ("Dense", "Conv2D"))
    kernel = layer.get_weights()[0]
    if kernel.ndim == 4:  # (k, k, 1, filters)
        return layer.name, np.moveaxis(kernel[:, :, 0, :], -1, 0)
    side = round(np.sqrt(kernel.shape[0]))  # the flattened square input image
    return layer.name, kernel.T.reshape(-1, side, side)


def unit_strengths(reader, images: np.ndarray, chunk: int = 500, weights=None) -> dict[str, np.ndarray]:
    """How strongly each hidden unit responds to each image, (images, units) per layer: a Dense
    unit's value, or a feature map's strongest position; with a training snapshot's `weights`
    in place of the model's own, if given. Reduced chunk by chunk, so a CNN's feature maps for
    10,000 images never sit in memory at once."""
    hidden = reader.names[1:-1]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in hidden}
    for start in range(0, len(images), chunk):
        for name, values in zip(hidden, reader.batch(images[start : start + chunk], weights=weights)[1:-1]):
            maps = values.ndim == 4
            parts[name].append(values.reshape(len(values), -1, values.shape[-1]).max(axis=1) if maps else values)
    return {name: np.concatenate(values) for name, values in parts.items()}


# A response that moves less than this over all the digits is taken as not moving at all.
DEAD_SPREAD = 1e-6


def dead_units(strengths: np.ndarray) -> np.ndarray:
    """Which units give the same response to every one of the images (`strengths` as
    unit_strengths gives them): they pass nothing on that could tell one digit from another. For
    relu, the units no digit makes fire (always 0); a tanh unit that stays negative but varies is
    alive. One bool per unit."""
    return np.ptp(strengths, axis=0) <= DEAD_SPREAD


def top_images(strengths: np.ndarray, unit: int, count: int = 9) -> np.ndarray:
    """Indices of the images that drive `unit` hardest, strongest first."""
    return np.argsort(-strengths[:, unit], kind="stable")[:count]


def telling_unit(strengths: np.ndarray, labels: np.ndarray, count: int = 9) -> int | None:
    """The unit to open a layer on: of the live units, the one whose `count` top images are
    most of one digit (its strongest on them, where several tie), so that its top digits show at
    a glance what it looks for. None where every unit is dead."""
    live = np.flatnonzero(~dead_units(strengths))
    if not len(live):
        return None
    top = np.argpartition(-strengths[:, live], count - 1, axis=0)[:count]  # each unit's top, unordered
    agreement = [np.bincount(labels[column]).max() for column in top.T]
    strongest = np.take_along_axis(strengths[:, live], top, axis=0).mean(axis=0)
    # lexsort's last key sorts first: most agreement, then the strongest, then the lowest number
    return int(live[np.lexsort((-strongest, -np.array(agreement)))[0]])


def dead_summary(dead: np.ndarray) -> str:
    """How many of a layer's units never fire (`dead` as dead_units gives it), in a few words."""
    count, total = int(dead.sum()), len(dead)
    if count == 0:
        return f"all {total} units fire"
    if count == total:
        return f"none of its {total} units ever fires"
    return f"{count} of {total} units never fire"
