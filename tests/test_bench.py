import re
import subprocess
import sys
from dataclasses import replace

import pytest

from deepviz.config import ModelConfig, multiply_adds
from measure.bench import training_flops

FIGURES = [
    "train_seed_script_s",
    "train_deepviz_s",
    "train_ratio",
    "test_accuracy_seed_script",
    "test_accuracy_deepviz",
    "peak_matmul_gflops",
    "train_flop_limit_s",
    "train_flop_limit_ratio",
    "train_seed_flop_limit_ratio",
    "draw_compute_ms",
    "draw_render_ms",
    "knockout_ms",
    "dream_class_s",
    "dream_class_mlp_s",
    "draw_browser_p50_ms",
    "draw_browser_p95_ms",
    "draw_browser_projector_p50_ms",
    "draw_browser_projector_p95_ms",
    "home_first_paint_s",
]


def test_training_flops_are_three_passes_per_training_image_and_one_per_validation_image():
    config = replace(ModelConfig(), epochs=2, validation_split=0.1)
    passes = 2 * (3 * 900 + 100)
    assert training_flops(config, 1000) == pytest.approx(2 * multiply_adds(config.layers) * passes)


@pytest.mark.browser
@pytest.mark.slow
def test_the_quick_bench_prints_every_figure(data_dir, default_trained):
    # Only that every measurement works: timings on a busy test machine mean nothing. The
    # default model is in the cache folder, as the browser's figures need: the bench loads it.
    result = subprocess.run(
        [sys.executable, "-m", "deepviz", "bench", "--quick", "--data-dir", str(data_dir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert re.fullmatch(r"CPU \(\d+ cores\)|\d+ GPU \(.*\), \w+", lines.pop("device"))
    assert re.fullmatch(r"loaded from .*\.keras", lines.pop("default_model"))
    assert list(lines) == FIGURES
    values = {name: float(value) for name, value in lines.items()}
    assert all(value > 0 for value in values.values()), values
    assert values["train_ratio"] == pytest.approx(values["train_deepviz_s"] / values["train_seed_script_s"], rel=1e-3)
    assert 0 < values["test_accuracy_deepviz"] <= 1 and 0 < values["test_accuracy_seed_script"] <= 1
    # From a stroke's mouse-up to the page painted, in a browser: more than the work on the server.
    for mode in ("draw_browser", "draw_browser_projector"):
        assert values[f"{mode}_p95_ms"] >= values[f"{mode}_p50_ms"] > values["draw_compute_ms"]
