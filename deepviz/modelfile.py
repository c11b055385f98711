"""Model files a class can download and upload safely: `.keras` files of networks deepviz can show.

A model file from someone else is untrusted input, and Keras's own loader builds whatever the
file declares before it finds out that it does not fit (a layer built for ten million inputs, a
numpy array of 300 MB in a node's arguments, a gigabyte weight that holds only a fill value).
So the file never reaches `keras.load_model`. deepviz reads it itself: the size; that it is a
`.keras` zip archive and not a legacy `.h5`; the archive's entries (zip bombs, paths outside
the archive); every object in config.json (explicit Keras classes deepviz draws, built-in
activations, no code, tensor placeholders only between layers, a plain chain of layers, each
built for the shape deepviz derives); and the network itself, turned into deepviz's own
ModelConfig. Then the weights file, object by object before any value is read
(weightsfile.py), and the expected arrays go into deepviz's own model. As a last line, Keras
builds the file's checked config on its own and must compute what deepviz's model computes.
Keras is imported inside the functions: `import tensorflow` takes seconds.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

import numpy as np

from deepviz.config import (
    CLASSES,
    IMAGE_SIDE,
    MAX_HIDDEN_LAYERS,
    ConfigError,
    Conv,
    Dense,
    Layer,
    ModelConfig,
    Pool,
    _shorten,
    count_params,
    summarize,
)

MAX_MODEL_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_MEMBERS = 32
# Keras stores its entries uncompressed, so only a crafted archive packs a big entry this tightly.
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_DEPTH = 32
FLOAT_BYTES = 4
# Input, Reshape, Flatten and output, and each hidden layer with a Dropout after it.
MAX_LAYERS = 4 + 2 * MAX_HIDDEN_LAYERS

MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
REQUIRED_MEMBERS = ("config.json", "model.weights.h5")
ASSETS = "assets/"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"

# Exactly the (module, class) pairs Keras writes for what deepviz accepts: any other module
# would have Keras import someone else's code, and Keras's own "__numpy__", "__tensor__" or
# "__bytes__" objects would materialise whatever the file asks for.
MODELS = {
    ("keras", "Sequential"): "Sequential",
    ("keras.src.models.sequential", "Sequential"): "Sequential",
    ("keras", "Functional"): "Functional",
    ("keras.src.models.functional", "Functional"): "Functional",
}
NESTED_MODEL_CLASSES = ("Sequential", "Functional", "Model")
LAYER_MODULE = "keras.layers"
COMMON_SETTINGS = ("name", "trainable", "dtype")
WEIGHT_SETTINGS = (
    *COMMON_SETTINGS, "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
    "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint",
)
# Each layer's settings that Keras writes; anything else (a LoRA rank, a quantization) would
# make Keras build more than deepviz's model has.
LAYER_SETTINGS = {
    "InputLayer": ("batch_shape", "batch_input_shape", "dtype", "name"),
    "Reshape": (*COMMON_SETTINGS, "target_shape"),
    "Flatten": (*COMMON_SETTINGS, "data_format"),
    "Dense": (*WEIGHT_SETTINGS, "units"),
    "Conv2D": (
        *WEIGHT_SETTINGS, "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
    ),
    "MaxPooling2D": (*COMMON_SETTINGS, "pool_size", "strides", "padding", "data_format"),
    "Dropout": (*COMMON_SETTINGS, "rate", "seed"),
}
# Settings Keras writes with these values, and that deepviz accepts with no other.
FIXED_SETTINGS = {
    "sparse": False, "ragged": False, "optional": False, "noise_shape": None, "quantization_config": None,
    "lora_rank": None, "lora_alpha": None,
}
LAYER_CLASSES = tuple(LAYER_SETTINGS)
LAYER_KEYS = ("module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes")
MODEL_KEYS = ("module", "class_name", "config", "registered_name", "build_config", "compile_config")
MODEL_SETTINGS = ("name", "trainable", "dtype", "layers", "build_input_shape", "input_layers", "output_layers")
INITIALIZERS = (
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "RandomUniform",
    "RandomNormal", "TruncatedNormal", "VarianceScaling", "Zeros", "Ones",
)
OBJECTS = {
    ("keras", "DTypePolicy"),
    *(("keras.initializers", name) for name in INITIALIZERS),
    *(("keras.regularizers", name) for name in ("L1", "L2", "L1L2")),
    *(("keras.constraints", name) for name in ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm")),
}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "linear", "softmax")
# Functional models record which layer feeds which with these placeholders; they hold no code.
TENSOR_PLACEHOLDER = "__keras_tensor__"

ACCEPTED = (
    "deepviz accepts .keras files saved by Keras (model.save('model.keras')) with only "
    "Input, Reshape, Flatten, Dense, Conv2D, MaxPooling2D and Dropout layers"
)
CONV_RULE = "deepviz's Conv layers have a square kernel, stride 1, padding 'same' and a bias"
POOL_RULE = "deepviz's MaxPool layers are square, with strides equal to their size and no padding"
DENSE_RULE = "deepviz flattens the image before its Dense layers, which have a bias"
FLATTEN_RULE = "deepviz flattens channels-last feature maps once, before its Dense layers"


class ModelFileError(ValueError):
    """A refused model file; the message is one sentence: what is wrong, and what is accepted."""


def check_bytes(data: bytes) -> dict:
    """config.json of a `.keras` file, parsed, once every check that needs no Keras has passed."""
    return _check(data)[0]


def load_bytes(data: bytes):
    """(ModelConfig, compiled Keras model): deepviz's own rebuild of a checked `.keras` file."""
    from deepviz.weightsfile import read_weights

    file_config, config = _check(data)
    with tempfile.TemporaryDirectory(prefix="deepviz-") as folder:
        path = Path(folder) / "model.weights.h5"
        with _open_zip(data) as archive, archive.open("model.weights.h5") as source, path.open("wb") as target:
            shutil.copyfileobj(source, target)
        weights = read_weights(path, config)
    return config, _rebuild(config, file_config, weights)


