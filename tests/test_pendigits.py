import gzip

import numpy as np
import pytest

from deepviz.data import DataError
from deepviz.pendigits import (
    PenDigit,
    fit_strokes,
    load_pen_digits,
    one_of_each,
)
from deepviz.preprocess import CANVAS_SIZE
from measure.handwriting import Reading, Score
from measure.offline import PenSet


def test_strokes_fill_the_middle_of_the_canvas_keeping_their_shape():
    tall = [[(100, 1000), (100, 1400)], [(80, 1000), (140, 1000)]]  # a 60 x 400 "T"
    fitted = fit_strokes(tall, size=280, share=0.5)
    xs = [x for stroke in fitted for x, _ in stroke]
    ys = [y for stroke in fitted for _, y in stroke]
    assert (min(ys), max(ys)) == pytest.approx((70, 210))  # the long side fills half, centred
    assert max(xs) - min(xs) == pytest.approx(60 * 140 / 400)
    assert (min(xs) + max(xs)) / 2 == pytest.approx(140)


def test_a_single_dot_lands_in_the_middle():
    assert fit_strokes([[(5, 5)]]) == [[(CANVAS_SIZE / 2, CANVAS_SIZE / 2)]]


def test_the_shared_pen_digits_load(data_dir):
    digits = load_pen_digits(data_dir.parent / "pen-digits" / "uji-digits.json")
    assert len(digits) == 220 and len({d.writer for d in digits}) == 11


def test_one_of_each_keeps_every_writers_first_sample_of_every_digit():
    digits = [
        PenDigit(writer, label, [[(n, 0)]])
        for n, (writer, label) in enumerate([("a", 1), ("a", 2), ("a", 1), ("b", 1), ("a", 2), ("b", 1), ("b", 2)])
    ]
    assert [d.strokes[0][0][0] for d in one_of_each(digits)] == [0, 1, 3, 6]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "is not a list"),
        ('[{"label": 3}]', "is not a list"),
        ("[]", "holds no digits"),
        ('[{"writer": "w", "label": 12, "strokes": [[[0, 0]]]}]', "holds no digits"),
    ],
)
def test_a_bad_pen_digit_file_is_refused_with_its_name(tmp_path, content, reason):
    path = tmp_path / "digits.json"
    path.write_text(content)
    with pytest.raises(DataError, match=reason):
        load_pen_digits(path)


def test_the_thirty_writers_load_from_their_gzipped_file(data_dir):
    digits = load_pen_digits(data_dir.parent / "pen-digits" / "pendigits-train-writers.json.gz")
    assert len(digits) == 7494 and {d.writer for d in digits} == {f"p{n:02}" for n in range(1, 31)}


def test_a_damaged_gzipped_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "digits.json.gz"
    path.write_bytes(gzip.compress(b'[{"writer": "w", "label": 3, "strokes": [[[0, 0]]]}]')[:-9])
    with pytest.raises(DataError, match=r"digits\.json\.gz"):
        load_pen_digits(path)


def test_a_missing_pen_digit_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"cannot read pen digits from .*nowhere.json"):
        load_pen_digits(tmp_path / "nowhere.json")


def test_a_score_counts_and_names_the_misreadings():
    def reading(label, predicted):
        return Reading(PenDigit("w", label, [[(0, 0)]]), predicted)

    score = Score([reading(1, 1), reading(1, 7), reading(1, 7), reading(9, 4)])
    assert score.accuracy == 0.25
    assert score.summary() == "0.2500 (1 of 4); 1 read as 7 x2, 9 read as 4 x1"


def test_an_offline_score_names_each_writer_digit_and_misreading():
    pens = PenSet("set", np.array(["a", "a", "b", "b"]), np.array([1, 9, 1, 9]), np.zeros((4, 28, 28)))
    scored = pens.score(np.array([1, 9, 7, 4]))
    assert scored.per_writer() == {"a": (2, 2), "b": (0, 2)}
    assert scored.per_digit() == {1: (1, 2), 9: (1, 2)}
    assert scored.worst_writer() == ("b", 0.0)
    assert scored.report().splitlines() == [
        "set: 50.00% (2 of 4, 2 writers)",
        "  per writer: a 100%, b 0%",
        "  per digit: 1 50.0%, 9 50.0%",
        "  worst writers: b 0 of 2, a 2 of 2",
        "  commonest misreadings: 1 read as 7 x1, 9 read as 4 x1",
    ]
