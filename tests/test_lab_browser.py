"""The class handwriting lab in Chromium, two sessions of one server: a student draws a real pen
digit on Collect and submits it; the teacher's wall, on a 1280 x 720 projector, shows it by itself,
the class's other drawings, the scores and the teacher's tools all on the screen."""

import re
import time

import numpy as np
import pytest
from playwright.sync_api import expect
from test_projector_lesson import on_screen, pen_digit, press

from deepviz.drawings import DATABASE_ENV, Drawings
from measure.bench import FIRST_VISIT_MS
from measure.browser import WAIT_MS, replay, running_server, settled

REFRESH_S = 3  # pages/wall.py's
# The first page to need the model imports TensorFlow and loads it: well past expect's 5 s default.
expect.set_options(timeout=WAIT_MS)


DRAWN = 12  # per digit, before the student's: a full wall (pages/wall.py's NEWEST)


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('lab') / 'drawings.sqlite3'}"


@pytest.fixture(scope="module")
def server(default_trained, database):
    """An app of this module's own, keeping drawings in a fresh database: the shared server's
    app read DEEPVIZ_DATABASE_URL once, as it started."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATABASE_ENV, database)
        with running_server() as started:
            yield started.url


def fill_the_wall(database: str, mnist) -> None:
    """DRAWN test digits of each label in class 7B, by DRAWN writers."""
    store = Drawings(database)
    for digit in range(10):
        for writer, index in enumerate(np.flatnonzero(mnist.y_test == digit)[:DRAWN]):
            store.add("7B", f"Writer {writer}", digit, mnist.x_test[index], f"writer-{writer}")
    store.close()


def opened(browser, url: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    return page


def no_exceptions(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)


def test_a_digit_a_student_submits_appears_on_the_projected_wall(server, database, mnist, browser, screenshots):
    wall = opened(browser, f"{server}/wall?class=7B&projector=1", 1280, 720)
    # This module's own server loads TensorFlow and the default model for its first page.
    expect(wall.get_by_text("No drawings yet")).to_be_visible(timeout=FIRST_VISIT_MS)
    fill_the_wall(database, mnist)
    for digit in range(10):
        picture = wall.get_by_role("img", name=re.compile(f"^{digit}: the newest {DRAWN} of {DRAWN} drawings, "))
        expect(picture).to_be_visible(timeout=(REFRESH_S + 10) * 1000)  # by itself: no one touched the wall

    # A student, on a phone, from the lesson's link.
    student = opened(browser, f"{server}/collect?class=7B&hide=menu", 390, 844)
    expect(student.get_by_role("textbox", name="Class code")).to_have_value("7B")
    nickname = student.get_by_role("textbox", name="Your nickname")
    nickname.fill("Ada")
    nickname.press("Enter")
    settled(student)
    on_screen(student, student.get_by_role("heading", name="Draw a 0"))
    canvas = student.locator("canvas.upper-canvas")
    replay(student, canvas, pen_digit(0))
    press(student, student.get_by_role("button", name="Submit"))
    expect(student.get_by_text(re.compile(r"^Kept your 0\. The network reads it as"))).to_be_visible()
    sent = time.monotonic()
    expect(student.get_by_role("heading", name="Draw a 1")).to_be_visible()
    no_exceptions(student)

    # The wall shows it by itself, newest in the 0s' column, with the scores and the teacher's
    # tools, all on the projector's screen.
    zeros = wall.get_by_role("img", name=re.compile(f"^0: the newest {DRAWN} of {DRAWN + 1} drawings, "))
    expect(zeros).to_be_visible(timeout=(REFRESH_S + 10) * 1000)
    assert time.monotonic() - sent < REFRESH_S + 10
    for digit in range(10):
        on_screen(wall, wall.get_by_role("img", name=re.compile(f"^{digit}: the newest {DRAWN} of ")))
    for label in ("Our handwriting", "MNIST's test digits"):
        on_screen(wall, wall.get_by_test_id("stMetric").filter(has_text=label))
    on_screen(wall, wall.get_by_text(f"{10 * DRAWN + 1} drawings by {DRAWN + 1} students"))
    on_screen(wall, wall.get_by_test_id("stExpander").filter(has_text="Teacher's tools"))
    no_exceptions(wall)
    if screenshots:
        wall.screenshot(path=screenshots / "wall-1280x720.png")
        student.screenshot(path=screenshots / "collect-phone.png")
    student.context.close()
    wall.context.close()


def test_collect_fits_a_projector_screen(server, browser, screenshots):
    page = opened(browser, f"{server}/collect?class=7B&projector=1", 1280, 720)
    for thing in (
        page.get_by_role("textbox", name="Class code"),
        page.get_by_role("textbox", name="Your nickname"),
        page.get_by_role("heading", name="Draw a 0"),
        page.locator("canvas.upper-canvas"),
        page.get_by_role("button", name="Submit"),
        page.get_by_role("button", name="Clear"),
    ):
        on_screen(page, thing)
    no_exceptions(page)
    if screenshots:
        page.screenshot(path=screenshots / "collect-1280x720.png")
    page.context.close()
