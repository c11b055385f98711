"""Property tests: whatever a link or the canvas hands the library, it answers, never crashes.

Links are typed, pasted, truncated and edited by hand; these throw arbitrary text at the parsers
(and valid configurations through a link and back), and arbitrary images at the preparation.
"""

import math
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from deepviz.config import (
    ACTIVATIONS,
    IMAGE_SIDE,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    OPTIMIZERS,
    QUERY_FIELDS,
    ConfigError,
    Conv,
    Dense,
    ModelConfig,
    Pool,
)
from deepviz.lesson import HIDEABLE, lesson_url, read_lesson
from deepviz.preprocess import CANVAS_SIZE, INK_THRESHOLD, CanvasError, Preparation, ink_of, prepare

QUICK = settings(max_examples=150, deadline=None)
MESSAGE_LIMIT = 300  # a problem is shown as a warning above the page: a line or two, never a wall

# Text that has broken parsers before, or could: numbers in every spelling, limits, huge values.
NASTY = [
    "",
    " ",
    "-",
    ",",
    ",,,",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1",
    "0",
    "-0",
    "0.0",
    "1e9",
    "0x10",
    "1_000",
    "\u0663",
    "\x00",
    "\U0010ffff" * 50,
    "9" * 5000,
    "x" * 100_000,
    "dense-1e-05-relu",
    "dense-64-relu-nan",
    "conv-8-3",
    "pool-0",
    "pool-2," * 9,
]
LAYER_WORDS = st.sampled_from(["dense", "conv", "pool", *ACTIVATIONS])
LAYER_TOKENS = st.lists(st.one_of(LAYER_WORDS, st.integers(-5, 2000).map(str), st.text(max_size=5)), max_size=5).map(
    "-".join
)
VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(NASTY),
    st.integers().map(str),
    st.floats().map(repr),
    st.lists(LAYER_TOKENS, max_size=10).map(",".join),
)
KEYS = st.one_of(st.sampled_from([*(f.key for f in QUERY_FIELDS), "hide", "projector"]), st.text(max_size=20))
QUERIES = st.dictionaries(KEYS, VALUES, max_size=12)


def is_valid(config: ModelConfig) -> bool:
    return replace(config) == config  # replace() runs every check again


@QUICK
@given(QUERIES)
def test_any_link_reads_as_a_valid_lesson_with_short_messages(query):
    lesson = read_lesson(query)
    assert is_valid(lesson.config)
    assert set(lesson.hidden) <= set(HIDEABLE)
    assert all(0 < len(problem) < MESSAGE_LIMIT for problem in lesson.problems)


@QUICK
@given(st.lists(st.tuples(KEYS, VALUES), max_size=12))
def test_repeated_keys_in_a_real_query_string_read_as_the_last_one(pairs):
    query = dict(parse_qsl(urlencode(pairs), keep_blank_values=True))  # what the browser sends
    lesson = read_lesson(query)
    assert lesson == read_lesson(dict(pairs))  # dict(): the last of a repeated key wins
    assert is_valid(lesson.config)
    assert all(0 < len(problem) < MESSAGE_LIMIT for problem in lesson.problems)


@QUICK
@given(QUERIES)
def test_each_bad_value_is_reported_and_each_good_one_used(query):
    config, problems = ModelConfig.from_query(query)
    together = [p for p in problems if p.startswith("Ignored the link's configuration")]
    reported = 0
    for name, key in ((f.name, f.key) for f in QUERY_FIELDS):
        alone, alone_problems = ModelConfig.from_query({key: query[key]} if key in query else {})
        about_key = [p for p in problems if p.startswith(f"Ignored {key}=")]
        assert len(about_key) == len(alone_problems) <= 1  # bad alone, reported here too
        if not about_key and not together:
            assert getattr(config, name) == getattr(alone, name)
        reported += len(about_key)
    assert len(problems) == reported + len(together)


@QUICK
@given(QUERIES, st.dictionaries(st.text(max_size=20), VALUES, max_size=20))
def test_unknown_keys_change_nothing(query, extra):
    unknown = {key: value for key, value in extra.items() if key not in {f.key for f in QUERY_FIELDS}}
    assert ModelConfig.from_query(unknown | query) == ModelConfig.from_query(query)


