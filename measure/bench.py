"""`python -m deepviz bench`: how fast deepviz trains and answers a drawing, measured against
the tutorial script in the same process, on the same data, on this machine; and how soon the
Draw page, in a browser, shows what a stroke changed.

Each figure is the median of `repeats` runs. Training alternates tutorial and deepviz runs so
that neither gets the quieter moments of a busy machine. The draw figures use the default
model's network (the Draw page's) with its starting weights: what they cost does not depend
on what the weights are, and a fresh clone has no trained default model yet. The browser's
figures need the trained default model, as the page does: the bench trains it if the cache
folder has none.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from deepviz.config import DEFAULT_MODEL, FORWARD_AND_BACKWARD, PRESETS, ModelConfig, held_back, multiply_adds
from deepviz.data import Mnist
from deepviz.pendigits import PenDigit, as_canvas, fit_strokes, one_of_each

MATMUL_SIDE = 2048  # big enough to run at the machine's peak, small enough to take a fraction of a second
ACCURACY_GOAL = 0.97


@dataclass(frozen=True)
class Plan:
    """How much to measure: the full bench, or a quick check that it all works (CI)."""

    train_images: int = 60_000
    epochs: int = 3
    repeats: int = 3  # of each training and each home page start
    draw_repeats: int = 200  # of the draw measurements, which take milliseconds
    browser_digits: int = 20  # pen digits drawn on the Draw page in the browser, in each mode


QUICK = Plan(train_images=3_000, epochs=1, repeats=1, draw_repeats=5, browser_digits=2)
# The Draw page as a class sees it: its usual look, and projector mode; each figure's name prefix.
DRAW_MODES = {"draw_browser": "", "draw_browser_projector": "?projector=1"}
SCREEN = {"width": 1920, "height": 1080}  # a classroom projector's
FIRST_VISIT_MS = 120_000  # a fresh server loads the default model for its first Draw page


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def device() -> str:
    """What TensorFlow trains on here: the GPUs it sees (mirrored over several), else the CPU."""
    import tensorflow as tf

    from deepviz.network import distribution

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU ({os.cpu_count()} cores)"
    names = ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus)
    return f"{len(gpus)} GPU ({names}), {type(distribution()).__name__}"


def peak_matmul_flops(repeats: int = 5) -> float:
    """FLOP/s of a large float32 matmul, the fastest of `repeats`: the most this machine's
    linear algebra gives a dense network's training."""
    import tensorflow as tf

    a = tf.random.normal((MATMUL_SIDE, MATMUL_SIDE))
    matmul = tf.function(lambda x: tf.reduce_sum(tf.matmul(x, x)))
    matmul(a).numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * MATMUL_SIDE**3 / best


def training_flops(config: ModelConfig, images: int) -> float:
    """FLOPs of training `config` on `images` images: forward and backward (about twice the
    forward) per training image and epoch, and a forward pass per validation image and epoch."""
    validation = held_back(images, config.validation_split)
    per_epoch = FORWARD_AND_BACKWARD * (images - validation) + validation
    return 2.0 * multiply_adds(config.layers) * per_epoch * config.epochs


