"""What the pages share: cached data and default model, the session's configuration and model."""

from __future__ import annotations

import streamlit as st

from deepviz.config import ModelConfig


@st.cache_data(show_spinner="Loading MNIST...")
def mnist():
    from deepviz.data import load_mnist

    return load_mnist()


@st.cache_resource(show_spinner="Training the default model (the tutorial MLP) once; about 15 seconds...")
def default_model():
    """Shared by every session, and never trained further: each user's own model lives in their session."""
    from deepviz.store import default_model

    return default_model(mnist())


def config() -> ModelConfig:
    return st.session_state.config


def set_config(new: ModelConfig) -> None:
    st.session_state.config = new
    st.session_state.link_problems = []
    share(new)


def share(current: ModelConfig) -> None:
    """Keep the address bar a link to this configuration."""
    query = current.to_query()
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def restore_config() -> None:
    """A session starts from the configuration in the link it was opened with."""
    if "config" not in st.session_state:
        st.session_state.config, st.session_state.link_problems = ModelConfig.from_query(st.query_params.to_dict())
    for problem in st.session_state.link_problems:
        st.warning(problem, icon="🔗")
    share(config())


def data_banner(data) -> None:
    if data.notes:
        st.warning("  \n".join(data.notes), icon="📦")
