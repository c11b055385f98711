"""The tutorial's MLP, one click away as a preset, must reproduce the tutorial's result; the
default model must do at least as well on MNIST."""

import pytest

from deepviz.config import DEFAULT_MODEL, PRESETS, ModelConfig

pytestmark = pytest.mark.slow  # trains on all of MNIST


def test_seed_configuration_reaches_tutorial_accuracy_on_full_mnist(tutorial_trained):
    assert tutorial_trained.config == ModelConfig() == PRESETS["Tutorial MLP"]
    assert tutorial_trained.complete and len(tutorial_trained.history.rows) == 3
    assert tutorial_trained.history.steps_per_epoch == 1688  # 54,000 images after validation_split 0.1, batch 32
    assert tutorial_trained.test_accuracy >= 0.97


def test_default_model_learns_pen_digits_too_and_reads_mnist_at_99_percent(default_trained, tutorial_trained):
    assert default_trained.config == PRESETS[DEFAULT_MODEL] == PRESETS["Handwriting CNN"]
    assert default_trained.config.data == "mnist-pen" and default_trained.complete
    assert default_trained.history.steps_per_epoch == 2391  # 54,000 MNIST digits and 22,482 pen-drawn, batch 32
    assert default_trained.test_accuracy >= max(0.99, tutorial_trained.test_accuracy)


def test_deepviz_training_matches_the_tutorial_script(mnist, monkeypatch):
    """The tutorial's own code and deepviz, with the same seed and the same batches (in order:
    the two shuffle differently), land on the same test accuracy: deepviz's steps and progress
    callback change the speed, not the arithmetic. Not to the digit: their graphs round floats
    differently (oneDNN picks kernels per graph), and over 5,000 Adam steps that grows into
    about 10 test digits either way (measured); test_steps.py checks the weights exactly."""
    import keras
    import tensorflow as tf

    from deepviz.training import train

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(mnist.x_train / 255.0, mnist.y_train, epochs=3, validation_split=0.1, shuffle=False, verbose=0)
    _, tutorial_accuracy = model.evaluate(mnist.x_test / 255.0, mnist.y_test, verbose=0)

    monkeypatch.setattr("deepviz.training.shuffled", tf.range)
    keras.utils.set_random_seed(0)
    assert train(ModelConfig(), mnist).test_accuracy == pytest.approx(tutorial_accuracy, abs=0.002)
