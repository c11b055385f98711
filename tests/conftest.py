import os
import tempfile
from pathlib import Path

import pytest

from deepviz.data import DATA_DIR_ENV, read_dir
from deepviz.store import CACHE_ENV

# Tests, and the app servers they start, keep trained models out of the user's real cache.
os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="deepviz-test-cache-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get(DATA_DIR_ENV)
    if not value:
        pytest.fail(f"Set {DATA_DIR_ENV} to the folder holding the four MNIST .gz files (see README).")
    return Path(value)


@pytest.fixture(scope="session")
def mnist(data_dir):
    return read_dir(data_dir)


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return Path(os.environ[CACHE_ENV])


@pytest.fixture(scope="session")
def default_trained(mnist, cache_dir):
    """The default model (the tutorial MLP on all of MNIST), trained once per test run, seeded,
    and left in the cache folder where the app's pages and servers load it from."""
    import keras

    from deepviz.store import default_model

    keras.utils.set_random_seed(0)
    return default_model(mnist, cache_dir)
