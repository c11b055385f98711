"""The one place deepviz reaches into Plotly's private parts: building a figure without
checking each property (`go.Figure(..., _validate=False)`).

The Draw page's stage figure is built on every stroke from numbers deepviz itself makes, and
checking its every property took a sixth of a stroke's server time under load (docs/capacity.md).
tests/test_internals.py holds Plotly to it: an upgrade that drops the argument fails there.
"""

from __future__ import annotations

import plotly.graph_objects as go


def unchecked_figure(data: list[dict], layout: dict) -> go.Figure:
    """The figure of `data` (traces as dicts, each with its "type") and `layout`, unchecked."""
    return go.Figure(data=data, layout=layout, _validate=False)
