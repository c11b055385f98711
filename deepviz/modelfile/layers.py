"""A file's layers turned into deepviz's ModelConfig, if deepviz can rebuild each one exactly,
and held to the plain chain deepviz rebuilds, each layer built for the shape deepviz derives."""

from __future__ import annotations

import math
from dataclasses import replace

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
)
from deepviz.modelfile.errors import ACCEPTED, ModelFileError, cut, not_a_model
from deepviz.modelfile.schema import OUTPUT_ACTIVATION, TENSOR_PLACEHOLDER, layer_name

# Input, Reshape, Flatten and output, and each hidden layer with a Dropout after it.
MAX_LAYERS = 4 + 2 * MAX_HIDDEN_LAYERS
IMAGE_SIZE = f"{IMAGE_SIDE} x {IMAGE_SIDE}"

CONV_RULE = "deepviz's Conv layers have a square kernel, stride 1, padding 'same' and a bias"
POOL_RULE = "deepviz's MaxPool layers are square, with strides equal to their size and no padding"
DENSE_RULE = "deepviz flattens the image before its Dense layers, which have a bias"
FLATTEN_RULE = "deepviz flattens channels-last feature maps once, before its Dense layers"


def _shape_text(shape) -> str:
    sides = shape[1:]
    return " x ".join(map(str, sides)) if all(isinstance(side, int) for side in sides) else _shorten(shape)


def to_config(layers: list[dict]) -> ModelConfig:
    """deepviz's configuration for the file's layers, if deepviz can rebuild each one exactly."""
    if len(layers) > MAX_LAYERS:
        raise ModelFileError(
            f"The model has {len(layers)} layers, more than the {MAX_LAYERS} of the largest network deepviz can show."
        )
    _check_input(layers[0])
    if len(layers) < 2:
        raise not_a_model()
    _check_output(layers[-1])
    try:
        return ModelConfig(layers=tuple(_hidden_layers(layers[1:-1])))
    except ConfigError as error:
        raise ModelFileError(f"deepviz cannot show this network: {cut(str(error), 100)}.") from None


def check_chain(config: dict, layers: list[dict]) -> None:
    """The layers must form the plain chain deepviz rebuilds, each built for the shape deepviz
    derives: Keras builds a layer for whatever its build_config says before it finds that the
    shape does not fit (a Dense layer for ten million inputs: gigabytes), and a Functional
    model's nodes may pass arrays, other layers' outputs or several inputs."""
    names = [name for layer in layers if isinstance(name := _settings(layer).get("name"), str)]
    if len(names) != len(layers) or len(set(names)) != len(names):
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
    shape: list | None = None  # what the layer takes: nothing, for the first, the Input layer
    for index, layer in enumerate(layers):
        nodes = [] if index == 0 else [{"args": [_placeholder(names[index - 1], shape)], "kwargs": {}}]
        if functional and (layer.get("name") != names[index] or _without_training(layer.get("inbound_nodes")) != nodes):
            raise ModelFileError(
                f"Layer {layer_name(layer)} does not simply take the output of the layer before it (it is "
                "shared, branches, or is given other values), and deepviz shows a plain chain of layers."
            )
        if not functional and "inbound_nodes" in layer:
            raise not_a_model()
        if layer.get("build_config", {"input_shape": shape}) != {"input_shape": shape}:
            raise ModelFileError(
                f"Layer {layer_name(layer)} says it was built for {_shorten(layer['build_config'], 60)}, but it "
                f"takes {_shape_text(shape)} values, so the file was not saved by Keras."
            )
        shape = _output_shape(layer, shape)
    images = _output_shape(layers[0], None)
    built = config.get("build_config", {"input_shape": None})
    if (
        built not in ({"input_shape": None}, {"input_shape": images})
        or inner.get("build_input_shape", images) != images
    ):
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


