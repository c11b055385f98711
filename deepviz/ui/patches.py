"""Every use of Streamlit's private API, in one place.

Each is reached through `private`, which fails loudly, naming it, if a Streamlit upgrade has
moved it, instead of deepviz silently losing what the patch was for; tests/test_patches.py
checks all of them against the installed Streamlit."""

from __future__ import annotations

import importlib

import streamlit as st

# What deepviz reaches into: (module, attribute path).
SCRIPT_RUNNER = ("streamlit.runtime.scriptrunner.script_runner", "_clean_problem_modules")
PAGES_DIRECTORY = ("streamlit.runtime.pages_manager", "PagesManager.uses_pages_directory")
INTERNAL_IP = ("streamlit.net_util", "get_internal_ip")
PRIVATE = (SCRIPT_RUNNER, PAGES_DIRECTORY, INTERNAL_IP)


def private(module_name: str, path: str) -> tuple[object, str]:
    """The object holding the last attribute of `path` in Streamlit's `module_name`, and that
    attribute's name."""
    owner: object = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part, None)
    if not hasattr(owner, name):
        raise RuntimeError(
            f"Streamlit {st.__version__} has no {module_name}.{path}, which deepviz relies on: "
            "see deepviz/ui/patches.py, or install the Streamlit that requirements.txt names"
        )
    return owner, name


def keep_keras_state() -> None:
    """Stop Streamlit calling `keras.backend.clear_session()` each time a script run ends.

    Streamlit does it to tidy up after scripts that build a model on every run. Here it is
    wrong and slow. Wrong: the reset is process-wide, so a run ending in one session wipes
    Keras's global state under another session that is training, or replaying a snapshot
    (a StatelessScope lives in that state). Slow: it also flushes TensorFlow's kernel cache
    and runs a full gc.collect(), which under load cost each stroke twice the stroke's own work.
    deepviz builds models only on purpose and frees what TensorFlow leaks itself."""
    owner, name = private(*SCRIPT_RUNNER)
    setattr(owner, name, lambda: None)  # deepviz uses no pyplot: nothing else to tidy


def runs_pages_alone() -> bool:
    """Whether Streamlit runs a page's file by itself (its legacy multipage mode), not inside
    app.py's st.navigation: see deepviz.ui.shell.run_app_first."""
    owner, name = private(*PAGES_DIRECTORY)
    return bool(getattr(owner, name))


def internal_ip() -> str | None:
    """This computer's address on the local network, as Streamlit prints it at start-up."""
    owner, name = private(*INTERNAL_IP)
    return getattr(owner, name)()
