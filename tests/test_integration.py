"""The default model is the tutorial's MLP and must reproduce the tutorial's result."""

import pytest

from deepviz.config import ModelConfig


def test_seed_configuration_reaches_tutorial_accuracy_on_full_mnist(default_trained, mnist):
    assert default_trained.config == ModelConfig()
    assert default_trained.complete and len(default_trained.history.rows) == 3
    assert default_trained.history.steps_per_epoch == 1688  # 54,000 images after validation_split 0.1, batch 32
    assert default_trained.test_accuracy >= 0.97


def test_deepviz_training_matches_the_tutorial_script_exactly(default_trained, mnist):
    """The tutorial's own code, run with the same seed, lands on the same test accuracy:
    fused steps and the progress callback change the speed, not the arithmetic."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(mnist.x_train / 255.0, mnist.y_train, epochs=3, validation_split=0.1, verbose=0)
    _, tutorial_accuracy = model.evaluate(mnist.x_test / 255.0, mnist.y_test, verbose=0)
    assert default_trained.test_accuracy == pytest.approx(tutorial_accuracy, abs=0.002)
