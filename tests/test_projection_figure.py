"""The projections' pictures as a class sees them: scaled to the bulk of the dots, one key to
the digits' colours, and colours that stay apart on a projector with the app's dark theme."""

import itertools
import tomllib
from pathlib import Path

import numpy as np

from deepviz.figures import DIGIT_COLORS, digit_key_figure, projection_figure

STREAMLIT_DARK = "#0e1117"  # the background of Streamlit's dark theme, which .streamlit/config.toml sets


def lab(color: str) -> tuple[np.ndarray, float]:
    """A hex colour in CIELAB (D65), and its relative luminance."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), 0.008856))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])]), xyz[1]


def test_the_ten_digit_colours_are_far_apart_and_bright_on_the_dark_theme():
    assert tomllib.loads(Path(".streamlit/config.toml").read_text())["theme"]["base"] == "dark"
    colours = [lab(color) for color in DIGIT_COLORS]
    assert len(colours) == 10
    assert min(np.linalg.norm(a - b) for (a, _), (b, _) in itertools.combinations(colours, 2)) > 30
    background = lab(STREAMLIT_DARK)[1]
    assert min((luminance + 0.05) / (background + 0.05) for _, luminance in colours) > 4.5


def test_a_few_stray_dots_do_not_squeeze_the_clouds():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2000, 2))
    points[:5] = 1000.0  # five strays, far off
    figure = projection_figure(points, np.arange(2000) % 10, "p")
    low, high = figure.layout.xaxis.range
    assert -4 < low < -1.5 and 1.5 < high < 4  # the bulk of a unit normal, not out to 1000
    assert figure.layout.showlegend is False  # the one key is digit_key_figure


def test_the_drawing_stays_in_view_even_far_from_the_digits():
    points = np.random.default_rng(1).normal(size=(500, 2))
    figure = projection_figure(points, np.arange(500) % 10, "p", drawing=np.array([30.0, -0.5]))
    assert figure.layout.xaxis.range[1] > 30 and figure.layout.yaxis.range[1] < 4


def test_the_key_names_each_digit_beside_its_colour():
    (trace,) = digit_key_figure().data
    assert list(trace.text) == [str(digit) for digit in range(10)]
    assert list(trace.marker.color) == list(DIGIT_COLORS)


def test_with_their_test_indices_dots_name_their_digit_on_hover_and_a_drag_picks_them():
    points = np.random.default_rng(2).normal(size=(50, 2))
    labels, indices = np.arange(50) % 10, np.arange(50) * 7 + 3
    figure = projection_figure(points, labels, "p", drawing=np.zeros(2), indices=indices)
    sevens = figure.data[7]
    assert list(sevens.customdata) == list(indices[labels == 7])  # what a picked dot reports
    assert "a test digit 7, number %{customdata}" in sevens.hovertemplate
    assert figure.layout.dragmode == "select" and figure.data[10].customdata is None  # the star picks nothing
    assert projection_figure(points, labels, "p").layout.dragmode is None  # without indices, nothing to pick


def test_thumbnails_are_sharp_enlargements_and_a_wrong_answer_is_framed():
    from deepviz.figures import THUMBNAIL_SCALE, WRONG, thumbnails

    images = np.zeros((2, 28, 28), np.uint8)
    images[:, 10:18, 10:18] = 255
    right, wrong = thumbnails(images, np.array([False, True]))
    assert right.shape == (28 * THUMBNAIL_SCALE, 28 * THUMBNAIL_SCALE, 3)
    assert set(np.unique(right)) == {0, 255}  # pixels repeated, not blurred
    assert (right[0, 0] == 0).all() and wrong[0, 0].tolist() == [int(WRONG[i : i + 2], 16) for i in (1, 3, 5)]
    middle = slice(THUMBNAIL_SCALE, -THUMBNAIL_SCALE)
    np.testing.assert_array_equal(right[middle, middle], wrong[middle, middle])  # the digit itself untouched
