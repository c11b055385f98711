"""What every session shares, made once per server: MNIST, the default model, TensorFlow
itself, and each model's per-layer pictures of the test digits."""

from __future__ import annotations

import gc
import importlib
import threading
from typing import TYPE_CHECKING

import streamlit as st

from deepviz.config import DEFAULT_MODEL, duration
from deepviz.ui.markdown import plain
from deepviz.ui.session import session
from deepviz.ui.training import training_queue

if TYPE_CHECKING:
    import numpy as np

    from deepviz.background import DefaultModel
    from deepviz.data import Handwriting, Mnist
    from deepviz.liveness import Liveness
    from deepviz.trained import TrainedModel


def settle_heap() -> None:
    """Exempt what is in memory now (TensorFlow, the default model) from garbage collection.

    Python's collector, which frees a closed session's models, scans every object it tracks:
    with TensorFlow's half a million, a full collection took 0.2 s. Frozen, they are skipped,
    and a collection costs milliseconds. (Streamlit's own full collection after every script
    run is switched off: .streamlit/config.toml.)"""
    gc.collect()
    gc.freeze()


def import_keras() -> None:
    importlib.import_module("keras")
    settle_heap()


@st.cache_resource(show_spinner=False)
def preload_tensorflow() -> threading.Thread:
    """Import TensorFlow in the background, once per server: the home page stays fast, and
    by the time someone presses Train or draws, the 3-6 s import is already done."""
    thread = threading.Thread(target=import_keras, daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner="Loading MNIST...")
def mnist() -> Mnist:
    """One copy per server, read-only. Not st.cache_data: it hands each call a fresh copy,
    unpickling all 70,000 digits, and the Draw page asks on every stroke (its data banner):
    60% of a stroke's server time, measured under load (docs/capacity.md)."""
    from deepviz.data import load_mnist

    data = load_mnist()
    for images in (data.x_train, data.y_train, data.x_test, data.y_test):
        images.flags.writeable = False  # shared by every session: a page that wrote to it would fail
    return data


@st.cache_resource(show_spinner="Drawing 30 people's pen digits to learn from, as the canvas draws them (once)...")
def pen_digits() -> Handwriting:
    """The 30 writers' digits a configuration with data="mnist-pen" trains on, once per server
    (and kept in the cache folder across restarts). DataError where they are missing."""
    from deepviz.store import pen_digits

    return pen_digits()


def pens_available() -> bool:
    """Whether the 30 writers' pen digits are beside the MNIST folder, without drawing them."""
    from deepviz.pendigits import training_source

    return training_source() is not None


def data_banner(data: Mnist) -> None:
    if data.notes:
        st.warning("  \n".join(data.notes), icon=":material/dataset:")


@st.cache_data(max_entries=8, show_spinner="Finding what excites each unit, over all 10,000 test digits...")
def unit_strengths(key: str, _trained: TrainedModel):
    """Per model (`key` names it): every hidden unit's response to every test digit."""
    from deepviz.units import unit_strengths

    test = mnist()
    return unit_strengths(_trained.reader, test.scaled(test.x_test))


def projection_sample() -> np.ndarray:
    """The test digits every projection shows, by their place in the test set: the same for every model."""
    from deepviz.projection import sample_indices

    return sample_indices(mnist().y_test)


@st.cache_data(max_entries=8, show_spinner="Projecting 2,000 test digits at every layer...")
def projections(key: str, _trained: TrainedModel):
    """Per model (`key` names it): each layer's 2-D picture of a fixed sample of test digits."""
    from deepviz.projection import project_layers

    test, sample = mnist(), projection_sample()
    return project_layers(_trained.reader, test.scaled(test.x_test[sample]), test.y_test[sample])


@st.cache_data(max_entries=16, show_spinner="Mapping 2,000 test digits with t-SNE (several seconds, once)...")
def neighbour_map(key: str, _trained: TrainedModel, layer: str):
    """Per model (`key` names it) and layer: the t-SNE map of the same sample `projections` shows."""
    from deepviz.projection import neighbour_map

    test, sample = mnist(), projection_sample()
    activations = _trained.reader.batch(test.scaled(test.x_test[sample]))
    return neighbour_map(activations[_trained.reader.names.index(layer)]), test.y_test[sample]


@st.cache_data(max_entries=8, show_spinner=False)
def fixed_scales(key: str, _trained: TrainedModel) -> dict[str, float]:
    """Per model (`key` names it): each hidden layer's fixed colour scale, from 500 test digits."""
    from deepviz.activations import fixed_scales

    test = mnist()
    return fixed_scales(_trained.reader, test.scaled(test.x_test[:500]))


