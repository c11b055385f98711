import pandas as pd
import streamlit as st

from deepviz.figures import curves_figure
from deepviz.guide import word
from deepviz.network import count_params
from pages.common import (
    STOP_HELP,
    config,
    data_banner,
    mnist,
    plot,
    preload_tensorflow,
    progress_text,
    run_app_first,
    train_into,
)

run_app_first()
preload_tensorflow()


def show_progress(history, bar, chart) -> None:
    bar.progress(history.fraction, text=progress_text(history))
    plot(curves_figure(history), chart)


def train_now(current, data) -> None:
    st.button("Stop", icon=":material/stop:", help=STOP_HELP)
    bar = st.progress(0.0, text="Preparing the network...")
    chart = st.empty()
    train_into("model", current, data, lambda history: show_progress(history, bar, chart))


def show_result(trained) -> None:
    history = trained.history
    if trained.complete:
        st.success(f"Your model: {trained.label}. Trained in {history.seconds:.1f} s.")
    else:
        st.warning(f"Your model is {trained.label}. Train again to finish it.")
    if trained.config != config():
        st.caption(f"It was trained as: {trained.config.describe()}. Press Train for the network as it is set now.")
    accuracy, params, images = st.columns(3)
    accuracy.metric("Test accuracy", f"{trained.test_accuracy:.2%}", help="On the 10,000 test digits, never seen in training.")
    params.metric("Parameters", f"{trained.model.count_params():,}", help=word("weight"))
    images.metric("Epochs done", f"{history.epoch_progress:.1f} of {history.epochs}", help=word("epoch"))
    plot(curves_figure(history))
    if history.rows:
        table = pd.DataFrame(history.rows).set_index("epoch")
        st.dataframe(table.style.format("{:.4f}").format("{:.1f}", subset=["seconds"]), width="stretch")
    st.caption(
        "Loss is how wrong the network's answers are: training pushes it down. Accuracy is the share "
        "of digits read right. Validation accuracy well below training accuracy means the network "
        "memorises its training images instead of learning digits: that is overfitting."
    )
    st.page_link("pages/draw.py", label="Draw a digit for this model", icon=":material/draw:")


st.title("Train")
current = config()
st.markdown(f"**Network:** {current.describe()} · {count_params(current):,} parameters")
st.page_link("pages/build.py", label="Change the network", icon=":material/construction:")

data = mnist()
data_banner(data)
images = min(current.train_images, len(data.x_train))
st.caption(
    f"Trains on {images:,} images from {data.source} ({current.validation_split:.0%} held back for "
    f"validation), then tests on {len(data.x_test):,} images it has never seen."
)

if st.button("Train", type="primary", icon=":material/model_training:", 
              help=f"Show the network the training images and adjust its weights. {word('epoch')}"):
    train_now(current, data)
    st.rerun()  # show the finished result on its own, without the live progress above it
if "model" in st.session_state:
    show_result(st.session_state.model)
else:
    st.info("Press **Train** to train this network. Until then, the Draw page uses the default model.")
