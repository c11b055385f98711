"""The default model (config.DEFAULT_MODEL): trained once on first use (on a server, in the
background: background.py), then loaded from the user's cache folder.

So the Draw page works at once, before anyone trains anything. A cache folder that
cannot be written only costs a retrain next time; it never stops the app. TensorFlow is
imported only to load or train a model: finding out that the default model must be trained
takes no wait for it.

A model file can run code as Keras loads it, so the cache folder is this user's alone: made
0700, and not used at all where anyone else can write to it. Files are written under names no
one can guess, and a model loads only if its files are the ones deepviz saved (their SHA-256,
kept beside them): a file copied in by hand, left half-written or mixed with another save's
files is retrained instead.

Several server processes may share one cache folder (`python -m deepviz school`): one makes each
file while the others wait for it (`only_one`), so a school's N processes train the default model
once, not N times.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepviz.config import DEFAULT_MODEL, IMAGE_SIDE, PEN_DRAWINGS, PRESETS, ModelConfig
from deepviz.data import DataError, Handwriting, Mnist
from deepviz.evaluation import evaluate

if TYPE_CHECKING:
    from deepviz.trained import TrainedModel
    from deepviz.training import TrainingRun

CACHE_ENV = "DEEPVIZ_CACHE_DIR"
SAVED = (".keras", ".npz")  # the files a save's metadata (.json) holds the SHA-256 of


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "deepviz"


def model_path(config: ModelConfig, mnist: Mnist, directory: Path) -> Path:
    """One file per configuration, dataset and Keras version, so a changed default or data set
    retrains. Keras's version from its package's metadata: a server learns that it must train
    the default model without waiting seconds for TensorFlow to load."""
    data = mnist.source if not mnist.full else "mnist"
    key = json.dumps([config.to_query(), data, version("keras")])
    return directory / f"model-{hashlib.sha256(key.encode()).hexdigest()[:16]}.keras"


def private_folder(folder: Path) -> Path:
    """`folder`, made for this user alone (0700) if missing. One that exists is used only if no one
    else can write to it (else PermissionError): it is not tightened, as it may be one the user
    named, such as their home folder or /tmp. Windows folders have no such mode to check."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.stat()
    if os.name == "posix" and (status.st_mode & 0o022 or status.st_uid != os.getuid()):
        raise PermissionError(f"{folder} can be written to by other users: deepviz keeps nothing there")
    return folder


