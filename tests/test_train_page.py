"""The Train page while a training runs: what the browser shows mid-run, and how a run that
ended early is reported."""

import json
import re

import pytest
from apptest import QUICK, no_errors, open_page

from deepviz.history import History
from deepviz.ui.training import epochs_done


def train_button(at):
    return next(b for b in at.button if b.label == "Train")


def train_until_the_first_report(at, monkeypatch):
    """Press Train and leave the page at the training's first progress report, after the
    progress bar and the line's count are drawn: the run's elements are then what the
    browser shows mid-training."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import deepviz.figures

    def leave(history):
        raise StopException()

    with monkeypatch.context() as patch:
        patch.setattr("deepviz.training.REPORT_EVERY_S", 0)  # a report after the first group of batches
        patch.setattr(deepviz.figures, "curves_figure", leave)
        train_button(at).click().run()


def test_while_a_new_run_trains_only_its_live_progress_shows(monkeypatch):
    at = open_page(QUICK | {"images": "3000", "epochs": "3"}, "train")
    train_button(at).click().run()
    main = list(at.main.children.values())
    after_train = next(index for index, node in enumerate(main) if getattr(node, "label", None) == "Train") + 1
    assert len(main) == after_train + 1  # the result, the model files: all in one block
    assert at.dataframe and at.metric and at.success

    train_until_the_first_report(at, monkeypatch)
    # A browser keeps the last run's elements until the new run replaces them place by place:
    # the Stop button, an element, takes the result block's place, and its children with it.
    live = list(at.main.children.values())
    assert getattr(live[after_train], "label", None) == "Stop"
    assert not at.dataframe and not at.metric and not at.success
    assert "1 training now, 0 waiting" in at.caption[1].value  # this very training counts
    (bar,) = at.get("progress")
    assert re.fullmatch(r"Epoch 1 of 3 · \d+% · \d+\.\d s elapsed, about \d+ (s|min) left", bar.proto.text)


def test_a_stopped_run_shows_its_partial_epochs_and_that_train_starts_over(monkeypatch):
    at = open_page(QUICK | {"images": "3000", "epochs": "3"}, "train")
    train_until_the_first_report(at, monkeypatch)
    at.run()
    no_errors(at)
    assert re.fullmatch(r"0\.\d of 3", next(m for m in at.metric if m.label == "Epochs done").value)
    warning = at.warning[0].value
    assert "partly trained" in warning and "Press **Train** to train it again from epoch 1." in warning
    assert "finish" not in warning


def test_a_finished_run_shows_whole_epochs():
    at = open_page(QUICK, "train")
    train_button(at).click().run()
    no_errors(at)
    assert next(m for m in at.metric if m.label == "Epochs done").value == "1 of 1"


@pytest.mark.parametrize(
    ("steps", "shown"), [(30, "3 of 3"), (10, "1 of 3"), (14, "1.4 of 3"), (29, "2.9 of 3"), (0, "0 of 3")]
)
def test_epochs_done_never_rounds_a_partial_run_up_to_finished(steps, shown):
    assert epochs_done(History(epochs=3, steps_per_epoch=10, steps=steps)) == shown


def liveness_charts(at) -> list[dict]:
    """The Train page's figures of units living and dying: the dead-units lines, the responses."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [spec for spec in specs if "dead units" in json.dumps(spec["layout"].get("yaxis", {}))] + [
        spec for spec in specs if any(" dead" in note.get("text", "") for note in spec["layout"].get("annotations", []))
    ]


def test_after_training_each_layers_dead_units_show_epoch_by_epoch():
    at = open_page(QUICK, "train")
    train_button(at).click().run()
    no_errors(at)
    assert any(header.value == "Units living and dying" for header in at.subheader)
    epoch = at.select_slider(key="liveness-epoch")
    assert epoch.options == ["before training (random weights)", "after epoch 1"] and epoch.value == 1
    lines, responses = liveness_charts(at)
    assert [trace["name"] for trace in lines["data"]] == ["dense1", "dense2"]
    assert [len(trace["x"]) for trace in lines["data"]] == [2, 2]  # one point per kept epoch
    assert any("gradient is 0" in caption.value for caption in at.caption)
    epoch.set_value(0).run()
    no_errors(at)
    _, before = liveness_charts(at)
    assert [bars["y"] for bars in before["data"]] != [bars["y"] for bars in responses["data"]]  # the epoch picked
    assert [bars["x"] for bars in before["data"]] == [bars["x"] for bars in responses["data"]]  # on the same bins


