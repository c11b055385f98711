"""Teaching a network a class's handwriting (deepviz.teach), measured on students it never saw:
the split, the fine-tuning, the simulated class on the command line, and the Teach page."""

import re

import numpy as np
import pytest
from apptest import no_errors, open_page, shown

from deepviz.cli import main
from deepviz.config import ModelConfig
from deepviz.data import DATA_DIR_ENV, Handwriting
from deepviz.drawings import DATABASE_ENV, Drawings, StoreError
from deepviz.teach import MIN_STUDENTS, Recipe, TeachError, fine_tune, leave_students_out, split_students

STUDENTS = [f"student {n}" for n in range(9)]
QUICK_RECIPE = Recipe(epochs=2, learning_rate=1e-3, mnist_images=1000)
SHIFT = 6  # px to the right: a "handwriting" a network trained on centred MNIST digits misreads


def test_the_split_is_by_student_and_the_same_every_time():
    split = split_students(STUDENTS)
    assert not set(split.taught) & set(split.held_out)
    assert sorted(split.taught + split.held_out) == STUDENTS
    assert len(split.held_out) == 3  # a third
    assert split_students(list(reversed(STUDENTS)) * 2) == split  # one drawing each or many, any order
    assert split_students(STUDENTS, seed=1) != split
    assert len(split_students(STUDENTS, 5).held_out) == 5


@pytest.mark.parametrize("held_out", [0, 0.01, 8, 100, 0.99])
def test_the_split_always_keeps_a_student_on_each_side(held_out):
    split = split_students(STUDENTS, held_out)
    assert split.taught and split.held_out


def test_one_student_is_too_few_to_hold_any_out():
    with pytest.raises(TeachError, match=f"at least {MIN_STUDENTS} students.*there is 1 student"):
        split_students(["only", "only"])


def shifted(images: np.ndarray) -> np.ndarray:
    """MNIST digits drawn off-centre, as a class's consistent handwriting."""
    return np.roll(images, SHIFT, axis=2)


@pytest.fixture(scope="module")
def base(small):
    import keras

    from deepviz.training import train

    keras.utils.set_random_seed(0)
    return train(ModelConfig(epochs=2, train_images=2000), small)


@pytest.fixture(scope="module")
def shifted_class(small):
    """Six students, 100 shifted test digits each."""
    images = shifted(small.x_test[:600])
    return Handwriting(images, small.y_test[:600].astype(np.int64), np.repeat([f"s{n}" for n in range(6)], 100))


def test_tuning_learns_the_class_handwriting_on_a_copy(small, base, shifted_class):
    weights = [w.copy() for w in base.model.get_weights()]
    split = split_students(sorted(set(shifted_class.students)), 2)
    tuned = leave_students_out(base, small, shifted_class, split, "7B", QUICK_RECIPE)
    tuning = tuned.tuning

    assert all(np.array_equal(w, kept) for w, kept in zip(base.model.get_weights(), weights))
    assert tuned.model is not base.model and tuned.config == base.config and tuned.complete
    assert tuning.held_out == split.held_out and tuning.taught_students == 4 and tuning.taught_drawings == 400
    assert len(tuning.after.labels) == 200 and tuning.mnist_before == base.test_accuracy
    assert tuning.after.accuracy > tuning.before.accuracy + 0.2, (tuning.before.accuracy, tuning.after.accuracy)
    assert tuned.test_accuracy > base.test_accuracy - 0.05  # MNIST mixed in: it still reads centred digits
    assert tuned.label.startswith("tuned on class 7B's drawings for 2 epochs")


def test_a_stopped_tuning_keeps_the_partly_tuned_copy(small, base, shifted_class):
    from deepviz.tuning import TuningRun

    class StopError(Exception):
        pass

    def stop(history):
        raise StopError

    weights = [w.copy() for w in base.model.get_weights()]
    run = TuningRun(base, small, shifted_class.of(["s0"]), shifted_class.of(["s1"]), "7B", QUICK_RECIPE)
    with pytest.raises(StopError):
        run.fit(stop)
    tuned = run.finish()
    assert not tuned.complete and tuned.label.startswith("partly tuned on class 7B's drawings")
    assert tuned.tuning.after is not None
    assert all(np.array_equal(w, kept) for w, kept in zip(base.model.get_weights(), weights))


def test_fine_tune_alone_tunes_a_copy(small, base, shifted_class):
    tuned = fine_tune(base, small, shifted_class.images, shifted_class.labels, QUICK_RECIPE)
    assert tuned.tuning.held_out == () and tuned.tuning.after is None
    assert tuned.label.startswith("tuned on a class's drawings")
    assert not all(np.array_equal(a, b) for a, b in zip(tuned.model.get_weights(), base.model.get_weights()))


def test_there_must_be_drawings_to_learn_from(small, base, shifted_class):
    with pytest.raises(TeachError, match="no drawings to learn from"):
        fine_tune(base, small, shifted_class.images[:0], shifted_class.labels[:0])


# The command line's simulated class


