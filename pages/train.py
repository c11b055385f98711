import pandas as pd
import streamlit as st

from deepviz.config import count_params
from deepviz.figures import curves_figure, dead_units_figure, responses_figure
from deepviz.guide import word
from deepviz.liveness import SAMPLE, Watch, sample
from deepviz.ui.markdown import plain
from deepviz.ui.resources import data_banner, liveness, mnist, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import plot
from deepviz.ui.training import (
    STOP_HELP,
    epochs_done,
    progress_text,
    queue_refusal,
    queue_text,
    server_queue,
    train_into,
)

run_app_first()
preload_tensorflow()


def train_now(current, data, queue, busy) -> None:
    """Train with live progress. Its first element takes the place of the block that holds the
    last result: the browser keeps a run's elements on show until the next run replaces them,
    place by place, so the old result and its table vanish as soon as training starts."""
    st.button("Stop", icon=":material/stop:", help=STOP_HELP)
    bar = st.progress(0.0, text="Preparing the network...")
    chart = st.empty()
    dying = st.empty()
    watch = Watch(sample(data))  # reads the units at each epoch's end, in training's loop
    shown = 0

    def show_progress(history) -> None:
        nonlocal shown
        busy.caption(queue_text(queue))  # counted now that this training holds its slot
        bar.progress(history.fraction, text=progress_text(history))
        plot(curves_figure(history), chart)
        life = watch.life
        if life is not None and life.layers and len(life.epochs) > shown:  # once an epoch, not every report
            shown = len(life.epochs)
            with dying.container():
                st.subheader("Units living and dying", help=word("dead unit"))
                units_dying(life, shown - 1)
                st.caption(
                    f"Each layer's share of units that stay quiet for all {SAMPLE:,} test digits, read as each "
                    "epoch ends. Too high a learning rate kills relu units here as you watch."
                )

    train_into("model", current, data, show_progress, watch)


def show_result(trained) -> None:
    history = trained.history
    if trained.opened_from:
        st.success(f"Your model: {plain(trained.label)}.")
    elif trained.complete:
        st.success(f"Your model: {plain(trained.label)}. Trained in {history.seconds:.1f} s.")
    elif trained.time_limit:  # training again as it is would stop at the same limit
        st.warning(
            f"Your model is {plain(trained.label)}. To train it to the end, choose fewer epochs, fewer "
            "images or a smaller network on **Build**: it shows how long a training will take."
        )
    else:
        st.warning(f"Your model is {plain(trained.label)}. Press **Train** to train it again from epoch 1.")
    if trained.config != session.config:
        # Not a caption: projector mode hides those, and the room must know which network this is.
        st.info(
            f"It was trained as: {trained.config.describe()}. Press **Train** for the network as it is set now.",
            icon=":material/info:",
        )
    accuracy, params, images = st.columns(3)
    accuracy.metric(
        "Test accuracy", f"{trained.test_accuracy:.2%}", help="On the 10,000 test digits, never seen in training."
    )
    params.metric("Parameters", f"{trained.model.count_params():,}", help=word("weight"))
    if not trained.opened_from:  # a file keeps the weights, not how they were learned
        images.metric("Epochs done", epochs_done(history), help=word("epoch"))
        plot(curves_figure(history))
    if history.rows:
        table = pd.DataFrame(history.rows).set_index("epoch")
        st.dataframe(table.style.format("{:.4f}").format("{:.1f}", subset=["seconds"]), width="stretch")
    st.caption(
        "Loss is how wrong the network's answers are: training pushes it down. Accuracy is the share "
        "of digits read right. Validation accuracy well below training accuracy means the network "
        "memorises its training images instead of learning digits: that is overfitting."
    )
    show_liveness(trained)
    st.page_link("pages/draw.py", label="Draw a digit for this model", icon=":material/draw:")


