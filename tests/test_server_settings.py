"""The settings `streamlit run app.py` serves a class with (.streamlit/config.toml)."""

import tomllib
from pathlib import Path

from deepviz.modelfile import MAX_MODEL_BYTES

SETTINGS = tomllib.loads((Path(__file__).parent.parent / ".streamlit" / "config.toml").read_text())


def test_forms_and_uploads_are_protected_and_no_usage_is_reported():
    assert SETTINGS["server"]["enableXsrfProtection"] is True
    assert SETTINGS["browser"]["gatherUsageStats"] is False


def test_the_upload_limit_is_the_model_file_limit():
    assert SETTINGS["server"]["maxUploadSize"] * 1024 * 1024 == MAX_MODEL_BYTES

