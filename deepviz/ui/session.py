"""Everything deepviz keeps for one user, in one typed object, and the link it keeps in step.

Streamlit keeps a session's values in st.session_state, per browser tab; `session` reads and
writes them by attribute, under the same names (widgets keyed "projector" or "tour_step" share
them), so each key is named, typed and defaulted once, here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import streamlit as st

from deepviz.config import ModelConfig
from deepviz.lesson import lesson_query, read_lesson

if TYPE_CHECKING:
    import numpy as np

    from deepviz.drawings import Drawing
    from deepviz.knockout import Knockout
    from deepviz.projection import Picked
    from deepviz.trained import TrainedModel
    from deepviz.training import TrainingRun

T = TypeVar("T")


class Kept(Generic[T]):
    """One value of the session, under its attribute's name. Until it is set, reading it gives
    `default()` (a function, so that no two sessions share a list) and stores nothing: a page
    test can tell a model never trained from one kept as None."""

    def __init__(self, default: Callable[[], T]) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, session: Any, owner: type | None = None) -> T:
        return st.session_state[self.name] if self.name in st.session_state else self.default()

    def __set__(self, session: Any, value: T) -> None:
        st.session_state[self.name] = value


def none() -> None:
    return None


class Sketch(NamedTuple):
    """The latest drawing: the canvas's record of its strokes (None if not fit to keep) and its image."""

    strokes: dict | None
    image: np.ndarray  # the RGBA array the canvas sent


class Pending(NamedTuple):
    """A training under way, and the session's attribute its model goes to when it ends."""

    run: TrainingRun
    slot: str  # "model", "compared_A" or "compared_B"


class Session:
    """The session's own values. Messages a callback leaves for its page's next run (the
    *_error, *_notes and queue_refusal ones) are read once, with `take`."""

    config: Kept[ModelConfig] = Kept(ModelConfig)  # the Build page's network, kept in the link
    link_problems: Kept[list[str]] = Kept(list)  # what was wrong with the link the session opened
    lesson_hidden: Kept[frozenset[str]] = Kept(frozenset)  # deepviz.lesson.HIDEABLE groups
    projector: Kept[bool] = Kept(bool)  # the sidebar's toggle
    tour_step: Kept[int | None] = Kept(none)  # None: no guided tour
    build_version: Kept[int] = Kept(int)  # the Build page's widgets are keyed by it
    build_error: Kept[str | None] = Kept(none)
    build_notes: Kept[dict[int, str]] = Kept(dict)
    model_file_error: Kept[str | None] = Kept(none)
    model: Kept[TrainedModel | None] = Kept(none)  # the session's own trained or opened model
    compared_A: Kept[TrainedModel | None] = Kept(none)  # noqa: N815 (Compare's networks A and B)
    compared_B: Kept[TrainedModel | None] = Kept(none)  # noqa: N815
    training: Kept[Pending | None] = Kept(none)
    picked: Kept[dict[str, Picked]] = Kept(dict)  # Insights: test digits picked in a projection, per section
    queue_owner: Kept[str | None] = Kept(none)  # the session's one place in the training line
    queue_refusal: Kept[str | None] = Kept(none)
    sketch: Kept[Sketch | None] = Kept(none)  # the latest drawing, on whichever page
    canvas_versions: Kept[dict[str, int]] = Kept(dict)  # per page: its canvas's key, bumped by Clear
    canvas_starts: Kept[dict[str, Sketch | None]] = Kept(dict)  # per page: what its canvas showed on mounting
    drawing: Kept[np.ndarray | None] = Kept(none)  # the latest drawing as the network sees it
    knockout: Kept[Knockout | None] = Kept(none)  # the Inside page's units switched off, in a copy of the weights
    # The class handwriting lab (deepviz.ui.lab). The widgets keyed by these names keep their
    # values across pages (persist_state), so a student types them once a lesson.
    class_code: Kept[str] = Kept(str)  # from the link's class=, or typed on Collect or Wall
    nickname: Kept[str] = Kept(str)  # what the class's drawings are filed under for this student
    own_digits: Kept[bool] = Kept(bool)  # Collect asks for digits the student picks, not a 0-9 round
    round_position: Kept[int] = Kept(int)  # the prompted round's next digit, 0-9
    submitted: Kept[Drawing | None] = Kept(none)  # the latest drawing the student submitted
    writer: Kept[str | None] = Kept(none)  # names this session to the store's rate limit
    wall_notes: Kept[str | None] = Kept(none)  # what a teacher's tool on the wall did
    teacher: Kept[bool] = Kept(bool)  # typed the server's teacher password (deepviz.ui.lab.teacher_tools_open)

    def take(self, name: str) -> Any:
        """A message left for this run, which is then gone."""
        return st.session_state.pop(name, None)

    def compared(self, side: str) -> TrainedModel | None:
        return getattr(self, f"compared_{side}")

    def set_compared(self, side: str, model: TrainedModel | None) -> None:
        """Keep (or with None, forget) Compare's network `side`: "A" or "B"."""
        if model is None:
            st.session_state.pop(f"compared_{side}", None)
        else:
            setattr(self, f"compared_{side}", model)

    # The config, and the link that shows it.

    def set_config(self, new: ModelConfig) -> None:
        self.config = new
        self.link_problems = []
        self.share()

    def load_config(self, new: ModelConfig) -> None:
        """Set a whole new configuration (a preset, a layer added or removed): the Build page's
        widgets are keyed by `build_version`, so bumping it draws them afresh from `new`."""
        self.set_config(new)
        self.build_version += 1

    def share(self) -> None:
        """Keep the address bar a link to this configuration, keeping the lesson link's `hide`,
        projector mode and class code, so a reload (or the link copied from the address bar) keeps them."""
        query = lesson_query(self.config, self.lesson_hidden, self.projector, self.class_code)
        if st.query_params.to_dict() != query:
            st.query_params.from_dict(query)

    def restore_config(self) -> None:
        """A session starts from the configuration in the link it was opened with, and keeps
        hiding the controls that link hides (see deepviz.lesson) for as long as it lasts."""
        from deepviz.ui.markdown import plain

        if "config" not in st.session_state:
            lesson = read_lesson(st.query_params.to_dict())
            self.config, self.lesson_hidden = lesson.config, lesson.hidden
            self.projector, self.link_problems = lesson.projector, lesson.problems
            self.class_code = lesson.class_code
            self.build_version = 0
        for problem in self.link_problems:
            st.warning(plain(problem), icon=":material/link:")
        self.share()

    # The guided tour.

    @property
    def touring(self) -> bool:
        return self.tour_step is not None

    def start_tour(self) -> None:
        self.tour_step = 0

    def end_tour(self) -> None:
        self.tour_step = None


session = Session()