def _check(data: bytes) -> tuple[dict, ModelConfig]:
    _check_size(len(data))
    _check_signature(data)
    with _open_zip(data) as archive:
        members = archive.infolist()
        _check_members(members)
        config = _read_config(archive)
    layers = _check_model(config)
    model_config = _to_config(layers)
    _check_weights_fit(model_config, members)
    _check_chain(config, layers)
    return config, model_config


def load_file(path: str | Path):
    """load_bytes for a file on disk; an oversized file is refused before it is read."""
    path = Path(path)
    _check_size(path.stat().st_size)
    return load_bytes(path.read_bytes())


def model_bytes(model) -> bytes:
    """A Keras model as the bytes of a `.keras` file, for a download."""
    with tempfile.TemporaryDirectory(prefix="deepviz-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def display_name(name: str) -> str:
    """An uploaded file's name, safe to show: the browser sends any text, markdown included."""
    return re.sub(r"[^\w .-]", "_", PurePosixPath(name.replace("\\", "/")).name)[:60] or "the file"


def describe(config: ModelConfig) -> str:
    """The Build page's layer table as plain text, with the total parameter count."""
    summary = summarize(config)
    rows = [("layer", "description", "output shape", "params")] + [
        (row.name, row.description, " x ".join(map(str, row.output_shape)), f"{row.params:,}")
        for row in summary
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:3], widths)), row[3].rjust(widths[3])]
        )
        for row in rows
    ]
    return "\n".join([*lines, f"Total params: {sum(row.params for row in summary):,}"])


# Checks on the raw bytes -------------------------------------------------------------------


def _cut(text: str, limit: int = 40) -> str:
    """Text from the file, cut short: whatever the file holds, a message stays one short line."""
    return text if len(text) <= limit else text[:limit] + "..."


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _check_size(size: int) -> None:
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(
            f"The file is {_megabytes(size)}, larger than the {_megabytes(MAX_MODEL_BYTES)} "
            "deepviz accepts for a model file."
        )


