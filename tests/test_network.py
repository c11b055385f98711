import subprocess
import sys

import numpy as np
import pytest

from deepviz.activations import LayerReader
from deepviz.config import (
    PRESETS,
    Conv,
    Dense,
    ModelConfig,
    Pool,
    count_params,
    layer_names,
    summarize,
)
from deepviz.network import build_model

CONFIGS = {
    **PRESETS,
    "odd": ModelConfig(layers=(Conv(3, 5, "tanh"), Pool(3), Conv(5, 1, "gelu"), Dense(17, "sigmoid", 0.3))),
    "conv only": ModelConfig(layers=(Conv(4, 3), Pool(4))),
    "no hidden layers": ModelConfig(layers=()),
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_summary_matches_keras(config):
    model = build_model(config)
    keras_rows = [(layer.name, tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers]
    keras_rows = [row for row in keras_rows if row[0] != "channels" and not row[0].endswith("_dropout")]
    assert [(row.name, row.output_shape, row.params) for row in summarize(config)] == keras_rows
    assert count_params(config) == model.count_params()


def test_the_tutorial_mlp_has_the_tutorial_shape():
    rows = summarize(ModelConfig())
    assert [row.name for row in rows] == ["pixels", "flatten", "dense1", "dense2", "output"]
    assert count_params(ModelConfig()) == 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10


def test_layers_get_stable_explicit_names():
    config = PRESETS["Small CNN"]
    assert layer_names(config) == ["conv1", "pool1", "conv2", "pool2", "dense1"]
    assert [layer.name for layer in build_model(config).layers][-3:] == ["flatten", "dense1", "output"]


def test_compiled_as_configured():
    config = ModelConfig(optimizer="rmsprop", learning_rate=0.01)
    model = build_model(config)
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.loss == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("config", [PRESETS["Tutorial MLP"], PRESETS["Small CNN"], ModelConfig(layers=())])
def test_reader_returns_every_visible_layer_with_its_shape(config):
    # No hidden layer: Keras gives a model with one output its tensor alone, not in a list.
    model = build_model(config)
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    activations = LayerReader(model)(image)
    expected = [(row.name, row.output_shape) for row in summarize(config) if row.name != "flatten"]
    assert [(a.name, a.values.shape) for a in activations] == expected
    assert next(a.kind for a in activations) == "input" and activations[-1].kind == "output"
    np.testing.assert_allclose(activations[-1].values, model(image[np.newaxis]).numpy()[0], rtol=1e-5, atol=1e-6)
    assert activations[-1].values.sum() == pytest.approx(1.0, abs=1e-5)


def test_reader_skips_dropout_and_reads_inference_values():
    model = build_model(ModelConfig(layers=(Dense(32, dropout=0.5),)))
    reader = LayerReader(model)
    image = np.ones((28, 28), np.float32)
    assert [a.name for a in reader(image)] == ["pixels", "dense1", "output"]
    np.testing.assert_array_equal(reader(image)[1].values, reader(image)[1].values)  # no dropout noise


def test_reader_works_on_a_model_loaded_from_disk(tmp_path):
    import keras

    model = build_model(PRESETS["Small CNN"])
    model.save(tmp_path / "cnn.keras")
    loaded = keras.models.load_model(tmp_path / "cnn.keras")
    image = np.zeros((28, 28), np.float32)
    assert [a.name for a in LayerReader(loaded)(image)] == [a.name for a in LayerReader(model)(image)]


def test_reader_batches_match_single_images():
    reader = LayerReader(build_model(PRESETS["Small CNN"]))
    images = np.random.default_rng(3).random((7, 28, 28)).astype(np.float32)
    batched = reader.batch(images, chunk=3)
    assert [layer.shape[0] for layer in batched] == [7] * len(reader.names)
    for index in (0, 4, 6):
        for single, layer in zip(reader(images[index]), batched):
            np.testing.assert_allclose(single.values, layer[index], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["Tutorial MLP", "Small CNN"])
def test_reader_replays_other_weights_without_writing_them(name):
    """A training snapshot stands in for the model's weights for one call; the model, which
    other sessions may share, keeps its own."""
    model, other = build_model(PRESETS[name]), build_model(PRESETS[name])
    own = model.get_weights()
    reader = LayerReader(model)
    image = np.random.default_rng(5).random((28, 28)).astype(np.float32)
    replayed = reader(image, weights=other.get_weights())
    for mine, theirs in zip(replayed, LayerReader(other)(image)):
        np.testing.assert_allclose(mine.values, theirs.values, rtol=1e-5, atol=1e-6)
    assert not np.allclose(replayed[-1].values, reader(image)[-1].values)
    for before, after in zip(own, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_without_several_gpus_training_uses_tensorflows_default_device():
    import tensorflow as tf

    from deepviz.network import distribution

    assert len(tf.config.list_logical_devices("GPU")) < 2
    assert distribution() is tf.distribute.get_strategy()


MIRRORED = """
import sys
from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)
import deepviz.network
import deepviz.training
from deepviz.config import ModelConfig
from deepviz.data import read_dir
from deepviz.training import train

mnist = read_dir(sys.argv[1])
config = replace(ModelConfig(), epochs=2, train_images=6000)
deepviz.training.shuffled = tf.range  # the same batches in both trainings
runs = []
for strategy in (tf.distribute.get_strategy(), tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])):
    deepviz.network.distribution = lambda: strategy
    keras.utils.set_random_seed(3)
    runs.append(train(config, mnist))
single, mirrored = runs
weights = max(np.abs(a - b).max() for a, b in zip(single.model.get_weights(), mirrored.model.get_weights()))
rows = zip(single.history.rows, mirrored.history.rows)
logs = max(abs(a[name] - b[name]) for a, b in rows for name in ("loss", "val_loss"))
replicas = mirrored.model.distribute_strategy.num_replicas_in_sync
print(replicas, len(mirrored.snapshots), mirrored.test_accuracy, weights, logs)
"""


@pytest.mark.slow
def test_training_mirrored_over_two_devices_is_training_on_one(data_dir):
    """Each device trains on half of every batch and the optimizer adds up their gradients:
    the same weights and logs as on one device. Two logical CPUs stand in for two GPUs;
    TensorFlow takes that setting only before it starts."""
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(data_dir)], check=False, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    replicas, snapshots, accuracy, weights, logs = result.stdout.split()
    assert (replicas, snapshots) == ("2", "3") and float(accuracy) > 0.85
    assert float(weights) < 1e-4 and float(logs) < 1e-5


def test_the_fused_adam_update_is_keras_adam():
    import keras

    config = ModelConfig()
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28), np.float32), rng.integers(0, 10, 64)
    models = []
    for fused in (False, True):
        keras.utils.set_random_seed(1)
        model = build_model(config)
        if not fused:
            model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        models.append(model)
    plain, fused = models
    assert type(fused.optimizer) is keras.optimizers.Adam  # a saved file names plain Adam
    for a, b in zip(plain.get_weights(), fused.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
