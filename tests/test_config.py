from dataclasses import replace

import pytest

from deepviz.config import PRESETS, ConfigError, Conv, Dense, ModelConfig, Pool, parse_layers


def test_default_is_the_tutorial_mlp():
    config = ModelConfig()
    assert config.layers == (Dense(128, "relu"), Dense(64, "relu"))
    assert (config.optimizer, config.learning_rate, config.batch_size) == ("adam", 0.001, 32)
    assert (config.epochs, config.validation_split, config.train_images) == (3, 0.1, 60_000)
    assert PRESETS["Tutorial MLP"] == config


@pytest.mark.parametrize("config", PRESETS.values(), ids=PRESETS.keys())
def test_every_preset_round_trips_through_the_query_string(config):
    restored, problems = ModelConfig.from_query(config.to_query())
    assert problems == []
    assert restored == config


def test_a_custom_config_round_trips():
    config = ModelConfig(
        layers=(Conv(8, 5, "tanh"), Pool(3), Dense(300, "gelu", 0.25), Dense(7, "linear")),
        optimizer="rmsprop", learning_rate=0.0003, batch_size=100, epochs=12,
        validation_split=0.0, train_images=1234,
    )
    assert ModelConfig.from_query(config.to_query()) == (config, [])


def test_query_keys_are_short_and_readable():
    assert ModelConfig().to_query() == {
        "layers": "dense-128-relu,dense-64-relu", "opt": "adam", "lr": "0.001", "batch": "32",
        "epochs": "3", "val": "0.1", "images": "60000",
    }


def test_missing_keys_take_defaults():
    assert ModelConfig.from_query({"epochs": "5"}) == (replace(ModelConfig(), epochs=5), [])


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("epochs", "-3", "between 1 and 50"),
        ("epochs", "1e9", "not a number"),
        ("batch", "99999", "between 1 and 2048"),
        ("lr", "abc", "not a number"),
        ("lr", "nan", "must be a number"),
        ("val", "0.9", "between 0 and 0.5"),
        ("opt", "adagrad", "one of adam, sgd, rmsprop"),
        ("layers", "dense-128-swish", "Dense activation"),
        ("layers", "dense-0-relu", "Dense units"),
        ("layers", "blob-3", "is not one of"),
        ("layers", "dense-x-relu", "not a number"),
        ("layers", "dense-64-relu,conv-8-3-relu", "must come before"),
        ("layers", ",".join(["pool-2"] * 5), "shrink below 1x1"),
        ("layers", ",".join(["16"] * 9), "at most 8"),
        ("images", "50", "between 100 and 60000"),
    ],
)
def test_bad_values_are_refused_with_a_reason_and_the_default_used(key, value, reason):
    good_key, good_field = ("batch", "batch_size") if key == "epochs" else ("epochs", "epochs")
    config, problems = ModelConfig.from_query({key: value, good_key: "4"})
    assert len(problems) == 1
    assert key in problems[0] and reason in problems[0]
    assert config == replace(ModelConfig(), **{good_field: 4})  # the good field still applies


def test_very_long_values_are_shortened_in_the_message():
    _, problems = ModelConfig.from_query({"lr": "9" * 5000})
    assert len(problems[0]) < 200


@pytest.mark.parametrize(
    "query",
    [  # each once echoed whole, inside the reason as well as in "Ignored ...="
        {"layers": "x" * 100_000},
        {"layers": "dense-1-" + "a" * 100_000},
        {"opt": "x" * 100_000},
        {"batch": "9" * 4000},
        {"lr": "\U0010ffff" * 40},  # 10 characters each as repr writes it
    ],
    ids=["token", "activation", "optimizer", "huge-number", "escapes"],
)
def test_the_reason_shortens_long_values_too(query):
    _, problems = ModelConfig.from_query(query)
    assert len(problems) == 1 and len(problems[0]) < 300 and "..." in problems[0]


def test_numbers_go_into_the_link_exactly_and_without_exponents():
    config = ModelConfig(layers=(Dense(10, dropout=1e-5),), learning_rate=0.00012345678)
    query = config.to_query()
    assert query["layers"] == "dense-10-relu-0.00001"  # 1e-05's '-' once broke the layer token
    assert query["lr"] == "0.00012345678"  # once rounded to 0.000123457
    assert ModelConfig.from_query(query) == (config, [])
    plain = ModelConfig(learning_rate=1.0, validation_split=0.0).to_query()
    assert (plain["lr"], plain["val"]) == ("1", "0")


def test_layer_shorthand_and_case():
    assert parse_layers(" 128, Dense-64-TANH-0.5 ,conv-4-7-sigmoid, pool-4,") == (
        Dense(128), Dense(64, "tanh", 0.5), Conv(4, 7, "sigmoid"), Pool(4),
    )
    assert parse_layers("") == ()


def test_invalid_objects_cannot_be_made():
    with pytest.raises(ConfigError, match="whole number"):
        Dense(12.5)
    with pytest.raises(ConfigError, match="Dropout"):
        Dense(10, dropout=1.0)
    with pytest.raises(ConfigError, match="Conv kernel"):
        Conv(kernel=9)
    with pytest.raises(ConfigError, match="must come before"):
        ModelConfig(layers=(Dense(10), Pool(2)))


def test_describe_reads_like_the_network():
    assert ModelConfig().describe() == "Dense 128 relu -> Dense 64 relu; adam lr 0.001, 3 epochs"
    assert Dense(32, dropout=0.2).describe() == "Dense 32 relu, dropout 0.2"
    assert ModelConfig(layers=()).describe().startswith("no hidden layers")
    assert ModelConfig(epochs=1).describe().endswith(", 1 epoch")


def test_a_network_too_big_for_a_shared_server_is_refused_with_the_limit():
    with pytest.raises(ConfigError, match="at most 1,500,000 weights on a shared server, this network has 8,161,290"):
        ModelConfig(layers=(Dense(1024),) * 8)
    with pytest.raises(ConfigError, match="a batch of 2048 would hold 53,137,408 values at once, at most 20,000,000"):
        replace(PRESETS["Small CNN"], batch_size=2048)
    assert replace(PRESETS["Small CNN"], batch_size=256).batch_size == 256


def test_a_link_to_a_network_too_big_falls_back_to_the_default_with_the_reason():
    config, problems = ModelConfig.from_query({"layers": "conv-128-7-relu,dense-1024-relu"})
    assert config == ModelConfig()
    assert problems == [
        "Ignored layers='conv-128-7-relu,dense-1024-relu': at most 1,500,000 weights on a shared server, "
        "this network has 102,778,122: use fewer units or filters, or pool before the Dense layers. Using the default."
    ]