def _check_signature(data: bytes) -> None:
    if data.startswith(HDF5_SIGNATURE):
        raise ModelFileError(
            "This is a legacy Keras .h5 file, which deepviz does not accept because loading one is "
            "unsafe; save the model in the .keras format with model.save('model.keras')."
        )
    if not data.startswith(ZIP_SIGNATURE):
        raise ModelFileError(f"This is not a Keras model file: {ACCEPTED}.")


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise ModelFileError(f"The file is a damaged zip archive: {ACCEPTED}.") from None


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(
            f"The file holds {len(members)} entries, more than a model file has: {ACCEPTED}."
        )
    names = [member.filename for member in members]
    for name in names:
        _check_name(name, names.count(name))
    for name in REQUIRED_MEMBERS:
        if name not in names:
            raise ModelFileError(
                f"The file has no {name}, so it is not a complete .keras model file."
            )
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ModelFileError(
            f"The file would unpack to {_megabytes(unpacked)}, more than the "
            f"{_megabytes(MAX_UNPACKED_BYTES)} deepviz allows, so it is refused as a possible "
            "zip bomb."
        )
    for member in members:
        packed = max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * packed:
            raise ModelFileError(
                f"The file's entry {_shorten(member.filename)} is packed far more tightly than a "
                "model's weights ever are, so it is refused as a possible zip bomb."
            )


def _check_name(name: str, copies: int) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or ":" in name:
        raise ModelFileError(
            f"The file contains an entry with an unsafe path, {_shorten(name)}: {ACCEPTED}."
        )
    if name not in MEMBERS and not (name.startswith(ASSETS) and name != ASSETS):
        raise ModelFileError(
            f"The file contains {_shorten(name)}, which a .keras model file does not have; deepviz "
            f"accepts only {', '.join(MEMBERS)} and an assets folder."
        )
    if copies > 1:
        raise ModelFileError(
            f"The file contains {_shorten(name)} {copies} times, which a .keras model file never "
            "does."
        )


def _read_config(archive: zipfile.ZipFile) -> dict:
    try:
        with archive.open("config.json") as file:
            text = file.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError):
        # Encrypted entries, unknown compression methods, bad checksums: Keras never writes these.
        raise ModelFileError(f"The file's config.json cannot be read: {ACCEPTED}.") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"The file's config.json is larger than {_megabytes(MAX_CONFIG_BYTES)}, far more than "
            "any network deepviz can show needs."
        )
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelFileError(f"The file's config.json is not valid JSON: {ACCEPTED}.") from None
    if not isinstance(config, dict):
        raise _not_a_model()
    return config


# Checks on config.json ---------------------------------------------------------------------


def _not_a_model() -> ModelFileError:
    return ModelFileError(f"The file's config.json does not describe a Keras model: {ACCEPTED}.")


def _registered(config: dict, pairs) -> bool:
    """A class of Keras's own among `pairs`, under its own name: for another module or a
    registered name, Keras would import the file author's code."""
    pair = (config.get("module"), config.get("class_name"))
    return pair in pairs and config.get("registered_name") in (None, pair[1])


def _check_model(config: dict) -> list[dict]:
    """The model's layer configs, each one allowed, free of custom code, and a plain chain."""
    kind = config.get("class_name")
    if not _registered(config, MODELS):
        shown = _shorten(kind) if isinstance(kind, str) else "something else"
        raise ModelFileError(
            f"The file holds {shown}, not a Keras Sequential or Functional model: {ACCEPTED}."
        )
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if (
        not isinstance(layers, list)
        or not layers
        or not all(isinstance(layer, dict) for layer in layers)
    ):
        raise _not_a_model()
    _check_keys(config, MODEL_KEYS, "model")
    _check_keys(inner, MODEL_SETTINGS, "model")
    for layer in layers:
        _check_layer(layer)
        parts = ("config", "build_config", "inbound_nodes")
        _check_objects([layer.get(part) for part in parts], f"layer {_layer_name(layer)}")
    # compile_config is left out: Keras never sees it (see _keras_view).
    settings = {key: value for key, value in inner.items() if key != "layers"}
    _check_objects([settings, config.get("build_config")], "model")
    return layers


