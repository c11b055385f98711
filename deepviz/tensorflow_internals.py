"""The one place deepviz reaches into TensorFlow's private parts: its global gradient registry.

Checked when used, so a TensorFlow upgrade that moves it fails loudly, naming it, instead of
leaving the leak below unfixed without a word (tests/test_internals.py holds it to TensorFlow).
"""

from __future__ import annotations

import threading


def gradient_registry() -> dict:
    """TensorFlow's registry of gradient functions by name, which nothing ever empties."""
    import tensorflow as tf
    from tensorflow.python.framework import ops

    try:
        return ops._gradient_registry._registry
    except AttributeError as error:
        raise RuntimeError(
            f"TensorFlow {tf.__version__} has moved the gradient registry deepviz empties after "
            f"training ({error}): install the TensorFlow version in requirements.txt, or update "
            "deepviz/tensorflow_internals.py."
        ) from None


class TracedGradients:
    """Frees what TensorFlow keeps of every training for the life of the process.

    Each traced training step registers a "CustomGradient-N" function for the all_reduce in
    Keras's optimizer step in TensorFlow's global gradient registry, which never removes it, and
    each holds its whole traced graph: about 10 MB a training, so a server that 30 students
    train on grows without end. They are needed only while a step is being traced, so once no
    training is running, the ones registered since the first of them began are removed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._before: set[str] = set()

    def __enter__(self) -> None:
        with self._lock:
            if not self._running:
                self._before = set(gradient_registry())
            self._running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._running -= 1
            if not self._running:
                registry = gradient_registry()
                for name in set(registry) - self._before:
                    if name.startswith("CustomGradient-"):
                        registry.pop(name, None)


traced_gradients = TracedGradients()
