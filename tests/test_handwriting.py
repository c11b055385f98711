"""Real handwriting: 220 pen-drawn digits from 11 writers, replayed as mouse strokes on the
Draw page in Chromium, each answer read off the page. The floor is what the default model
measured here (see the README), less a margin of two digits for the browser's timing."""

from deepviz.handwriting import read_digits
from deepviz.pendigits import load_pen_digits

# Measured with the seeded default model of the tests: see README, "Real handwriting".
FLOOR = 0.95


def test_the_default_model_reads_real_handwriting_drawn_on_the_canvas(server, page):
    digits = load_pen_digits()
    assert len(digits) == 220 and {digit.label for digit in digits} == set(range(10))
    page.goto(f"{server}/draw")
    score = read_digits(page, digits)
    print(f"handwriting accuracy of the default model: {score.summary()}")
    assert score.accuracy >= FLOOR, score.summary()