def _placeholder(name: str, shape: list | None) -> dict:
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
    """The output shape of one of the chain's layers, whose settings to_config has checked."""
    kind, settings = layer["class_name"], layer["config"]
    if kind == "InputLayer":
        return settings.get("batch_shape", settings.get("batch_input_shape"))
    # to_config let an InputLayer through only as the first layer, so every other has an input shape.
    assert shape is not None
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


def _settings(layer: dict) -> dict:
    settings = layer.get("config")
    if not isinstance(settings, dict):
        raise not_a_model()
    return settings


def _check_input(layer: dict) -> None:
    settings = _settings(layer)
    shape = settings.get("batch_shape", settings.get("batch_input_shape"))
    if layer.get("class_name") != "InputLayer" or not isinstance(shape, list):
        raise ModelFileError(
            "The model file does not say what input the model takes (it has no Input layer), so deepviz cannot show it."
        )
    if shape not in ([None, IMAGE_SIDE, IMAGE_SIDE], [None, IMAGE_SIDE, IMAGE_SIDE, 1]):
        raise _wrong_input(shape)


def _wrong_input(shape) -> ModelFileError:
    return ModelFileError(
        f"The model takes {_shape_text(shape)} inputs, but deepviz shows models of MNIST's "
        f"{IMAGE_SIZE} images (input shape {IMAGE_SIZE} or {IMAGE_SIZE} x 1)."
    )


def _check_output(layer: dict) -> None:
    settings = _settings(layer)
    units = settings.get("units")
    if layer.get("class_name") == "Dense" and units != CLASSES:
        raise _wrong_output(_shorten(units))
    if (
        layer.get("class_name") != "Dense"
        or settings.get("activation") != OUTPUT_ACTIVATION
        or not settings.get("use_bias", True)
    ):
        raise ModelFileError(
            f"The model's last layer, {layer_name(layer)}, is not what deepviz needs: a Dense "
            f"layer of {CLASSES} units with {OUTPUT_ACTIVATION} and a bias, one probability per digit."
        )


def _wrong_output(units: str) -> ModelFileError:
    return ModelFileError(f"The model gives {units} outputs, but deepviz needs {CLASSES}, one probability per digit.")


def _hidden_layers(layers: list[dict]) -> list[Layer]:
    """deepviz's layers for the file's layers between input and output."""
    hidden: list[Layer] = []
    flat, previous = False, None
    for layer in layers:
        kind, settings, name = layer["class_name"], _settings(layer), layer_name(layer)
        try:
            _hidden_layer(kind, name, settings, flat, previous, hidden)
        except ModelFileError:
            raise
        except ConfigError as error:  # a value out of deepviz's range, e.g. 2,000 units
            raise ModelFileError(f"Layer {name} cannot be shown: {cut(str(error), 100)}.") from None
        except (KeyError, IndexError, TypeError, ValueError):
            raise ModelFileError(f"Layer {name} has settings deepviz cannot read: {ACCEPTED}.") from None
        flat = flat or kind == "Flatten"
        previous = kind
    if not flat:
        raise ModelFileError(f"The model has no Flatten layer before its output layer: {ACCEPTED}.")
    return hidden


def _hidden_layer(kind: str, name: str, settings: dict, flat: bool, previous: str | None, hidden: list[Layer]) -> None:
    """Adds the layer to `hidden`, or refuses it with the first thing deepviz cannot rebuild."""
    if kind in ("Conv2D", "MaxPooling2D"):
        _refuse(name, {"a Flatten before it": flat}, "deepviz's Conv and MaxPool layers come first")
    if kind == "Reshape":
        target = settings["target_shape"]
        problems = {f"target shape {_shorten(target)}": target != [IMAGE_SIDE, IMAGE_SIDE, 1]}
        problems["layers before it"] = previous is not None
        _refuse(name, problems, f"deepviz's only Reshape turns the {IMAGE_SIZE} image into {IMAGE_SIZE} x 1")
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
            raise ModelFileError(f"Layer {name} cannot be shown: it has {cut(problem, 60)}, and {rule}.")


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
