"""One validated object describes a model: its layers, optimizer and training settings.

It round-trips to a flat dict of strings (the URL query string), so any configuration
can be shared as a link, and parsing a garbled link never fails: bad fields fall back
to their defaults and come back as messages the UI can show.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, ClassVar

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "linear")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
# How the learning rate moves over a training: it stays, or falls along half a cosine to 0 by the
# last step (keras.optimizers.schedules.CosineDecay), so that the last epochs settle the weights.
SCHEDULES = ("constant", "cosine")
# What training does to the digits before the network sees them: nothing, or distorts a share of
# each batch as people's pens do (deepviz/augment.py).
AUGMENTATIONS = ("none", "distort")
# What training learns from: MNIST alone, or MNIST and the 30 writers' pen-drawn digits beside it
# (deepviz/pendigits.py), each of their 7,494 digits drawn PEN_DRAWINGS times as the canvas draws.
DATASETS = ("mnist", "mnist-pen")
PEN_DIGITS = 7_494
PEN_DRAWINGS = 3
IMAGE_SIDE = 28
MNIST_TRAIN_IMAGES = 60_000
MAX_HIDDEN_LAYERS = 8
MAX_EPOCHS = 20  # the Build page's slider and a link's epochs alike
CLASSES = 10
# A shared server's limits on one network, so that no student's model can exhaust its memory:
# weights (with the optimiser's two copies, 18 MB: its file stays under the 20 MB upload limit)
# and the values one training batch holds at once (80 MB, and as much again for the gradients).
MAX_PARAMS = 1_500_000
MAX_BATCH_VALUES = 20_000_000
# Training's pace on this server (2 shared cores, TensorFlow 2.21 on CPU), in multiply-adds a
# second, as `training_work` counts them. Measured over 12 s of training each: MLPs 1.4e10 (the
# tutorial MLP and 256-256-256), the Small CNN 2.1e10, CNNs with 32-128 filters 2.7e10-6e10, the
# issue's 128-filter 7x7 stack 4.5e10. The slowest pace makes the estimate err long, never short:
# a training within the budget ends before its estimate, well before the wall-clock cap.
TRAINING_PACE = 15e9
# Ten minutes of one training slot at that pace: one student's network, not a class's afternoon.
MAX_TRAINING_SECONDS = 600
MAX_TRAINING_WORK = MAX_TRAINING_SECONDS * TRAINING_PACE
# A link's values are read only up to this length, counted before any parsing: a link of megabytes
# cost seconds per session to split. A shared link's layers take under 400 characters, and the
# longest valid value under 2,800: 8 Dense tokens whose dropout is a float written out in full
# (5e-324 takes 326 digits), as to_query writes them so that a value reads back as itself.
MAX_LINK_VALUE = 3000
# The sizes the Build page offers: close together where one more unit or filter matters, far
# apart where only the order of magnitude does (a slider over 1-512 moved 5 units a pixel).
UNIT_CHOICES = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
FILTER_CHOICES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128)


class ConfigError(ValueError):
    """A configuration value is out of range or garbled; the message says which and why."""


def _shorten(value: object, limit: int = 40) -> str:
    """`value` as repr writes it, cut to `limit` characters: a link's values can be of any length,
    and a message must stay readable (escapes such as \\x00 count, so odd characters cannot blow it up)."""
    shown = repr(value[: limit + 1] if isinstance(value, str) else value)  # not all of a 2 MB value
    return shown if len(shown) <= limit else shown[:limit] + "..."


def _plain(number: float) -> str:
    """`number` exactly, and without an exponent: '-' separates a layer token's parts, so a
    dropout of 1e-05 would break its token, and a rounded value would not read back as itself."""
    return f"{Decimal(repr(number)).normalize():f}"


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {_shorten(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {_shorten(value)}")


def _check_float(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a number, got {_shorten(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {_shorten(value)}")


@dataclass(frozen=True)
class Dense:
    units: int = 128
    activation: str = "relu"
    dropout: float = 0.0
    kind: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        _check_int("Dense units", self.units, 1, 1024)
        _check_choice("Dense activation", self.activation, ACTIVATIONS)
        _check_float("Dropout", self.dropout, 0.0, 0.9)

    def token(self) -> str:
        parts = [self.kind, str(self.units), self.activation]
        if self.dropout:
            parts.append(_plain(self.dropout))
        return "-".join(parts)

    def describe(self) -> str:
        text = f"Dense {self.units} {self.activation}"
        return f"{text}, dropout {self.dropout:g}" if self.dropout else text


@dataclass(frozen=True)
class Conv:
    filters: int = 16
    kernel: int = 3
    activation: str = "relu"
    kind: ClassVar[str] = "conv"

    def __post_init__(self) -> None:
        _check_int("Conv filters", self.filters, 1, 128)
        _check_int("Conv kernel size", self.kernel, 1, 7)
        _check_choice("Conv activation", self.activation, ACTIVATIONS)

    def token(self) -> str:
        return f"{self.kind}-{self.filters}-{self.kernel}-{self.activation}"

    def describe(self) -> str:
        return f"Conv {self.filters}x{self.kernel}x{self.kernel} {self.activation}"


@dataclass(frozen=True)
class Pool:
    size: int = 2
    kind: ClassVar[str] = "pool"

    def __post_init__(self) -> None:
        _check_int("Pool size", self.size, 2, 4)

    def token(self) -> str:
        return f"{self.kind}-{self.size}"

    def describe(self) -> str:
        return f"MaxPool {self.size}x{self.size}"


Layer = Dense | Conv | Pool


def parse_layer(token: str) -> Layer:
    """`dense-128-relu[-0.2]`, `conv-16-3-relu`, `pool-2`, or a bare `128` for a relu Dense."""
    parts = token.strip().lower().split("-")
    try:
        if len(parts) == 1:
            return Dense(int(parts[0]))
        kind, args = parts[0], parts[1:]
        if kind == "dense" and len(args) in (2, 3):
            return Dense(int(args[0]), args[1], float(args[2]) if len(args) == 3 else 0.0)
        if kind == "conv" and len(args) == 3:
            return Conv(int(args[0]), int(args[1]), args[2])
        if kind == "pool" and len(args) == 1:
            return Pool(int(args[0]))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"layer {_shorten(token)} has a value that is not a number") from None
    raise ConfigError(
        f"layer {_shorten(token)} is not one of dense-UNITS-ACTIVATION[-DROPOUT], "
        "conv-FILTERS-KERNEL-ACTIVATION, pool-SIZE"
    )


def parse_layers(text: str) -> tuple[Layer, ...]:
    # Counted before any split, so that a link of a million tokens costs no more than a short one.
    if len(text) > MAX_LINK_VALUE:
        raise ConfigError(f"at most {MAX_LINK_VALUE} characters of layers, got {len(text):,}")
    if text.count(",") >= MAX_HIDDEN_LAYERS:
        raise ConfigError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {text.count(',') + 1}")
    tokens = [token for token in text.split(",") if token.strip()]
    return tuple(parse_layer(token) for token in tokens)


def feature_map_sides(layers: tuple[Layer, ...]) -> list[int]:
    """Side of the square feature map after each conv/pool layer ('same' padding, floor pooling)."""
    side, sides = IMAGE_SIDE, []
    for layer in layers:
        if isinstance(layer, Pool):
            side //= layer.size
        if not isinstance(layer, Dense):
            sides.append(side)
    return sides


def _default_layers() -> tuple[Layer, ...]:
    return (Dense(128), Dense(64))


def _layers_text(layers: tuple[Layer, ...]) -> str:
    return ",".join(layer.token() for layer in layers)


def _word(raw: str) -> str:
    return raw.strip().lower()


@dataclass(frozen=True)
class QueryField:
    """How one ModelConfig field travels in a link: its key in the query string, how its value
    is written there, and how that text reads back (raising ValueError when it does not)."""

    name: str
    key: str
    write: Callable[[Any], str]
    read: Callable[[str], Any]


# One row per ModelConfig field, in the order links write them (the training cache's key keeps
# that order too). Keys are short so that links stay readable.
QUERY_FIELDS = (
    QueryField("layers", "layers", _layers_text, parse_layers),
    QueryField("optimizer", "opt", str, _word),
    QueryField("learning_rate", "lr", _plain, float),
    QueryField("schedule", "schedule", str, _word),
    QueryField("batch_size", "batch", str, int),
    QueryField("epochs", "epochs", str, int),
    QueryField("validation_split", "val", _plain, float),
    QueryField("train_images", "images", str, int),
    QueryField("augment", "augment", str, _word),
    QueryField("data", "data", str, _word),
)


def held_back(images: int, validation_split: float) -> int:
    """How many of `images` are held back for validation, as Keras's validation_split does: the
    last ones, rounded down."""
    return int(images * validation_split)


@dataclass(frozen=True)
class ModelConfig:
    """The defaults are the tutorial MLP: 128 relu, 64 relu, adam, 3 epochs, batch 32, 10% validation."""

    layers: tuple[Layer, ...] = field(default_factory=_default_layers)
    optimizer: str = "adam"
    learning_rate: float = 0.001
    schedule: str = "constant"
    batch_size: int = 32
    epochs: int = 3
    validation_split: float = 0.1
    train_images: int = MNIST_TRAIN_IMAGES
    augment: str = "none"
    data: str = "mnist"

    def __post_init__(self) -> None:
        if len(self.layers) > MAX_HIDDEN_LAYERS:
            raise ConfigError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.layers)}")
        kinds = [layer.kind for layer in self.layers]
        if "dense" in kinds and any(k != "dense" for k in kinds[kinds.index("dense") :]):
            raise ConfigError("Conv and MaxPool layers must come before the Dense layers")
        if any(side < 1 for side in feature_map_sides(self.layers)):
            raise ConfigError("too much pooling: the feature maps would shrink below 1x1")
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_float("learning rate", self.learning_rate, 1e-5, 1.0)
        _check_choice("learning rate schedule", self.schedule, SCHEDULES)
        _check_int("batch size", self.batch_size, 1, 2048)
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_float("validation split", self.validation_split, 0.0, 0.5)
        _check_int("training images", self.train_images, 100, MNIST_TRAIN_IMAGES)
        _check_choice("augmentation", self.augment, AUGMENTATIONS)
        _check_choice("training data", self.data, DATASETS)
        rows = summarize(self)
        params = total_params(rows)
        if params > MAX_PARAMS:
            raise ConfigError(
                f"at most {MAX_PARAMS:,} weights on a shared server, this network has {params:,}: "
                "use fewer units or filters, or pool before the Dense layers"
            )
        values = self.batch_size * sum(math.prod(row.output_shape) for row in rows)
        if values > MAX_BATCH_VALUES:
            raise ConfigError(
                f"a batch of {self.batch_size} would hold {values:,} values at once, at most "
                f"{MAX_BATCH_VALUES:,} on a shared server: use a smaller batch, fewer filters or more pooling"
            )
        work = training_work(self)
        if work > MAX_TRAINING_WORK:
            raise ConfigError(
                f"training this network would take about {duration(work / TRAINING_PACE)} on this server, "
                f"at most {duration(MAX_TRAINING_SECONDS)} so that everyone gets a turn: "
                f"{_lighter(self, work)}"
            )

    @property
    def pen_images(self) -> int:
        """The pen-drawn digits each epoch trains on besides MNIST's (never held back)."""
        return PEN_DIGITS * PEN_DRAWINGS if self.data == "mnist-pen" else 0

    @property
    def training_images(self) -> int:
        """The images each epoch trains on: MNIST's, less those Keras's validation_split holds
        back, and any pen-drawn digits."""
        return self.train_images - held_back(self.train_images, self.validation_split) + self.pen_images

    @property
    def has_conv(self) -> bool:
        return any(not isinstance(layer, Dense) for layer in self.layers)

    def with_layers(self, layers: tuple[Layer, ...]) -> ModelConfig:
        return replace(self, layers=tuple(layers))

    def to_query(self) -> dict[str, str]:
        return {f.key: f.write(getattr(self, f.name)) for f in QUERY_FIELDS}

    @classmethod
    def from_query(cls, query: dict[str, str]) -> tuple[ModelConfig, list[str]]:
        """Never raises: each bad value is replaced by its default and reported in the messages."""
        default = cls()
        # Each value is checked alone against the configuration that asks least of the server's
        # limits, so that a value refused there fits no configuration: the layers of a link of
        # 100 images for 1 epoch fit, though not with the default's 60,000 for 3.
        lightest = cls(layers=(), batch_size=1, epochs=1, train_images=100)
        values, problems = {}, []
        for f in QUERY_FIELDS:
            if f.key not in query:
                continue
            raw = str(query[f.key])
            try:
                if len(raw) > MAX_LINK_VALUE:  # before any parsing: see MAX_LINK_VALUE
                    raise ConfigError(f"at most {MAX_LINK_VALUE} characters, got {len(raw):,}")
                value = f.read(raw)
                replace(lightest, **{f.name: value})
            except ValueError as error:  # a ConfigError, or int() or float() refusing the text
                problems.append(f"Ignored {f.key}={_shorten(raw)}: {_reason(error)}. Using the default.")
                continue
            values[f.name] = value
        try:
            return replace(default, **values), problems
        except ConfigError as error:  # fields valid alone but not together
            return default, [*problems, f"Ignored the link's configuration: {error}. Using the default."]

    def describe(self) -> str:
        hidden = " -> ".join(layer.describe() for layer in self.layers) or "no hidden layers"
        distort = ", digits distorted" if self.augment == "distort" else ""
        pens = ", with 30 writers' pen digits" if self.data == "mnist-pen" else ""
        falling = " falling to 0" if self.schedule == "cosine" else ""
        training = f"{self.optimizer} lr {self.learning_rate:g}{falling}, {plural(self.epochs, 'epoch')}{distort}{pens}"
        return f"{hidden}; {training}"


