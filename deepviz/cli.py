"""`python -m deepviz train`: the tutorial, headless, with the same knobs as the Build page.
`python -m deepviz handwriting`: how well the running app reads real pen-drawn digits (`--offline`:
every digit of both shared sets, writer by writer, drawn without a browser).
`python -m deepviz loadtest`: a class at once: many browser sessions drawing and training.
`python -m deepviz inspect FILE`: check a .keras model file as the app's upload does; print its layers.
`python -m deepviz bench`: training and drawing speed, against the tutorial script in the same run.
`python -m deepviz teach --simulate`: the Teach page's measurement, with the 30 pen-digit writers as a class.
`python -m deepviz school --processes N`: a whole school, N app processes behind nginx (deepviz/school.py)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from deepviz.config import (
    AUGMENTATIONS,
    DATASETS,
    DEFAULT_MODEL,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
    ConfigError,
    ModelConfig,
    parse_layers,
)
from deepviz.data import DATA_DIR_ENV, DataError, load_mnist, read_dir
from deepviz.modelfile import layer_table, load_file
from deepviz.modelfile.errors import ModelFileError
from deepviz.pendigits import WRITERS

# Which model the Draw page reads with: the default one, or the tutorial MLP trained on the Train page.
HANDWRITING_MODELS = ("default", "tutorial")
# What a simulated class tunes: networks that never saw its writers (see run_teach).
TEACH_MODELS = ("small-cnn", "tutorial", "default")
# The measurement tools' package, beside deepviz/ in a clone and not in the app's image:
# imported only inside the command that needs it (some drive a browser).
TOOLS = "measure"
MEASUREMENTS = ("handwriting", "loadtest", "bench")  # the commands that drive a browser


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option costs one line on stderr, not a usage block."""

    def error(self, message: str):
        self.exit(2, f"deepviz: error: {message}\n")


