import numpy as np
import pytest

from deepviz.evaluation import Evaluation, evaluate
from deepviz.figures import confusion_figure, per_class_figure


def one_hot(predicted, confidence=0.9):
    probabilities = np.full((len(predicted), 10), (1 - confidence) / 9)
    probabilities[np.arange(len(predicted)), predicted] = confidence
    return probabilities


def test_confusion_counts_true_rows_and_predicted_columns():
    labels = np.array([0, 0, 1, 1, 1, 7])
    result = Evaluation(labels, one_hot([0, 7, 1, 1, 2, 7]))
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.confusion[0, 0] == 1 and result.confusion[0, 7] == 1 and result.confusion[1, 2] == 1
    assert result.confusion.sum() == 6
    np.testing.assert_allclose(result.per_class_accuracy[[0, 1, 7]], [0.5, 2 / 3, 1.0])
    assert result.per_class_accuracy[5] == 0  # no images of a 5: no division by zero


def test_mistakes_come_most_confident_first():
    labels = np.array([3, 3, 3, 3])
    probabilities = one_hot([5, 3, 8, 9])
    probabilities[0] = one_hot([5], 0.6)[0]
    probabilities[3] = one_hot([9], 0.99)[0]
    result = Evaluation(labels, probabilities)
    assert list(result.mistakes(10)) == [3, 2, 0]
    assert list(result.mistakes(1)) == [3]


def test_evaluation_agrees_with_keras_accuracy(default_trained, mnist):
    result = evaluate(default_trained.model, mnist)
    keras_score = default_trained.model.evaluate(mnist.scaled(mnist.x_test), mnist.y_test, verbose=0, return_dict=True)
    assert result.accuracy == pytest.approx(keras_score["accuracy"], abs=1e-4)
    assert default_trained.test_accuracy == result.accuracy
    assert result.confusion.sum(axis=1).tolist() == np.bincount(mnist.y_test).tolist()
    assert result.per_class_accuracy.min() > 0.9


def test_confusion_figure_writes_every_count_and_colours_only_mistakes():
    confusion = np.arange(100).reshape(10, 10)
    (trace,) = confusion_figure(confusion).data
    np.testing.assert_array_equal(np.asarray(trace.text), confusion)
    z = np.asarray(trace.z, dtype=float)
    assert np.isnan(np.diag(z)).all() and z[2, 3] == 23


def test_per_class_figure_highlights_the_hardest_digit():
    accuracy = np.full(10, 0.98)
    accuracy[8] = 0.91
    colors = per_class_figure(accuracy).data[0].marker.color
    assert colors[8] != colors[0] and len(set(colors)) == 2