@dataclass(frozen=True)
class LayerRow:
    name: str
    description: str
    output_shape: tuple[int, ...]
    params: int


def layer_names(config: ModelConfig) -> list[str]:
    """Explicit, stable names: conv1, pool1, conv2, ..., dense1, dense2 (Keras auto names drift)."""
    return _names(config.layers)


def _names(layers: tuple[Layer, ...]) -> list[str]:
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        names.append(f"{layer.kind}{counts[layer.kind]}")
    return names


def summarize(config: ModelConfig) -> list[LayerRow]:
    return layer_rows(config.layers)


def layer_rows(layers: tuple[Layer, ...]) -> list[LayerRow]:
    """`summarize` for any stack of layers, also one too big to be a ModelConfig: so that a
    message can say by how much."""
    rows = [LayerRow("pixels", f"Input {IMAGE_SIDE}x{IMAGE_SIDE} image", (IMAGE_SIDE, IMAGE_SIDE), 0)]
    side, channels, width = IMAGE_SIDE, 1, None
    for name, layer in zip(_names(layers), layers):
        if isinstance(layer, Conv):
            params = (layer.kernel * layer.kernel * channels + 1) * layer.filters
            channels = layer.filters
            rows.append(LayerRow(name, layer.describe(), (side, side, channels), params))
        elif isinstance(layer, Pool):
            side //= layer.size
            rows.append(LayerRow(name, layer.describe(), (side, side, channels), 0))
        else:
            if width is None:
                width = side * side * channels
                rows.append(LayerRow("flatten", "Flatten", (width,), 0))
            rows.append(LayerRow(name, layer.describe(), (layer.units,), (width + 1) * layer.units))
            width = layer.units
    if width is None:
        width = side * side * channels
        rows.append(LayerRow("flatten", "Flatten", (width,), 0))
    rows.append(LayerRow("output", f"Dense {CLASSES} softmax", (CLASSES,), (width + 1) * CLASSES))
    return rows


