"""The class handwriting lab's shared parts (the Collect and Wall pages): the server's store of
the class's drawings, the class code, and the wall's picture of a digit's drawings."""

from __future__ import annotations

import hmac
import os
import uuid
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from deepviz.ui.markdown import plain
from deepviz.ui.session import session

if TYPE_CHECKING:
    from deepviz.drawings import Drawing, Drawings
    from deepviz.evaluation import Evaluation
    from deepviz.trained import TrainedModel

# A server setting: with it, the wall's tools that delete and export a class's drawings are the
# teacher's alone; without it, anyone who opens the wall with the class code can use them.
TEACHER_ENV = "DEEPVIZ_TEACHER_PASSWORD"
# The wall's thumbnails: each drawing in a frame, red where the model misreads it. Pure red on
# the projector's black reads from the back of the room; a grey frame keeps the rest apart.
FRAME = 3  # px, around each 28 x 28 drawing
MISREAD = (255, 40, 40)
READ = (70, 70, 70)


def drawings() -> Drawings:
    """The server's store of drawings; if it cannot be opened, the page says why, in one
    sentence, and stops there (the rest of the app works on without the lab)."""
    from deepviz.drawings import DATABASE_ENV, DrawingError

    try:
        return server_drawings(os.environ.get(DATABASE_ENV, ""))
    except DrawingError as error:
        st.error(plain(error), icon=":material/database:")
        st.stop()


@st.cache_resource(show_spinner=False)
def server_drawings(setting: str) -> Drawings:
    """One store per server, shared by every session (it is thread-safe). Keyed by the
    DEEPVIZ_DATABASE_URL it was opened with, which only tests change while a server runs."""
    from deepviz.drawings import from_settings

    return from_settings()


def reading(trained: TrainedModel, kept: list[Drawing]) -> Evaluation:
    """How `trained` reads the drawings `kept`: computed once per model and set of drawings, as
    the wall refreshes every few seconds and Collect reruns on every stroke."""
    ids = tuple(drawing.id for drawing in kept)
    return cached_reading(trained.key, ids, trained, kept)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_reading(key: str, ids: tuple[int, ...], _trained: TrainedModel, _kept: list[Drawing]) -> Evaluation:
    """Per model (`key`) and drawings (their `ids`)."""
    from deepviz.evaluation import evaluate_on

    images = np.stack([drawing.image for drawing in _kept])
    return evaluate_on(_trained.model, images, np.array([drawing.label for drawing in _kept]))


def class_code_input(where=st) -> str | None:
    """The class code box (the link's class= fills it in): the code, or None while it is empty
    or, saying why in one sentence, not one the lab keeps."""
    from deepviz.drawings import DrawingError, checked_class_code

    where.text_input(
        "Class code",
        key="class_code",
        persist_state="session",
        on_change=tidy_class_code,
        placeholder="such as 7B-maths",
        help="The same code for the whole class: your teacher gives it, or it comes with the lesson's link.",
    )
    if not session.class_code:
        return None
    try:
        return checked_class_code(session.class_code)
    except DrawingError as refused:
        where.warning(plain(refused), icon=":material/group:")
        return None


def tidy_class_code() -> None:
    session.class_code = session.class_code.strip()


def writer() -> str:
    """What this session is to the store's rate limit: a random name, kept for the session."""
    if session.writer is None:
        session.writer = uuid.uuid4().hex
    return session.writer


def wall_picture(images: np.ndarray, misread: np.ndarray, across: int) -> np.ndarray:
    """`images` (n, 28, 28, uint8, white on black) as one RGB picture, `across` to a row in
    order, each framed: red where `misread`, grey elsewhere. Shown as one image per digit, so
    that a wall of hundreds of drawings is ten images for the browser, not hundreds."""
    count, side = len(images), images.shape[1]
    tile = side + 2 * FRAME
    rows = -(-count // across)
    picture = np.zeros((rows * tile, across * tile, 3), np.uint8)
    for index, (image, wrong) in enumerate(zip(images, misread)):
        top, left = (index // across) * tile, (index % across) * tile
        picture[top : top + tile, left : left + tile] = MISREAD if wrong else READ
        picture[top + FRAME : top + FRAME + side, left + FRAME : left + FRAME + side] = image[..., np.newaxis]
    return picture


def teacher_password() -> str:
    return os.environ.get(TEACHER_ENV, "")


def may_use_teacher_tools() -> bool:
    """Checked by each tool's callback too: a tool's button exists only once unlocked, but what a
    browser sends is untrusted."""
    return not teacher_password() or session.teacher


def teacher_tools_open(where=st) -> bool:
    """Whether this session may use the teacher's tools, asking for the server's password first
    where it has one (once a session)."""
    if not teacher_password():
        where.caption(
            f"Anyone who opens this page with the class code can use these tools: set {TEACHER_ENV} "
            "on the server to keep them for the teacher."
        )
        return True
    if session.teacher:
        return True
    typed = where.text_input("Teacher's password", type="password", key="teacher-password")
    if typed:
        if hmac.compare_digest(typed.encode(), teacher_password().encode()):
            session.teacher = True
            return True
        where.warning("That is not the teacher's password.", icon=":material/lock:")
    return False