def layer_tops(trained: TrainedModel) -> dict[str, float]:
    """The top of each layer's colour scale: fixed in projector mode, so that a room watching
    sees a unit brighten or fade as the drawing changes; else none, each drawing's own range."""
    return fixed_scales(trained.key, trained) if session.projector else {}


@st.cache_resource(show_spinner=False)
def default_model_worker() -> DefaultModel:
    """Started once per server, by the first page any session opens (app.py), so that a
    teacher who opens Home first finds the default model ready on Draw. Its training waits
    in the server's training line like anyone's: students who press Train meanwhile queue
    behind it instead of halving its speed, and the Train page counts it as training."""
    from deepviz.background import DefaultModel

    try:
        queue = training_queue()
    except ValueError:  # a bad DEEPVIZ_TRAINING_SLOTS: the Train page says so; Draw still needs it
        queue = None
    return DefaultModel(queue, ready=settle_heap).start()


def default_model() -> TrainedModel:  # noqa: RET503 - st.stop() raises
    """Shared by every session, and never trained further: each user's own model lives in their session.

    Until it is ready the page shows how its training goes instead of the rest of the page
    (st.stop), and runs again by itself once it is ready."""
    worker = default_model_worker()
    if not worker.decided(0):
        with st.spinner(f"Loading the default model (the {DEFAULT_MODEL})..."):
            worker.decided()  # from the cache folder in seconds, or known to need training
    if worker.error:
        st.error(
            f"The default model could not be made: {plain(worker.error)}. Restart the server to try again, "
            "or train your own network on the Train page.",
            icon=":material/error:",
        )
    elif worker.model is None:
        until_default_model_ready(lambda: st.progress(worker.fraction, text=worker.status()))
    else:
        return worker.model
    st.stop()


@st.fragment(run_every=1)
def until_default_model_ready(show) -> None:
    """Calls `show` afresh every second while the default model is not ready, then runs the
    whole page again, which finds it ready."""
    if default_model_worker().done:
        st.rerun(scope="app")
    show()


def default_model_status() -> None:
    """The home page's line on the ready-trained network: live while it loads or trains. Not
    small print: a teacher opening the lesson on the projector wants to know Draw is ready."""
    worker = default_model_worker()
    network = f"a ready-trained network (the {DEFAULT_MODEL}, which reads hand-drawn digits best)"
    if worker.error:
        st.markdown(f":material/error: The ready-trained network for Draw could not be made: {plain(worker.error)}.")
    elif worker.model is not None:
        st.markdown(f":material/check_circle: In a hurry? Go straight to Draw: {network} is ready there.")
    else:
        until_default_model_ready(
            lambda: st.markdown(
                f":material/hourglass_top: In a hurry? Draw starts with {network}: {progress_words(worker)}"
            )
        )


def progress_words(worker: DefaultModel) -> str:
    """How far the default model has got, in a few words."""
    if worker.position:
        return "it is waiting for a free training slot."
    left = worker.seconds_left
    if left is not None:
        return f"it is training now, {worker.fraction:.0%} done, about {duration(left)} left."
    return "it is training now." if worker.training else "it is loading."


def pick_model() -> TrainedModel:
    """The session's own model if it trained one (a radio offers the default too), else the default."""
    own = session.model
    if own is None:
        data_banner(mnist())
        trained = default_model()
        st.caption(f"Using the default model (the {DEFAULT_MODEL}), {trained.label}. Train your own on the Train page.")
        return trained
    choice = st.radio(
        "Model",
        ["Your model", f"Default model ({DEFAULT_MODEL})"],
        horizontal=True,
        help=f"Your model is {plain(own.label)}.",
        label_visibility="collapsed" if session.projector else "visible",  # the choices say it: room for the stage
    )
    return own if choice == "Your model" else default_model()


def other_model(trained: TrainedModel) -> tuple[str, str, TrainedModel] | None:
    """Where the session has a model of its own: the name of `trained` (the one pick_model gave),
    and the other one's name and model, for a page that puts the two side by side; else None."""
    own = session.model
    if own is None:
        return None
    default = f"the default model ({DEFAULT_MODEL})"
    return ("your model", default, default_model()) if trained is own else (default, "your model", own)


@st.cache_data(max_entries=8, show_spinner="Watching each layer's units at every kept epoch...")
def liveness(key: str, _trained: TrainedModel) -> Liveness:
    """Per model (`key` names it): its units' dead share and responses at each kept epoch."""
    from deepviz.liveness import liveness, sample

    return liveness(_trained, sample(mnist()))
