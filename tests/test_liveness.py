"""Units living and dying while training: the dead share and responses per kept epoch
(deepviz/liveness.py), their figures, and the Draw page's replay of them."""

import dataclasses
import json
import re

import numpy as np
import pytest
from apptest import QUICK, no_errors, open_page

from deepviz.config import ModelConfig
from deepviz.figures import dead_units_figure, for_projector, responses_figure
from deepviz.history import Snapshot
from deepviz.liveness import BINS, Watch, liveness, sample


def seeded_training(config, data, watch=None):
    import keras

    from deepviz.training import train

    keras.utils.set_random_seed(0)
    return train(config, data, watch=watch)


@pytest.fixture(scope="module")
def tiny(small):
    """The tutorial MLP after one epoch on 500 digits."""
    return seeded_training(ModelConfig(epochs=1, train_images=500), small)


def last_dead_share(trained, images, layer="dense1") -> float:
    life = liveness(trained, images)
    (found,) = [each for each in life.layers if each.name == layer]
    return found.dead_share(len(life.labels) - 1)


def test_a_too_high_learning_rate_kills_relu_units_and_training_shows_it_as_it_happens(small):
    # One epoch on 1,800 digits: Adam's steps at 0.3 push most relu units' totals below 0 for
    # every digit, and at 0.001 all but a few stay alive (measured: over 0.9 against under 0.05).
    images = sample(small)
    calm = seeded_training(ModelConfig(epochs=1, train_images=2000), small)
    watch = Watch(images)
    wild = seeded_training(ModelConfig(epochs=1, train_images=2000, learning_rate=0.3), small, watch)
    assert liveness(wild, images).layers[0].dead[0] == 0  # random weights: every unit fires for some digit
    assert last_dead_share(wild, images) > 0.6
    assert last_dead_share(calm, images) < 0.1
    assert watch.life is not None and watch.life.layers[0].dead_share(1) > 0.6  # seen as the epoch ended


def test_while_training_each_epoch_and_the_start_are_read_once_as_liveness_reads_them_after(small):
    from deepviz.training import train

    images = sample(small)[:300]
    config = ModelConfig(epochs=3, train_images=500)
    watch, seen = Watch(images), []
    trained = seeded_training(config, small, lambda epochs, model: (seen.append(epochs), watch(epochs, model)))
    assert seen == [0, 1, 2, 3]
    live, after = watch.life, liveness(trained, images)
    assert live is not None and live.labels == after.labels and live.epochs == after.epochs == [0, 1, 2, 3]
    for during, done in zip(live.layers, after.layers, strict=True):
        assert during.name == done.name and list(during.dead) == list(done.dead)
        np.testing.assert_allclose(during.edges, done.edges)  # at the end, on the same bins
        np.testing.assert_allclose(during.shares, done.shares)
    # Watching only reads: the same seeded training, unwatched, ends on the very same weights.
    import keras

    keras.utils.set_random_seed(0)
    unwatched = train(config, small)
    for watched, plain in zip(trained.model.get_weights(), unwatched.model.get_weights(), strict=True):
        np.testing.assert_array_equal(watched, plain)


def test_each_kept_epoch_has_a_dead_count_and_a_histogram_on_fixed_bins(default_trained, mnist):
    life = liveness(default_trained, sample(mnist)[:200])
    assert life.labels == [snapshot.label for snapshot in default_trained.snapshots]
    # A pooled filter lives or dies with its conv layer: only the layers with weights.
    assert [layer.name for layer in life.layers] == ["conv1", "conv2", "dense1"]
    assert [layer.units for layer in life.layers] == [32, 64, 128]
    for layer in life.layers:
        assert layer.edges.shape == (BINS + 1,) and layer.shares.shape == (len(life.labels), BINS)
        np.testing.assert_allclose(layer.shares.sum(axis=1), 1, rtol=1e-6)  # every response in a bin


def test_a_model_from_a_file_is_one_point_as_it_is_now(tiny, small):
    from deepviz.trained import opened

    life = liveness(opened(tiny.config, tiny.model, small, "digits.keras"), sample(small))
    assert life.labels == ["as it is now"] and len(life.epochs) == 1
    assert [layer.name for layer in life.layers] == ["dense1", "dense2"]


def silenced(trained, layer="dense2"):
    """`trained` with one more kept epoch, in which no total of `layer` can rise above 0."""
    weights = [np.copy(array) for array in trained.model.get_weights()]
    names = [variable.path for variable in trained.model.weights]
    weights[names.index(f"{layer}/bias")] -= 1e4
    epochs = trained.snapshots[-1].epoch
    return dataclasses.replace(
        trained, snapshots=[*trained.snapshots, Snapshot(epochs + 1, weights)], key=f"silenced-{trained.key}"
    )