def build_parser() -> Parser:
    parser = Parser(prog="python -m deepviz", description="deepviz command line")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train = commands.add_parser("train", help="train a model on MNIST and print its test accuracy")
    default = ModelConfig()
    train.add_argument(
        "--layers",
        default=",".join(layer.token() for layer in default.layers),
        help="hidden layers, comma-separated: 128 or dense-128-relu[-0.2], conv-16-3-relu, pool-2 "
        "(default: %(default)s; '' for none)",
    )
    train.add_argument("--epochs", type=int, default=default.epochs)
    train.add_argument("--batch-size", type=int, default=default.batch_size)
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=default.optimizer)
    train.add_argument("--learning-rate", type=float, default=default.learning_rate)
    train.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=default.schedule,
        help="cosine: the learning rate falls to 0 by the last step (default: %(default)s)",
    )
    train.add_argument("--validation-split", type=float, default=default.validation_split)
    train.add_argument("--train-images", type=int, default=default.train_images)
    train.add_argument("--data-dir", help="folder with the four MNIST .gz files or mnist.npz")
    train.add_argument("--save", metavar="PATH", help="write the trained model to PATH (a .keras file)")
    train.add_argument("--seed", type=int, help="seed every random generator, for a repeatable run")
    train.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        default=default.augment,
        help="distort: warp a share of each batch's digits as people's pens do (default: %(default)s)",
    )
    train.add_argument(
        "--data",
        choices=DATASETS,
        default=default.data,
        help="mnist-pen: train on the 30 writers' pen-drawn digits beside the MNIST folder too (default: %(default)s)",
    )
    handwriting = commands.add_parser(
        "handwriting",
        help="replay real pen-drawn digits on the Draw page in headless Chromium and print how many it reads right",
    )
    handwriting.add_argument(
        "--pen-digits",
        metavar="FILE",
        help="the digits' strokes (default: pen-digits/uji-digits.json beside the MNIST folder)",
    )
    handwriting.add_argument(
        "--models",
        nargs="+",
        choices=HANDWRITING_MODELS,
        default=list(HANDWRITING_MODELS),
        help="the default model, and/or the tutorial MLP trained on the Train page (default: both)",
    )
    handwriting.add_argument("--limit", type=int, help="only the first N digits")
    handwriting.add_argument(
        "--offline",
        action="store_true",
        help="no browser: draw every digit of both shared sets as the canvas does, read them with the default "
        "model (trained first if not cached) and print accuracy per writer and per digit: a minute, not an hour",
    )
    handwriting.add_argument(
        "--cross-writers",
        action="store_true",
        help="with --offline: train the default model's recipe twice, each time with half of the 30 writers' digits, "
        "and read the other half and the 11 writers: every figure from writers the model never saw (minutes)",
    )
    handwriting.add_argument("--data-dir", help="with --offline: folder with the four MNIST .gz files or mnist.npz")
    handwriting.add_argument(
        "--model", metavar="FILE", help="with --offline: read with this .keras model file instead of the default model"
    )
    loadtest = commands.add_parser(
        "loadtest",
        help="drive many headless Chromium sessions drawing and training on the app at once; "
        "print prediction latency, trainings, errors and the server's peak memory",
    )
    loadtest.add_argument(
        "--sessions", type=at_least(1), default=30, help="concurrent sessions in all (default: %(default)s)"
    )
    loadtest.add_argument(
        "--training", type=at_least(0), default=4, help="how many of them train (default: %(default)s)"
    )
    loadtest.add_argument(
        "--duration", type=at_least(1), default=120, help="seconds of load, after warming up (default: %(default)s)"
    )
    loadtest.add_argument(
        "--seed", type=int, default=0, help="picks each session's digits and pauses (default: %(default)s)"
    )
    loadtest.add_argument(
        "--clients",
        choices=("browser", "protocol"),
        default="browser",
        help="browser: a headless Chromium page per session, timed from mouse-up to painted page; protocol: "
        "sessions speaking Streamlit's websocket protocol, replaying one recorded browser session, so the "
        "server has the machine to itself (default: %(default)s)",
    )
    loadtest.add_argument(
        "--url",
        help="with --clients protocol: load this running app (e.g. python -m deepviz school's address) "
        "instead of starting one; --pid names its process, whose CPU and memory (with its children's) are read",
    )
    loadtest.add_argument("--pid", type=int, help="with --url: the running app's process id")
    inspect = commands.add_parser(
        "inspect", help="check a .keras model file the way the app's upload does and print its layers"
    )
    inspect.add_argument("file", metavar="FILE", help="a .keras model file")
    bench = commands.add_parser(
        "bench",
        help="time training against the tutorial script, a drawing's answer and figures, the Draw "
        "page in a browser (training the default model first if it is not cached), and the home "
        "page",
    )
    bench.add_argument("--quick", action="store_true", help="a small check that every measurement works, not timed")
    bench.add_argument("--data-dir", help="folder with the four MNIST .gz files or mnist.npz")
    bench.add_argument(
        "--pen-digits",
        metavar="FILE",
        help="the pen digits drawn on the Draw page (default: pen-digits/uji-digits.json beside the MNIST folder)",
    )
    fool = commands.add_parser(
        "fool",
        help="how much ink the smallest change to a test digit takes to make the default CNN, and the "
        "tutorial MLP (trained seeded first), read the next digit",
    )
    fool.add_argument("--count", type=at_least(1), default=100, help="test digits (default: %(default)s)")
    fool.add_argument("--data-dir", help="folder with the four MNIST .gz files or mnist.npz")
    fool.add_argument("--seed", type=int, default=0, help="seeds the tutorial's training (default: %(default)s)")
    teach = commands.add_parser(
        "teach",
        help="fine-tune a model on a class's drawings and measure it on the class's other students, "
        "before and after, per digit",
    )
    teach.add_argument(
        "--simulate",
        action="store_true",
        help="the class: the 30 writers of pen-digits/pendigits-train-writers.json.gz, drawn as the canvas draws; "
        "one of each digit from the taught writers, every digit of the held-out ones",
    )
    teach.add_argument("--pen-digits", metavar="FILE", help="the writers' strokes (default: the 30 writers' file)")
    teach.add_argument("--writers", type=at_least(2), help="only the first N writers (default: all)")
    teach.add_argument(
        "--held-out", type=at_least(1), default=10, help="writers measured on, never taught (default: %(default)s)"
    )
    teach.add_argument(
        "--models",
        nargs="+",
        choices=TEACH_MODELS,
        default=["small-cnn"],
        help="networks that learnt from MNIST alone, trained seeded first: the Small CNN (seed 0) and/or the "
        "tutorial MLP (--seed); or the default model, when it did not learn from these writers (default: %(default)s)",
    )
    teach.add_argument("--data-dir", help="folder with the four MNIST .gz files or mnist.npz")
    teach.add_argument(
        "--seed",
        type=int,
        default=0,
        help="picks the held-out writers, and seeds the tuning and the tutorial's training (default: %(default)s)",
    )
    school = commands.add_parser(
        "school",
        help="serve a whole school: N app processes behind nginx, each browser kept on one of them",
    )
    school.add_argument(
        "--processes", type=at_least(1), default=2, help="app processes, about one per core (default: %(default)s)"
    )
    school.add_argument(
        "--port", type=int, default=8080, help="nginx's port, the one students open (default: %(default)s)"
    )
    school.add_argument(
        "--address", default="0.0.0.0", help="nginx's address (default: %(default)s, every network the machine is on)"
    )
    school.add_argument("--run-dir", metavar="FOLDER", help="where nginx's settings, the logs and processes.json go")
    return parser


