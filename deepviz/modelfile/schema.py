"""What config.json may hold: explicit Keras classes deepviz can draw, each with the settings
Keras writes for it, built-in activations, and no code anywhere (no Lambda layers, custom
layers, functions or objects, nested models, or Keras's own objects that materialise arrays)."""

from __future__ import annotations

from deepviz.config import ACTIVATIONS, _shorten
from deepviz.modelfile.errors import ACCEPTED, ModelFileError, not_a_model

MAX_DEPTH = 32

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
    *COMMON_SETTINGS,
    "activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)
# Each layer's settings that Keras writes; anything else (a LoRA rank, a quantization) would
# make Keras build more than deepviz's model has.
LAYER_SETTINGS = {
    "InputLayer": ("batch_shape", "batch_input_shape", "dtype", "name"),
    "Reshape": (*COMMON_SETTINGS, "target_shape"),
    "Flatten": (*COMMON_SETTINGS, "data_format"),
    "Dense": (*WEIGHT_SETTINGS, "units"),
    "Conv2D": (
        *WEIGHT_SETTINGS,
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "groups",
    ),
    "MaxPooling2D": (*COMMON_SETTINGS, "pool_size", "strides", "padding", "data_format"),
    "Dropout": (*COMMON_SETTINGS, "rate", "seed"),
}
# Settings Keras writes with these values, and that deepviz accepts with no other.
FIXED_SETTINGS = {
    "sparse": False,
    "ragged": False,
    "optional": False,
    "noise_shape": None,
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
}
LAYER_CLASSES = tuple(LAYER_SETTINGS)
LAYER_KEYS = ("module", "class_name", "config", "registered_name", "build_config", "name", "inbound_nodes")
MODEL_KEYS = ("module", "class_name", "config", "registered_name", "build_config", "compile_config")
MODEL_SETTINGS = ("name", "trainable", "dtype", "layers", "build_input_shape", "input_layers", "output_layers")
INITIALIZERS = (
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "LecunUniform",
    "LecunNormal",
    "RandomUniform",
    "RandomNormal",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "Ones",
)
OBJECTS = {
    ("keras", "DTypePolicy"),
    *(("keras.initializers", name) for name in INITIALIZERS),
    *(("keras.regularizers", name) for name in ("L1", "L2", "L1L2")),
    *(("keras.constraints", name) for name in ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm")),
}
OUTPUT_ACTIVATION = "softmax"  # deepviz's last layer gives one probability per digit
LAYER_ACTIVATIONS = (*ACTIVATIONS, OUTPUT_ACTIVATION)
# Functional models record which layer feeds which with these placeholders; they hold no code.
TENSOR_PLACEHOLDER = "__keras_tensor__"


def _registered(config: dict, pairs) -> bool:
    """A class of Keras's own among `pairs`, under its own name: for another module or a
    registered name, Keras would import the file author's code."""
    pair = (config.get("module"), config.get("class_name"))
    return pair in pairs and config.get("registered_name") in (None, pair[1])


def check_model(config: dict) -> list[dict]:
    """The model's layer configs, each one allowed and free of custom code (layers.check_chain
    then holds them to a plain chain)."""
    kind = config.get("class_name")
    if not _registered(config, MODELS):
        shown = _shorten(kind) if isinstance(kind, str) else "something else"
        raise ModelFileError(f"The file holds {shown}, not a Keras Sequential or Functional model: {ACCEPTED}.")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise not_a_model()
    layers = inner.get("layers")
    if not isinstance(layers, list) or not layers or not all(isinstance(layer, dict) for layer in layers):
        raise not_a_model()
    _check_keys(config, MODEL_KEYS, "model")
    _check_keys(inner, MODEL_SETTINGS, "model")
    for layer in layers:
        _check_layer(layer)
        parts = ("config", "build_config", "inbound_nodes")
        _check_objects([layer.get(part) for part in parts], f"layer {layer_name(layer)}")
    # compile_config is left out: Keras never sees it (see deepviz.modelfile._keras_view).
    settings = {key: value for key, value in inner.items() if key != "layers"}
    _check_objects([settings, config.get("build_config")], "model")
    return layers


def _check_keys(config: dict, allowed: tuple[str, ...], where: str) -> None:
    for key, value in config.items():
        if key not in allowed and (key not in FIXED_SETTINGS or value != FIXED_SETTINGS[key]):
            shown = f"setting {_shorten(key)} = {_shorten(value, 20)}" if key in FIXED_SETTINGS else _shorten(key)
            raise ModelFileError(f"The file's {where} has {shown}, which deepviz does not build: {ACCEPTED}.")


def layer_name(layer: dict) -> str:
    inner = layer.get("config")
    name = inner.get("name") if isinstance(inner, dict) else None
    return _shorten(name if isinstance(name, str) else layer.get("class_name"))


def _check_layer(layer: dict) -> None:
    name, kind = layer_name(layer), layer.get("class_name")
    if kind == "Lambda":
        raise ModelFileError(
            f"Layer {name} is a Lambda layer, which would run Python code from the file, so it is refused: {ACCEPTED}."
        )
    if kind in NESTED_MODEL_CLASSES:
        raise ModelFileError(
            f"Layer {name} is a whole model nested inside the model, which deepviz cannot show: {ACCEPTED}."
        )
    if layer.get("module") != LAYER_MODULE or layer.get("registered_name") not in (None, kind):
        author = layer.get("registered_name") or layer.get("module")
        raise ModelFileError(
            f"Layer {name} is a custom layer ({_shorten(author)}), not one of Keras's own, so it is "
            f"refused: {ACCEPTED}."
        )
    if kind not in LAYER_CLASSES:
        raise ModelFileError(f"Layer {name} is of type {_shorten(kind)}, which deepviz cannot show: {ACCEPTED}.")
    inner = layer.get("config")
    if not isinstance(inner, dict):
        inner = {}
    _check_keys(layer, LAYER_KEYS, f"layer {name}")
    _check_keys(inner, LAYER_SETTINGS[kind], f"layer {name}")
    activation = inner.get("activation", "linear")
    if activation not in LAYER_ACTIVATIONS:
        shown = _shorten(activation) if isinstance(activation, str) else "a custom function"
        raise ModelFileError(
            f"Layer {name} uses the activation {shown}, but deepviz accepts only {', '.join(LAYER_ACTIVATIONS)}."
        )
    dtype = inner.get("dtype", "float32")
    # Keras writes a layer's dtype as a policy object, an Input layer's as a plain name.
    if isinstance(dtype, dict):
        policy = dtype.get("config")
        dtype = policy.get("name") if isinstance(policy, dict) else None
    if dtype != "float32":
        raise ModelFileError(f"Layer {name} computes in {_shorten(dtype)}, but deepviz's models compute in float32.")


def _check_objects(value: object, where: str, depth: int = 0) -> None:
    """Every serialized object anywhere inside must be Keras's own: no lambdas, no custom code."""
    if depth > MAX_DEPTH:
        raise ModelFileError("The file's config.json is nested too deeply to be a network deepviz can show.")
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
        raise ModelFileError(f"The file's {where} contains Python code, so it is refused: {ACCEPTED}.")
    # Keras's own activations are stored as names; a stored function is always someone else's.
    if kind == "function" or not _registered(value, OBJECTS):
        shown = "function" if kind == "function" else f"{_shorten(kind)} object"
        raise ModelFileError(f"The file's {where} contains a custom {shown}, so it is refused: {ACCEPTED}.")
