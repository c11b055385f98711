import os
import subprocess
import sys

import pytest

from deepviz import tfenv

pytestmark = pytest.mark.slow  # starts TensorFlow in fresh interpreters


def test_tensorflow_starts_without_the_cuinit_error_and_still_computes():
    """As the app and the command line start: on a machine without a GPU, TensorFlow used to log
    'failed call to cuInit' on its first operation, whatever TF_CPP_MIN_LOG_LEVEL=2 said."""
    script = (
        "from deepviz.tfenv import quiet_tensorflow; quiet_tensorflow(); "
        "import keras; print(float(keras.ops.sum(keras.ops.ones(3))))"
    )
    env = {name: value for name, value in os.environ.items() if name != tfenv.LOG_LEVEL_ENV}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3.0"
    assert "cuInit" not in done.stderr and "E0000" not in done.stderr, done.stderr


def test_a_gpu_machine_keeps_tensorflows_errors_and_a_users_setting_is_kept(monkeypatch):
    monkeypatch.delenv(tfenv.LOG_LEVEL_ENV, raising=False)
    monkeypatch.setattr(tfenv.glob, "glob", lambda pattern: ["/dev/nvidia0", "/dev/nvidiactl"])
    tfenv.quiet_tensorflow()
    assert os.environ[tfenv.LOG_LEVEL_ENV] == "2"  # errors, such as a real CUDA failure, still show
    monkeypatch.setattr(tfenv.glob, "glob", lambda pattern: [])
    monkeypatch.setenv(tfenv.LOG_LEVEL_ENV, "0")
    tfenv.quiet_tensorflow()
    assert os.environ[tfenv.LOG_LEVEL_ENV] == "0"
