"""deepviz's own training loop (steps.py) is Keras's `fit`, faster: same weights, same logs."""

from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

from deepviz.config import Dense, ModelConfig
from deepviz.data import Mnist
from deepviz.training import TrainingRun

# 2 epochs of 20 batches, the last one short (630 = 19 x 32 + 22), and 70 validation images.
# Dropout draws the same masks in both loops (Keras seeds it per call), so it must be on in
# training and off in validation for the weights to agree.
CONFIG = ModelConfig(layers=(Dense(128, "relu", 0.2), Dense(64, "relu")), epochs=2, train_images=700, batch_size=32)


@pytest.fixture(scope="module")
def small(mnist):
    return Mnist(mnist.x_train[:700], mnist.y_train[:700], mnist.x_test[:200], mnist.y_test[:200], "small", full=False)


def fit_by_keras(config, mnist):
    keras.utils.set_random_seed(3)
    run = TrainingRun(config, mnist)  # the same starting weights and training/validation split
    (x, y), (x_val, y_val) = run.train, run.validation
    history = run.model.fit(
        mnist.scaled(x),
        y,
        validation_data=(mnist.scaled(x_val), y_val),
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=False,
        verbose=0,
    )
    return run.model, history.history


def fit_by_deepviz(config, mnist, monkeypatch):
    monkeypatch.setattr("deepviz.training.shuffled", tf.range)  # fit's order, with shuffle=False
    keras.utils.set_random_seed(3)
    run = TrainingRun(config, mnist)
    run.fit()
    return run.model, run.history.rows


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_the_loop_trains_exactly_as_fit_does(small, monkeypatch, optimizer):
    config = replace(CONFIG, optimizer=optimizer, learning_rate=0.01)
    keras_model, keras_logs = fit_by_keras(config, small)
    model, rows = fit_by_deepviz(config, small, monkeypatch)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)  # float rounding, summed over 40 steps
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [row[name] for row in rows] == pytest.approx(keras_logs[name], rel=1e-4), name
