"""The weights of an uploaded model file (its model.weights.h5, an HDF5 file), checked before
a single value is read.

An HDF5 file can declare a dataset of any size that holds nothing: a fill value, chunks that
gzip squeezes to a few bytes, storage in another file, a virtual view of other datasets.
Reading one allocates what it declares, so a 100 KB upload could take gigabytes from the
server that a whole class shares. So every object in the file is looked at first, without
reading values: each dataset must be one deepviz expects for the network it rebuilt, of the
expected shape and type, stored plainly (contiguous, unfiltered, its bytes inside the file).
Only then is each expected array read into an array of exactly its size. Before the file is
even opened, it must be large enough to hold the network's weights (check_weights_fit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepviz.config import CLASSES, IMAGE_SIDE, Conv, ModelConfig, Pool, count_params
from deepviz.modelfile.errors import ModelFileError

WEIGHT_TYPE = np.dtype("<f4")
# An optimizer's state: its step count (int64) and learning rate, and a few values per weight.
OPTIMIZER_TYPES = (WEIGHT_TYPE, np.dtype("<i8"))
OPTIMIZER_SLOTS = 4  # Adam with amsgrad keeps three copies of each weight: one to spare
MAX_DEPTH = 4  # layers/dense/vars/0
MAX_OBJECTS = 512


def expected_weights(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Where Keras stores each weight of deepviz's model for `config` in model.weights.h5, and
    its shape, in the model's order (as `model.get_weights()` lists them).

    Keras names a layer's group after its class, numbered from the second of a kind on
    (dense, dense_1, ...), and stores its weights as vars/0 (kernel) and vars/1 (bias);
    layers without weights get empty groups. A test holds this to what Keras writes."""
    shapes: dict[str, tuple[int, ...]] = {}
    kinds: dict[str, int] = {}

    def add(kind: str, inputs: int, outputs: int, kernel: tuple[int, ...] = ()) -> None:
        number = kinds.get(kind, 0)
        kinds[kind] = number + 1
        group = f"layers/{kind}_{number}/vars" if number else f"layers/{kind}/vars"
        shapes[f"{group}/0"] = (*kernel, inputs, outputs)
        shapes[f"{group}/1"] = (outputs,)

    side, channels, width = IMAGE_SIDE, 1, None
    for layer in config.layers:
        if isinstance(layer, Conv):
            add("conv2d", channels, layer.filters, (layer.kernel, layer.kernel))
            channels = layer.filters
        elif isinstance(layer, Pool):
            side //= layer.size
        else:
            width = width or side * side * channels
            add("dense", width, layer.units)
            width = layer.units
    add("dense", width or side * side * channels, CLASSES)
    return shapes


def check_weights_fit(config: ModelConfig, stored: int) -> None:
    """Keras allocates every weight before reading the file's, so a network too big for its own
    weights file of `stored` bytes (a few bytes of config.json asking for a huge layer) is
    refused first."""
    params = count_params(config)
    if params * WEIGHT_TYPE.itemsize > stored:
        raise ModelFileError(
            f"The file's config.json describes {params:,} weights but its weights file is too "
            "small to hold them, so it is not a model saved by Keras."
        )


def read_weights(path: Path, config: ModelConfig) -> list[np.ndarray]:
    """The weights of deepviz's model for `config` from the HDF5 file at `path`, in the model's
    order, once every object in the file has passed the checks above."""
    import h5py

    expected = expected_weights(config)
    try:
        with h5py.File(path, "r") as file:
            datasets = _datasets(file)
            size = path.stat().st_size
            for name, dataset in datasets.items():
                _check_dataset(name, dataset, expected, size)
            missing = [name for name in expected if name not in datasets]
            if missing:
                raise ModelFileError(
                    f"The model's weights file has no {_cut(missing[0])}, which the network "
                    "described in its config.json needs, so it was not saved with that network."
                )
            arrays = [_read(datasets[name], shape) for name, shape in expected.items()]
    except ModelFileError:
        raise
    except Exception:  # noqa: BLE001 - h5py and HDF5 refuse a damaged file with many kinds of error
        raise ModelFileError(
            "The model's weights file (model.weights.h5) is damaged or not an HDF5 file that "
            "Keras wrote, so deepviz cannot read it."
        ) from None
    if not all(np.isfinite(array).all() for array in arrays):
        raise ModelFileError(
            "The model's weights include values that are not numbers (NaN or infinity), as after "
            "a training that diverged, so it cannot give answers: train it again."
        )
    return arrays