def _check_keys(config: dict, allowed: tuple[str, ...], where: str) -> None:
    for key, value in config.items():
        if key not in allowed and (key not in FIXED_SETTINGS or value != FIXED_SETTINGS[key]):
            shown = f"setting {_shorten(key)} = {_shorten(value, 20)}" if key in FIXED_SETTINGS else _shorten(key)
            raise ModelFileError(
                f"The file's {where} has {shown}, which deepviz does not build: {ACCEPTED}."
            )


def _layer_name(layer: dict) -> str:
    inner = layer.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return _shorten(name if isinstance(name, str) else layer.get("class_name"))


def _check_layer(layer: dict) -> None:
    name, kind = _layer_name(layer), layer.get("class_name")
    if kind == "Lambda":
        raise ModelFileError(
            f"Layer {name} is a Lambda layer, which would run Python code from the file, so it "
            f"is refused: {ACCEPTED}."
        )
    if kind in NESTED_MODEL_CLASSES:
        raise ModelFileError(
            f"Layer {name} is a whole model nested inside the model, which deepviz cannot show: "
            f"{ACCEPTED}."
        )
    if layer.get("module") != LAYER_MODULE or layer.get("registered_name") not in (None, kind):
        author = layer.get("registered_name") or layer.get("module")
        raise ModelFileError(
            f"Layer {name} is a custom layer ({_shorten(author)}), not one of Keras's own, so it is "
            f"refused: {ACCEPTED}."
        )
    if kind not in LAYER_CLASSES:
        raise ModelFileError(
            f"Layer {name} is of type {_shorten(kind)}, which deepviz cannot show: {ACCEPTED}."
        )
    inner = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    _check_keys(layer, LAYER_KEYS, f"layer {name}")
    _check_keys(inner, LAYER_SETTINGS[kind], f"layer {name}")
    activation = inner.get("activation", "linear")
    if activation not in ACTIVATIONS:
        shown = _shorten(activation) if isinstance(activation, str) else "a custom function"
        raise ModelFileError(
            f"Layer {name} uses the activation {shown}, but deepviz accepts only "
            f"{', '.join(ACTIVATIONS)}."
        )
    dtype = inner.get("dtype", "float32")
    # Keras writes a layer's dtype as a policy object, an Input layer's as a plain name.
    if isinstance(dtype, dict):
        policy = dtype.get("config")
        dtype = policy.get("name") if isinstance(policy, dict) else None
    if dtype != "float32":
        raise ModelFileError(
            f"Layer {name} computes in {_shorten(dtype)}, but deepviz's models compute in float32."
        )


def _check_objects(value: object, where: str, depth: int = 0) -> None:
    """Every serialized object anywhere inside must be Keras's own: no lambdas, no custom code."""
    if depth > MAX_DEPTH:
        raise ModelFileError(
            "The file's config.json is nested too deeply to be a network deepviz can show."
        )
    if isinstance(value, list):
        for item in value:
            _check_objects(item, where, depth + 1)
    elif isinstance(value, dict):
        if "class_name" in value and value["class_name"] != TENSOR_PLACEHOLDER:
            _check_object(value, where)
        for item in value.values():
            _check_objects(item, where, depth + 1)


def _check_object(value: dict, where: str) -> None:
    kind = value["class_name"]
    if kind == "__lambda__":
        raise ModelFileError(
            f"The file's {where} contains Python code, so it is refused: {ACCEPTED}."
        )
    # Keras's own activations are stored as names; a stored function is always someone else's.
    if kind == "function" or not _registered(value, OBJECTS):
        shown = "function" if kind == "function" else f"{_shorten(kind)} object"
        raise ModelFileError(
            f"The file's {where} contains a custom {shown}, so it is refused: {ACCEPTED}."
        )


# Loading and rebuilding --------------------------------------------------------------------


def _shape_text(shape) -> str:
    sides = shape[1:]
    return (
        " x ".join(map(str, sides))
        if all(isinstance(side, int) for side in sides)
        else _shorten(shape)
    )


