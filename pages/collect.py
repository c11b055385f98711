import numpy as np
import streamlit as st

from deepviz.config import CLASSES
from deepviz.drawings import MAX_NICKNAME, DrawingError
from deepviz.preprocess import prepare
from deepviz.ui.canvas import clear_button, clear_pad, drawing_pad
from deepviz.ui.lab import class_code_input, drawings, reading, writer
from deepviz.ui.markdown import plain
from deepviz.ui.resources import pick_model, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import confidence

run_app_first()
preload_tensorflow()

PAGE = "collect"


def submit(drawing: np.ndarray | None, class_code: str | None, label: int | None) -> str | None:
    """Keep the drawing, as the network receives it, for the class under `label`: None once
    it is kept, else why not, in one sentence."""
    prepared = None if drawing is None else prepare(drawing)
    if prepared is None:  # nothing drawn, or too faint to read
        return "Draw the digit first: big, in the middle of the black square."
    if class_code is None:
        return "Type your class code first: your teacher gives it."
    try:
        session.submitted = drawings().add(class_code, session.nickname, label, prepared.image, writer())
    except DrawingError as refused:
        return str(refused)
    return None


def show_reading(where) -> None:
    """What the current model reads in the drawing last sent, so each one shows the lesson."""
    sent = session.submitted
    if sent is None:
        return
    with where:
        trained = pick_model()
    probabilities = reading(trained, [sent]).probabilities[0]
    read = int(np.argmax(probabilities))
    picture, words = where.columns([1, 3], vertical_alignment="center")
    picture.image(sent.image, width=84, alt=f"your {sent.label}, as the network sees it")
    if read == sent.label:
        words.markdown(
            f"Kept your {sent.label}. The network reads it as **{read}**, {confidence(probabilities[read])} sure."
        )
    else:
        words.markdown(
            f"Kept your {sent.label}. The network reads it as **:red[{read}]**: "
            "your handwriting is new to it. That is what the class's drawings can teach it."
        )


@st.fragment
def collecting(class_code: str | None) -> None:
    """What to draw, the pad, Submit and what the network read: a stroke reruns this, not the page."""
    ask = st.container(key="collect-ask")  # above the pad, which a phone puts above everything beside it
    top = st.container(horizontal=True, gap="medium", key="collect-top")
    pad, side = top.container(width="content", key="collect-pad"), top.container(key="collect-side")
    buttons, answer, pen = side.container(horizontal=True), side.container(), side.container()
    if session.own_digits:
        label = ask.pills("Which digit will you draw?", range(CLASSES), key="collect-label")
    else:
        label = session.round_position
        ask.subheader(f"Draw a {label}")
        ask.progress(label / CLASSES, text=f"{label} of {CLASSES} digits done")
    with pad:
        drawing = drawing_pad(PAGE, controls=pen)
    if buttons.button("Submit", type="primary", icon=":material/send:"):
        problem = submit(drawing, class_code, label)
        if problem is None:
            if not session.own_digits:
                session.round_position = (label + 1) % CLASSES
            clear_pad(PAGE)
            st.rerun()  # the whole page: the click's run is not always the fragment's alone
        answer.warning(plain(problem), icon=":material/error:")
    clear_button(PAGE, buttons)
    if not session.own_digits and session.round_position == 0 and session.submitted is not None:
        answer.success("That was all ten digits: thank you! Draw them again for more.", icon=":material/celebration:")
    show_reading(answer)


if not session.projector:
    st.title("Collect our handwriting")
    st.caption(
        "Draw each digit you are asked for and press Submit. Your class's drawings go on the wall, "
        "and they can teach the network your handwriting."
    )
who = st.container(horizontal=True, vertical_alignment="bottom", key="collect-who")
class_code = class_code_input(who)
who.text_input(
    "Your nickname",
    key="nickname",
    persist_state="session",
    placeholder=f"not your full name; at most {MAX_NICKNAME} characters",
    help="What your drawings are filed under, so your teacher can find or delete them. Nothing else about you is kept.",
)
who.toggle(
    "Choose my own digits",
    key="own_digits",
    persist_state="session",
    help="Off: you are asked for 0, 1, 2 ... 9 in turn. On: you pick which digit you draw each time.",
)
collecting(class_code)