def total_params(rows: list[LayerRow]) -> int:
    return sum(row.params for row in rows)


def multiply_adds(layers: tuple[Layer, ...]) -> int:
    """Multiply-adds to read one image forward: each Conv output value takes kernel x kernel x
    input channels of them ('same' padding keeps the side), each Dense unit one per input, the
    output layer too. Pooling and activations only compare or apply a function: left out."""
    side, channels, width, total = IMAGE_SIDE, 1, None, 0
    for layer in layers:
        if isinstance(layer, Conv):
            total += side * side * layer.kernel * layer.kernel * channels * layer.filters
            channels = layer.filters
        elif isinstance(layer, Pool):
            side //= layer.size
        else:
            width = width or side * side * channels
            total += width * layer.units
            width = layer.units
    return total + (width or side * side * channels) * CLASSES


# Backpropagation costs about twice the forward pass: for each layer, one product for the
# gradient of its inputs and one for the gradient of its weights, each as big as the forward one.
FORWARD_AND_BACKWARD = 3


def training_work(config: ModelConfig) -> int:
    """Multiply-adds to train `config`: every training image, forward and backward, every epoch."""
    per_image = multiply_adds(config.layers) * FORWARD_AND_BACKWARD
    return per_image * config.training_images * config.epochs


def training_seconds(config: ModelConfig) -> float:
    """Estimated seconds to train `config` on this server (see TRAINING_PACE)."""
    return training_work(config) / TRAINING_PACE


