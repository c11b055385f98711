"""The cache folder of trained models: this user's alone, written under names no one can guess,
and a model loaded from it only if its files are the ones deepviz saved."""

import gzip
import json
import os
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from deepviz import store
from deepviz.config import PEN_DRAWINGS, Dense, ModelConfig
from deepviz.data import Mnist
from deepviz.store import cached_default, default_path, kept, save


@pytest.fixture(scope="module")
def tiny(mnist):
    return Mnist(
        mnist.x_train[:1000],
        mnist.y_train[:1000],
        mnist.x_test[:500],
        mnist.y_test[:500],
        source="small test subset",
        full=False,
    )


@pytest.fixture(scope="module")
def trained(tiny):
    from deepviz.training import train

    return train(ModelConfig(layers=(Dense(8),), epochs=1, train_images=1000), tiny)


@pytest.fixture
def cache(tmp_path, tiny, trained):
    """A cache folder holding `trained` where the default model goes; the model's path."""
    path = default_path(tiny, tmp_path / "cache")
    save(trained, path)
    return path


def test_the_folder_is_made_for_this_user_alone(cache):
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700


def test_a_model_deepviz_saved_loads_as_it_was(cache, tiny, trained):
    loaded = cached_default(tiny, cache.parent)
    assert loaded is not None and loaded.config == trained.config
    pairs = zip(loaded.model.get_weights(), trained.model.get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    assert [snapshot.epoch for snapshot in loaded.snapshots] == [snapshot.epoch for snapshot in trained.snapshots]


def another_model(path):
    from deepviz.modelfile import model_bytes
    from deepviz.network import build_model

    path.write_bytes(model_bytes(build_model(ModelConfig(layers=(Dense(8),)))))  # a valid model, not the one saved


def other_weights(path):
    with np.load(path.with_suffix(".npz")) as saved:
        zeros = {name: np.zeros_like(saved[name]) for name in saved.files}
    np.savez(path.with_suffix(".npz"), **zeros)  # valid weights, not the ones saved


def no_digests(path):
    meta = json.loads(path.with_suffix(".json").read_text())
    del meta["sha256"]  # as in a folder filled by hand, or by deepviz before it kept them
    path.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize("change", [another_model, other_weights, no_digests])
def test_a_file_deepviz_did_not_save_is_not_loaded(cache, tiny, change):
    change(cache)
    assert cached_default(tiny, cache.parent) is None  # so the default model is trained again


def test_a_folder_others_can_write_to_is_neither_read_nor_written(cache, tiny, trained):
    cache.parent.chmod(0o777)
    assert cached_default(tiny, cache.parent) is None
    for path in cache.parent.iterdir():
        path.unlink()
    kept(trained, cache)
    assert list(cache.parent.iterdir()) == []


def test_saves_write_under_names_no_one_can_guess_and_side_by_side(tmp_path, tiny, trained, monkeypatch):
    written = []
    savez = np.savez
    monkeypatch.setattr(store.np, "savez", lambda path, **arrays: written.append(path) or savez(path, **arrays))
    path = default_path(tiny, tmp_path)
    saves = [threading.Thread(target=save, args=(trained, path)) for _ in range(2)]
    for thread in saves:
        thread.start()
    for thread in saves:
        thread.join()
    folders = {written_path.parent for written_path in written}
    assert len(folders) == 2 and all(folder.parent == tmp_path for folder in folders)
    assert not any(str(os.getpid()) in folder.name for folder in folders)
    names = [path.with_suffix(suffix).name for suffix in (".json", ".keras", ".npz")]
    assert sorted(child.name for child in tmp_path.iterdir()) == names  # and no scratch folder left
    assert cached_default(tiny, tmp_path) is not None


@pytest.fixture
def pen_file(tmp_path, data_dir, monkeypatch):
    """12 of the 30 writers' digits in a pen-digits folder beside a stand-in MNIST folder."""
    from deepviz.data import DATA_DIR_ENV
    from deepviz.pendigits import WRITERS

    records = json.loads(gzip.decompress((data_dir.parent / "pen-digits" / WRITERS).read_bytes()))[:12]
    folder = tmp_path / "pen-digits"
    folder.mkdir()
    (folder / WRITERS).write_bytes(gzip.compress(json.dumps(records).encode()))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mnist"))
    return folder / WRITERS


def test_pen_digits_are_drawn_once_then_read_from_the_cache_folder(pen_file, tmp_path, monkeypatch):
    from deepviz import pendigits

    drawn = store.pen_digits(tmp_path / "cache")
    assert drawn.images.shape == (12 * PEN_DRAWINGS, 28, 28) and drawn.images.dtype == np.uint8
    assert set(drawn.students) <= {f"p{n:02}" for n in range(1, 31)}
    # The first drawing of each digit is the canvas's own; the others differ in size and pen.
    assert not np.array_equal(drawn.images[:12], drawn.images[12:24])
    (kept_file,) = (tmp_path / "cache").glob("pen-digits-*.npz")
    monkeypatch.setattr(pendigits, "training_drawings", lambda *a: pytest.fail("drawn again"))
    again = store.pen_digits(tmp_path / "cache")
    assert np.array_equal(again.images, drawn.images) and np.array_equal(again.labels, drawn.labels)
    kept_file.write_bytes(b"not an npz")
    monkeypatch.undo()
    monkeypatch.setenv("DEEPVIZ_DATA_DIR", str(pen_file.parent.parent / "mnist"))
    assert np.array_equal(store.pen_digits(tmp_path / "cache").images, drawn.images)  # damaged: drawn again


def test_without_the_pen_digits_the_default_network_learns_from_mnist_alone(tmp_path, monkeypatch):
    from deepviz.config import DEFAULT_MODEL, PRESETS
    from deepviz.data import DATA_DIR_ENV, DataError

    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "mnist"))
    config = store.default_config()
    assert config.data == "mnist" and config.layers == PRESETS[DEFAULT_MODEL].layers
    with pytest.raises(DataError, match=r"not here: they go in pen-digits/pendigits-train-writers\.json\.gz"):
        store.pen_digits(tmp_path / "cache")
    monkeypatch.delenv(DATA_DIR_ENV)
    assert store.default_config().data == "mnist"