def at_least(low: int):
    def number(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is below {low}")
        return value

    return number


def config_from(args: argparse.Namespace) -> ModelConfig:
    return replace(
        ModelConfig(),
        layers=parse_layers(args.layers),
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        schedule=args.schedule,
        validation_split=args.validation_split,
        train_images=args.train_images,
        augment=args.augment,
        data=args.data,
    )


def pen_folder(args: argparse.Namespace, or_else: str = "") -> Path:
    """The pen-digits folder beside the MNIST folder (--data-dir, or $DEEPVIZ_DATA_DIR); `or_else`:
    the command's other ways to name them, for its error."""
    data_dir = args.data_dir or os.environ.get(DATA_DIR_ENV)
    if not data_dir:
        raise DataError(
            f"no pen digits: give {or_else}--data-dir or set {DATA_DIR_ENV}, the MNIST folder they lie beside"
        )
    return Path(data_dir).expanduser().parent / "pen-digits"


def data_from(args: argparse.Namespace):
    """MNIST from --data-dir, or the first source that works (saying on stderr why others did not)."""
    mnist = read_dir(args.data_dir) if args.data_dir else load_mnist()
    for note in mnist.notes:
        print(f"note: {note}", file=sys.stderr)
    return mnist


def run_train(args: argparse.Namespace) -> int:
    config = config_from(args)
    if args.save and not args.save.endswith(".keras"):
        raise ConfigError(f"--save needs a path ending in .keras, got {args.save!r}")
    mnist = data_from(args)
    print(f"Training {config.describe()} on {min(config.train_images, len(mnist.x_train))} images from {mnist.source}")

    from deepviz.training import train

    if args.seed is not None:
        import keras

        keras.utils.set_random_seed(args.seed)

    printed = 0

    def report(history):
        nonlocal printed
        for row in history.rows[printed:]:
            metrics = " - ".join(f"{k}: {v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
            print(f"Epoch {row['epoch']}/{history.epochs} - {row['seconds']:.1f}s - {metrics}", flush=True)
        printed = len(history.rows)

    pens = None
    if config.data == "mnist-pen":
        from deepviz.store import pen_digits

        print("Drawing the 30 writers' pen digits as the canvas draws them (once: kept in the cache folder)")
        pens = pen_digits(source=pen_folder(args) / WRITERS, workers=os.cpu_count() or 1)
    trained = train(config, mnist, report, pens)
    print(f"Test accuracy: {trained.test_accuracy:.4f}")
    if args.save:
        trained.model.save(args.save)
        print(f"Saved the model to {args.save}")
    return 0


def run_handwriting(args: argparse.Namespace) -> int:
    if args.offline:
        return run_offline(args)
    if args.model or args.data_dir or args.cross_writers:
        print("deepviz: error: --model, --data-dir and --cross-writers go with --offline", file=sys.stderr)
        return 2
    from deepviz.pendigits import load_pen_digits
    from measure.handwriting import measure

    digits = load_pen_digits(args.pen_digits)[: args.limit]
    print(f"Replaying {len(digits)} pen-drawn digits on the Draw page: {', '.join(args.models)} model", flush=True)
    scores = measure(
        digits, args.models, lambda model, reading: print("." if reading.right else "x", end="", flush=True)
    )
    print()
    for model, score in scores.items():
        print(f"handwriting_accuracy_{model}: {score.summary()}")
    return 0


def run_offline(args: argparse.Namespace) -> int:
    from measure.offline import cross_writers, measure, pen_sets

    if args.pen_digits or args.limit is not None or args.models != list(HANDWRITING_MODELS):
        print(
            "deepviz: error: --offline reads both shared sets with one model: drop --pen-digits, --limit, --models",
            file=sys.stderr,
        )
        return 2
    if args.cross_writers and args.model:
        print("deepviz: error: --cross-writers trains its own models: drop --model", file=sys.stderr)
        return 2
    sets = pen_sets(pen_folder(args))
    mnist = data_from(args)
    if args.cross_writers:
        from deepviz.store import pen_digits

        cross_writers(mnist, pen_digits(source=pen_folder(args) / WRITERS, workers=os.cpu_count() or 1), sets)
        return 0
    if args.model:
        from deepviz.evaluation import evaluate

        config, model = load_file(args.model)
        name, accuracy = args.model, evaluate(model, mnist).accuracy
    else:
        from deepviz.store import default_model

        trained = default_model(mnist)
        config, model, name, accuracy = trained.config, trained.model, "the default model", trained.test_accuracy
    print(f"Reading with {name} ({config.describe()}), MNIST test accuracy {accuracy:.2%}")
    if config.data == "mnist-pen":
        print("It learnt from the digits of p01-p30: only the 11 uji writers are people it never saw.")
    measure(model, sets)
    return 0


def run_teach(args: argparse.Namespace) -> int:
    if not args.simulate:
        print("deepviz: error: teach needs --simulate: a real class teaches on the Teach page", file=sys.stderr)
        return 2
    from deepviz.pendigits import load_pen_digits
    from measure.classlab import CLASS_CODE, simulated_class, summary

    path = Path(args.pen_digits) if args.pen_digits else pen_folder(args, "--pen-digits, or ") / WRITERS
    digits = load_pen_digits(path)
    writers = sorted({d.writer for d in digits})[: args.writers]
    if args.held_out >= len(writers):
        print(
            f"deepviz: error: --held-out {args.held_out} leaves none of {len(writers)} writers to teach",
            file=sys.stderr,
        )
        return 2
    from deepviz.store import default_config

    if "default" in args.models and default_config().data == "mnist-pen" and not args.pen_digits:
        print(
            "deepviz: error: the default model learnt from these 30 writers' digits, so a class of them shows "
            "nothing new: simulate with --models small-cnn or tutorial, which learnt from MNIST alone",
            file=sys.stderr,
        )
        return 2
    drawings, split = simulated_class([d for d in digits if d.writer in writers], args.held_out, args.seed)
    mnist = data_from(args)

    import keras

    from deepviz.store import default_model
    from deepviz.teach import leave_students_out
    from deepviz.training import train

    for name in args.models:
        # The Small CNN as the test suite trained it when it was the default (seed 0, every split).
        keras.utils.set_random_seed(0 if name == "small-cnn" else args.seed)
        if name == "default":
            trained = default_model(mnist)
        else:
            trained = train(PRESETS["Small CNN"] if name == "small-cnn" else ModelConfig(), mnist)
        tuned = leave_students_out(trained, mnist, drawings, split, CLASS_CODE)
        print(summary(f"{name} model ({trained.config.describe()})", tuned), flush=True)
    return 0


def run_fool(args: argparse.Namespace) -> int:
    import keras

    from deepviz.store import default_model
    from deepviz.training import train
    from measure.fooling import measure

    mnist = data_from(args)
    print(measure(f"default model ({DEFAULT_MODEL})", default_model(mnist), mnist, args.count).line(), flush=True)
    keras.utils.set_random_seed(args.seed)
    print(measure("tutorial MLP", train(ModelConfig(), mnist), mnist, args.count).line())
    return 0


def run_loadtest(args: argparse.Namespace) -> int:
    from measure import loadtest, protoload
    from measure.browser import Server

    if args.training > args.sessions:
        print(f"deepviz: error: --training {args.training} is more than --sessions {args.sessions}", file=sys.stderr)
        return 2

    def say(line: str) -> None:
        print(line, flush=True)

    if (args.url is None) != (args.pid is None) or (args.url and args.clients == "browser"):
        print("deepviz: error: --url and --pid go together, with --clients protocol", file=sys.stderr)
        return 2
    if args.clients == "browser":
        print(loadtest.measure(args.sessions, args.training, args.duration, args.seed, say).report())
        return 0
    running = None if args.url is None else Server(args.url.rstrip("/"), args.pid)
    try:
        summary, generator_s = protoload.measure(args.sessions, args.training, args.duration, args.seed, say, running)
    except protoload.ProtocolError as error:
        print(f"deepviz: error: {error}", file=sys.stderr)
        return 1
    print(summary.report())
    print(f"generator_cpu_s: {generator_s:.1f} ({protoload.cpu_ms_per_drawing(summary, generator_s):.1f} ms a drawing)")
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from deepviz.pendigits import load_pen_digits
    from measure.bench import QUICK, Plan, run

    if args.data_dir:
        # The app's server that the bench starts, and the pen digits beside the MNIST folder,
        # find the data through it: the same data as the bench's own figures.
        os.environ[DATA_DIR_ENV] = args.data_dir
    pen_digits = load_pen_digits(args.pen_digits)
    plan = QUICK if args.quick else Plan()
    run(data_from(args), pen_digits, plan, lambda line: print(line, flush=True))
    return 0


def run_school(args: argparse.Namespace) -> int:
    from deepviz import school

    try:
        running = school.start(args.processes, args.port, args.address, Path(args.run_dir) if args.run_dir else None)
    except school.SchoolError as error:
        print(f"deepviz: error: {error}", file=sys.stderr)
        return 1
    print(
        f"deepviz school: {args.processes} app processes behind nginx at {running.url} "
        f"(run folder {running.run}); Ctrl-C stops them all",
        flush=True,
    )
    return school.serve(running, lambda line: print(line, flush=True))


def run_inspect(args: argparse.Namespace) -> int:
    config, _ = load_file(args.file)
    print(layer_table(config))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    failures: tuple[type[Exception], ...] = (ConfigError, DataError, ModelFileError)
    try:
        if args.command in MEASUREMENTS:
            from measure.browser import BrowserError

            failures += (BrowserError,)
        if args.command == "loadtest":
            return run_loadtest(args)
        if args.command == "inspect":
            return run_inspect(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "teach":
            return run_teach(args)
        if args.command == "fool":
            return run_fool(args)
        if args.command == "school":
            return run_school(args)
        return run_handwriting(args) if args.command == "handwriting" else run_train(args)
    except failures as error:
        print(f"deepviz: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != TOOLS:
            raise
        where = f"{TOOLS}/ beside deepviz/, in a clone of the repository"
        print(f"deepviz: error: {args.command} needs the measurement tools ({where})", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"deepviz: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
