"""How the pages show a model's numbers: figures, layer titles, a probability in words."""

from __future__ import annotations

import streamlit as st

from deepviz.config import ModelConfig, summarize
from deepviz.ui.session import session


def plot(figure, where=st, **selection):
    """A Plotly chart, enlarged and with colour legends in projector mode; with `selection`
    (st.plotly_chart's key, on_select and selection_mode), what the user picks in it."""
    from deepviz.figures import for_projector

    return where.plotly_chart(for_projector(figure) if session.projector else figure, **selection)


def figure_font() -> int:
    """Type size of the figures: readable from the back of the room in projector mode."""
    from deepviz.figures import PROJECTOR_FONT

    return PROJECTOR_FONT if session.projector else 14


def layer_titles(config: ModelConfig) -> dict[str, str]:
    return {row.name: f"{row.name}: {row.description}" for row in summarize(config)} | {
        "pixels": "Input: what the network receives",
        "output": "Output: one score per digit",
    }


def stage_titles(config: ModelConfig) -> dict[str, str]:
    """Short layer titles, for the Draw page's stage, where layers stand side by side in order:
    their kind and size say enough there ("Conv x16"), and fit a narrow square in large type."""

    def title(row) -> str:
        if row.name in ("pixels", "output"):
            return {"pixels": "Pixels", "output": "Output"}[row.name]
        return f"{row.name.rstrip('0123456789').capitalize()} ×{row.output_shape[-1]}"

    return {row.name: title(row) for row in summarize(config)}


def confidence(probability: float) -> str:
    """A probability as a confidence a class can read; a rounded "100%" would overstate it."""
    return "over 99.9%" if probability > 0.999 else f"{probability:.1%}"
