"""The default model (config.DEFAULT_MODEL): trained once on first use (on a server, in the
background: background.py), then loaded from the user's cache folder.

So the Draw page works at once, before anyone trains anything. A cache folder that
cannot be written only costs a retrain next time; it never stops the app. TensorFlow is
imported only to load or train a model: finding out that the default model must be trained
takes no wait for it.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepviz.config import DEFAULT_MODEL, PRESETS, ModelConfig
from deepviz.data import Mnist
from deepviz.evaluation import evaluate

if TYPE_CHECKING:
    from deepviz.training import TrainedModel

CACHE_ENV = "DEEPVIZ_CACHE_DIR"


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


def save(trained: TrainedModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "config": trained.config.to_query(),
        "history": trained.history.to_dict(),
        "data_source": trained.data_source,
        "snapshot_epochs": [snapshot.epoch for snapshot in trained.snapshots],
    }
    weights = {
        f"{i}/{j}": array for i, snapshot in enumerate(trained.snapshots) for j, array in enumerate(snapshot.weights)
    }
    # Write beside, then rename, the model last: a reader that finds the model finds the rest.
    partial = path.with_name(f".{os.getpid()}-{path.name}")
    trained.model.save(partial)
    np.savez(partial.with_suffix(".npz"), **weights)
    partial.with_suffix(".json").write_text(json.dumps(meta))
    for suffix in (".npz", ".json"):
        partial.with_suffix(suffix).replace(path.with_suffix(suffix))
    partial.replace(path)


def load(path: Path, mnist: Mnist) -> TrainedModel:
    import keras

    from deepviz.training import History, Snapshot, TrainedModel

    meta = json.loads(path.with_suffix(".json").read_text())
    config, problems = ModelConfig.from_query(meta["config"])
    if problems:
        raise ValueError(f"{path}: {problems[0]}")
    model = keras.models.load_model(path)
    count = len(model.weights)
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as weights:
        snapshots = [
            Snapshot(epoch, [weights[f"{i}/{j}"] for j in range(count)])
            for i, epoch in enumerate(meta["snapshot_epochs"])
        ]
    return TrainedModel(
        config, model, History.from_dict(meta["history"]), evaluate(model, mnist), True, meta["data_source"],
        snapshots,
    )


def default_path(mnist: Mnist, directory: Path | None = None) -> Path:
    return model_path(PRESETS[DEFAULT_MODEL], mnist, directory or cache_dir())


def cached_default(mnist: Mnist, directory: Path | None = None) -> TrainedModel | None:
    """The default model from the cache folder; None if it must be trained."""
    path = default_path(mnist, directory)
    if not path.exists():
        return None
    try:
        return load(path, mnist)
    except Exception:  # noqa: BLE001 - a damaged file fails in zipfile, h5py or Keras: retrain
        return None


def kept(trained: TrainedModel, path: Path) -> TrainedModel:
    """`trained`, saved at `path` if the folder can be written to."""
    try:
        save(trained, path)
    except OSError:
        pass  # read-only or full disk: keep it in memory only
    return trained


def default_model(mnist: Mnist, directory: Path | None = None) -> TrainedModel:
    """From the cache folder if it was trained before, else trained now."""
    from deepviz.training import train

    trained = cached_default(mnist, directory)
    if trained is None:
        trained = kept(train(PRESETS[DEFAULT_MODEL], mnist), default_path(mnist, directory))
    return trained
