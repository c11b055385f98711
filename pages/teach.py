import numpy as np
import pandas as pd
import streamlit as st

from deepviz.config import CLASSES, plural
from deepviz.drawings import DrawingError
from deepviz.teach import MIN_STUDENTS, TeachError, Tuning, handwriting, split_students
from deepviz.ui.lab import class_code_input, drawings
from deepviz.ui.markdown import plain
from deepviz.ui.resources import data_banner, mnist, pick_model, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.training import STOP_HELP, progress_text, queue_refusal, queue_text, run_into, server_queue

run_app_first()
preload_tensorflow()


def teach_now(base, data, class_drawings, split, code, queue) -> None:
    """Tune a copy of `base` with live progress; the session keeps it as its own model, partly
    tuned if stopped (see deepviz.ui.training.run_into)."""
    st.button("Stop", icon=":material/stop:", help=STOP_HELP)
    bar = st.progress(0.0, text="Preparing the network...")
    busy = st.empty()

    def start(time_limit):
        from deepviz.tuning import TuningRun  # TensorFlow: after the page shows progress

        return TuningRun(
            base, data, class_drawings.of(split.taught), class_drawings.of(split.held_out), code, time_limit=time_limit
        )

    def show_progress(history) -> None:
        busy.caption(queue_text(queue))
        bar.progress(history.fraction, text=progress_text(history))

    run_into("model", start, show_progress)


def show_tuning(trained, tuning: Tuning) -> None:
    """How the tuned model, and the one it started from, read the students it never saw."""
    before, after = tuning.before, tuning.after
    if before is None or after is None:
        return
    st.subheader("On the students it did not learn from")
    if not trained.complete:
        again = "" if trained.time_limit else " Press **Teach the network** to tune it to the end."
        st.warning(f"Your model is {plain(trained.label)}.{again}")
    st.caption(
        f"It learned from {plural(tuning.taught_drawings, 'drawing')} by "
        f"{plural(tuning.taught_students, 'student')}. Tested on the drawings of "
        f"{', '.join(plain(name) for name in tuning.held_out)}: new handwriting to it, as a new student's would be."
    )
    held_out, mnist_test = st.columns(2)
    held_out.metric(
        "Students it never saw",
        f"{after.accuracy:.1%}",
        f"{(after.accuracy - before.accuracy) * 100:+.1f} points (from {before.accuracy:.1%})",
        help=f"Of their {len(after.labels)} drawings, how many it reads right, after tuning and before.",
    )
    mnist_test.metric(
        "MNIST's test digits",
        f"{trained.test_accuracy:.2%}",
        f"{(trained.test_accuracy - tuning.mnist_before) * 100:+.2f} points (from {tuning.mnist_before:.2%})",
        help="The 10,000 digits it was tested on before: tuning should not make it forget them.",
    )
    counts = after.confusion.sum(axis=1)
    table = pd.DataFrame(
        {
            "Digit": range(CLASSES),
            "Drawings": counts,
            "Before": np.where(counts > 0, before.per_class_accuracy, np.nan),
            "After": np.where(counts > 0, after.per_class_accuracy, np.nan),
        }
    ).set_index("Digit")
    st.dataframe(table.style.format("{:.0%}", subset=["Before", "After"], na_rep="no drawings"), width="stretch")
    st.caption(
        "Before: the model you started from. After: tuned on your classmates' drawings, with MNIST's digits "
        "mixed in so it keeps reading those. The model is now yours: Draw and Wall use it."
    )


st.title("Teach")
st.markdown(
    "Teach the network your class's handwriting, then see how well it reads the classmates it did "
    "**not** learn from: the real test of whether it learned a handwriting, not just some drawings."
)
code = class_code_input()
if code is None:
    st.info(
        "Type your class's code to teach the network its drawings: it comes with the lesson's link.",
        icon=":material/group:",
    )
    st.stop()
try:
    kept = drawings().of_class(code)
except DrawingError as error:
    st.error(plain(error), icon=":material/database:")
    st.stop()
if not kept:
    st.info(
        f"Class {code} has no drawings yet: students draw digits for it on **Collect**, then teach here.",
        icon=":material/hourglass_empty:",
    )
    st.stop()
class_drawings = handwriting(kept)
students = sorted(set(class_drawings.students))
st.markdown(f"Class **{code}**: {plural(len(kept), 'drawing')} by {plural(len(students), 'student')}.")
try:
    split = split_students(students)
except TeachError:
    st.warning(
        f"Teaching needs drawings from at least {MIN_STUDENTS} students, one to learn from and one to test "
        "on: ask another student to draw on **Collect**.",
        icon=":material/group_add:",
    )
    st.stop()
st.caption(
    f"The network learns from the drawings of {plural(len(split.taught), 'student')}; those of the "
    f"other {len(split.held_out)} test it."
)
data = mnist()
data_banner(data)
base = pick_model()
if base.tuning is not None:
    st.caption(
        f"This model was tuned on {base.tuning.whose} drawings: teaching starts again from the model it was "
        "tuned from, so the students it is tested on stay new to it."
    )
    base = base.tuning.start
queue_refusal()
queue = server_queue()
if st.button(
    "Teach the network",
    type="primary",
    icon=":material/school:",
    help="Tune a copy of this model on your classmates' drawings, mixed with MNIST's: a few epochs, small steps.",
    disabled=queue is None,
):
    teach_now(base, data, class_drawings, split, code, queue)
    st.rerun()  # the result on its own, without the live progress above it
with st.container():  # one block, for teach_now's progress to replace whole
    own = session.model
    if own is not None and own.tuning is not None and own.tuning.class_code == code:
        show_tuning(own, own.tuning)
