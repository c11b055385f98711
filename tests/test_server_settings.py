"""The settings `streamlit run app.py` serves a class with (.streamlit/config.toml)."""

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from deepviz.modelfile.archive import MAX_MODEL_BYTES
from measure.browser import WAIT_MS, running_server

CONFIG = Path(__file__).parent.parent / ".streamlit" / "config.toml"
SETTINGS = tomllib.loads(CONFIG.read_text())
SECRET = "cannot read /srv/deepviz/secret.json"


def test_forms_and_uploads_are_protected_and_no_usage_is_reported():
    assert SETTINGS["server"]["enableXsrfProtection"] is True
    assert SETTINGS["browser"]["gatherUsageStats"] is False


def test_the_upload_limit_is_the_model_file_limit():
    assert SETTINGS["server"]["maxUploadSize"] * 1024 * 1024 == MAX_MODEL_BYTES


def test_every_setting_is_one_streamlit_knows():
    from streamlit import config

    known = config.get_config_options()
    assert [
        f"{section}.{name}" for section in SETTINGS for name in SETTINGS[section] if f"{section}.{name}" not in known
    ] == []


def test_a_failing_page_shows_students_no_details():
    assert SETTINGS["client"]["showErrorDetails"] == "none"  # no traceback, path, type or message
    assert SETTINGS["client"]["showErrorLinks"] is False


def test_only_the_apps_own_pages_reach_the_server_and_nothing_else_is_served():
    server = SETTINGS["server"]
    assert server["enableCORS"] is True and server["corsAllowedOrigins"] == []
    assert server["allowedHosts"] == []  # any Host, on purpose: see the reason in config.toml
    assert server["enableStaticServing"] is False and server["enableAgentApi"] is False


@pytest.fixture(scope="module")
def failing_app(tmp_path_factory):
    """A page that fails, saying where on the server, served with the app's settings."""
    folder = tmp_path_factory.mktemp("failing")
    (folder / ".streamlit").mkdir()
    shutil.copy(CONFIG, folder / ".streamlit" / "config.toml")
    (folder / "fails.py").write_text(f"raise RuntimeError({SECRET!r})\n")
    with running_server(script="fails.py", folder=folder) as server:
        yield server.url


def test_a_failing_page_says_only_that_it_failed(failing_app, page):
    page.goto(failing_app)
    failure = page.get_by_test_id("stException")
    expect(failure).to_be_visible(timeout=WAIT_MS)
    text = failure.inner_text()
    assert "/srv/deepviz" not in text and "RuntimeError" not in text and "fails.py" not in text
    assert not re.search(r"traceback|line \d", text, re.IGNORECASE)


@pytest.mark.slow
def test_another_sites_page_cannot_open_the_apps_websocket(failing_app):
    stream = failing_app.replace("http", "ws") + "/_stcore/stream"
    with connect(stream, origin=failing_app):
        pass  # the app's own page
    with pytest.raises(InvalidStatus):
        connect(stream, origin="http://e.vil")