@pytest.mark.slow
def test_the_simulated_class_reports_before_and_after(data_dir, capsys):
    argv = ["teach", "--simulate", "--writers", "3", "--held-out", "1", "--models", "tutorial"]
    assert main([*argv, "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "tuned on 20 drawings of 2 writers" in out
    assert "held-out writers: " in out and "MNIST test: " in out
    assert len(re.findall(r"^    \d: \d+\.\d% -> \d+\.\d% of \d+$", out, re.MULTILINE)) == 10


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["teach"], "teach needs --simulate"),
        (["teach", "--simulate", "--writers", "3", "--held-out", "3"], "leaves none of 3 writers to teach"),
        (["teach", "--simulate", "--models", "default"], "the default model learnt from these 30 writers' digits"),
    ],
)
def test_the_command_line_refuses_a_class_it_cannot_simulate(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_without_the_pen_digits_the_command_line_says_where_to_find_them(monkeypatch, capsys):
    monkeypatch.delenv(DATA_DIR_ENV)
    assert main(["teach", "--simulate"]) == 1
    assert capsys.readouterr().err.startswith("deepviz: error: no pen digits: give --pen-digits, or --data-dir or set")


# The Teach page

CODE = "7B"


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'drawings.sqlite3'}"
    monkeypatch.setenv(DATABASE_ENV, url)
    drawings = Drawings(url)
    yield drawings
    drawings.close()


def draw(store, mnist, students: list[str]) -> None:
    for n, student in enumerate(students):
        for digit in range(10):
            image = mnist.x_test[np.flatnonzero(mnist.y_test == digit)[n]]
            store.add(CODE, student, digit, image, session=student)


def teach_page(code=CODE):
    return open_page({"class": code} if code else {}, "teach")


def test_without_a_class_code_the_page_asks_for_one(store):
    at = teach_page(None)
    no_errors(at)
    assert "Type your class's code" in at.info[0].value


def test_a_class_without_drawings_is_sent_to_collect(store):
    at = teach_page()
    no_errors(at)
    assert "Class 7B has no drawings yet" in at.info[0].value


def test_one_student_is_not_enough(store, mnist):
    draw(store, mnist, ["Ann"])
    at = teach_page()
    no_errors(at)
    assert f"at least {MIN_STUDENTS} students" in at.warning[0].value
    assert not [b for b in at.button if b.label == "Teach the network"]


def test_a_store_that_cannot_be_opened_is_one_sentence(tmp_path, monkeypatch):
    path = tmp_path / "drawings.sqlite3"
    path.write_text("not a database")
    monkeypatch.setenv(DATABASE_ENV, f"sqlite:///{path}")
    at = teach_page()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        f"The class drawings database at {path} cannot be read: file is not a database."
    ]


def test_a_store_that_cannot_be_read_is_one_sentence(store, monkeypatch):
    def broken(self, class_code):
        raise StoreError("The class drawings database cannot be read: disk I/O error.")

    monkeypatch.setattr(Drawings, "of_class", broken)
    at = teach_page()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == ["The class drawings database cannot be read: disk I/O error."]


@pytest.mark.slow
def test_teaching_tunes_the_session_model_and_shows_the_students_it_never_saw(store, mnist):
    draw(store, mnist, ["Ann", "Bo", "*Cy*"])
    at = teach_page()
    no_errors(at)
    assert any("30 drawings by 3 students" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Teach the network").click().run()
    no_errors(at)
    held_out = split_students(["Ann", "Bo", "*Cy*"]).held_out
    assert len(held_out) == 1
    assert any(f"Tested on the drawings of {held_out[0]}:" in shown(c.value) for c in at.caption)
    (table,) = at.dataframe
    assert list(table.value.columns) == ["Drawings", "Before", "After"]
    assert table.value["Drawings"].sum() == 10
    assert [m.label for m in at.metric] == ["Students it never saw", "MNIST's test digits"]
    first = at.session_state["model"]
    assert first.tuning.class_code == CODE and first.tuning.start.tuning is None

    next(b for b in at.button if b.label == "Teach the network").click().run()
    no_errors(at)
    assert any("teaching starts again from the model it was tuned from" in c.value for c in at.caption)
    again = at.session_state["model"]
    assert again is not first and again.tuning.start is first.tuning.start


@pytest.mark.slow
def test_stop_keeps_the_partly_tuned_model(store, mnist, monkeypatch):
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    import deepviz.ui.training

    def leave(history):
        raise StopException()  # as Streamlit does at a progress report once Stop is clicked

    draw(store, mnist, ["Ann", "Bo"])
    at = teach_page()
    with monkeypatch.context() as patch:
        patch.setattr("deepviz.training.REPORT_EVERY_S", 0)
        patch.setattr(deepviz.ui.training, "progress_text", leave)
        next(b for b in at.button if b.label == "Teach the network").click().run()
    at.run()
    no_errors(at)
    assert shown(at.warning[0].value).startswith(
        "Your model is partly tuned on class 7B's drawings: stopped at epoch 0."
    )
    assert at.dataframe and not at.session_state["model"].complete
