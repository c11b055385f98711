"""Memory stays flat while one student retrains again and again: each new model replaces the
last, and nothing global (Keras' session, TensorFlow's traced functions) keeps the old ones."""

import ctypes
import gc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepviz.config import PRESETS
from deepviz.data import Mnist
from deepviz.tensorflow_internals import gradient_registry
from deepviz.training import train

pytestmark = pytest.mark.slow  # retrains twenty times

MB = 2**20
WARM_UP, RETRAINS = 5, 15
# Measured here: about 15 MB over 15 retrains of the Small CNN, where TensorFlow's traced
# training graphs, unreleased, cost 176 MB. A model kept by mistake costs several MB each.
BOUND_MB = 60


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def held() -> int:
    """Memory really held: glibc keeps freed memory in its arenas for reuse, so give it back first."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss()


def gradient_functions() -> int:
    return len(gradient_registry())


def test_memory_stays_flat_when_a_session_retrains_twenty_times(mnist):
    data = Mnist(mnist.x_train[:500], mnist.y_train[:500], mnist.x_test[:200], mnist.y_test[:200], "tiny", full=False)
    config = replace(PRESETS["Small CNN"], epochs=1, train_images=500)
    image = data.scaled(data.x_test[0])

    def retrain_and_draw():
        """What a session does: train, then read a drawing through every layer and its saliency."""
        trained = train(config, data)
        trained.reader(image)
        trained.saliency.gradients(image, [3], smooth=4)
        trained.saliency.occlusions(image, [3])
        return trained

    session = None
    for _ in range(WARM_UP):  # TensorFlow's kernels, caches and allocator pools reach their working size
        session = retrain_and_draw()
    before, registered = held(), gradient_functions()
    for _ in range(RETRAINS):
        session = retrain_and_draw()
    grown = (held() - before) / MB
    assert gradient_functions() == registered  # each training's traced graph is let go
    assert np.isfinite(session.test_accuracy)
    assert grown < BOUND_MB, f"RSS grew {grown:.0f} MB over {RETRAINS} retrains"
