"""The class handwriting lab's pages under AppTest: a student's round on Collect, with every bad
input answered in one sentence, and the teacher's Wall, its scores, highlights and tools."""

import io

import numpy as np
import pytest
from apptest import no_errors, open_page, shown

import deepviz.drawings
from deepviz.drawings import DATABASE_ENV, Drawings
from deepviz.pendigits import as_canvas
from deepviz.ui.lab import FRAME, MISREAD, READ, TEACHER_ENV, wall_picture

HOSTILE = "**Bo** <b>[y](e.vil)"  # a nickname is anyone's text


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """An empty store for the pages (the server's store is keyed by the setting, so this one is
    the test's own); the test reads and seeds the same database."""
    url = f"sqlite:///{tmp_path / 'drawings.sqlite3'}"
    monkeypatch.setenv(DATABASE_ENV, url)
    store = Drawings(url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def examples(mnist, default_trained):
    """One test digit per label that the default model reads right, and one it misreads."""
    right = default_trained.evaluation.predictions == mnist.y_test
    return {digit: mnist.x_test[np.flatnonzero(right & (mnist.y_test == digit))[0]] for digit in range(10)}


def button(at, label):
    return next(b for b in at.button if b.label == label)


def clears(at) -> int:
    """How many times Collect's pad was cleared."""
    return at.session_state["canvas_versions"].get("collect", 0) if "canvas_versions" in at.session_state else 0


def words(at) -> str:
    """Every sentence the page shows in its boxes and text, as a reader sees it."""
    boxes = [*at.warning, *at.info, *at.success, *at.markdown, *at.subheader]
    return " ".join(shown(box.value) for box in boxes)


def collect():
    """Collect, opened from a link to class 7B, the nickname typed."""
    at = open_page({"class": "7B"}, "collect")
    at.text_input(key="nickname").input("Ada").run()
    no_errors(at)
    return at


def test_a_prompted_round_keeps_each_digit_and_shows_what_the_network_read(lab, canvas, examples):
    pad = canvas(None)
    at = collect()
    assert at.text_input(key="class_code").value == "7B"  # from the link, which keeps it
    assert at.query_params["class"] == "7B"
    for digit in range(10):
        assert at.subheader[0].value == f"Draw a {digit}"
        assert f"{digit} of 10 digits done" in at.get("progress")[0].proto.text
        pad.image = as_canvas(examples[digit])
        at.run()
        button(at, "Submit").click().run()
        no_errors(at)
        assert clears(at) == digit + 1
        assert f"Kept your {digit}. The network reads it as **{digit}**" in at.markdown[-1].value
    kept = lab.of_class("7B")
    assert [(d.label, d.nickname) for d in kept] == [(digit, "Ada") for digit in range(10)]
    assert "all ten digits" in at.success[0].value
    assert at.subheader[0].value == "Draw a 0"  # the next round

    # Choosing one's own digit: the pick is the label.
    at.toggle(key="own_digits").set_value(True).run()
    at.get("button_group")[0].set_value(4).run()
    button(at, "Submit").click().run()
    assert lab.of_class("7B")[-1].label == 4


def test_every_bad_input_gets_one_sentence_and_keeps_the_drawing(lab, canvas, examples, monkeypatch):
    def refused(at, sentence):
        before = len(lab.of_class("7B")), clears(at)
        button(at, "Submit").click().run()
        no_errors(at)
        assert sentence in words(at), words(at)
        assert (len(lab.of_class("7B")), clears(at)) == before

    pad = canvas(None)
    at = collect()
    refused(at, "Draw the digit first")
    pad.image = as_canvas((examples[3] * 0.04).astype(np.uint8))  # too faint to see
    at.run()
    refused(at, "Draw the digit first")

    pad.image = as_canvas(examples[3])
    at.run()
    at.text_input(key="nickname").input("").run()
    refused(at, "Please choose a nickname.")
    at.text_input(key="nickname").input("x" * 25).run()
    refused(at, "A nickname can be at most 24 characters long.")
    at.text_input(key="nickname").input("=cmd").run()
    refused(at, "A nickname cannot start with =, +, - or @.")

    at.text_input(key="nickname").input("Ada").run()
    at.text_input(key="class_code").input("").run()
    refused(at, "Type your class code first")
    at.text_input(key="class_code").input("7B maths!").run()
    assert "A class code is 1 to 20 letters, digits or dashes." in words(at)
    assert "class" not in at.query_params
    refused(at, "Type your class code first")

    at.text_input(key="class_code").input(" 7B ").run()
    assert at.text_input(key="class_code").value == "7B"
    assert at.query_params["class"] == "7B"  # typed, it goes into the address bar and Share's link
    at.toggle(key="own_digits").set_value(True).run()
    refused(at, "Choose which digit this is, from 0 to 9.")

    monkeypatch.setattr(deepviz.drawings, "RATE_LIMIT", 1)
    at.get("button_group")[0].set_value(3).run()
    button(at, "Submit").click().run()
    assert len(lab.of_class("7B")) == 1
    pad.image = as_canvas(examples[3])
    at.run()
    refused(at, "That is more than 1 drawings in a minute")


def test_a_link_with_a_bad_class_code_says_so_and_opens_without_one(lab):
    at = open_page({"class": "<b>7B</b>"}, "collect")
    no_errors(at)
    assert "Ignored class='<b>7B</b>': A class code is 1 to 20 letters, digits or dashes." in words(at)
    assert at.text_input(key="class_code").value == ""
    assert "class" not in at.query_params


def seed(lab, examples, misread_as=None):
    """Ada draws 0-9; Bo (a hostile nickname) a 1 and, labelled 7, a digit the model reads as `misread_as`."""
    for digit in range(10):
        lab.add("7B", "Ada", digit, examples[digit], "ada")
    lab.add("7B", HOSTILE, 1, examples[1], "bo")
    lab.add("7B", HOSTILE, 7, examples[misread_as], "bo")
    lab.add("8C", "Cy", 2, examples[2], "cy")  # another class


def test_the_wall_shows_the_classs_drawings_and_frames_the_misread_ones(lab, examples, default_trained):
    seed(lab, examples, misread_as=1)
    at = open_page({"class": "7B"}, "wall")
    no_errors(at)
    scores = {metric.label: metric.value for metric in at.metric}
    assert scores == {
        "Our handwriting": f"{11 / 12:.0%}",
        "MNIST's test digits": f"{default_trained.test_accuracy:.0%}",
    }
    assert "12 drawings by 2 students: the network misreads **:red[1]**, framed in red." in words(at)
    pictures = [image.proto.imgs[0].alt for image in at.get("image")]
    assert len(pictures) == 10  # a column a digit, the other class's 2 not among them
    assert pictures[1] == "1: the newest 2 of 2 drawings, 0 misread"
    assert pictures[7] == "7: the newest 2 of 2 drawings, 1 misread"
    # The teacher picks a student by their nickname, shown as it is.
    assert at.selectbox[0].options == [HOSTILE, "Ada"]


def test_the_wall_picture_frames_each_drawing_red_where_misread(examples):
    picture = wall_picture(
        np.stack([examples[0], examples[1], examples[2], examples[3]]), [False, True, False, True], 3
    )
    tile = 28 + 2 * FRAME
    assert picture.shape == (2 * tile, 3 * tile, 3)
    corners = [tuple(picture[row * tile, column * tile]) for row, column in ((0, 0), (0, 1), (0, 2), (1, 0))]
    assert corners == [READ, MISREAD, READ, MISREAD]
    assert (picture[FRAME : FRAME + 28, FRAME : FRAME + 28, 0] == examples[0]).all()
    assert not picture[tile:, tile:].any()  # no drawing there


def test_a_teacher_deletes_one_students_drawings_then_the_whole_class(lab, examples):
    seed(lab, examples, misread_as=1)
    at = open_page({"class": "7B"}, "wall")
    assert button(at, "Delete this student's drawings").disabled
    at.selectbox[0].set_value(HOSTILE).run()
    button(at, "Delete this student's drawings").click().run()
    no_errors(at)
    assert lab.students("7B") == ["Ada"]
    assert shown(at.info[0].value) == f"Deleted 2 drawings by {HOSTILE}."

    assert button(at, "Delete the whole class's drawings").disabled  # until the teacher confirms
    at.checkbox(key="wall-sure").check().run()
    button(at, "Delete the whole class's drawings").click().run()
    no_errors(at)
    assert lab.of_class("7B") == []
    assert len(lab.of_class("8C")) == 1  # another class's stay
    assert "Deleted the class's 10 drawings." in words(at)
    assert "No drawings yet" in words(at)
    assert not at.checkbox(key="wall-sure").value


def test_with_a_teacher_password_the_tools_open_only_to_it(lab, examples, monkeypatch):
    monkeypatch.setenv(TEACHER_ENV, "owl-4-tree")
    seed(lab, examples, misread_as=1)
    at = open_page({"class": "7B"}, "wall")
    no_errors(at)
    assert not [b for b in at.button if b.label.startswith("Delete")] and not at.get("download_button")
    at.text_input(key="teacher-password").input("owl").run()
    assert shown(at.warning[0].value) == "That is not the teacher's password."
    assert not [b for b in at.button if b.label.startswith("Delete")]
    at.text_input(key="teacher-password").input("owl-4-tree").run()
    no_errors(at)
    assert button(at, "Delete this student's drawings") and len(at.get("download_button")) == 2
    at.switch_page("pages/draw.py").run().switch_page("pages/wall.py").run()  # once a session
    assert button(at, "Delete this student's drawings")


def test_the_wall_exports_the_classs_drawings_as_csv_and_npz(lab, examples, monkeypatch):
    from streamlit.delta_generator import DeltaGenerator

    offered = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, **options):
        offered[label] = (options["file_name"], data)
        return original(self, label, data, **options)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    seed(lab, examples, misread_as=1)
    no_errors(open_page({"class": "7B"}, "wall"))
    name, data = offered["Download CSV"]
    assert name == "7B-drawings.csv"
    rows = data().splitlines()  # made when the teacher clicks
    assert len(rows) == 1 + 12 and rows[1].startswith("1,Ada,0,")
    name, data = offered["Download NPZ"]
    assert name == "7B-drawings.npz"
    arrays = np.load(io.BytesIO(data()), allow_pickle=False)
    assert arrays["labels"].tolist() == [*range(10), 1, 7]
    assert (arrays["images"][3] == examples[3]).all()


