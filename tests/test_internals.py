"""The private parts of Keras, TensorFlow and Plotly that deepviz uses are where it reaches for them:
an upgrade that moves one fails here, and deepviz names what moved rather than training wrong
or leaking without a word."""

import keras
import plotly.graph_objects as go
import pytest
import tensorflow as tf
from tensorflow.python.framework import ops

from deepviz.keras_internals import adam_moments
from deepviz.plotly_internals import unchecked_figure
from deepviz.tensorflow_internals import gradient_registry, traced_gradients


def test_adam_keeps_two_moments_of_each_variables_shape():
    variables = [keras.Variable(tf.zeros((3, 2)), name="kernel"), keras.Variable(tf.zeros((2,)), name="bias")]
    optimizer = keras.optimizers.Adam()
    optimizer.build(variables)
    for variable in variables:
        momentum, velocity = adam_moments(optimizer, variable)
        assert momentum is not velocity
        assert momentum.shape == velocity.shape == variable.shape
        assert {id(momentum), id(velocity)} <= {id(slot) for slot in optimizer.variables}


def test_moved_adam_moments_are_named():
    class MovedAdam:
        def _get_variable_index(self, variable):
            return 0

    with pytest.raises(RuntimeError, match=r"_momentums.*deepviz/keras_internals\.py"):
        adam_moments(MovedAdam(), None)


def test_custom_gradients_registered_while_training_are_removed_after():
    @tf.custom_gradient
    def double(x):
        return 2 * x, lambda upstream: 2 * upstream

    before = set(gradient_registry())
    with traced_gradients:
        tf.function(double).get_concrete_function(tf.TensorSpec([], tf.float32))
        added = set(gradient_registry()) - before
        assert added and all(name.startswith("CustomGradient-") for name in added)
    assert set(gradient_registry()) == before


def test_a_moved_gradient_registry_is_named(monkeypatch):
    monkeypatch.delattr(ops, "_gradient_registry")  # as an upgrade that moved it
    with pytest.raises(RuntimeError, match=r"_gradient_registry.*deepviz/tensorflow_internals\.py"):
        gradient_registry()


def test_an_unchecked_figure_is_built_as_given_and_skips_plotlys_checks():
    trace, layout = {"type": "image", "source": "data:image/png;base64,", "xaxis": "x2"}, {"height": 200}
    assert unchecked_figure([trace], layout).to_dict() == go.Figure([trace], layout).to_dict()
    wrong = {"type": "image", "nosuchproperty": 1}
    with pytest.raises(ValueError, match="nosuchproperty"):
        go.Figure([wrong])
    unchecked_figure([wrong], {})  # not checked: no error