def duration(seconds: float) -> str:
    """A training's length as a student reads it: seconds under a minute and a half, else minutes or hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.0f} hours"


def _lighter(config: ModelConfig, work: int) -> str:
    """What would bring `config` within MAX_TRAINING_WORK: the most epochs that fit, or when not
    even one does, the most training images for one epoch, and always the network's own size."""
    smaller = "or use fewer filters or units, or pool earlier"
    epoch = work // config.epochs
    if epoch <= MAX_TRAINING_WORK:
        return f"train for {plural(int(MAX_TRAINING_WORK // epoch), 'epoch')} or fewer, {smaller}"
    # Rounded down to hundreds, as validation_split's rounding may add an image. At least 600
    # fit: the most work an image can take within MAX_PARAMS and MAX_BATCH_VALUES is under 2e10.
    per_image = epoch / config.training_images
    mnist = MAX_TRAINING_WORK // per_image - config.pen_images
    images = int(mnist / (1 - config.validation_split)) // 100 * 100
    if images < 100:
        return f"train on MNIST alone, {smaller}"
    return f"one epoch alone is too long, so train on {images:,} images or fewer for 1 epoch, {smaller}"


def count_params(config: ModelConfig) -> int:
    return total_params(summarize(config))


def with_layer_added(config: ModelConfig, layer: Layer) -> tuple[ModelConfig, dict[int, str]]:
    """`config` with `layer` added where its kind goes, and why any other layer came with it,
    by its index in the new configuration.

    A Conv layer keeps the size of the image it reads ('same' padding) and multiplies the
    values by its filters: on the tutorial MLP, 16 filters hand dense1 12,544 values instead
    of 784, and the network grows past MAX_PARAMS. CNNs pool after their convolutions for that
    reason, so when a Conv layer fits only that way, a MaxPool 2x2 comes with it. When it does
    not fit either way, the ConfigError says which Dense size would make room for it."""
    # Conv and pooling layers go before the Flatten, i.e. after the last of their kind.
    at = sum(not isinstance(x, Dense) for x in config.layers)
    if isinstance(layer, Dense):
        at = len(config.layers)
    try:
        return config.with_layers(_inserted(config.layers, at, layer)), {}
    except ConfigError as error:
        if not isinstance(layer, Conv):
            raise
        alone = error
    pool = Pool(2)
    try:
        pooled = config.with_layers(_inserted(config.layers, at, layer, pool))
    except ConfigError as error:
        raise ConfigError(_how_to_add(config, at, layer, pool, error)) from None
    params = total_params(layer_rows(_inserted(config.layers, at, layer)))
    why = (
        f"the network would have {params:,} parameters, over this server's limit of {MAX_PARAMS:,}"
        if params > MAX_PARAMS
        else str(alone)
    )
    return pooled, {at + 1: f"Added with the {layer.describe()} layer above: without pooling, {why}."}


