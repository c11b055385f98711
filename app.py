"""deepviz: see why deep learning handles complex patterns. Run with `streamlit run app.py`."""

from pathlib import Path

from deepviz.tfenv import quiet_tensorflow

quiet_tensorflow()  # before anything imports TensorFlow

import streamlit as st  # noqa: E402

from deepviz.lesson import MENU  # noqa: E402
from pages.common import (  # noqa: E402
    default_model_worker,
    hidden_groups,
    keep_keras_state,
    projector,
    restore_config,
    settle_training,
    share_popover,
    sidebar_switches,
    tour_panel,
)

# Shipped, not a Material icon: the browser fetches those from Google's font servers, so an
# offline classroom's tab had none (and a console error).
ICON = Path(__file__).parent / "deepviz" / "assets" / "icon.svg"


def main() -> None:
    keep_keras_state()
    st.set_page_config(page_title="deepviz", page_icon=ICON, layout="wide")
    restore_config()
    if projector():
        st.set_page_config(initial_sidebar_state="collapsed")
    settle_training()
    page = st.navigation(
        [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/build.py", title="Build", icon=":material/construction:", url_path="build"),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
            st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
            st.Page("pages/insights.py", title="Insights", icon=":material/insights:", url_path="insights"),
            st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
        ],
        position="hidden" if MENU in hidden_groups() else "sidebar",  # a lesson link can keep students on one page
    )
    share_popover(page)
    sidebar_switches()
    tour_panel(page)
    page.run()
    default_model_worker()  # after the page: its thread's imports would slow the first page's own run


if __name__ == "__main__":
    main()
