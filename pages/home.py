import streamlit as st

from deepviz.guide import TOUR_SUMMARY, WORDS
from deepviz.ui.resources import default_model_status
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first

run_app_first()

st.title("deepviz")
st.subheader("Why does deep learning handle complex patterns?")
st.markdown(
    """
A neural network reads a handwritten digit in stages. The first layer sees only pixels;
each layer after it combines what the layer before found into something more complex,
from dots to strokes to whole shapes, until the last layer names a digit.

deepviz lets you watch that happen. Build a network, train it live on MNIST's
handwritten digits, then draw a digit yourself and see every layer light up on the way
from your pixels to the network's decision.
"""
)
st.page_link("pages/build.py", label="**Build** a network: layers, units, activations", icon=":material/construction:")
st.page_link(
    "pages/train.py", label="**Train** it and watch loss and accuracy change", icon=":material/model_training:"
)
st.page_link("pages/draw.py", label="**Draw** a digit and see each layer's activations", icon=":material/draw:")
st.page_link(
    "pages/insights.py",
    label="**Insights**: what each layer has learned, and where the model goes wrong",
    icon=":material/insights:",
)
st.page_link(
    "pages/compare.py",
    label="**Compare** two networks: curves, accuracy and layers side by side",
    icon=":material/compare_arrows:",
)
st.button(
    "Take the guided tour",
    key="tour-home",
    on_click=session.start_tour,
    type="primary",
    icon=":material/tour:",
    help=TOUR_SUMMARY,
)
default_model_status()
with st.expander("Words you will meet", icon=":material/menu_book:"):
    st.markdown("\n".join(f"- **{name.capitalize()}**: {meaning}" for name, meaning in WORDS.items()))