def _inserted(layers: tuple[Layer, ...], at: int, *new: Layer) -> tuple[Layer, ...]:
    return layers[:at] + new + layers[at:]


def _how_to_add(config: ModelConfig, at: int, layer: Conv, pool: Pool, error: ConfigError) -> str:
    """Why `layer` fits neither alone nor pooled, and the most units the first Dense layer may
    keep for it to fit: the Build page's Add button takes no size, so that is what to change."""
    refusal = (
        f"a {layer.describe()} layer would take this network past this server's limits, even with "
        f"a {pool.describe()} after it"
    )
    found = next(((index, x) for index, x in enumerate(config.layers) if isinstance(x, Dense)), None)
    if found is not None:
        first, dense = found
        for units in sorted((u for u in UNIT_CHOICES if u < dense.units), reverse=True):
            smaller = replace(dense, units=units)
            layers = (*config.layers[:first], smaller, *config.layers[first + 1 :])
            if any(_builds(config, _inserted(layers, at, *new)) for new in ((layer,), (layer, pool))):
                return f"{refusal}: set layer {first + 1} ({dense.describe()}) to {units} units or fewer first"
    return f"{refusal}: {error}"


def _builds(config: ModelConfig, layers: tuple[Layer, ...]) -> bool:
    try:
        config.with_layers(layers)
    except ConfigError:
        return False
    return True


