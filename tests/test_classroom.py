"""In front of a class: projector mode, the guided tour, and the explanations beside controls."""

from itertools import pairwise

from apptest import QUICK, no_errors, open_page, shown

from deepviz.config import PRESETS
from deepviz.guide import TOUR, TUTORIAL, WORDS, added_a_layer, compared, trained_tutorial
from deepviz.pendigits import as_canvas

# Projector mode


def dense_cells(at) -> list[tuple[float, int]]:
    """(value, brightness) of each unit in the Draw page's picture of the default model's dense1."""
    import base64
    import io
    import json

    import numpy as np
    from PIL import Image

    (stage,) = at.get("plotly_chart")
    dense1 = json.loads(stage.proto.spec)["data"][5]
    data = dense1["customdata"]  # units and their values, as Plotly's typed array
    cells = np.frombuffer(base64.b64decode(data["bdata"]), data["dtype"]).reshape(
        [int(side) for side in data["shape"].split(",")]
    )
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(dense1["source"].split(",", 1)[1]))))
    brightness = pixels[..., :2].astype(int).sum(axis=-1)  # red and green both rise along Cividis
    return [
        (float(value), int(light)) for (unit, value), light in zip(cells.reshape(-1, 2), brightness.flat) if unit >= 0
    ]


def test_a_projector_link_opens_projector_mode_and_keeps_it_in_the_address(default_trained, canvas, mnist):
    canvas(as_canvas(mnist.x_test[0]))
    at = open_page({"projector": "1"}, "draw")
    no_errors(at)
    assert at.toggle(key="projector").value is True
    assert at.query_params["projector"] == "1"
    styles = [element for element in at.get("html") if "font-size" in element.proto.body]
    assert len(styles) == 1 and "stCaptionContainer" in styles[0].proto.body
    # one legend for every layer's colours, in words the room can read
    assert any("dark: quiet" in text.value and "bright: active" in text.value for text in at.markdown)


def test_projector_mode_fixes_each_layers_colour_scale_across_drawings(default_trained, canvas, mnist):
    """On the projector, a unit's colour says how active it is, whatever the drawing: a brighter
    cell is a more active unit, across drawings. Elsewhere each drawing has its own range."""

    def pooled(query) -> tuple[list, list]:
        cells = []
        for digit in (mnist.x_test[0], mnist.x_test[1]):
            canvas(as_canvas(digit))
            cells.append(dense_cells(open_page(query, "draw")))
        return cells

    def rises(pairs) -> bool:
        lights = [light for _, light in sorted(pairs)]
        return all(later >= earlier - 1 for earlier, later in pairwise(lights))  # 1: rounding

    fixed = pooled({"projector": "1"})
    assert rises(fixed[0] + fixed[1])
    own = pooled({})
    assert all(max(pairs)[1] == max(light for _, light in pairs) for pairs in own)  # each its own top
    assert max(own[0])[0] != max(own[1])[0] and not rises(own[0] + own[1])  # so pooled, colours disagree


def test_the_switch_turns_projector_mode_on_and_off(default_trained):
    at = open_page({}, "home")
    assert "projector" not in at.query_params
    at.toggle(key="projector").set_value(True).run()
    no_errors(at)
    assert at.query_params["projector"] == "1"
    assert any("font-size" in element.proto.body for element in at.get("html"))
    at.toggle(key="projector").set_value(False).run()
    assert "projector" not in at.query_params
    assert not any("font-size" in element.proto.body for element in at.get("html"))


def test_a_garbled_projector_value_is_reported_and_ignored():
    at = open_page({"projector": "loud"}, "home")
    no_errors(at)
    assert at.toggle(key="projector").value is False
    assert any("projector='loud'" in shown(warning.value) for warning in at.warning)


# Guidance


def test_every_control_of_the_build_page_explains_itself():
    at = open_page(PRESETS["Small CNN"].to_query(), "build")
    no_errors(at)
    controls = [*at.slider, *at.select_slider, *at.selectbox]
    assert controls and all(control.help for control in controls), [c.label for c in controls if not c.help]
    helps = {control.label: control.help for control in controls}
    assert helps["Units"] == WORDS["unit"] and helps["Epochs"] == WORDS["epoch"]
    assert helps["Filters"] == WORDS["filter"] and helps["Validation split"] == WORDS["validation"]


def test_the_home_page_lists_the_words_it_uses():
    at = open_page({}, "home")
    words = at.expander[0]
    assert words.label == "Words you will meet"
    text = words.markdown[0].value
    assert all(f"**{name.capitalize()}**" in text for name in WORDS)
    for name in ("layer", "unit", "activation", "epoch", "overfitting"):
        assert name in WORDS