def tutorial_fit(mnist: Mnist, images: int, epochs: int) -> tuple[float, float]:
    """The tutorial's own code, timed from `fit` to its end: (seconds, test accuracy)."""
    import keras

    x_train, x_test = mnist.x_train[:images] / 255.0, mnist.x_test / 255.0
    with warnings.catch_warnings():  # Keras 3 prefers keras.Input to input_shape; the tutorial predates it
        warnings.simplefilter("ignore", UserWarning)
        model = keras.Sequential(
            [
                keras.layers.Flatten(input_shape=(28, 28)),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, mnist.y_train[:images], epochs=epochs, validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, model.evaluate(x_test, mnist.y_test, verbose=0)[1]


def deepviz_fit(config: ModelConfig, mnist: Mnist) -> tuple[float, float]:
    """deepviz training `config` as the Train page does, progress callback and all: (seconds, test accuracy)."""
    from deepviz.training import TrainingRun

    run = TrainingRun(config, mnist)
    reports = []
    start = time.perf_counter()
    run.fit(lambda history: reports.append(history.steps))
    seconds = time.perf_counter() - start
    trained = run.finish()
    assert trained is not None  # no time limit, and `report` never stops it: it took every step
    return seconds, trained.test_accuracy


def draw_times(model, canvas: np.ndarray, repeats: int) -> tuple[float, float]:
    """(compute, render) medians in seconds for one drawing on the Draw page. Compute: canvas
    to prepared input, every layer's activations and the probabilities. Render: every Plotly
    figure the page shows for it, built and serialised as Streamlit sends it."""
    from deepviz.activations import LayerReader
    from deepviz.figures import draw_figures
    from deepviz.preprocess import prepare
    from deepviz.saliency import Saliency

    def prepared_image() -> np.ndarray:
        prepared = prepare(canvas)
        assert prepared is not None  # `run` passes an MNIST digit, never a blank canvas
        return prepared.image

    reader = LayerReader(model)
    compute = median_seconds(lambda: reader(prepared_image()), repeats)

    image = prepared_image()
    activations = reader(image)
    maps = Saliency(model).explain(image, activations[-1].values)

    def render():
        figures = draw_figures(image, activations, maps)
        return [figure.to_json() for figure in [figures.stage, *figures.maps]]

    return compute, median_seconds(render, max(repeats // 4, 1))


def knockout_seconds(model, mnist: Mnist, repeats: int) -> float:
    """What a press of the Inside page's "Switch this unit off" waits for: scoring its test digits
    with a filter of the first conv layer switched off (traced first, as by a session's first press)."""
    from deepviz.knockout import TEST_DIGITS, Scorer, silenced

    scorer = Scorer(model)
    first = next(layer.name for layer in model.layers if type(layer).__name__ == "Conv2D")
    weights = silenced(model, {first: (0,)})
    images, labels = mnist.scaled(mnist.x_test[:TEST_DIGITS]), mnist.y_test[:TEST_DIGITS]
    scorer(images[:1], weights)
    return median_seconds(lambda: scorer.scores(images, labels, weights), repeats)


def dream_seconds(model, repeats: int) -> float:
    """What the Insights page waits for, for its row of the ten digits the network dreams of, at
    the default settings, once its ascent is traced (the first picture of each model)."""
    from deepviz.dream import Dreamer

    dreamer = Dreamer(model)
    dreamer.digits()
    return median_seconds(dreamer.digits, repeats)


def ready_default_model(mnist: Mnist) -> str:
    """Load the default model into the cache folder the app's server reads, training it first
    if it is not there (as the Draw page's first visit would), so that the browser's figures
    time drawing, not training; says which it was."""
    from deepviz.store import cache_dir, default_model, model_path

    path = model_path(PRESETS[DEFAULT_MODEL], mnist, cache_dir())
    found = path.exists()
    default_model(mnist)
    return f"{'loaded from' if found else 'trained into'} {path}"


def clear(page, canvas) -> None:
    """Click the Draw page's Clear and wait for the fresh canvas it makes, and its run's end.
    Not by watching the run alone: Clear's run takes milliseconds, and the page may show it
    running and done in one update, which leaves the script state as it was."""
    from playwright.sync_api import expect

    from measure.browser import WAIT_MS, settled

    drawn_on = canvas.element_handle()
    page.get_by_role("button", name="Clear").click(timeout=WAIT_MS)
    page.wait_for_function("canvas => !canvas.isConnected", arg=drawn_on, timeout=WAIT_MS)
    expect(canvas).to_have_count(1)  # the new one may mount a moment after the old one goes
    settled(page)


def draw_browser_ms(page, url: str, query: str, digits: list[PenDigit]) -> list[float]:
    """Milliseconds from each stroke's mouse-up on the Draw page's canvas to the page painted
    after the run it caused (browser.RUN_MS), for pen digits drawn one after another and wiped
    with the page's Clear button, as a class would. The first stroke after the page loads is
    left out: its run is the session's first prediction, which warms what later ones reuse."""
    from playwright.sync_api import expect

    from measure.browser import replay, settled

    page.goto(f"{url}/draw{query}")
    canvas = page.locator("canvas.upper-canvas")
    expect(canvas).to_have_count(1, timeout=FIRST_VISIT_MS)
    settled(page)
    times = []
    for digit in digits:
        times += replay(page, canvas, fit_strokes(digit.strokes))
        clear(page, canvas)
    return [ms for ms in times[1:] if ms is not None]  # None: a stroke the canvas did not send


def draw_browser(digits: list[PenDigit]) -> dict[str, float]:
    """p50 and p95 of draw_browser_ms in each of DRAW_MODES, each in a fresh session of one
    server, in headless Chromium at SCREEN's size."""
    from playwright.sync_api import Error as PlaywrightError

    from measure.browser import BrowserError, chromium, running_server

    figures = {}
    with running_server() as server, chromium() as browser:
        for name, query in DRAW_MODES.items():
            context = browser.new_context(viewport=SCREEN)
            try:
                times = draw_browser_ms(context.new_page(), server.url, query, digits)
            except PlaywrightError as error:
                message = f"stopped answering as expected: {error.message}"
                raise BrowserError(f"the Draw page at /draw{query} {message}") from None
            finally:
                context.close()
            if not times:
                raise BrowserError(f"no stroke on the Draw page at /draw{query} caused a run")
            p50, p95 = np.percentile(times, [50, 95])
            figures[f"{name}_p50_ms"], figures[f"{name}_p95_ms"] = float(p50), float(p95)
    return figures


def home_first_paint(repeats: int) -> float:
    """Seconds from `streamlit run` to the home page drawn in headless Chromium, median of fresh servers."""
    from measure.browser import chromium, running_server

    times = []
    with chromium() as browser:
        page = browser.new_page()
        for _ in range(repeats):
            start = time.perf_counter()
            with running_server(poll_s=0.02) as server:
                page.goto(server.url)
                page.get_by_role("heading", name="deepviz").first.wait_for()
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(mnist: Mnist, pen_digits: list[PenDigit], plan: Plan, say: Callable[[str], None]) -> dict[str, float]:
    """Every figure; `say` gets each `name: value` line as soon as it is known. `pen_digits`:
    what the browser draws on the Draw page."""
    from deepviz.network import build_model

    say(f"device: {device()}")
    digits = one_of_each(pen_digits)[: plan.browser_digits]  # each writer's 0 to 9 in turn
    images = min(plan.train_images, len(mnist.x_train))
    config = replace(ModelConfig(), epochs=plan.epochs, train_images=images)
    seed_runs, deepviz_runs = [], []
    for _ in range(plan.repeats):
        seed_runs.append(tutorial_fit(mnist, images, plan.epochs))
        deepviz_runs.append(deepviz_fit(config, mnist))
    seed_s = statistics.median(seconds for seconds, _ in seed_runs)
    deepviz_s = statistics.median(seconds for seconds, _ in deepviz_runs)
    peak = peak_matmul_flops()
    figures = {
        "train_seed_script_s": seed_s,
        "train_deepviz_s": deepviz_s,
        "train_ratio": deepviz_s / seed_s,
        "test_accuracy_seed_script": statistics.median(accuracy for _, accuracy in seed_runs),
        "test_accuracy_deepviz": statistics.median(accuracy for _, accuracy in deepviz_runs),
        "peak_matmul_gflops": peak / 1e9,
        "train_flop_limit_s": training_flops(config, images) / peak,
    }
    figures["train_flop_limit_ratio"] = deepviz_s / figures["train_flop_limit_s"]
    figures["train_seed_flop_limit_ratio"] = seed_s / figures["train_flop_limit_s"]
    for name, value in figures.items():
        say(f"{name}: {value:.4g}")

    network = build_model(PRESETS[DEFAULT_MODEL])
    compute_s, render_s = draw_times(network, as_canvas(mnist.x_test[0]), plan.draw_repeats)
    figures["draw_compute_ms"], figures["draw_render_ms"] = compute_s * 1000, render_s * 1000
    say(f"draw_compute_ms: {figures['draw_compute_ms']:.3g}")
    say(f"draw_render_ms: {figures['draw_render_ms']:.3g}")
    figures["knockout_ms"] = knockout_seconds(network, mnist, plan.repeats) * 1000
    say(f"knockout_ms: {figures['knockout_ms']:.3g}")
    figures["dream_class_s"] = dream_seconds(network, plan.repeats)
    figures["dream_class_mlp_s"] = dream_seconds(build_model(ModelConfig()), plan.repeats)
    say(f"dream_class_s: {figures['dream_class_s']:.3g}")
    say(f"dream_class_mlp_s: {figures['dream_class_mlp_s']:.3g}")
    say(f"default_model: {ready_default_model(mnist)}")
    for name, value in draw_browser(digits).items():
        figures[name] = value
        say(f"{name}: {value:.3g}")
    figures["home_first_paint_s"] = home_first_paint(plan.repeats)
    say(f"home_first_paint_s: {figures['home_first_paint_s']:.3g}")
    return figures
