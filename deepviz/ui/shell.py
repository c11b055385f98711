"""The app around the pages: navigation, a shared link's settings, the sidebar, and a training
that a page left behind. app.py runs `main`; every page calls `run_app_first`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from deepviz.lesson import MENU
from deepviz.ui.classroom import share_popover, sidebar_switches, tour_panel
from deepviz.ui.patches import keep_keras_state, runs_pages_alone
from deepviz.ui.resources import default_model_worker
from deepviz.ui.session import session
from deepviz.ui.training import settle_training

# Shipped, not a Material icon: the browser fetches those from Google's font servers, so an
# offline classroom's tab had none (and a console error).
ICON = Path(__file__).parent.parent / "assets" / "icon.svg"


def main() -> None:
    keep_keras_state()
    st.set_page_config(page_title="deepviz", page_icon=ICON, layout="wide")
    session.restore_config()
    if session.projector:
        st.set_page_config(initial_sidebar_state="collapsed")
    settle_training()
    page = st.navigation(
        [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/build.py", title="Build", icon=":material/construction:", url_path="build"),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
            st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
            st.Page("pages/insights.py", title="Insights", icon=":material/insights:", url_path="insights"),
            st.Page("pages/inside.py", title="Inside", icon=":material/calculate:", url_path="inside"),
            st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
            st.Page("pages/collect.py", title="Collect", icon=":material/gesture:", url_path="collect"),
            st.Page("pages/wall.py", title="Wall", icon=":material/grid_view:", url_path="wall"),
            st.Page("pages/teach.py", title="Teach", icon=":material/school:", url_path="teach"),
        ],
        # A lesson link can keep students on one page.
        position="hidden" if MENU in session.lesson_hidden else "sidebar",
    )
    share_popover(page)
    sidebar_switches()
    tour_panel(page)
    page.run()
    default_model_worker()  # after the page: its thread's imports would slow the first page's own run


def run_app_first() -> None:
    """Call first on every page: make sure `main` (navigation, shared-link restore, settling an
    interrupted training) runs, even when Streamlit runs this page's file alone.

    With a folder named pages/ beside app.py, Streamlit starts in its legacy multipage mode
    and runs a page's file by itself until some session has called st.navigation: that is
    the first visitor of a fresh server who opens a shared link, and every AppTest run. Run
    main, which runs this page inside it, and end the bare run. No rerun: that would lose
    the click that started this run."""
    if runs_pages_alone():
        main()
        st.stop()
