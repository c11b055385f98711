import numpy as np
import pandas as pd
import streamlit as st

from deepviz.config import ACTIVATIONS, PRESETS, ConfigError, count_params, parse_layers, plural
from deepviz.figures import (
    STAGE_MAPS,
    activation_figure,
    comparison_figure,
    maps_note,
    probability_figure,
    shown_maps,
)
from deepviz.preprocess import prepare
from deepviz.ui.canvas import clear_button, drawing_pad
from deepviz.ui.markdown import plain
from deepviz.ui.resources import data_banner, layer_tops, mnist, preload_tensorflow
from deepviz.ui.session import session
from deepviz.ui.shell import run_app_first
from deepviz.ui.show import confidence, layer_titles, plot
from deepviz.ui.training import STOP_HELP, epochs_done, progress_text, queue_refusal, train_into

run_app_first()
preload_tensorflow()

SIDES = ("A", "B")
TRAINED = "Your trained model"
BUILT = "Your network (Build page)"
LAYERS_HELP = (
    "Hidden layers, first to last, separated by commas: `dense-128-relu` is 128 units with relu "
    f"(activations: {', '.join(ACTIVATIONS)}), `conv-16-3-relu` is 16 filters of 3x3, `pool-2` halves "
    "the feature maps. Conv and pool layers come first. Leave it empty for no hidden layer at all."
)


def result(side: str):
    return session.compared(side)


def choose(side: str):
    """The network picked for `side`: (configuration, its trained model or None), or None if it is invalid."""
    st.subheader(f"Network {side}")
    own = session.model
    options = [*([TRAINED] if own else []), BUILT, *PRESETS]
    # A trained model and the Build page's network are "before" and "after" a change: compare those first.
    default = (TRAINED, BUILT)[SIDES.index(side)] if own else (BUILT, "Shallow net")[SIDES.index(side)]
    start = st.selectbox(
        "Start from",
        options,
        index=options.index(default),
        key=f"compare_start_{side}",
        help="A network you trained (used as it is), the one set on the Build page, or a preset. "
        "You can change its layers below.",
    )
    if start == TRAINED:
        st.caption(f"{own.config.describe()} · {plain(own.label)}. Used as it is: not trained again.")
        return own.config, own
    base = session.config if start == BUILT else PRESETS[start]
    text = st.text_input(
        "Layers",
        ",".join(layer.token() for layer in base.layers),
        key=f"compare_layers_{side}_{start}",
        help=LAYERS_HELP,
    )
    try:
        chosen = session.config.with_layers(parse_layers(text))
    except ConfigError as error:
        st.error(f"Network {side} cannot be built: {plain(error)}.", icon=":material/error:")
        return None
    st.caption(f"{chosen.describe()} · {count_params(chosen):,} parameters")
    return chosen, None


def train_both(chosen: dict, data) -> None:
    st.button("Stop", icon=":material/stop:", help=STOP_HELP)
    for side in SIDES:
        session.set_compared(side, None)
    bars = {side: st.progress(0.0, text=f"Network {side}: waiting") for side, (_, own) in chosen.items() if own is None}
    chart = st.empty()
    histories = {}
    for side, (current, own) in chosen.items():
        if own is not None:
            session.set_compared(side, own)
            histories[f"Network {side}"] = own.history
            continue

        def report(history, side=side):
            histories[f"Network {side}"] = history
            bars[side].progress(history.fraction, text=f"Network {side}: {progress_text(history)}")
            plot(comparison_figure(histories), chart)

        train_into(f"compared_{side}", current, data, report)


def verdict(results: dict) -> str:
    """The difference in accuracy, as numbers of test digits a class can picture."""
    (a, first), (b, _) = results.items()
    tests = len(first.evaluation.labels)
    wrong = {side: trained.evaluation.misread for side, trained in results.items()}
    better, worse = (a, b) if wrong[a] <= wrong[b] else (b, a)
    if wrong[a] == wrong[b]:
        return f"Both networks misread {wrong[a]:,} of the {tests:,} test digits."
    return (
        f"Network {better} misreads {wrong[better]:,} of the {tests:,} test digits, network {worse} "
        f"{wrong[worse]:,}: {better} gets {wrong[worse] - wrong[better]:,} more right."
    )


def comparison_table(results: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            f"Network {side}": {
                "Hidden layers": " -> ".join(layer.describe() for layer in trained.config.layers) or "none",
                "Parameters": f"{trained.model.count_params():,}",
                "Test accuracy": f"{trained.test_accuracy:.2%}",
                "Training time": "opened from a file" if trained.opened_from else f"{trained.history.seconds:.1f} s",
                "Epochs done": "" if trained.opened_from else epochs_done(trained.history),
            }
            for side, trained in results.items()
        }
    ).T