def plural(n: int, noun: str) -> str:
    """'1 epoch', '3 epochs': `n` and `noun`, with an s unless there is one."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _reason(error: Exception) -> str:
    if isinstance(error, ConfigError):
        return str(error)
    return "not a number"


PRESETS: dict[str, ModelConfig] = {
    "Tutorial MLP": ModelConfig(),
    "Shallow net": ModelConfig(layers=(Dense(32),)),
    "Deep net": ModelConfig(
        layers=(Dense(256), Dense(128), Dense(128), Dense(64), Dense(32)),
    ),
    "Small CNN": ModelConfig(
        layers=(Conv(16, 3), Pool(2), Conv(32, 3), Pool(2), Dense(64)),
        epochs=5,
    ),
    # Twice the Small CNN's filters, trained on bent MNIST digits and on 30 people's pen-drawn ones,
    # its learning rate falling to 0: the recipe that read writers it never saw best (docs/handwriting.md).
    "Handwriting CNN": ModelConfig(
        layers=(Conv(32, 3), Pool(2), Conv(64, 3), Pool(2), Dense(128)),
        schedule="cosine",
        epochs=5,
        augment="distort",
        data="mnist-pen",
    ),
}
# What the Draw page reads with before anyone trains: the configuration that reads real
# handwriting best among those measured (`python -m deepviz handwriting`; see docs/handwriting.md).
# Where the pen-drawn digits are missing it trains on MNIST alone (store.default_config).
# The tutorial MLP stays `ModelConfig()`, the Build page's start and one click away.
DEFAULT_MODEL = "Handwriting CNN"