# The guided tour


def tour_step(at) -> str:
    """The tour panel's heading: which step, and whether it is done."""
    return next(m.value for m in at.markdown if m.value.startswith("**Guided tour, step"))


def press(at, label):
    return next(b for b in at.main.button if b.label == label).click().run()


def follow(at, page):
    """After the app's own st.switch_page, AppTest shows the new page but would run the old
    one next: tell it where the app went."""
    at.switch_page(f"pages/{page}.py")


def test_the_tour_offers_to_set_up_the_tutorial_network():
    at = open_page(PRESETS["Small CNN"].to_query(), "home")
    press(at, "Take the guided tour")
    no_errors(at)
    assert tour_step(at) == "**Guided tour, step 1 of 5: Train the tutorial network**"
    assert at.get("page_link")[0].proto.label == "Go to the Train page"
    press(at, "Set up the tutorial network")
    assert at.session_state.config == TUTORIAL and at.query_params["layers"] == "dense-128-relu,dense-64-relu"
    assert not any(b.label == "Set up the tutorial network" for b in at.button)


def test_the_guided_tour_walks_from_the_tutorial_to_a_comparison(default_trained, canvas, mnist):
    canvas(as_canvas(mnist.x_test[0]))
    at = open_page(TUTORIAL.to_query() | QUICK, "home")
    press(at, "Take the guided tour")
    assert not any(b.label == "Set up the tutorial network" for b in at.button)  # it is set up
    at.switch_page("pages/train.py").run()
    press(at, "Train")
    no_errors(at)
    assert tour_step(at).endswith("Train the tutorial network** :green[:material/check_circle: done]")
    press(at, "Next")
    assert tour_step(at) == "**Guided tour, step 2 of 5: Draw a digit**" and at.title[0].value == "Draw a digit"
    assert at.metric[0].label == "Prediction"
    follow(at, "draw")
    press(at, "Next")
    assert tour_step(at) == "**Guided tour, step 3 of 5: See the layers**" and at.title[0].value == "Draw a digit"
    follow(at, "draw")
    press(at, "Next")
    assert tour_step(at) == "**Guided tour, step 4 of 5: Add a layer**" and at.title[0].value == "Build a network"
    follow(at, "build")
    press(at, "Add Dense layer")
    assert len(at.session_state.config.layers) == 3 and tour_step(at).endswith("done]")
    press(at, "Next")
    assert tour_step(at) == "**Guided tour, step 5 of 5: Compare**" and at.title[0].value == "Compare two networks"
    follow(at, "compare")
    assert [box.value for box in at.selectbox] == ["Your trained model", "Your network (Build page)"]
    press(at, "Train and compare")
    no_errors(at)
    assert tour_step(at).endswith("done]")
    assert at.session_state.compared_B.config.layers == at.session_state.config.layers  # the one with 3 layers
    press(at, "Back")
    assert tour_step(at).startswith("**Guided tour, step 4 of 5") and at.title[0].value == "Build a network"
    follow(at, "build")
    press(at, "Next")
    follow(at, "compare")
    press(at, "Finish")
    assert at.session_state.tour_step is None and at.title[0].value == "Compare two networks"
    assert not any(m.value.startswith("**Guided tour") for m in at.markdown)
    assert at.sidebar.button(key="tour-start").label == "Take the guided tour"


def test_each_tour_step_knows_when_it_is_done():
    from types import SimpleNamespace as Thing

    tutorial = PRESETS["Tutorial MLP"]
    trained = Thing(config=tutorial, complete=True)
    assert [step.page for step in TOUR] == ["train", "draw", "draw", "build", "compare"]
    assert [step.done is None for step in TOUR] == [False, True, True, False, False]

    def session(model=None, config=tutorial, **sides):  # what a step reads (guide.Progress)
        return Thing(model=model, config=config, compared=sides.get)

    assert not trained_tutorial(session()) and trained_tutorial(session(trained))
    assert not trained_tutorial(session(Thing(config=tutorial, complete=False)))
    assert not trained_tutorial(session(Thing(config=PRESETS["Small CNN"], complete=True)))
    deeper = tutorial.with_layers((*tutorial.layers, tutorial.layers[-1]))
    assert not added_a_layer(session(trained, tutorial))
    assert added_a_layer(session(trained, deeper))
    assert not compared(session(A=trained)) and compared(session(A=trained, B=trained))