@st.fragment
def same_drawing(results: dict) -> None:
    st.header("The same drawing, through both networks")
    pad, *readings = st.columns(1 + len(results), gap="medium")
    with pad:
        drawing = drawing_pad("compare")
        clear_button("compare")
    prepared = prepare(drawing) if drawing is not None else None  # None too for a faint speck
    if prepared is not None:
        image = session.drawing = prepared.image
    else:
        image = session.drawing
        if image is not None:
            pad.caption("Showing your drawing from the Draw page. Draw here to try another.")
    if image is None:
        readings[0].info(
            "Draw a digit from 0 to 9 in the black square: big, and in the middle.", icon=":material/draw:"
        )
        return

    layers = {side: trained.reader(image) for side, trained in results.items()}
    for column, (side, activations) in zip(readings, layers.items()):
        probabilities = activations[-1].values
        digit = int(np.argmax(probabilities))
        column.metric(f"Network {side} reads", digit)
        column.caption(f"{confidence(probabilities[digit])} sure")
        plot(probability_figure(probabilities, height=220), column)

    st.caption(
        "Each network's hidden layers, first at the top, and its output at the bottom. Brighter "
        "means more active. A deeper network has more rows: more steps to turn strokes into a digit. "
        f"A convolution or pooling layer shows the {STAGE_MAPS} of its feature maps most active for this drawing."
    )
    titles = {side: layer_titles(trained.config) for side, trained in results.items()}
    tops = {side: layer_tops(trained) for side, trained in results.items()}
    # As the Draw page's stage: a conv or pooling layer's most active maps, big enough to read.
    maps = {
        side: dict(zip([a.name for a in activations], shown_maps(activations))) for side, activations in layers.items()
    }
    # Hidden layers from the top, blanks under the shallower network, so the outputs line up.
    deepest = max(len(activations) for activations in layers.values())
    columns = {side: [*a[1:-1], *[None] * (deepest - len(a)), a[-1]] for side, a in layers.items()}
    for row in zip(*columns.values()):
        for column, side, activation in zip(st.columns(len(row)), columns, row):
            if activation is not None:
                shown = maps[side][activation.name]
                note = None if shown is None else maps_note(shown, activation)
                title = f"{side} · {titles[side][activation.name]}" + ("" if note is None else f" · {note}")
                figure = activation_figure(activation, title, top=tops[side].get(activation.name), shown=shown)
                plot(figure, column)


st.title("Compare two networks")
st.caption(
    "Does a second layer help? Is relu better than sigmoid? Train two networks the same way and "
    "see which reads digits better, how fast each learns, and how each sees the same drawing."
)
data = mnist()
data_banner(data)
chosen = {}
for side, column in zip(SIDES, st.columns(2, gap="large")):
    with column:
        chosen[side] = choose(side)
settings = session.config
st.caption(
    f"Networks not yet trained train with the Build page's settings: {settings.optimizer}, learning "
    f"rate {settings.learning_rate:g}, {plural(settings.epochs, 'epoch')}, batch {settings.batch_size}, on "
    f"{min(settings.train_images, len(data.x_train)):,} images. Only the layers differ."
)
ready = all(chosen.values())
to_train = ready and any(own is None for _, own in chosen.values())
queue_refusal()
if st.button(
    "Train and compare",
    type="primary",
    icon=":material/compare_arrows:",
    disabled=not to_train,
    help="Train each network not yet trained, one after the other, with the same settings.",
):
    train_both(chosen, data)
    st.rerun()  # show the results on their own, without the live progress above them

results = {side: result(side) for side in SIDES if result(side) is not None}
if not results:
    st.info(
        "Press **Train and compare** to train both networks, one after the other.", icon=":material/compare_arrows:"
    )
else:
    st.header("Which learns better")
    if len(results) < len(SIDES) or any(not trained.complete for trained in results.values()):
        st.warning("Training was stopped before both networks finished: press Train and compare to finish them.")
    elif ready and any(results[side].config != chosen[side][0] for side in SIDES):
        st.caption("These results are for the networks in the table. Press Train and compare for the ones set now.")
    if len(results) == len(SIDES):
        st.markdown(verdict(results))
    st.dataframe(comparison_table(results), width="stretch")
    plot(comparison_figure({f"Network {side}": trained.history for side, trained in results.items()}))
    st.caption(
        "Solid lines: validation, on images held back from training. Faint lines: the training "
        "batches. A network whose training accuracy keeps rising while validation stalls is "
        "memorising its training images: overfitting."
    )
    same_drawing(results)
