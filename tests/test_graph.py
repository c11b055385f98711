import numpy as np
import pytest

from deepviz.activations import LayerReader
from deepviz.arithmetic import unit_arithmetic
from deepviz.config import Conv, Dense, ModelConfig
from deepviz.figures import for_projector, graph_figure
from deepviz.graph import EDGES, incoming, network_graph, node_values, strongest_place


def pre_activation(model, activations, layer, position):
    """The unit's sum before its activation function, computed by TensorFlow, not by deepviz."""
    import tensorflow as tf

    names = [activation.name for activation in activations]
    source = activations[names.index(layer) - 1].values
    kernel, bias = model.get_layer(layer).get_weights()
    if kernel.ndim == 4:
        source = source if source.ndim == 3 else source[..., np.newaxis]
        sums = tf.nn.conv2d(source[np.newaxis].astype(np.float32), kernel, 1, "SAME")[0].numpy() + bias
        return float(sums[position])
    return float(source.reshape(-1) @ kernel[:, position[0]] + bias[position[0]])


@pytest.mark.parametrize(
    ("layer", "position"), [("dense1", (7,)), ("conv2", (6, 4, 11)), ("conv1", (0, 5, 3)), ("conv1", None)]
)
def test_a_units_edges_add_up_with_its_bias_to_what_the_model_sums(default_trained, mnist, layer, position):
    """Each at a place with ink, and conv1 at the border too, where its patch reads padding."""
    model = default_trained.model
    activations = default_trained.reader(mnist.x_test[0] / 255.0)
    names = [activation.name for activation in activations]
    position = position or strongest_place(activations[1].values, 3)
    numbers = unit_arithmetic(model, activations, layer, position)
    by_node = incoming(numbers, activations[names.index(layer) - 1])
    assert by_node.sum() + numbers.bias == pytest.approx(pre_activation(model, activations, layer, position), abs=1e-5)
    graph = network_graph(model, activations, layer, position)
    into = [edge for edge in graph.edges if edge.step == 1]
    strongest = np.argsort(-np.abs(by_node), kind="stable")[: len(into)]
    assert [edge.source_unit for edge in into] == list(strongest) and len(into) <= EDGES
    assert into or position[0] == 0  # only the border's patch, all padding and paper, adds nothing
    assert [edge.value for edge in into] == pytest.approx(by_node[strongest])


def test_dense1_reading_pool2_sums_each_filters_places(default_trained, mnist):
    activations = default_trained.reader(mnist.x_test[0] / 255.0)
    numbers = unit_arithmetic(default_trained.model, activations, "dense1", (3,))
    by_node = incoming(numbers, activations[4])
    per_filter = numbers.contributions.reshape(activations[4].values.shape).sum(axis=(0, 1))
    assert by_node.shape == (64,) and by_node == pytest.approx(per_filter)


def test_thinning_keeps_the_selected_unit_and_its_strongest_inputs_and_at_most_n_per_column(default_trained, mnist):
    activations = default_trained.reader(mnist.x_test[0] / 255.0)
    for nodes in (10, 16):
        graph = network_graph(default_trained.model, activations, "dense1", (100,), nodes=nodes)
        columns = {column.name: column for column in graph.columns}
        assert [column.name for column in graph.columns] == [
            "pixels",
            "conv1",
            "pool1",
            "conv2",
            "pool2",
            "dense1",
            "output",
        ]
        assert all(len(column.units) <= nodes for column in graph.columns)
        assert all(list(column.units) == sorted(column.units) for column in graph.columns)
        assert 100 in columns["dense1"].units and graph.selected == ("dense1", 100)
        for edge in graph.edges:
            assert edge.source_unit in columns[edge.source].units and edge.target_unit in columns[edge.target].units
        assert {edge.target for edge in graph.edges if edge.step == 2} == {"pool2"}
        assert columns["dense1"].left_out == 128 - nodes and columns["output"].left_out == 0
        assert columns["pixels"].size == 49
        assert columns["conv2"].values == pytest.approx(node_values(activations[3])[list(columns["conv2"].units)])


def test_a_pooling_unit_has_one_edge_from_the_filter_it_pools(default_trained, mnist):
    activations = default_trained.reader(mnist.x_test[0] / 255.0)
    place = strongest_place(activations[2].values, 5)
    graph = network_graph(default_trained.model, activations, "pool1", place)
    into = [edge for edge in graph.edges if edge.step == 1]
    assert [(edge.source, edge.source_unit) for edge in into] == [("conv1", 5)]
    assert into[0].value == pytest.approx(float(activations[2].values[place]))
    assert all(edge.source == "pixels" for edge in graph.edges if edge.step == 2)


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(),
        ModelConfig(layers=(Conv(4, 3, "tanh"), Dense(10, "relu"))),
        ModelConfig(layers=(Dense(16, "gelu"),)),
    ],
    ids=["mlp", "conv-without-pooling", "one-dense-layer"],
)
def test_mlps_and_unusual_shapes_have_a_graph(mnist, config):
    import keras

    from deepviz.network import build_model

    keras.utils.set_random_seed(2)
    model = build_model(config)
    activations = LayerReader(model)(mnist.x_test[0] / 255.0)
    answer = int(np.argmax(activations[-1].values))
    graph = network_graph(model, activations, "output", (answer,), off={activations[1].name: (0,)})
    assert graph.columns[0].kind == "input" and graph.columns[-1].units == tuple(range(10))
    assert graph.edges and all(edge.target == "output" for edge in graph.edges if edge.step == 1)
    assert graph.columns[1].off == (0,)
    figure = for_projector(graph_figure(graph, 600))
    nodes = figure.data[-1]
    assert len(nodes.x) == sum(len(column.units) for column in graph.columns)
    assert list(nodes.customdata[-10:]) == [["output", digit] for digit in range(10)]
    assert max(nodes.marker.line.width) == 4  # the answer, ringed