def _to_config(layers: list[dict]) -> ModelConfig:
    """deepviz's configuration for the file's layers, if deepviz can rebuild each one exactly."""
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(
            f"The model has {len(layers)} layers, more than the {MAX_LAYERS} of the largest "
            "network deepviz can show."
        )
    _check_input(layers[0])
    if len(layers) < 2:
        raise _not_a_model()
    _check_output(layers[-1])
    try:
        return ModelConfig(layers=tuple(_hidden_layers(layers[1:-1])))
    except ConfigError as error:
        raise ModelFileError(
            f"deepviz cannot show this network: {_cut(str(error), 100)}."
        ) from None


def _check_chain(config: dict, layers: list[dict]) -> None:
    """The layers must form the plain chain deepviz rebuilds, each built for the shape deepviz
    derives: Keras builds a layer for whatever its build_config says before it finds that the
    shape does not fit (a Dense layer for ten million inputs: gigabytes), and a Functional
    model's nodes may pass arrays, other layers' outputs or several inputs."""
    names = [_settings(layer).get("name") for layer in layers]
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        raise ModelFileError(
            f"The file's layers do not each have a name of their own, so they cannot be told apart: {ACCEPTED}."
        )
    functional = config["class_name"] == "Functional"
    inner = config["config"]
    if functional and (_end(inner.get("input_layers")), _end(inner.get("output_layers"))) != (names[0], names[-1]):
        raise ModelFileError(
            "The model has several inputs or outputs, or they are not its first and last layers, but deepviz "
            "shows models with one image in and one answer out."
        )
    shape = None
    for index, layer in enumerate(layers):
        nodes = [] if index == 0 else [{"args": [_placeholder(names[index - 1], shape)], "kwargs": {}}]
        if functional and (layer.get("name") != names[index] or _without_training(layer.get("inbound_nodes")) != nodes):
            raise ModelFileError(
                f"Layer {_layer_name(layer)} does not simply take the output of the layer before it (it is "
                "shared, branches, or is given other values), and deepviz shows a plain chain of layers."
            )
        if not functional and "inbound_nodes" in layer:
            raise _not_a_model()
        if layer.get("build_config", {"input_shape": shape}) != {"input_shape": shape}:
            raise ModelFileError(
                f"Layer {_layer_name(layer)} says it was built for {_shorten(layer['build_config'], 60)}, but it "
                f"takes {_shape_text(shape)} values, so the file was not saved by Keras."
            )
        shape = _output_shape(layer, shape)
    images = _output_shape(layers[0], None)
    built = config.get("build_config", {"input_shape": None})
    if built not in ({"input_shape": None}, {"input_shape": images}) or inner.get("build_input_shape", images) != images:
        raise ModelFileError(
            f"The model says it was built for {_shorten(built, 60)}, but its Input layer takes "
            f"{_shape_text(images)} images, so the file was not saved by Keras."
        )


def _end(value) -> str | None:
    """The layer name of a Functional model's one input or output, as [name, 0, 0] or [[name, 0, 0]]."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    ok = isinstance(value, list) and len(value) == 3 and value[1:] == [0, 0] and isinstance(value[0], str)
    return value[0] if ok else None


def _placeholder(name: str, shape: list) -> dict:
    """How Keras writes "the output of layer `name`", of `shape`, as a layer's input."""
    return {
        "class_name": TENSOR_PLACEHOLDER,
        "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]},
    }


def _without_training(nodes):
    """A Dropout layer's node also says training=False: the only argument deepviz lets through."""
    if isinstance(nodes, list) and len(nodes) == 1 and isinstance(nodes[0], dict):
        kwargs = nodes[0].get("kwargs")
        if kwargs == {"training": False}:
            return [{**nodes[0], "kwargs": {}}]
    return nodes