@pytest.mark.parametrize("projector", [False, True])
def test_while_training_each_layers_dead_units_show_as_each_epoch_ends(monkeypatch, projector):
    """Two epochs, left at the first report of epoch 2: the chart then holds the random start and
    epoch 1, each drawn once, at the first report after it was read."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import deepviz.figures
    import deepviz.ui.training
    from deepviz.figures import FONT, PROJECTOR_FONT

    progress_text, dead_units_figure = deepviz.ui.training.progress_text, deepviz.figures.dead_units_figure
    drawn = []  # ("report", epochs ended) at each report, ("chart", points) at each dead-units chart

    def into_epoch_2(history):
        if history.rows and history.epoch_progress > 1:
            raise StopException()
        drawn.append(("report", len(history.rows)))
        return progress_text(history)

    def counted(life, at, *rest):
        drawn.append(("chart", len(life.epochs)))
        return dead_units_figure(life, at, *rest)

    at = open_page(QUICK | {"epochs": "2"} | ({"projector": "1"} if projector else {}), "train")
    with monkeypatch.context() as patch:
        patch.setattr("deepviz.training.REPORT_EVERY_S", 0)
        patch.setattr(deepviz.ui.training, "progress_text", into_epoch_2)
        patch.setattr(deepviz.figures, "dead_units_figure", counted)
        train_button(at).click().run()
    assert not at.exception
    # QUICK's 900 digits are one group of batches an epoch: one report after it, one as the epoch ends.
    assert drawn == [("report", 0), ("chart", 1), ("report", 1), ("chart", 2)]
    assert any(header.value == "Units living and dying" for header in at.subheader)
    (lines,) = liveness_charts(at)  # the responses wait for the end of training
    assert [trace["name"] for trace in lines["data"]] == ["dense1", "dense2"]
    assert [trace["x"] for trace in lines["data"]] == [[0, 1], [0, 1]]
    assert lines["layout"]["yaxis"].get("tickfont", {}).get("size") == (PROJECTOR_FONT if projector else FONT)


def test_a_network_without_hidden_layers_says_it_has_no_units_to_watch():
    at = open_page(QUICK | {"layers": ""}, "train")
    train_button(at).click().run()
    no_errors(at)
    assert any("has no hidden layers" in info.value for info in at.info)
    assert not liveness_charts(at) and not at.select_slider


def test_a_model_file_shows_its_units_as_they_are_and_a_dead_layer_is_named(small):
    import keras
    import numpy as np

    from deepviz.config import ModelConfig
    from deepviz.trained import opened
    from deepviz.training import train

    keras.utils.set_random_seed(0)
    trained = train(ModelConfig(epochs=1, train_images=500), small)
    at = open_page({}, "train")
    at.session_state["model"] = opened(trained.config, trained.model, small, "digits.keras")
    at.run()
    no_errors(at)
    assert any("keeps the weights, not how they were learned" in info.value for info in at.info)
    assert not at.select_slider and len(liveness_charts(at)) == 2

    names = [variable.path for variable in trained.model.weights]
    weights = trained.model.get_weights()
    weights[names.index("dense2/bias")] = np.full(64, -1e4, np.float32)  # no digit can wake dense2
    trained.model.set_weights(weights)
    at.session_state["model"] = opened(trained.config, trained.model, small, "dead.keras")
    at.run()
    no_errors(at)
    (warning,) = [w.value for w in at.warning if "Every unit" in w.value]
    assert warning.startswith("Every unit is dead in dense2 as it is now: a layer like that passes only zeros on")
