"""Training from a page: the server's one training line, a session's place in it, and the
model a training leaves in the session however it ends."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from deepviz.config import ModelConfig, duration, plural
from deepviz.ui.session import Pending, session

if TYPE_CHECKING:
    from deepviz.history import History
    from deepviz.slots import TrainingQueue
    from deepviz.training import TrainingRun, Watcher

STOP_HELP = (
    "Stop training now: the network keeps what it has learned so far, labelled as partly "
    "trained. While waiting for a training slot: leave the line."
)


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue:
    """One line for the whole server: every session's trainings queue here."""
    from deepviz.slots import queue_from_settings

    return queue_from_settings()


def server_queue() -> TrainingQueue | None:
    """The training line, or None after saying why this server cannot train."""
    try:
        return training_queue()
    except ValueError as error:  # a bad DEEPVIZ_ setting (see deepviz.slots): the server's owner must fix it
        st.error(f"This server cannot train: {error}.", icon=":material/error:")
        return None


def queue_refusal() -> None:
    """Says why this session's last training did not start, if it did not (no place in line, or
    the pen-drawn digits it asks for are not on this server): train_into keeps the reason, as its
    page reruns once training ends, which wipes what the run showed."""
    if refusal := session.take("queue_refusal"):
        st.warning(refusal, icon=":material/block:")


def queue_text(queue: TrainingQueue) -> str:
    running, waiting = queue.busy
    return f"This server trains {plural(queue.size, 'network')} at a time: {running} training now, {waiting} waiting."


def train_into(slot: str, current: ModelConfig, data, report, watch: Watcher | None = None) -> None:
    """Train `current` and keep the model in the session's `slot` ("model", "compared_A" or
    "compared_B"), however training ends (see run_into); `watch` sees it at each epoch's end
    (see deepviz.training.EpochWatch)."""

    def start(time_limit: float | None) -> TrainingRun:
        from deepviz.training import TrainingRun  # TensorFlow loads in seconds: after the page shows progress
        from deepviz.ui.resources import pen_digits

        return TrainingRun(current, data, time_limit, pen_digits() if current.data == "mnist-pen" else None)

    run_into(slot, start, report, watch)


def run_into(slot: str, start: Callable[[float | None], TrainingRun], report, watch: Watcher | None = None) -> None:
    """Run the training `start` makes (given the server's time limit) and keep its model in the
    session's `slot`, however training ends.

    Waits in the server's line for a free training slot first. Clicking Stop (or leaving
    the page) leaves the line, or stops training at its next progress report (Streamlit
    raises in the script's thread there); settle_training then keeps the partly trained
    model, labelled as such, as it does when training reaches the server's time limit. A
    session has one place in line (see TrainingQueue.join)."""
    from deepviz.data import DataError
    from deepviz.slots import QueueError

    queue = server_queue()
    if queue is None:
        return
    notice = st.empty()

    def waiting(position: int) -> None:
        notice.info(
            f"Waiting for a free training slot: you are number {position} in line. "
            f"{queue_text(queue)} Press **Stop** to leave the line.",
            icon=":material/hourglass_top:",
        )

    if session.queue_owner is None:
        session.queue_owner = uuid.uuid4().hex
    try:
        with queue.slot(waiting, owner=session.queue_owner):
            notice.empty()
            run = start(queue.time_limit)
            session.training = Pending(run, slot)
            try:
                run.fit(report, watch)
            finally:
                settle_training(run)
    except (QueueError, DataError) as error:  # no slot, or the pen-drawn digits it asks for are missing
        session.queue_refusal = f"{error}."


def settle_training(run: TrainingRun | None = None) -> None:
    """Keep the model of a training run that ended: finished, stopped, or left mid-way.

    Clicking Stop or leaving the page makes Streamlit start the next script run at once,
    while the interrupted run is still unwinding in its own thread. So both settle: the
    interrupted run (with its own `run`) and every new run (any run left in the session),
    and whichever comes first scores the model for both."""
    pending = session.training
    if pending is None or (run is not None and pending.run is not run):
        return
    trained = pending.run.finish()
    if trained is not None:
        setattr(session, pending.slot, trained)
        # The model it replaces is held in reference cycles (Keras layers and their model):
        # free it now, not at Python's next full collection (Streamlit's after every run is off).
        gc.collect()
    if session.training is pending:
        session.training = None


def progress_text(history: History) -> str:
    text = (
        f"Epoch {min(int(history.epoch_progress) + 1, history.epochs)} of {history.epochs} · "
        f"{history.fraction:.0%} · {history.seconds:.1f} s elapsed"
    )
    if history.seconds_left is not None and history.fraction < 1:
        text += f", about {duration(history.seconds_left)} left"
    return text


def epochs_done(history: History) -> str:
    """'3 of 3' for whole epochs, '1.4 of 3' part way (see History.epochs_done)."""
    done = history.epochs_done
    return f"{done:g} of {history.epochs}" if done == int(done) else f"{done:.1f} of {history.epochs}"
