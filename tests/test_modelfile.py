import io
import json
import re
import zipfile

import keras
import numpy as np
import pytest
from keras import layers

from deepviz.cli import main
from deepviz.config import Conv, Dense, ModelConfig, Pool
from deepviz.modelfile import check_bytes, load_bytes, model_bytes
from deepviz.modelfile.archive import MAX_MODEL_BYTES
from deepviz.modelfile.errors import ModelFileError
from deepviz.network import build_model


@keras.saving.register_keras_serializable(package="deepviz_test")
class Doubled(layers.Layer):
    def call(self, inputs):
        return inputs * 2


def sequential(*hidden, shape=(28, 28, 1)):
    return keras.Sequential([keras.Input(shape), *hidden])


def small_cnn(shape=(28, 28, 1)):
    return sequential(
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
        shape=shape,
    )


def zipped(members: dict[str, bytes | str], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def edited(data: bytes, edit) -> bytes:
    """The .keras file with its config.json changed by `edit`, as a hand-crafted file would be."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    edit(config)
    return zipped({**members, "config.json": json.dumps(config)})


def refused(data: bytes, message: str) -> str:
    with pytest.raises(ModelFileError) as error:
        load_bytes(data)
    text = str(error.value)
    assert message in text and "\n" not in text
    return text


def images(count=4):
    return np.random.default_rng(1).random((count, 28, 28), dtype=np.float32)


@pytest.fixture(scope="module")
def cnn_bytes():
    return model_bytes(small_cnn())


@pytest.mark.parametrize(
    "layers_",
    [
        (Dense(32, "tanh"), Dense(16, "sigmoid", 0.25)),
        (Conv(4, 3, "gelu"), Pool(2), Conv(6, 5, "linear"), Pool(3), Dense(12, "relu", 0.5)),
    ],
)
def test_a_deepviz_model_round_trips(layers_):
    config = ModelConfig(layers=layers_)
    model = build_model(config)
    loaded, rebuilt = load_bytes(model_bytes(model))
    assert loaded.layers == config.layers
    np.testing.assert_allclose(rebuilt(images()), model(images()), rtol=1e-5, atol=1e-6)


def test_a_keras_sequential_cnn_is_accepted(cnn_bytes):
    assert check_bytes(cnn_bytes)["class_name"] == "Sequential"
    config, model = load_bytes(cnn_bytes)
    assert config.layers == (Conv(8, 3, "relu"), Pool(2))
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)


HDF5 = b"\x89HDF\r\n\x1a\n" + bytes(2048)
WEIGHTS = {"model.weights.h5": HDF5}


SEQUENTIAL_WITHOUT_LAYERS = '{"class_name": "Sequential", "module": "keras", "config": {"layers": 7}}'
OPTIMIZER = '{"class_name": "Adam", "module": "keras.optimizers"}'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(bytes(MAX_MODEL_BYTES + 1), "The file is 20.0 MB, larger than the 20.0 MB", id="too-big"),
        pytest.param(b"print('hello')", "This is not a Keras model file", id="not-a-zip"),
        pytest.param(HDF5, "This is a legacy Keras .h5 file", id="h5"),
        pytest.param(
            zipped({"config.json": "{}", **WEIGHTS, "evil.py": "import os"}),
            "'evil.py', which a .keras model file does not have",
            id="unexpected-entry",
        ),
        pytest.param(
            zipped({"config.json": "{}", **WEIGHTS, "assets/../../evil.py": ""}),
            "unsafe path, 'assets/../../evil.py'",
            id="path-traversal",
        ),
        pytest.param(
            zipped({"/etc/cron.d/evil": "", "config.json": "{}", **WEIGHTS}),
            "unsafe path, '/etc/cron.d/evil'",
            id="absolute-path",
        ),
        pytest.param(zipped({"config.json": "{}"}), "has no model.weights.h5", id="no-weights"),
        pytest.param(
            zipped({"config.json": "{not json", **WEIGHTS}),
            "config.json is not valid JSON",
            id="garbage",
        ),
        pytest.param(
            zipped({"config.json": "[" * 100_000 + "]" * 100_000, **WEIGHTS}),
            "config.json is not valid JSON",
            id="deeply-nested",
        ),
        pytest.param(
            zipped({"config.json": "[1, 2, 3]", **WEIGHTS}),
            "config.json does not describe a Keras model",
            id="json-list",
        ),
        pytest.param(
            zipped({"config.json": SEQUENTIAL_WITHOUT_LAYERS, **WEIGHTS}),
            "config.json does not describe a Keras model",
            id="no-layers",
        ),
        pytest.param(
            zipped({"config.json": OPTIMIZER, **WEIGHTS}),
            "holds 'Adam', not a Keras Sequential or Functional model",
            id="not-a-model",
        ),
    ],
)
def test_files_that_are_not_model_archives_are_refused(data, message):
    refused(data, message)


def test_a_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("config.json", "{}")
        with archive.open("model.weights.h5", "w", force_zip64=True) as file:
            for _ in range(101):
                file.write(bytes(1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    refused(buffer.getvalue(), "would unpack to 101.0 MB, more than the 100.0 MB")


def test_a_tightly_packed_entry_is_refused():
    bomb = zipped({"config.json": "{}", "model.weights.h5": bytes(2 * 1024 * 1024)}, zipfile.ZIP_DEFLATED)
    refused(bomb, "'model.weights.h5' is packed far more tightly")


def test_a_lambda_that_writes_a_file_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "the-lambda-ran"
    path = str(marker)  # saved with the lambda's code, as its closure
    inputs = keras.Input((28, 28))
    # Writes the marker whenever Keras calls it, which it does when it builds the model.
    touched = layers.Lambda(lambda x: (open(path, "w").close(), x)[1], name="sneaky")(inputs)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(touched))
    data = model_bytes(keras.Model(inputs, outputs))
    marker.unlink()

    refused(data, "Layer 'sneaky' is a Lambda layer, which would run Python code from the file")
    assert not marker.exists()

    # The file is really dangerous: loaded without safe mode, Keras runs the lambda.
    (tmp_path / "model.keras").write_bytes(data)
    keras.saving.load_model(tmp_path / "model.keras", safe_mode=False)
    assert marker.exists()


def dense_config(config: dict) -> dict:
    dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
    return dense[0]["config"]


def conv_config(config: dict) -> dict:
    conv = config["config"]["layers"][1]
    assert conv["class_name"] == "Conv2D"
    return conv["config"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda config: dense_config(config).update(activation="elu"), "uses the activation 'elu'"),
        (
            lambda config: dense_config(config).update(
                activation={
                    "module": "evil",
                    "class_name": "function",
                    "config": "boom",
                    "registered_name": "evil>boom",
                }
            ),
            "uses the activation a custom function",
        ),
        (
            lambda config: dense_config(config).update(
                kernel_initializer={
                    "class_name": "__lambda__",
                    "config": {"code": "", "defaults": None, "closure": None},
                }
            ),
            "contains Python code",
        ),
        (
            lambda config: dense_config(config).update(
                kernel_initializer={
                    "module": "evil",
                    "class_name": "Boom",
                    "config": {},
                    "registered_name": "evil>Boom",
                }
            ),
            "contains a custom 'Boom' object",
        ),
        (
            lambda config: config["config"]["layers"][1].update(class_name="Activation"),
            "is of type 'Activation', which deepviz cannot show",
        ),
        (lambda config: config.update(module="evil"), "not a Keras Sequential or Functional model"),
        (
            lambda config: config["config"]["layers"].pop(0),
            "does not say what input the model takes",
        ),
        (
            lambda config: conv_config(config).update(kernel_size="huge"),
            "Layer 'conv' has settings deepviz cannot read",
        ),
        (
            lambda config: conv_config(config).update(filters=128),
            "describes 252,170 weights but its weights file is too small",
        ),
    ],
)
def test_hand_crafted_configs_are_refused_before_keras_reads_them(cnn_bytes, edit, message):
    with pytest.raises(ModelFileError, match=re.escape(message)):
        check_bytes(edited(cnn_bytes, edit))


def test_messages_stay_one_short_line_whatever_the_file_says(cnn_bytes):
    def edit(config):
        conv_config(config).update(name="evil\n" * 10_000, padding="\n" * 10_000)

    with pytest.raises(ModelFileError, match=r"Layer 'evil.*cannot be shown: it has padding") as error:
        check_bytes(edited(cnn_bytes, edit))
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


def test_a_custom_registered_layer_is_refused():
    model = sequential(Doubled(name="doubled"), layers.Flatten(), layers.Dense(10, activation="softmax"))
    refused(model_bytes(model), "Layer 'doubled' is a custom layer ('deepviz_test>Doubled')")


def test_a_nested_model_is_refused():
    inner = keras.Sequential([keras.Input((784,)), layers.Dense(16)], name="inner")
    model = sequential(layers.Flatten(), inner, layers.Dense(10, activation="softmax"))
    refused(model_bytes(model), "Layer 'inner' is a whole model nested inside the model")


def test_other_image_sizes_are_refused():
    refused(model_bytes(small_cnn(shape=(32, 32, 1))), "The model takes 32 x 32 x 1 inputs")


def test_a_half_precision_model_is_refused():
    model = sequential(layers.Flatten(), layers.Dense(10, activation="softmax", dtype="float16", name="out"))
    refused(model_bytes(model), "Layer 'out' computes in 'float16'")


def test_a_layer_used_twice_is_refused():
    inputs = keras.Input((28, 28))
    shared = layers.Dense(784, name="shared")
    hidden = shared(shared(layers.Flatten()(inputs)))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(hidden))
    refused(model_bytes(model), "Layer 'shared' does not simply take the output of the layer before it")


def softmax():
    return layers.Dense(10, activation="softmax")


@pytest.mark.parametrize(
    ("network", "message"),
    [
        (
            lambda: [layers.Flatten(), layers.Dense(5, activation="softmax")],
            "The model gives 5 outputs",
        ),
        (
            lambda: [layers.Flatten(), layers.Dense(10)],
            "is not what deepviz needs: a Dense layer of 10 units with softmax",
        ),
        (
            lambda: [layers.Conv2D(4, 3, name="c"), layers.Flatten(), softmax()],
            "Layer 'c' cannot be shown: it has padding 'valid'",
        ),
        (
            lambda: [layers.Conv2D(4, 3, strides=2, padding="same"), layers.Flatten(), softmax()],
            "it has strides (2, 2)",
        ),
        (
            lambda: [layers.Conv2D(4, (3, 5), padding="same"), layers.Flatten(), softmax()],
            "it has a 3 x 5 kernel",
        ),
        (
            lambda: [layers.MaxPooling2D(2, strides=1), layers.Flatten(), softmax()],
            "it has strides (1, 1)",
        ),
        (lambda: [layers.Flatten(), layers.Dropout(0.5), softmax()], "it has Flatten before it"),
        (lambda: [layers.Flatten(), layers.Dense(32, use_bias=False), softmax()], "it has no bias"),
        (
            lambda: [layers.Flatten(), layers.Dense(2000), softmax()],
            "Dense units must be between 1 and 1024, got 2000",
        ),
        (
            lambda: [layers.Flatten(), *(layers.Dense(8) for _ in range(9)), softmax()],
            "at most 8 hidden layers, got 9",
        ),
    ],
)
def test_networks_deepviz_cannot_rebuild_exactly_are_refused(network, message):
    refused(model_bytes(sequential(*network())), message)


def test_inspect_prints_the_layers(cnn_bytes, tmp_path, capsys):
    path = tmp_path / "model.keras"
    path.write_bytes(cnn_bytes)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "Conv 8x3x3 relu" in out and "14 x 14 x 8" in out
    assert out.rstrip().endswith("Total params: 15,770")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a model", "This is not a Keras model file"), (None, "No such file or directory")],
)
def test_inspect_refuses_with_one_line(content, message, tmp_path, capsys):
    path = tmp_path / "model.keras"
    if content is not None:
        path.write_bytes(content)
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepviz: error: ") and message in err