def _output_shape(layer: dict, shape: list | None) -> list:
    """The output shape of one of the chain's layers, whose settings _to_config has checked."""
    kind, settings = layer["class_name"], layer["config"]
    if kind == "InputLayer":
        return settings.get("batch_shape", settings.get("batch_input_shape"))
    if kind == "Reshape":
        return [None, *settings["target_shape"]]
    if kind == "Flatten":
        return [None, math.prod(shape[1:])]
    if kind == "Dense":
        return [None, settings["units"]]
    if kind == "Conv2D":
        return [None, *shape[1:-1], settings["filters"]]
    if kind == "MaxPooling2D":
        size = _pair(settings.get("pool_size", 2))[0]
        return [None, *(side // size for side in shape[1:-1]), shape[-1]]
    return shape  # Dropout


def _check_weights_fit(config: ModelConfig, members: list[zipfile.ZipInfo]) -> None:
    """Keras allocates every weight before reading the file's, so a network too big for its own
    weights file (a few bytes of config.json asking for a huge layer) is refused first."""
    stored = next(member.file_size for member in members if member.filename == "model.weights.h5")
    params = count_params(config)
    if params * FLOAT_BYTES > stored:
        raise ModelFileError(
            f"The file's config.json describes {params:,} weights but its weights file is too "
            "small to hold them, so it is not a model saved by Keras."
        )


def _settings(layer: dict) -> dict:
    settings = layer.get("config")
    if not isinstance(settings, dict):
        raise _not_a_model()
    return settings


def _check_input(layer: dict) -> None:
    settings = _settings(layer)
    shape = settings.get("batch_shape", settings.get("batch_input_shape"))
    if layer.get("class_name") != "InputLayer" or not isinstance(shape, list):
        raise ModelFileError(
            "The model file does not say what input the model takes (it has no Input layer), "
            "so deepviz cannot show it."
        )
    if shape not in ([None, IMAGE_SIDE, IMAGE_SIDE], [None, IMAGE_SIDE, IMAGE_SIDE, 1]):
        raise _wrong_input(shape)


def _wrong_input(shape) -> ModelFileError:
    return ModelFileError(
        f"The model takes {_shape_text(shape)} inputs, but deepviz shows models of MNIST's "
        "28 x 28 images (input shape 28 x 28 or 28 x 28 x 1)."
    )


def _check_output(layer: dict) -> None:
    settings = _settings(layer)
    units = settings.get("units")
    if layer.get("class_name") == "Dense" and units != CLASSES:
        raise _wrong_output(_shorten(units))
    if (
        layer.get("class_name") != "Dense"
        or settings.get("activation") != "softmax"
        or not settings.get("use_bias", True)
    ):
        raise ModelFileError(
            f"The model's last layer, {_layer_name(layer)}, is not what deepviz needs: a Dense "
            f"layer of {CLASSES} units with softmax and a bias, one probability per digit."
        )


def _wrong_output(units: str) -> ModelFileError:
    return ModelFileError(
        f"The model gives {units} outputs, but deepviz needs {CLASSES}, one probability per digit."
    )


def _hidden_layers(layers: list[dict]) -> list[Layer]:
    """deepviz's layers for the file's layers between input and output."""
    hidden: list[Layer] = []
    flat, previous = False, None
    for layer in layers:
        kind, settings, name = layer["class_name"], _settings(layer), _layer_name(layer)
        try:
            _hidden_layer(kind, name, settings, flat, previous, hidden)
        except ModelFileError:
            raise
        except ConfigError as error:  # a value out of deepviz's range, e.g. 2,000 units
            raise ModelFileError(
                f"Layer {name} cannot be shown: {_cut(str(error), 100)}."
            ) from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise ModelFileError(
                f"Layer {name} has settings deepviz cannot read: {ACCEPTED}."
            ) from None
        flat = flat or kind == "Flatten"
        previous = kind
    if not flat:
        raise ModelFileError(f"The model has no Flatten layer before its output layer: {ACCEPTED}.")
    return hidden


def _hidden_layer(
    kind: str, name: str, settings: dict, flat: bool, previous: str | None, hidden: list[Layer]
) -> None:
    """Adds the layer to `hidden`, or refuses it with the first thing deepviz cannot rebuild."""
    if kind in ("Conv2D", "MaxPooling2D"):
        _refuse(name, {"a Flatten before it": flat}, "deepviz's Conv and MaxPool layers come first")
    if kind == "Reshape":
        target = settings["target_shape"]
        problems = {f"target shape {_shorten(target)}": target != [IMAGE_SIDE, IMAGE_SIDE, 1]}
        problems["layers before it"] = previous is not None
        _refuse(name, problems, "deepviz's only Reshape turns the 28 x 28 image into 28 x 28 x 1")
    elif kind == "Flatten":
        _refuse(name, {"another Flatten before it": flat, **_layout(settings)}, FLATTEN_RULE)
    elif kind == "Dropout":
        problems = {f"{previous or 'nothing'} before it": previous != "Dense"}
        _refuse(name, problems, "deepviz puts Dropout only right after a Dense layer")
        hidden[-1] = replace(hidden[-1], dropout=settings["rate"])
    elif kind == "Dense":
        problems = {"no Flatten before it": not flat, "no bias": not settings.get("use_bias", True)}
        _refuse(name, problems, DENSE_RULE)
        hidden.append(Dense(settings["units"], settings.get("activation", "linear")))
    elif kind == "Conv2D":
        hidden.append(_conv(name, settings))
    elif kind == "MaxPooling2D":
        hidden.append(_pool(name, settings))
    else:  # only InputLayer is left of the allowed layers, and it belongs first
        _refuse(name, {"an Input layer before it": True}, "deepviz's models take one image")


def _refuse(name: str, problems: dict[str, bool], rule: str) -> None:
    """Refuses the layer for the first problem it has; `rule` says what deepviz builds instead."""
    for problem, present in problems.items():
        if present:
            raise ModelFileError(
                f"Layer {name} cannot be shown: it has {_cut(problem, 60)}, and {rule}."
            )


def _layout(settings: dict) -> dict[str, bool]:
    """The problem a layer has unless its maps are channels-last, the only layout deepviz builds."""
    value = settings.get("data_format") or "channels_last"
    return {f"data format {_shorten(value)}": value != "channels_last"}


def _pair(value) -> tuple[int, int]:
    """Keras writes sizes as [3, 3]; a hand-written file may say 3."""
    pair = tuple(value) if isinstance(value, list) else (value, value)
    if len(pair) != 2 or not all(isinstance(side, int) for side in pair):
        raise ValueError(f"not a size: {value!r}")
    return pair


def _conv(name: str, settings: dict) -> Conv:
    kernel = _pair(settings["kernel_size"])
    strides = _pair(settings.get("strides", 1))
    dilation = _pair(settings.get("dilation_rate", 1))
    padding = settings.get("padding", "valid")
    problems = {
        f"a {kernel[0]} x {kernel[1]} kernel": kernel[0] != kernel[1],
        f"strides {strides}": strides != (1, 1),
        f"padding {padding!r}": padding != "same",
        f"dilation {dilation}": dilation != (1, 1),
        f"{settings.get('groups')} groups": settings.get("groups", 1) != 1,
        "no bias": not settings.get("use_bias", True),
        **_layout(settings),
    }
    _refuse(name, problems, CONV_RULE)
    return Conv(settings["filters"], kernel[0], settings.get("activation", "linear"))


def _pool(name: str, settings: dict) -> Pool:
    size = _pair(settings.get("pool_size", 2))
    strides = _pair(settings.get("strides") or size)
    padding = settings.get("padding", "valid")
    problems = {
        f"a {size[0]} x {size[1]} window": size[0] != size[1],
        f"strides {strides}": strides != size,
        f"padding {padding!r}": padding != "valid",
        **_layout(settings),
    }
    _refuse(name, problems, POOL_RULE)
    return Pool(size[0])


def _rebuild(config: ModelConfig, file_config: dict, weights: list[np.ndarray]):
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


def _keras_view(file_config: dict, weights: list[np.ndarray]):
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
        raise ModelFileError(f"Keras could not build the model the file describes ({_cut(reason, 100)}).") from None
