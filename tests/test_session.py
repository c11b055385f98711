"""The session's one typed object over st.session_state: what a page reads before anything is
set, and a message a callback leaves for the next run."""

from streamlit.testing.v1 import AppTest

SCRIPT = """
import streamlit as st

from deepviz.ui.session import session

st.text(repr((session.model, session.link_problems, session.build_version, session.take("build_error"))))
if st.button("fail"):
    session.build_error = "Not changed: too big."
"""


def test_a_value_never_set_reads_as_its_default_and_stores_nothing():
    at = AppTest.from_string(SCRIPT).run()
    assert at.text[0].value == "(None, [], 0, None)"
    assert "model" not in at.session_state and "link_problems" not in at.session_state


def test_a_message_left_for_the_next_run_is_read_once():
    at = AppTest.from_string(SCRIPT).run()
    at.button[0].click().run()  # the click's run leaves it after its text
    assert "build_error" in at.session_state
    at.run()
    assert at.text[0].value == "(None, [], 0, 'Not changed: too big.')"
    at.run()
    assert at.text[0].value == "(None, [], 0, None)"
