"""Plain-language guidance: the words the app uses, and the guided tour through it.

One wording for each idea, used by every control and view that needs it, so a student
reads the same explanation of "epoch" on the Build page as on the Home page's word list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from deepviz.config import PRESETS, ModelConfig

if TYPE_CHECKING:
    from deepviz.trained import TrainedModel

WORDS = {
    "layer": "A stage of the network. Each layer takes the numbers the layer before it gives, "
    "combines them, and passes new numbers on: pixels in, one score per digit out.",
    "unit": "One of a layer's small calculators (a neuron): it multiplies each number it receives by "
    "a weight, adds them up, and passes the total on through its activation function.",
    "weight": "A number the network learns: how much one input counts for one unit. Training "
    "nudges every weight, a little at a time, towards better answers.",
    "activation": "How strongly a unit responds to your drawing: the number it passes on. The "
    "heatmaps show it as colour, brighter for more active; 0 means the unit stayed quiet.",
    "activation function": "What a unit does with its total before passing it on. relu keeps a "
    "positive total and turns a negative one into 0; sigmoid and tanh squash it into a small range.",
    "bias": "A number each unit adds to its weighted sum before its activation function: it sets how "
    "easily the unit fires. Training learns it as it learns the weights.",
    "dead unit": "A unit that stays quiet (0) for every test digit: it passes nothing on, and as its "
    "weights no longer change, it stays dead. Too big a learning rate kills many relu units at once.",
    "softmax": "The output layer's last step: it turns the ten digits' scores into chances that add up "
    "to 100%, the highest score getting the biggest chance.",
    "projection": "A flat picture of a layer's many numbers, one dot per digit. PCA shows the layer "
    "straight on, like a shadow; t-SNE puts each digit beside the digits most like it at that layer.",
    "filter": "A conv layer's small pattern detector: a 3x3 (or larger) patch of weights slid over "
    "the whole image, lighting up wherever its pattern, such as an edge or a curve, appears.",
    "pooling": "Keeps only the strongest value of each small patch: a smaller map that still says "
    "roughly where each pattern was found.",
    "dropout": "Switches off a share of a layer's units at random during training, so that no unit "
    "can lean on another: a simple guard against overfitting.",
    "epoch": "One pass over all the training images. More epochs give the network more practice, "
    "until it starts memorising them instead of learning.",
    "batch": "How many images the network looks at before each small change of its weights.",
    "learning rate": "How big each change of the weights is. Too small learns slowly; too big "
    "jumps past good weights and never settles.",
    "loss": "How wrong the network's answers are, as one number: training works to push it down.",
    "accuracy": "The share of digits read right.",
    "validation": "Training images held back, never trained on, to check the network on digits "
    "it has not practised with while it trains.",
    "overfitting": "Memorising the training images instead of learning what digits look like: "
    "training accuracy keeps climbing while validation accuracy stalls or falls.",
}


def word(name: str) -> str:
    """The explanation of one of WORDS, to put beside a control as its help."""
    return WORDS[name]


@dataclass(frozen=True)
class Step:
    """One stop of the guided tour: on which page, what to do there and what to look at, and
    how to tell from the session's state that it is done, where a full run of the app shows it
    (None where the page shows it at once, as a drawing's prediction does: Next moves on)."""

    title: str
    page: str  # the page's url path, as in app.py's navigation ("" is Home)
    text: str
    done: Callable[[Progress], bool] | None = None


class Progress(Protocol):
    """What the tour's steps read of a session to tell whether they are done
    (deepviz.ui.session.Session is one)."""

    config: ModelConfig
    model: TrainedModel | None

    def compared(self, side: str) -> TrainedModel | None: ...


TUTORIAL = PRESETS["Tutorial MLP"]


def trained_tutorial(state: Progress) -> bool:
    model = state.model
    return model is not None and model.complete and model.config.layers == TUTORIAL.layers


def added_a_layer(state: Progress) -> bool:
    return state.model is not None and len(state.config.layers) > len(state.model.config.layers)


def compared(state: Progress) -> bool:
    return all(state.compared(side) is not None for side in "AB")


TOUR = (
    Step(
        "Train the tutorial network",
        "train",
        "This is the network from the Keras tutorial: a digit's 784 pixels go through two hidden "
        "layers, of 128 and 64 units, to 10 outputs, one per digit. Press **Train** and watch the "
        "curves: the loss (how wrong it is) falls and the accuracy rises, epoch after epoch (an "
        "epoch is one pass over the training images). It takes about half a minute.",
        trained_tutorial,
    ),
    Step(
        "Draw a digit",
        "draw",
        "Draw a digit from 0 to 9 in the black square, big and in the middle. The **Prediction** is "
        "the network's answer; the bars show how sure it is of each digit. Try a sloppy one too.",
    ),
    Step(
        "See the layers",
        "draw",
        "Below your drawing, **Layer by layer**: each heatmap is one layer, each square one unit, "
        "brighter when it responds more to your drawing. The first layer reacts to pixels; each "
        "layer after it combines what the one before found, until the output picks a digit. Draw "
        "another digit and watch different units light up.",
    ),
    Step(
        "Add a layer",
        "build",
        "Press **Add Dense layer** to give the network a third hidden layer. Don't train it here: "
        "the next step trains it beside the network you already trained.",
        added_a_layer,
    ),
    Step(
        "Compare",
        "compare",
        "Network A is the tutorial network you trained, network B the one with the extra layer. "
        "Press **Train and compare**: B trains the same way, then see which reads more test digits "
        "right, how fast each learned, and how each one's layers see the same drawing.",
        compared,
    ),
)
# The tour's buttons say what it is in one line (Home and the sidebar).
TOUR_SUMMARY = "Five steps: train the tutorial network, draw a digit, see its layers, add a layer, compare."
