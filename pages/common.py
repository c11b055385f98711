"""What the pages share: cached data and default model, the session's configuration and model."""

from __future__ import annotations

import importlib
import threading

import streamlit as st

from deepviz.config import ModelConfig


def run_app_first() -> None:
    """Call first on every page: make sure app.py's main (navigation, shared-link restore,
    settling an interrupted training) runs, even when Streamlit runs this page's file alone.

    With a folder named pages/ beside app.py, Streamlit starts in its legacy multipage mode
    and runs a page's file by itself until some session has called st.navigation: that is
    the first visitor of a fresh server who opens a shared link, and every AppTest run. Run
    main, which runs this page inside it, and end the bare run. No rerun: that would lose
    the click that started this run."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        from app import main

        main()
        st.stop()


@st.cache_resource(show_spinner=False)
def preload_tensorflow() -> threading.Thread:
    """Import TensorFlow in the background, once per server: the home page stays fast, and
    by the time someone presses Train or draws, the 3-6 s import is already done."""
    thread = threading.Thread(target=importlib.import_module, args=("keras",), daemon=True)
    thread.start()
    return thread


@st.cache_data(show_spinner="Loading MNIST...")
def mnist():
    from deepviz.data import load_mnist

    return load_mnist()


@st.cache_data(max_entries=8, show_spinner="Finding what excites each unit, over all 10,000 test digits...")
def unit_strengths(key: str, _trained):
    """Per model (`key` names it): every hidden unit's response to every test digit."""
    from deepviz.units import unit_strengths

    test = mnist()
    return unit_strengths(_trained.probe, test.scaled(test.x_test))


@st.cache_data(max_entries=8, show_spinner="Projecting 2,000 test digits at every layer...")
def projections(key: str, _trained):
    """Per model (`key` names it): each layer's 2-D picture of a fixed sample of test digits."""
    from deepviz.projection import project_layers, sample_indices

    test = mnist()
    sample = sample_indices(test.y_test)
    return project_layers(_trained.probe, test.scaled(test.x_test[sample]), test.y_test[sample])


@st.cache_resource(show_spinner="Training the default model (the tutorial MLP) once; about 15 seconds...")
def default_model():
    """Shared by every session, and never trained further: each user's own model lives in their session."""
    from deepviz.store import default_model

    return default_model(mnist())


def pick_model():
    """The session's own model if it trained one (a radio offers the default too), else the default."""
    own = st.session_state.get("model")
    if own is None:
        data_banner(mnist())
        trained = default_model()
        st.caption(f"Using the default model (the tutorial MLP), {trained.label}. Train your own on the Train page.")
        return trained
    choice = st.radio(
        "Model", ["Your model", "Default model (tutorial MLP)"], horizontal=True,
        help=f"Your model is {own.label}.",
    )
    return own if choice == "Your model" else default_model()


def config() -> ModelConfig:
    return st.session_state.config


def set_config(new: ModelConfig) -> None:
    st.session_state.config = new
    st.session_state.link_problems = []
    share(new)


def share(current: ModelConfig) -> None:
    """Keep the address bar a link to this configuration."""
    query = current.to_query()
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def restore_config() -> None:
    """A session starts from the configuration in the link it was opened with."""
    if "config" not in st.session_state:
        st.session_state.config, st.session_state.link_problems = ModelConfig.from_query(st.query_params.to_dict())
    for problem in st.session_state.link_problems:
        st.warning(problem, icon=":material/link:")
    share(config())


def train_into(slot: str, current: ModelConfig, data, report) -> None:
    """Train `current` and keep the model in `st.session_state[slot]`, however training ends.

    Clicking Stop (or leaving the page) interrupts `fit` at its next progress report;
    settle_training then keeps the partly trained model, labelled as such."""
    from deepviz.training import TrainingRun  # TensorFlow loads in seconds: after the page shows progress

    run = TrainingRun(current, data)
    st.session_state.training = (run, slot)
    try:
        run.fit(report)
    finally:
        settle_training(run)


def progress_text(history) -> str:
    return (
        f"Epoch {min(int(history.epoch_progress) + 1, history.epochs)} of {history.epochs} · "
        f"{history.fraction:.0%} · {history.seconds:.1f} s elapsed"
    )


def settle_training(run=None) -> None:
    """Keep the model of a training run that ended: finished, stopped, or left mid-way.

    Clicking Stop or leaving the page makes Streamlit start the next script run at once,
    while the interrupted run is still unwinding in its own thread. So both settle: the
    interrupted run (with its own `run`) and every new run (any run left in the session),
    and whichever comes first scores the model for both."""
    pending = st.session_state.get("training")
    if pending is None or (run is not None and pending[0] is not run):
        return
    trained = pending[0].finish()
    if trained is not None:
        st.session_state[pending[1]] = trained
    if st.session_state.get("training") is pending:
        del st.session_state.training


def drawing_pad(page: str):
    """A canvas with a stroke-width slider and a Clear button; returns the canvas's RGBA image or None.

    Each page has its own canvas, so a drawing never shows on one page while another's is predicted."""
    from streamlit_drawable_canvas import st_canvas  # looked up per call: page tests swap in a fake

    version = f"{page}_canvas_version"
    st.session_state.setdefault(version, 0)
    stroke = st.slider("Stroke width", 5, 40, 20, help="Thicker strokes look more like MNIST's pen.")
    canvas = st_canvas(
        stroke_width=stroke,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=280,
        width=280,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"{page}-canvas-{st.session_state[version]}",
    )

    def clear() -> None:
        st.session_state[version] += 1  # a new key gives a fresh, empty canvas

    st.button("Clear", on_click=clear, icon=":material/ink_eraser:")
    return canvas.image_data


def layer_titles(config: ModelConfig) -> dict[str, str]:
    from deepviz.network import summarize

    return {row.name: f"{row.name}: {row.description}" for row in summarize(config)} | {
        "pixels": "Input: what the network receives",
        "output": "Output: one score per digit",
    }


def sure(probability: float) -> str:
    """A probability as a confidence a class can read; a rounded "100%" would overstate it."""
    return "over 99.9%" if probability > 0.999 else f"{probability:.1%}"


def data_banner(data) -> None:
    if data.notes:
        st.warning("  \n".join(data.notes), icon=":material/dataset:")