def _cut(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:40] + "...")


def _datasets(file) -> dict[str, object]:
    """Every dataset in the file, by path; refuses links (which may point into other files) and
    objects linked twice, and stops at MAX_OBJECTS so a file cannot make the walk long."""
    import h5py

    groups, datasets, objects = [(file, 1)], {}, 0
    while groups:
        group, depth = groups.pop()
        for name in group:
            path = f"{group.name}/{name}".lstrip("/")
            objects += 1
            if objects > MAX_OBJECTS or depth > MAX_DEPTH:
                raise ModelFileError(
                    "The model's weights file holds far more objects, or nests them more deeply, "
                    "than Keras writes for a network deepviz can show."
                )
            if not isinstance(group.get(name, getlink=True), h5py.HardLink):
                raise ModelFileError(
                    f"The model's weights file links {_cut(path)} to another place or file, which "
                    "Keras never does, so it is refused."
                )
            item = group[name]
            if h5py.h5o.get_info(item.id).rc != 1:
                raise ModelFileError(
                    f"The model's weights file stores {_cut(path)} under two names, which Keras "
                    "never does, so it is refused."
                )
            if isinstance(item, h5py.Group):
                groups.append((item, depth + 1))
            else:
                datasets[path] = item
    return datasets


def _check_dataset(name: str, dataset, expected: dict[str, tuple[int, ...]], size: int) -> None:
    """Refuses a dataset deepviz does not expect, or one whose values are not plainly there."""
    import h5py

    shape, kind = expected.get(name), WEIGHT_TYPE
    if shape is None and name.startswith("optimizer/vars/"):
        shape, kind = _optimizer_value(name, dataset, expected)
    if shape is None:
        raise ModelFileError(
            f"The model's weights file holds {_cut(name)}, which the network described in its "
            "config.json does not have, so it was not saved with that network."
        )
    if not isinstance(dataset, h5py.Dataset) or dataset.shape != shape or dataset.dtype != kind:
        found = getattr(dataset, "shape", None)
        raise ModelFileError(
            f"The model's weights file holds {_cut(name)} with shape {found}, but the network "
            f"described in its config.json needs {shape} {kind.name} values there."
        )
    plan = dataset.id.get_create_plist()
    stored = dataset.id.get_storage_size()
    start = dataset.id.get_offset()
    if (
        plan.get_layout() != h5py.h5d.CONTIGUOUS
        or plan.get_nfilters()
        or plan.get_external_count()
        or start is None
        or stored != dataset.nbytes
        or start + stored > size
    ):
        raise ModelFileError(
            f"The model's weights file stores {_cut(name)} compressed, in chunks, elsewhere or "
            "not at all, which Keras never does, so it is refused before anything is read."
        )


def _optimizer_value(name: str, dataset, expected: dict[str, tuple[int, ...]]):
    """(shape, type) an optimizer's value may have, or (None, None) if it is none an optimizer
    keeps: one of a weight's shapes or a single number, in float32 or int64. Never read."""
    number = name.removeprefix("optimizer/vars/")
    shape, kind = getattr(dataset, "shape", None), getattr(dataset, "dtype", None)
    if (
        number.isdigit()
        and int(number) < OPTIMIZER_SLOTS * len(expected) + 2
        and (shape == () or shape in expected.values())
        and kind in OPTIMIZER_TYPES
    ):
        return shape, kind
    return None, None


def _read(dataset, shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(shape, WEIGHT_TYPE)
    dataset.read_direct(array)
    return array
