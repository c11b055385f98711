"""Streamlit's private API, which deepviz.ui.patches reaches into: an upgrade that moves any of
it fails here, by name, instead of deepviz silently losing what the patch was for."""

import pytest

from deepviz.ui import patches


@pytest.mark.parametrize("reached", patches.PRIVATE, ids=".".join)
def test_what_deepviz_reaches_into_is_in_the_installed_streamlit(reached):
    owner, name = patches.private(*reached)
    assert hasattr(owner, name)


def test_a_moved_attribute_fails_loudly_naming_it():
    with pytest.raises(
        RuntimeError, match=r"streamlit.runtime.pages_manager.PagesManager.gone, which deepviz relies on"
    ):
        patches.private("streamlit.runtime.pages_manager", "PagesManager.gone")
    with pytest.raises(RuntimeError, match=r"streamlit.net_util.Nothing.here"):
        patches.private("streamlit.net_util", "Nothing.here")


def test_streamlit_no_longer_resets_keras_after_each_run(monkeypatch):
    from streamlit.runtime.scriptrunner import script_runner

    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)
    patches.keep_keras_state()
    assert script_runner._clean_problem_modules() is None
    assert script_runner._clean_problem_modules.__module__ == patches.__name__


def test_the_other_patches_give_what_their_callers_expect():
    assert isinstance(patches.runs_pages_alone(), bool)
    address = patches.internal_ip()
    assert address is None or isinstance(address, str)
