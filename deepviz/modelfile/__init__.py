"""Model files a class can download and upload safely: `.keras` files of networks deepviz can show.

A model file from someone else is untrusted input, and Keras's own loader builds whatever the
file declares before it finds out that it does not fit (a layer built for ten million inputs, a
numpy array of 300 MB in a node's arguments, a gigabyte weight that holds only a fill value).
So the file never reaches `keras.load_model`. deepviz reads it itself: the size, that it is a
`.keras` zip archive and not a legacy `.h5`, and the archive's entries (archive.py); every
object in config.json against explicit Keras classes, built-in activations and no code
(schema.py); the network, turned into deepviz's own ModelConfig, a plain chain of layers each
built for the shape deepviz derives (layers.py); then the weights file, object by object before
any value is read (weights.py), and the expected arrays go into deepviz's own model. As a last
line, Keras builds the file's checked config on its own and must compute what deepviz's model
computes. Keras is imported inside the functions: `import tensorflow` takes seconds.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np

from deepviz.config import IMAGE_SIDE, ModelConfig, summarize
from deepviz.modelfile.archive import (
    WEIGHTS,
    check_members,
    check_signature,
    check_size,
    open_zip,
    read_config,
)
from deepviz.modelfile.errors import ModelFileError, cut
from deepviz.modelfile.layers import check_chain, to_config
from deepviz.modelfile.schema import check_model
from deepviz.modelfile.weights import check_weights_fit, read_weights

if TYPE_CHECKING:
    import keras


def check_bytes(data: bytes) -> dict:
    """config.json of a `.keras` file, parsed, once every check that needs no Keras has passed."""
    return _check(data)[0]


def load_bytes(data: bytes) -> tuple[ModelConfig, keras.Model]:
    """(ModelConfig, compiled Keras model): deepviz's own rebuild of a checked `.keras` file."""
    file_config, config = _check(data)
    with tempfile.TemporaryDirectory(prefix="deepviz-") as folder:
        path = Path(folder) / WEIGHTS
        with open_zip(data) as archive, archive.open(WEIGHTS) as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        weights = read_weights(path, config)
    return config, _rebuild(config, file_config, weights)


def _check(data: bytes) -> tuple[dict, ModelConfig]:
    check_size(len(data))
    check_signature(data)
    with open_zip(data) as archive:
        members = archive.infolist()
        check_members(members)
        config = read_config(archive)
    layers = check_model(config)
    model_config = to_config(layers)
    stored = next(member.file_size for member in members if member.filename == WEIGHTS)
    check_weights_fit(model_config, stored)
    check_chain(config, layers)
    return config, model_config


def load_file(path: str | Path) -> tuple[ModelConfig, keras.Model]:
    """load_bytes for a file on disk; an oversized file is refused before it is read."""
    path = Path(path)
    check_size(path.stat().st_size)
    return load_bytes(path.read_bytes())


def model_bytes(model: keras.Model) -> bytes:
    """A Keras model as the bytes of a `.keras` file, for a download."""
    with tempfile.TemporaryDirectory(prefix="deepviz-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def display_name(name: str) -> str:
    """An uploaded file's name, safe to show: the browser sends any text, markdown included."""
    return re.sub(r"[^\w .-]", "_", PurePosixPath(name.replace("\\", "/")).name)[:60] or "the file"


def layer_table(config: ModelConfig) -> str:
    """The Build page's layer table as plain text, with the total parameter count."""
    summary = summarize(config)
    rows = [("layer", "description", "output shape", "params")] + [
        (row.name, row.description, " x ".join(map(str, row.output_shape)), f"{row.params:,}") for row in summary
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:3], widths)), row[3].rjust(widths[3])])
        for row in rows
    ]
    return "\n".join([*lines, f"Total params: {sum(row.params for row in summary):,}"])


def _rebuild(config: ModelConfig, file_config: dict, weights: list[np.ndarray]) -> keras.Model:
    """deepviz's own model with the file's weights, checked to compute what Keras makes of the
    file's config: whatever setting deepviz reads differently from Keras shows up here."""
    import keras

    from deepviz.network import build_model

    model = build_model(config)
    model.set_weights(weights)  # read_weights gave exactly this model's shapes
    view = _keras_view(file_config, weights)
    images = np.random.default_rng(0).random((4, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    expected = view(images.reshape((len(images), *view.inputs[0].shape[1:])), training=False)
    actual = model(images, training=False)
    if not np.allclose(
        keras.ops.convert_to_numpy(expected),
        keras.ops.convert_to_numpy(actual),
        rtol=1e-4,
        atol=1e-6,
    ):
        raise ModelFileError(
            "The network deepviz rebuilt from the file does not compute what Keras makes of the file's "
            "config.json, so deepviz cannot show it."
        )
    return model


def _keras_view(file_config: dict, weights: list[np.ndarray]) -> keras.Model:
    """Keras's own model for the file's config, which has passed every check above (so it builds
    only the shapes deepviz derived), with the same weights. Its compile_config is left out:
    deepviz compiles its own model."""
    import keras

    config = {key: value for key, value in file_config.items() if key != "compile_config"}
    try:
        view = keras.saving.deserialize_keras_object(config, safe_mode=True)
        view.set_weights(weights)
        return view
    except Exception as error:  # noqa: BLE001 - whatever fails inside Keras, the answer is: not loadable
        lines = str(error).strip().splitlines() or [type(error).__name__]
        reason = lines[0][:200].rstrip(".")
        raise ModelFileError(f"Keras could not build the model the file describes ({cut(reason, 100)}).") from None
