"""How well the app reads real handwriting: pen-drawn digits replayed on the Draw page's
canvas in headless Chromium, each answer read off the page's Prediction metric.

Everything a person's drawing goes through is measured: the canvas, its stroke width, the
preprocessing and the model. `python -m deepviz handwriting` prints the figures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from deepviz.config import PRESETS
from deepviz.pendigits import PenDigit, fit_strokes
from measure.browser import WAIT_MS, BrowserError, chromium, replay, running_app, settled

TRAIN_TIMEOUT_MS = 600_000


@dataclass(frozen=True)
class Reading:
    digit: PenDigit
    predicted: int

    @property
    def right(self) -> bool:
        return self.predicted == self.digit.label


@dataclass(frozen=True)
class Score:
    readings: list[Reading]

    @property
    def right(self) -> int:
        return sum(reading.right for reading in self.readings)

    @property
    def accuracy(self) -> float:
        return self.right / len(self.readings)

    def misreadings(self) -> Counter:
        """(drawn, read) pairs of the wrong answers, commonest first."""
        return Counter((r.digit.label, r.predicted) for r in self.readings if not r.right)

    def summary(self) -> str:
        mistakes = ", ".join(f"{drawn} read as {read} x{n}" for (drawn, read), n in self.misreadings().most_common())
        return f"{self.accuracy:.4f} ({self.right} of {len(self.readings)}){f'; {mistakes}' if mistakes else ''}"


def read_digits(page, digits: list[PenDigit], progress: Callable[[Reading], None] | None = None) -> Score:
    """On the Draw page: draw each digit, read the Prediction metric, then Clear for the next."""
    from playwright.sync_api import expect

    canvas = page.locator("canvas.upper-canvas")
    hint = page.get_by_text("Draw a digit from 0 to 9")
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")
    expect(hint).to_be_visible(timeout=TRAIN_TIMEOUT_MS)  # a first visit may train the default model
    readings = []
    for digit in digits:
        replay(page, canvas, fit_strokes(digit.strokes))
        expect(prediction).to_have_text(re.compile(r"^\s*[0-9]\s*$"), timeout=WAIT_MS)
        readings.append(Reading(digit, int(prediction.inner_text())))
        if progress:
            progress(readings[-1])
        page.get_by_role("button", name="Clear").click()
        expect(hint).to_be_visible(timeout=WAIT_MS)
        settled(page)  # the old canvas is gone only once the run is over
    return Score(readings)


def train_tutorial(page, url: str) -> None:
    """Train the tutorial MLP on the Train page, then go to Draw in the same session."""
    from playwright.sync_api import expect

    query = "&".join(f"{key}={value}" for key, value in PRESETS["Tutorial MLP"].to_query().items())
    page.goto(f"{url}/train?{query}")
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name="Train").click()
    expect(main.get_by_text(re.compile(r"^Your model: trained for"))).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    main.get_by_role("link", name="Draw a digit for this model").click()


def measure(
    digits: list[PenDigit], models: list[str], progress: Callable[[str, Reading], None] | None = None
) -> dict[str, Score]:
    """Start the app and a browser, and score each model on the digits: "default", or "tutorial"
    (the tutorial MLP, trained on the Train page first)."""
    scores = {}
    with running_app() as url, chromium() as browser:
        from playwright.sync_api import Error as PlaywrightError

        for model in models:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            try:
                if model == "tutorial":
                    train_tutorial(page, url)
                else:
                    page.goto(f"{url}/draw")
                scores[model] = read_digits(
                    page, digits, progress and (lambda reading, model=model: progress(model, reading))
                )
            except PlaywrightError as error:
                raise BrowserError(f"the app stopped answering as expected ({model} model): {error.message}") from None
            finally:
                context.close()
    return scores