def test_a_layer_with_every_unit_dead_is_named_and_its_responses_all_sit_at_zero(tiny, small):
    life = liveness(silenced(tiny), sample(small))
    last = len(life.labels) - 1
    assert life.all_dead(last) == ["dense2"] and life.all_dead(0) == []
    dense2 = life.layers[1]
    assert dense2.shares[last][0] == 1  # the bin holding 0
    figure = responses_figure(life, last)
    assert "dense2: 64 of 64 dead" in [note.text for note in figure.layout.annotations]


def test_the_figures_draw_a_line_per_layer_and_a_histogram_per_layer(tiny, small):
    life = liveness(tiny, sample(small))
    lines = dead_units_figure(life, 0)
    assert [trace.name for trace in lines.data] == ["dense1", "dense2"]
    assert list(lines.data[0].x) == life.epochs and max(lines.data[1].y) <= 1
    bars = responses_figure(life, 1)
    assert [trace.type for trace in bars.data] == ["bar", "bar"]
    np.testing.assert_allclose(bars.data[0].y, life.layers[0].shares[1])
    # Projector mode: large type everywhere, titles included.
    assert {note.font.size for note in for_projector(bars).layout.annotations} == {26}


def test_replaying_training_on_the_draw_page_shows_each_layers_dead_units(canvas, mnist):
    from deepviz.pendigits import as_canvas

    canvas(as_canvas(mnist.x_test[2]))
    at = open_page(QUICK, "train")
    next(b for b in at.button if b.label == "Train").click().run()
    at.switch_page("pages/draw.py").run()
    no_errors(at)
    assert not [m for m in at.markdown if m.value.startswith("**Dead units")]  # the trained model: none computed
    at.select_slider[0].set_value(0).run()
    no_errors(at)
    (line,) = [m.value for m in at.markdown if m.value.startswith("**Dead units")]
    life = liveness(at.session_state.model, sample(mnist))
    assert line == (
        f"**Dead units before training (random weights):** dense1 {life.layers[0].dead[0]} of 128 · "
        f"dense2 {life.layers[1].dead[0]} of 64"
    )
    assert json.loads(at.get("plotly_chart")[0].proto.spec)  # the stage still shows
    at.toggle(key="replay-responses").set_value(True).run()  # and how each layer responds then
    no_errors(at)
    (bars,) = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")[1:]]
    titles = [note["text"] for note in bars["layout"]["annotations"]]
    assert titles == [f"{layer.name}: {layer.dead[0]} of {layer.units} dead" for layer in life.layers]


def test_on_the_projector_the_train_page_shows_units_dying_and_draws_replay_names_them(server, browser):
    """In the browser, at 1280x720 in projector mode: a tiny training's figures fit the screen in
    large type and follow the epoch slider; Draw's replay at random weights counts dead units."""
    from playwright.sync_api import expect

    from deepviz.pendigits import fit_strokes, load_pen_digits
    from measure.browser import WAIT_MS, replay, settled

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{server}/train?images=1000&epochs=1&projector=1")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train").click()
    expect(main.get_by_role("heading", name="Units living and dying")).to_be_visible(timeout=120_000)
    settled(page)
    charts = main.locator(".js-plotly-plot")
    expect(charts).to_have_count(3)  # the curves, the dead units, the responses
    for chart in (charts.nth(1), charts.nth(2)):
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    titles = charts.nth(2).locator(".annotation-text")
    expect(titles.first).to_have_text(re.compile(r"^dense1: \d+ of 128 dead$"))
    assert titles.first.evaluate("title => parseFloat(getComputedStyle(title).fontSize)") >= 24
    bars = charts.nth(2).locator(".bars path").first
    trained = bars.get_attribute("d")
    main.get_by_role("slider", name="Epoch").press("Home")
    expect(main.get_by_text("before training (random weights)").first).to_be_visible()
    expect(bars).not_to_have_attribute("d", trained)  # the histograms follow the epoch picked
    expect(page.get_by_test_id("stException")).to_have_count(0)

    main.get_by_role("link", name="Draw a digit for this model").click()
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    three = next(digit for digit in load_pen_digits() if digit.label == 3)
    replay(page, canvas, fit_strokes(three.strokes))
    settled(page)
    page.get_by_role("slider", name="Replay training").press("Home")
    expect(
        page.get_by_text(re.compile(r"^Dead units before training \(random weights\): dense1 \d+ of 128"))
    ).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()
