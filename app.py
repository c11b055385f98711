"""deepviz: see why deep learning handles complex patterns. Run with `streamlit run app.py`."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the log

import streamlit as st  # noqa: E402

from pages.common import restore_config  # noqa: E402

st.set_page_config(page_title="deepviz", page_icon="🧠", layout="wide")
page = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
        st.Page("pages/build.py", title="Build", icon="🧱", url_path="build"),
        st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
        st.Page("pages/draw.py", title="Draw", icon="✏️", url_path="draw"),
    ]
)
restore_config()
page.run()
