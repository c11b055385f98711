"""TensorFlow's log settings, which it reads once, as it loads: set them before anything
imports TensorFlow (app.py and `python -m deepviz` do, first thing)."""

import glob
import os

LOG_LEVEL_ENV = "TF_CPP_MIN_LOG_LEVEL"


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ chatter out of the server's log and the command line's output.

    Level 2 hides its info and warnings. Without an NVIDIA device, level 3 also hides the one
    error it logs on every start there, "failed call to cuInit": its CUDA build looking for a
    driver that cannot be there. CUDA_VISIBLE_DEVICES="" does not stop that (TensorFlow calls
    cuInit anyway), and a GPU machine keeps level 2, so a real CUDA failure still shows and
    nothing changes which devices TensorFlow uses. A setting the user made is kept.

    Not hidden by any setting: the few lines (oneDNN, "Could not find cuda drivers") logged
    while TensorFlow's libraries load, before its log settings apply."""
    os.environ.setdefault(LOG_LEVEL_ENV, "2" if glob.glob("/dev/nvidia*") else "3")
