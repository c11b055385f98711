import os
import sys
import tempfile
import types
from pathlib import Path

import pytest
from apptest import FakeCanvas

from deepviz.data import DATA_DIR_ENV, read_dir
from deepviz.drawings import DATABASE_ENV
from deepviz.slots import SLOTS_ENV
from deepviz.store import CACHE_ENV
from measure.browser import WAIT_MS, BrowserError, chromium, running_app

# Tests, and the app servers they start, keep trained models out of the user's real cache:
# in a fresh folder, or in DEEPVIZ_TEST_CACHE's, kept between runs to skip retraining the
# default model while working on the tests (the models in it are seeded, like the fresh ones).
# Set here in pytest's first process, so that its workers (`-n 2`) inherit one folder and
# train the default model once between them (store.only_one), not once each.
os.environ.setdefault("DEEPVIZ_TEST_CACHE", tempfile.mkdtemp(prefix="deepviz-test-cache-"))
os.environ[CACHE_ENV] = os.environ["DEEPVIZ_TEST_CACHE"]
# Class drawings the tests and their app servers make go to a fresh SQLite file, never to the
# user's data folder or a school's database that DEEPVIZ_DATABASE_URL may name.
os.environ[DATABASE_ENV] = f"sqlite:///{tempfile.mkdtemp(prefix='deepviz-test-drawings-')}/drawings.sqlite3"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One training at a time, as on a 2-core server, whatever cores the tests run on.
os.environ[SLOTS_ENV] = "1"
# A test using any of these drives Chromium against a running app.
BROWSER_FIXTURES = {"server", "browser", "page"}


def pytest_collection_modifyitems(items):
    """Mark browser tests by what they use, so that none is missed by `-m "not browser"`."""
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


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
def small(mnist):
    """2,000 training and 1,000 test digits, a dataset the size of a page test's."""
    from deepviz.data import Mnist

    return Mnist(
        mnist.x_train[:2000],
        mnist.y_train[:2000],
        mnist.x_test[:1000],
        mnist.y_test[:1000],
        source="small test subset",
        full=False,
    )


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return Path(os.environ[CACHE_ENV])


@pytest.fixture(scope="session")
def default_trained(mnist, cache_dir):
    """The default model (PRESETS[DEFAULT_MODEL], on MNIST and the 30 writers' pen digits), trained
    once per test run, seeded, and left in the cache folder where the app's pages and servers load
    it from, with the pen digits as drawn for it."""
    import keras

    from deepviz.store import default_model

    keras.utils.set_random_seed(0)
    return default_model(mnist, cache_dir)


@pytest.fixture(scope="session")
def tutorial_trained(mnist):
    """The tutorial MLP on all of MNIST, seeded as the tutorial script's own run is."""
    import keras

    from deepviz.config import ModelConfig
    from deepviz.training import train

    keras.utils.set_random_seed(0)
    return train(ModelConfig(), mnist)


@pytest.fixture(autouse=True)
def default_model_before_any_page(request):
    """A page test's first page starts making the default model in the background
    (deepviz.ui.resources.default_model_worker). Trained seeded into the cache folder first, it
    is only loaded there: never trained unseeded beside the test, in the one training slot the
    test's own training needs."""
    if any(getattr(value, "__module__", None) == "apptest" for value in vars(request.module).values()):
        request.getfixturevalue("default_trained")


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """Where the browser tests keep their screenshots (for the README): DEEPVIZ_SCREENSHOT_DIR, if set."""
    folder = os.environ.get("DEEPVIZ_SCREENSHOT_DIR")
    return Path(folder) if folder else None


@pytest.fixture(scope="session")
def server(default_trained):
    """The app, shared by the browser tests. The default model is already in the cache folder,
    so the Draw page loads it instead of training."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="module")  # Playwright's event loop must be gone before AppTest's tests run
def browser():
    try:
        with chromium() as launched:
            yield launched
    except BrowserError as error:
        pytest.fail(str(error))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def canvas(monkeypatch):
    """Call with a drawing (an RGBA array, or None for an empty canvas): the pages' canvas returns it."""

    def install(image):
        fake = FakeCanvas(image)
        monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", types.SimpleNamespace(out=fake))
        return fake

    return install