@contextlib.contextmanager
def only_one(path: Path, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Held by one process at a time for `path`, so that of the processes sharing a cache folder one
    makes the file and the rest, waiting meanwhile (`waiting` is called first if they must), then
    find it there. The kernel's lock (flock) on a file beside it: a process that dies frees it, so a
    lock file left behind blocks no one. Without a folder to share, or on Windows, no lock is needed
    or kept: each process makes its own."""
    try:
        lock = os.open(private_folder(path.parent) / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        lock = -1
    if lock < 0 or os.name != "posix":
        yield
        return
    import fcntl

    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting()
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
    finally:
        os.close(lock)  # and with it the lock


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save(trained: TrainedModel, path: Path) -> None:
    folder = private_folder(path.parent)
    meta = {
        "config": trained.config.to_query(),
        "history": trained.history.to_dict(),
        "data_source": trained.data_source,
        "snapshot_epochs": [snapshot.epoch for snapshot in trained.snapshots],
    }
    weights = {
        f"{i}/{j}": array for i, snapshot in enumerate(trained.snapshots) for j, array in enumerate(snapshot.weights)
    }
    # Written in a new folder of a random name beside the files, then renamed, the model last: no
    # one can make a file deepviz then writes through, and a reader that finds the model finds the rest.
    with tempfile.TemporaryDirectory(prefix=".saving-", dir=folder) as scratch:
        partial = Path(scratch) / path.name
        trained.model.save(partial)
        # allow_pickle is numpy's default, named so that no "i/j" key of `weights` can be taken for it.
        np.savez(partial.with_suffix(".npz"), allow_pickle=True, **weights)
        meta["sha256"] = {suffix: sha256(partial.with_suffix(suffix).read_bytes()) for suffix in SAVED}
        partial.with_suffix(".json").write_text(json.dumps(meta))
        for suffix in (".npz", ".json", ".keras"):
            partial.with_suffix(suffix).replace(path.with_suffix(suffix))


def load(path: Path, mnist: Mnist) -> TrainedModel:
    import keras

    from deepviz.history import History, Snapshot
    from deepviz.trained import TrainedModel

    meta = json.loads(path.with_suffix(".json").read_text())
    config, problems = ModelConfig.from_query(meta["config"])
    if problems:
        raise ValueError(f"{path}: {problems[0]}")
    files = {suffix: path.with_suffix(suffix).read_bytes() for suffix in SAVED}
    for suffix, data in files.items():
        if sha256(data) != meta.get("sha256", {}).get(suffix):
            raise ValueError(f"{path.with_suffix(suffix)} is not the file deepviz saved there")
    # Keras reads a copy of the bytes checked, not the file again, which could have changed since.
    with tempfile.TemporaryDirectory(prefix="deepviz-") as scratch:
        checked = Path(scratch) / path.name
        checked.write_bytes(files[".keras"])
        model = keras.models.load_model(checked)
    count = len(model.weights)
    with np.load(io.BytesIO(files[".npz"]), allow_pickle=False) as weights:
        snapshots = [
            Snapshot(epoch, [weights[f"{i}/{j}"] for j in range(count)])
            for i, epoch in enumerate(meta["snapshot_epochs"])
        ]
    return TrainedModel(
        config,
        model,
        History.from_dict(meta["history"]),
        evaluate(model, mnist),
        True,
        meta["data_source"],
        snapshots,
    )


def pen_digits(directory: Path | None = None, source: Path | None = None, workers: int = 1) -> Handwriting:
    """The 30 writers' digits as a configuration with `data="mnist-pen"` trains on them
    (pendigits.training_drawings, a couple of minutes of drawing), from the cache folder if they
    were drawn before. `source`: their file, if not beside the MNIST folder. DataError if it is
    missing or cannot be read. `workers`: see pendigits.training_drawings."""
    from deepviz import pendigits

    source = source or pendigits.training_source()
    if source is None:
        raise DataError(
            f"the 30 writers' pen-drawn digits are not here: they go in pen-digits/{pendigits.WRITERS} "
            "beside the MNIST folder"
        )
    try:
        raw = source.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {source}: {error.strerror or error}") from None
    # The file's contents and every setting of the drawing: a change to either draws them again.
    how = [sha256(raw), PEN_DRAWINGS, pendigits.SIZES, pendigits.PEN_WIDTHS, pendigits.SEED, pendigits.DIGIT_SHARE]
    path = (directory or cache_dir()) / f"pen-digits-{sha256(json.dumps(how).encode())[:16]}.npz"
    drawn = drawn_pens(path)
    if drawn is None:
        with only_one(path):
            drawn = drawn_pens(path)  # drawn meanwhile by another process sharing the folder
            if drawn is None:
                drawn = pendigits.training_drawings(pendigits.load_pen_digits(source), workers)
                with contextlib.suppress(OSError):  # read-only or full disk: drawn again next time
                    folder = private_folder(path.parent)
                    # Written under a random name beside the file, then renamed: a reader finds all of it or none.
                    with tempfile.TemporaryDirectory(prefix=".saving-", dir=folder) as scratch:
                        partial = Path(scratch) / path.name
                        np.savez(partial, images=drawn.images, labels=drawn.labels, writers=drawn.students)
                        partial.replace(path)
    return drawn


def drawn_pens(path: Path) -> Handwriting | None:
    """The pen digits drawn before, from `path`; None if they must be drawn."""
    with contextlib.suppress(OSError, ValueError, KeyError):  # missing, damaged or another's: drawn again
        private_folder(path.parent)
        with np.load(path, allow_pickle=False) as arrays:
            pens = Handwriting(arrays["images"], arrays["labels"], arrays["writers"])
        shape = (len(pens), IMAGE_SIDE, IMAGE_SIDE)
        if pens.images.dtype == np.uint8 and pens.images.shape == shape and len(pens.students) == len(pens):
            return pens
    return None


def default_config() -> ModelConfig:
    """The default model's configuration: PRESETS[DEFAULT_MODEL], or where the pen-drawn digits it
    trains on are not beside the MNIST folder, the same network on MNIST alone (it reads new
    writers less well: docs/handwriting.md)."""
    from deepviz import pendigits

    config = PRESETS[DEFAULT_MODEL]
    if config.data == "mnist-pen" and pendigits.training_source() is None:
        return replace(config, data="mnist")
    return config


def train_default(mnist: Mnist, directory: Path | None = None, workers: int = 1) -> TrainingRun:
    """A run that trains the default model, its pen-drawn digits drawn (or found in the cache folder)."""
    from deepviz.training import TrainingRun

    config = default_config()
    pens = pen_digits(directory, workers=workers) if config.data == "mnist-pen" else None
    return TrainingRun(config, mnist, pens=pens)


def default_path(mnist: Mnist, directory: Path | None = None) -> Path:
    return model_path(default_config(), mnist, directory or cache_dir())


def cached_default(mnist: Mnist, directory: Path | None = None) -> TrainedModel | None:
    """The default model from the cache folder; None if it must be trained."""
    path = default_path(mnist, directory)
    if not path.exists():
        return None
    try:
        private_folder(path.parent)
        return load(path, mnist)
    except Exception:  # noqa: BLE001 - a damaged file fails in zipfile, h5py or Keras: retrain
        return None


def kept(trained: TrainedModel, path: Path) -> TrainedModel:
    """`trained`, saved at `path` if the folder can be written to."""
    with contextlib.suppress(OSError):  # read-only or full disk: keep it in memory only
        save(trained, path)
    return trained


def default_model(mnist: Mnist, directory: Path | None = None) -> TrainedModel:
    """From the cache folder if it was trained before, else trained now (drawing its pen digits on
    every core: for the command line and the tests, not a Streamlit server; see background.py)."""
    trained = cached_default(mnist, directory)
    if trained is None:
        with only_one(default_path(mnist, directory)):
            trained = cached_default(mnist, directory)  # trained meanwhile by another process sharing the folder
            if trained is None:
                run = train_default(mnist, directory, os.cpu_count() or 1)
                run.fit()
                trained = run.finish()
                assert trained is not None  # no time limit and no `report` to stop it: it took every step
                trained = kept(trained, default_path(mnist, directory))
    return trained
