import numpy as np
import streamlit as st

from deepviz.config import CLASSES, plural
from deepviz.drawings import DrawingError
from deepviz.ui.lab import (
    class_code_input,
    drawings,
    may_use_teacher_tools,
    reading,
    teacher_tools_open,
    wall_picture,
)
from deepviz.ui.markdown import plain
from deepviz.ui.resources import pick_model, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first

run_app_first()
preload_tensorflow()

REFRESH_S = 3  # a drawing sent on Collect is on the wall within this
# Per digit, the newest drawings, in a picture ACROSS wide: as many as fit a 1280 x 720 projector
# under the scores, in projector mode's large type. There a drawing is about 30 pixels, 6 cm of a
# 3 m wide picture: as tall as text read from 10 m away needs to be.
NEWEST, ACROSS = 12, 3


@st.fragment(run_every=REFRESH_S)
def wall(trained, class_code: str) -> None:
    """The class's drawings, newest first in a column per digit, misread ones framed in red; and
    how well the model reads them beside how well it reads MNIST."""
    kept = drawings().of_class(class_code)  # oldest first
    if not kept:
        st.info(
            "No drawings yet. Students open Collect with this class code (Share gives them the link), "
            "and each digit they send appears here.",
            icon=":material/hourglass_empty:",
        )
        return
    images = np.stack([drawing.image for drawing in kept])
    labels = np.array([drawing.label for drawing in kept])
    read = reading(trained, kept)
    misread = read.predictions != labels
    scores = st.container(horizontal=True, gap="medium", key="wall-scores")
    scores.metric(
        "Our handwriting",
        f"{read.accuracy:.0%}",
        help="How many of the class's drawings the network reads as the digit they were drawn as.",
        width="content",
    )
    scores.metric(
        "MNIST's test digits",
        f"{trained.test_accuracy:.0%}",
        help="The 10,000 digits it was tested on.",
        width="content",
    )
    students = len({drawing.nickname for drawing in kept})
    wrong = int(misread.sum())
    st.markdown(
        f"{plural(len(kept), 'drawing')} by {plural(students, 'student')}: "
        + (f"the network misreads **:red[{wrong}]**, framed in red." if wrong else "the network reads every one.")
    )
    for digit, column in zip(range(CLASSES), st.columns(CLASSES, gap="small")):
        drawn = np.flatnonzero(labels == digit)[::-1]  # newest first
        column.markdown(f"**{digit}**")
        if drawn.size:
            newest = drawn[:NEWEST]
            column.image(
                wall_picture(images[newest], misread[newest], ACROSS),
                width="stretch",
                output_format="PNG",  # JPEG would blur the frames
                alt=f"{digit}: the newest {newest.size} of {plural(drawn.size, 'drawing')}, "
                f"{int(misread[drawn].sum())} misread",
            )


def delete(class_code: str, nickname: str | None) -> None:
    """Delete one student's drawings, or with None, the whole class's; the wall says what it did."""
    if not may_use_teacher_tools():
        return
    store = drawings()
    try:
        if nickname is None:
            deleted = store.delete_class(class_code)
            session.wall_notes = f"Deleted the class's {plural(deleted, 'drawing')}."
            st.session_state["wall-sure"] = False
        else:
            deleted = store.delete_student(class_code, nickname)
            session.wall_notes = f"Deleted {plural(deleted, 'drawing')} by {plain(nickname)}."
    except DrawingError as refused:
        session.wall_notes = plain(refused)


def teachers_tools(class_code: str) -> None:
    store = drawings()
    with st.expander("Teacher's tools", icon=":material/admin_panel_settings:"):
        if notes := session.take("wall_notes"):
            st.info(notes, icon=":material/delete:")
        if not teacher_tools_open():
            return
        student = st.selectbox("Student", store.students(class_code), index=None, placeholder="Pick a nickname")
        st.button(
            "Delete this student's drawings",
            on_click=delete,
            args=(class_code, student),
            icon=":material/person_remove:",
            disabled=student is None,
        )
        sure = st.checkbox(f"Yes, delete every drawing of class {plain(class_code)}", key="wall-sure")
        st.button(
            "Delete the whole class's drawings",
            on_click=delete,
            args=(class_code, None),
            icon=":material/delete_forever:",
            disabled=not sure,
        )
        exports = (
            ("CSV", store.csv, "text/csv", None),
            (
                "NPZ",
                store.npz,
                "application/octet-stream",
                "NumPy arrays: np.load(file) gives images, labels, nicknames, created and ids.",
            ),
        )
        for column, (kind, export, mime, help_text) in zip(st.columns(2), exports):
            column.download_button(
                f"Download {kind}",
                lambda export=export: export(class_code),
                file_name=f"{class_code}-drawings.{kind.lower()}",
                mime=mime,
                icon=":material/download:",
                on_click="ignore",
                help=help_text,
            )


if not session.projector:
    st.title("Our handwriting wall")
top = st.container(horizontal=True, vertical_alignment="bottom", key="wall-top")
class_code = class_code_input(top)
if class_code is None:
    st.info(
        "Type the class code your students use on Collect: their drawings appear here as they send them.",
        icon=":material/group:",
    )
    st.stop()
with top:
    trained = pick_model()
wall(trained, class_code)
teachers_tools(class_code)