@st.fragment
def show_liveness(trained) -> None:
    """Each layer's dead units and responses, epoch by epoch: a fragment, so the slider redraws only this."""
    st.subheader("Units living and dying", help=word("dead unit"))
    life = liveness(trained.key, trained)
    if not life.layers:
        st.info(
            "This network has no hidden layers: its pixels go straight to the output, so it has no units "
            "that could live or die. Add a Dense or Conv layer on **Build** to watch them.",
            icon=":material/info:",
        )
        return
    last = len(life.labels) - 1
    if not trained.snapshots:
        st.info(
            "A model file keeps the weights, not how they were learned: here are its units as they are now. "
            "Train a network here to watch its units epoch by epoch.",
            icon=":material/info:",
        )
        at = last
    else:
        at = st.select_slider(
            "Epoch",
            range(len(life.labels)),
            value=last,
            format_func=life.labels.__getitem__,
            key="liveness-epoch",
            help=word("epoch"),
        )
    units_dying(life, at)
    plot(responses_figure(life, at))
    st.caption(
        f"A unit is dead when it stays quiet (0) for every one of {SAMPLE:,} test digits: it passes nothing "
        "on, so nothing it could change moves the answer, training gets no signal to change it (its "
        "gradient is 0), and it never comes back. A learning rate too high is the usual killer: one big "
        "step pushes a relu unit's bias so low that no digit turns it on again. Below the lines: how strongly each "
        "layer's units respond to the digits at the chosen epoch; a tall bar at 0 is units staying quiet."
    )


def units_dying(life, at: int) -> None:
    """Each layer's share of dead units epoch by epoch, and any layer in which every unit is dead at `at`."""
    if dead := life.all_dead(at):
        st.warning(
            f"Every unit is dead in {plain(', '.join(dead))} {life.labels[at]}: a layer like that passes only "
            "zeros on, so every digit looks the same to the layers after it and the network gives them all the "
            "same answer. Try a smaller learning rate on **Build**.",
            icon=":material/warning:",
        )
    plot(dead_units_figure(life, at))


def open_model_file() -> None:
    """The uploader's callback: runs once per file chosen, not on every rerun."""
    from deepviz.modelfile import display_name, load_bytes
    from deepviz.modelfile.errors import ModelFileError
    from deepviz.trained import opened

    file = st.session_state["model-file"]
    if file is None:
        return
    name = display_name(file.name)
    try:
        model_config, model = load_bytes(file.getvalue())
    except ModelFileError as error:
        session.model_file_error = f"{name} was not opened: {error}"
        return
    session.model = opened(model_config, model, mnist(), name)
    session.load_config(model_config)


def model_files(trained) -> None:
    from deepviz.modelfile import model_bytes
    from deepviz.modelfile.archive import MAX_MODEL_BYTES

    st.subheader("Model files", help="Keep a model, or show one trained elsewhere, in Keras' own `.keras` format.")
    save, load = st.columns(2)
    if trained is None:
        save.caption("Train a model, or open one, to download it.")
    else:
        save.download_button(
            "Download your model (.keras)",
            data=lambda: model_bytes(trained.model),
            file_name="deepviz-model.keras",
            mime="application/zip",
            on_click="ignore",
            icon=":material/download:",
            help='Open it here again later, or in Keras: keras.saving.load_model("deepviz-model.keras").',
        )
    load.file_uploader(
        "Open a model file",
        type="keras",
        key="model-file",
        on_change=open_model_file,
        max_upload_size=MAX_MODEL_BYTES // 2**20,
        help="A .keras file of a network deepviz can draw: Dense, Conv (padding 'same') and MaxPool "
        "layers on 28x28 digits, ending in Dense 10 softmax. Files are checked before they are "
        "read and never run code; anything else is refused with the reason.",
    )
    if error := session.take("model_file_error"):
        load.error(plain(error), icon=":material/block:")


st.title("Train")
current = session.config
st.markdown(f"**Network:** {current.describe()} · {count_params(current):,} parameters")
st.page_link("pages/build.py", label="Change the network", icon=":material/construction:")

data = mnist()
data_banner(data)
images = min(current.train_images, len(data.x_train))
st.caption(
    f"Trains on {images:,} images from {data.source} ({current.validation_split:.0%} held back for "
    f"validation), then tests on {len(data.x_test):,} images it has never seen."
)
queue_refusal()
queue = server_queue()
busy = st.empty()  # the line's count: made before this run trains, or by its training's reports
train = st.button(
    "Train",
    type="primary",
    icon=":material/model_training:",
    help=f"Show the network the training images and adjust its weights. {word('epoch')}",
)
if train:
    train_now(current, data, queue, busy)
    st.rerun()  # show the finished result on its own, without the live progress above it
if queue:
    busy.caption(queue_text(queue))
with st.container():  # one block, for train_now to replace whole
    if session.model is not None:
        show_result(session.model)
    else:
        st.info("Press **Train** to train this network. Until then, the Draw page uses the default model.")
    model_files(session.model)