def fit_pooling(layers: list) -> tuple:
    """The layers, leaving out each pool that would shrink the feature maps below 1x1."""
    side, kept = IMAGE_SIDE, []
    for layer in layers:
        if isinstance(layer, Pool):
            if side < layer.size:
                continue
            side //= layer.size
        kept.append(layer)
    return tuple(kept)


CONVS = st.builds(Conv, st.integers(1, 128), st.integers(1, 7), st.sampled_from(ACTIVATIONS))
POOLS = st.builds(Pool, st.integers(2, 4))
DENSES = st.builds(Dense, st.integers(1, 1024), st.sampled_from(ACTIVATIONS), st.floats(0.0, 0.9))


@st.composite
def configs(draw) -> ModelConfig:
    feature_layers = fit_pooling(draw(st.lists(st.one_of(CONVS, POOLS), max_size=MAX_HIDDEN_LAYERS)))
    dense = draw(st.lists(DENSES, max_size=MAX_HIDDEN_LAYERS - len(feature_layers)))
    try:
        return ModelConfig(
            layers=feature_layers + tuple(dense),
            optimizer=draw(st.sampled_from(OPTIMIZERS)),
            learning_rate=draw(st.floats(1e-5, 1.0)),
            batch_size=draw(st.integers(1, 2048)),
            epochs=draw(st.integers(1, MAX_EPOCHS)),
            validation_split=draw(st.floats(0.0, 0.5)),
            train_images=draw(st.integers(100, 60_000)),
        )
    except ConfigError:  # over the server's size limits: no one can make it, so it needs no link
        reject()


@QUICK
@given(configs(), st.sets(st.sampled_from(list(HIDEABLE))))
def test_every_valid_configuration_survives_a_link(config, hidden):
    assert ModelConfig.from_query(config.to_query()) == (config, [])
    url = lesson_url("http://school.example:8501", "draw", config, hidden)
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    assert read_lesson(query) == (config, hidden, False, "", [])


LONG = "x" * 100_000


@pytest.mark.parametrize(
    "query",
    [
        {"lr": "9" * 100_000},
        {"epochs": "9" * 4000},  # a whole number Python still reads, far out of range
        {"layers": LONG},
        {"layers": "dense-1-" + LONG},
        {"layers": "dense-" + "9" * 4000 + "-relu"},
        {"layers": ",".join(["dense-5-relu"] * 10_000)},
        {"layers": "conv-8-3-relu,dense-4-relu," * 5_000},
        {"opt": "\u00e9" * 100_000},
        {"layers": "\x00" * 1000, "opt": "\U0010ffff" * 1000},
        {"hide": "teacher," * 20_000, "projector": LONG},
        {f"key{i}": LONG[:100] for i in range(10_000)},
    ],
    ids=lambda query: ",".join(list(query)[:2]),
)
def test_huge_links_give_short_messages(query):
    lesson = read_lesson(query)
    assert is_valid(lesson.config)
    assert all(len(problem) < MESSAGE_LIMIT for problem in lesson.problems)


def past(bound, step: int):
    """The next value beyond `bound`, in the direction of `step` (+1 or -1)."""
    return bound + step if isinstance(bound, int) else math.nextafter(bound, step * math.inf)


def config_with(kind, name: str, value) -> ModelConfig:
    if kind is ModelConfig:
        return ModelConfig(**{name: value})
    return ModelConfig(layers=(kind(**{name: value}),))


# Each field's limits, and the words its error message names it by.
BOUNDS = [
    (Dense, "units", 1, 1024, "Dense units"),
    (Dense, "dropout", 0.0, 0.9, "Dropout"),
    (Conv, "filters", 1, 128, "Conv filters"),
    (Conv, "kernel", 1, 7, "Conv kernel size"),
    (Pool, "size", 2, 4, "Pool size"),
    (ModelConfig, "learning_rate", 1e-5, 1.0, "learning rate"),
    (ModelConfig, "batch_size", 1, 2048, "batch size"),
    (ModelConfig, "epochs", 1, MAX_EPOCHS, "epochs"),
    (ModelConfig, "validation_split", 0.0, 0.5, "validation split"),
    (ModelConfig, "train_images", 100, 60_000, "training images"),
]