def test_the_wall_without_a_class_code_asks_for_one(lab):
    at = open_page({}, "wall")
    no_errors(at)
    assert "Type the class code your students use on Collect" in words(at)
    assert not at.metric


def test_the_share_link_of_collect_carries_the_class_code(lab):
    at = open_page({"class": "7B"}, "collect", url="http://school.example:8501/collect")
    popover = next(block for block in at.sidebar.children.values() if getattr(block, "type", "") == "popover")
    assert popover.code[0].value.endswith("&class=7B")
    assert popover.code[0].value.startswith("http://school.example:8501/collect?")
    assert at.query_params["class"] == "7B"


def test_a_store_that_cannot_open_is_one_sentence_and_the_rest_of_the_app_works(monkeypatch, canvas, examples):
    monkeypatch.setenv(DATABASE_ENV, "mysql://school/lab")
    sentence = "deepviz keeps class drawings in SQLite or PostgreSQL, not mysql."
    at = open_page({"class": "7B"}, "wall")
    assert not at.exception
    assert [shown(error.value) for error in at.error] == [sentence]
    canvas(as_canvas(examples[0]))
    at = collect()
    button(at, "Submit").click().run()
    assert not at.exception
    assert [shown(error.value) for error in at.error] == [sentence]
    no_errors(at.switch_page("pages/draw.py").run())
    assert at.metric[0].value == "0"