# A server process making the default model in a cache folder it shares: a tiny network, trained
# only once the test says "go" (so that the other process surely comes while it trains).
TRAIN_WHEN_TOLD = """
import hashlib, os, sys, time
from dataclasses import replace
from pathlib import Path
from deepviz import store
from deepviz.background import DefaultModel
from deepviz.config import DEFAULT_MODEL, PRESETS, Dense
from deepviz.data import Mnist, read_dir

folder = Path(sys.argv[1])
data = read_dir(os.environ["DEEPVIZ_DATA_DIR"])
tiny = Mnist(data.x_train[:300], data.y_train[:300], data.x_test[:100], data.y_test[:100], source="tiny", full=False)
PRESETS[DEFAULT_MODEL] = replace(PRESETS[DEFAULT_MODEL], layers=(Dense(8),), epochs=1, train_images=300, data="mnist")
train_default = store.train_default

def when_told(mnist, directory=None, workers=1):
    (folder / f"trained-{os.getpid()}").touch()
    while not (folder / "go").exists():
        time.sleep(0.05)
    return train_default(mnist, directory, workers)

store.train_default = when_told
worker = DefaultModel(directory=folder / "cache", data=lambda: tiny).start()
while not worker.wait(0.05):
    if worker.elsewhere:
        (folder / f"waiting-{os.getpid()}").write_text(worker.status())
weights = worker.model.model.get_weights() if worker.model else []
print(worker.error or hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest())
"""


@pytest.mark.slow  # two processes load TensorFlow: a minute or two on a busy 2-core machine
def test_processes_sharing_a_cache_folder_train_the_default_model_once(tmp_path):
    processes = [
        subprocess.Popen([sys.executable, "-c", TRAIN_WHEN_TOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 300
        while not (list(tmp_path.glob("trained-*")) and list(tmp_path.glob("waiting-*"))):
            assert time.monotonic() < deadline and all(process.poll() is None for process in processes)
            time.sleep(0.1)
        (tmp_path / "go").touch()
        digests = [process.communicate(timeout=300)[0].strip() for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert len(list(tmp_path.glob("trained-*"))) == 1
    (waiting,) = tmp_path.glob("waiting-*")
    assert waiting.read_text().startswith("Another server process is training the default model")
    assert digests[0] == digests[1] and len(digests[0]) == 64  # the one trained, and the same loaded


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from deepviz.store import only_one

with only_one(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_lock_left_by_a_killed_process_blocks_no_one(tmp_path):
    path = tmp_path / "model.keras"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        waited, held = threading.Event(), threading.Event()

        def take():
            with store.only_one(path, waited.set):
                held.set()

        taker = threading.Thread(target=take, daemon=True)
        taker.start()
        assert waited.wait(10) and not held.is_set()
    finally:
        holder.kill()
        holder.wait()
    assert held.wait(10)
    taker.join(10)  # out of its `with`: the lock is free again
    assert (tmp_path / ".model.keras.lock").exists()  # left behind by the killed process, and:
    with store.only_one(path, lambda: pytest.fail("waited for no one")):
        pass