@pytest.mark.parametrize(("kind", "name", "low", "high", "words"), BOUNDS, ids=[b[1] for b in BOUNDS])
def test_every_limit_is_allowed_and_one_past_it_refused_by_name(kind, name, low, high, words):
    for bound, outwards in ((low, -1), (high, 1)):
        config = config_with(kind, name, bound)
        assert ModelConfig.from_query(config.to_query()) == (config, [])
        with pytest.raises(ConfigError, match=words):
            config_with(kind, name, past(bound, outwards))


def test_the_layer_count_limit():
    ModelConfig(layers=(Dense(4),) * MAX_HIDDEN_LAYERS)
    with pytest.raises(ConfigError, match="hidden layers"):
        ModelConfig(layers=(Dense(4),) * (MAX_HIDDEN_LAYERS + 1))


# Canvases: what streamlit-drawable-canvas returns is RGBA uint8 (CANVAS_SIZE square, or larger on a
# high-DPI screen); the library also takes grey and RGB images of any size and number type.
DTYPES = [np.uint8, np.int16, np.float32, np.float64, bool]


def paint(shape: tuple, drawing: str, level: float, rng: np.random.Generator) -> np.ndarray:
    values = np.zeros(shape)
    if drawing == "full":
        values[:] = level
    elif drawing == "noise":
        values = level * rng.random(shape)
    elif drawing in ("dot", "box") and values.size:
        top, left = rng.integers(shape[0]), rng.integers(shape[1])
        size = 1 if drawing == "dot" else rng.integers(1, 100)
        values[top : top + size, left : left + size] = level
    return values


SIDES = st.one_of(st.integers(0, 8), st.integers(9, 600), st.just(CANVAS_SIZE))


@st.composite
def canvases(draw) -> np.ndarray:
    shape = (draw(SIDES), draw(SIDES), *draw(st.sampled_from([(), (3,), (4,)])))
    drawing = draw(st.sampled_from(["empty", "dot", "box", "full", "noise"]))
    level = draw(st.sampled_from([1.0, 13.0, 255.0, 1e6, -255.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    values = paint(shape, drawing, level, rng)
    if dtype.kind in "iu":  # keep integers in their range: casting wraps around unpredictably
        values = np.clip(values, np.iinfo(dtype).min, np.iinfo(dtype).max)
    return values.astype(dtype)


def in_unit_range(image: np.ndarray) -> bool:
    return bool(np.isfinite(image).all() and image.min(initial=0) >= 0 and image.max(initial=0) <= 1)


@settings(max_examples=200, deadline=None)
@given(canvases(), st.builds(Preparation, st.booleans(), st.booleans(), st.booleans()))
def test_any_canvas_is_prepared_or_has_nothing_to_read(canvas, steps):
    prepared = prepare(canvas, steps)
    if prepared is None:
        assert ink_of(canvas).max(initial=0) <= INK_THRESHOLD
        return
    assert prepared.image.shape == (28, 28) and prepared.image.dtype == np.float32
    assert prepared.image.sum() > 0
    for stage in (prepared.ink, prepared.crop, prepared.scaled, prepared.image):
        assert in_unit_range(stage)


NOT_IMAGES = st.one_of(
    st.sampled_from([(5,), (3, 3, 1), (3, 3, 2), (3, 3, 5), (2, 2, 2, 4), ()]).map(np.zeros),
    st.sampled_from([np.nan, np.inf, -np.inf]).map(lambda bad: np.full((5, 5, 4), bad)),
    st.just(np.full((4, 4), "ink")),
    st.just(np.full((4, 4, 3), None, dtype=object)),
)


@given(NOT_IMAGES)
@settings(max_examples=20, deadline=None)
def test_what_is_not_an_image_is_refused_clearly(canvas):
    with pytest.raises(CanvasError, match=r"expected|not finite"):
        prepare(canvas)
