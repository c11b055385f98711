"""Model files built to take a shared server down or to read its files, each made at test time
and tried against deepviz's loader, beside a harmless control that shows the payload is real:
Keras's own loader (safe mode) spends hundreds of megabytes on each memory bomb, and h5py
reads a host file through each file-reading dataset. deepviz refuses every one with one
sentence, and its peak memory stays within 100 MB of loading a valid file's.

Shapes from the issue and from Keras's advisories: a layer's build_config asking for ten million
inputs; Keras's `__numpy__` objects in a node's arguments; a LoRA rank; a weight of 256 MB
that stores only a fill value (the HDF5 "shape bomb"); external links, external storage and
virtual datasets (CVE-2026-1669: a weights file that reads another file of the server's).
"""

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from deepviz.config import Conv, Dense, ModelConfig, Pool
from deepviz.modelfile import load_bytes, model_bytes
from deepviz.modelfile.errors import ModelFileError
from deepviz.modelfile.weights import expected_weights
from deepviz.network import build_model

HEADROOM_MB = 100
OUTPUT_KERNEL = "layers/dense_1/vars/0"  # the output layer's (32, 10) weights: the file stays 100 KB


@pytest.fixture(scope="module")
def valid() -> bytes:
    return model_bytes(build_model(ModelConfig(layers=(Dense(32),))))


def unpacked(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def packed(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def with_config(data: bytes, edit) -> bytes:
    members = unpacked(data)
    config = json.loads(members["config.json"])
    edit(next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"))
    return packed({**members, "config.json": json.dumps(config).encode()})


def with_weights(data: bytes, replace) -> bytes:
    """The file with its weights file rewritten, `replace(file, name, values)` writing the
    dataset `name` in place of OUTPUT_KERNEL."""
    members = unpacked(data)
    buffer = io.BytesIO()
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as source, h5py.File(buffer, "w") as target:

        def copy(name, item):
            if isinstance(item, h5py.Group):
                target.require_group(name)
            elif name == OUTPUT_KERNEL:
                replace(target, name, item[()])
            else:
                target.create_dataset(name, data=item[()])

        source.visititems(copy)
    return packed({**members, "model.weights.h5": buffer.getvalue()})


def build_bomb(data: bytes) -> bytes:
    return with_config(data, lambda dense: dense.update(build_config={"input_shape": [None, 2_000_000]}))


def numpy_bomb(data: bytes) -> bytes:
    array = {"module": "keras", "class_name": "__numpy__", "config": {"value": "", "dtype": "S300000000"}}
    return with_config(data, lambda dense: dense["inbound_nodes"][0].update(kwargs={"mask": array}))


def lora_bomb(data: bytes) -> bytes:
    return with_config(data, lambda dense: dense["config"].update(lora_rank=100_000, lora_alpha=1))


def fill_bomb(data: bytes) -> bytes:
    def replace(file, name, values):
        file.create_dataset(
            name, shape=(8192, 8192), dtype="f4", chunks=(1024, 1024), compression="gzip", fillvalue=1.0
        )

    return with_weights(data, replace)


BOMBS = {"build_config": build_bomb, "numpy": numpy_bomb, "lora": lora_bomb, "fill_value": fill_bomb}
# The peak is the process's VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from
# the parent at exec, so under a pytest that has grown to gigabytes every growth below that hid.
MEASURE = """
import json, re, sys
from pathlib import Path

def peak_mb():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024

which, valid, *attacks = sys.argv[1:]
if which == "keras":
    import keras
    load = lambda path: keras.saving.load_model(path, safe_mode=True)
else:
    from deepviz.modelfile import load_bytes
    load = lambda path: load_bytes(Path(path).read_bytes())
load(valid)  # everything imported and warmed up
before = peak_mb()
for path in attacks:
    try:
        load(path)
        outcome = "loaded"
    except Exception as error:
        outcome = f"{type(error).__name__}: {error}"
    print(json.dumps({"file": path, "outcome": outcome, "grew_mb": peak_mb() - before}))
"""


def peaks(which: str, valid: Path, *attacks: Path) -> list[dict]:
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, which, str(valid), *map(str, attacks)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**_env(), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}


@pytest.fixture(scope="module")
def bomb_files(valid, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    (folder / "valid.keras").write_bytes(valid)
    files = {}
    for name, make in BOMBS.items():
        files[name] = folder / f"{name}.keras"
        files[name].write_bytes(make(valid))
    return files


@pytest.mark.slow
@pytest.mark.parametrize("name", BOMBS)
def test_each_memory_bomb_is_real_keras_spends_hundreds_of_megabytes(bomb_files, name):
    path = bomb_files[name]
    assert path.stat().st_size < 200_000
    (result,) = peaks("keras", path.parent / "valid.keras", path)
    assert result["grew_mb"] > 300, result


@pytest.mark.slow
def test_deepviz_refuses_every_memory_bomb_within_its_memory_for_a_valid_file(bomb_files):
    folder = next(iter(bomb_files.values())).parent
    results = peaks("deepviz", folder / "valid.keras", *bomb_files.values())
    assert [Path(result["file"]).stem for result in results] == list(BOMBS)
    for result in results:
        assert result["outcome"].startswith("ModelFileError: "), result
        assert "\n" not in result["outcome"] and result["outcome"].count(". ") == 0, result
        assert result["grew_mb"] < HEADROOM_MB, result


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("build_config", "Layer 'dense1' says it was built for {'input_shape': [None, 2000000]}, but it takes 784"),
        ("numpy", "contains a custom '__numpy__' object"),
        ("lora", "has setting 'lora_rank' = 100000, which deepviz does not build"),
        ("fill_value", f"holds '{OUTPUT_KERNEL}' with shape (8192, 8192), but the network described"),
    ],
)
def test_each_memory_bomb_gets_its_own_sentence(bomb_files, name, message):
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_bytes(bomb_files[name].read_bytes())


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file of the server's that an upload must not read: an HDF5 file, and its raw bytes."""
    path = tmp_path / "secret.h5"
    with h5py.File(path, "w") as file:
        file["x"] = np.full((32, 10), 7.0, np.float32)
    (tmp_path / "secret.bin").write_bytes(np.full((32, 10), 7.0, "<f4").tobytes())
    return path


def external_link(secret):
    def replace(file, name, values):
        file[name] = h5py.ExternalLink(str(secret), "/x")

    return replace


def external_storage(secret):
    def replace(file, name, values):
        raw = secret.with_suffix(".bin")
        file.create_dataset(name, shape=values.shape, dtype="<f4", external=[(str(raw), 0, raw.stat().st_size)])

    return replace


def virtual(secret):
    def replace(file, name, values):
        layout = h5py.VirtualLayout(shape=values.shape, dtype="<f4")
        layout[:] = h5py.VirtualSource(str(secret), "x", shape=values.shape)
        file.create_virtual_dataset(name, layout)

    return replace


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        (external_link, f"links '{OUTPUT_KERNEL}' to another place or file"),
        (external_storage, f"stores '{OUTPUT_KERNEL}' compressed, in chunks, elsewhere or not at all"),
        (virtual, f"stores '{OUTPUT_KERNEL}' compressed, in chunks, elsewhere or not at all"),
    ],
)
def test_weights_that_read_a_file_of_the_server_are_refused(valid, secret, attack, message):
    data = with_weights(valid, attack(secret))
    # The control: unpacked and read as HDF5 reads it, the weight is the server's file.
    weights = secret.parent / "model.weights.h5"
    weights.write_bytes(unpacked(data)["model.weights.h5"])
    with h5py.File(weights, "r") as file:
        assert (file[OUTPUT_KERNEL][()] == 7.0).all()
    with pytest.raises(ModelFileError, match=message) as error:
        load_bytes(data)
    assert "\n" not in str(error.value)


def test_weights_that_are_not_numbers_get_their_own_sentence(valid):
    data = with_weights(valid, lambda file, name, values: file.create_dataset(name, data=values * np.nan))
    with pytest.raises(ModelFileError, match=r"values that are not numbers \(NaN or infinity\)"):
        load_bytes(data)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (lambda file, name, values: None, f"has no '{OUTPUT_KERNEL}', which the network"),
        (
            lambda file, name, values: file.create_dataset(name, data=np.zeros((33, 10), np.float32)),
            f"holds '{OUTPUT_KERNEL}' with shape (33, 10), but the network described in its config.json needs (32, 10)",
        ),
        (
            lambda file, name, values: file.create_dataset(name, data=values.astype(np.float64)),
            "needs (32, 10) float32 values there",
        ),
        (
            lambda file, name, values: (
                file.create_dataset(name, data=values),
                file.create_dataset("layers/dense_1/vars/2", data=values),
            ),
            "holds 'layers/dense_1/vars/2', which the network described in its config.json does not have",
        ),
        (
            lambda file, name, values: file.create_dataset(name, data=values, chunks=(32, 10)),
            "compressed, in chunks, elsewhere or not at all",
        ),
    ],
    ids=["missing", "wrong-shape", "wrong-type", "extra", "chunked"],
)
def test_weights_that_do_not_fit_the_network_are_refused_before_reading(valid, replace, message):
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_bytes(with_weights(valid, replace))


def test_a_weights_file_that_is_not_hdf5_is_refused(valid):
    data = packed({**unpacked(valid), "model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(200_000)})
    with pytest.raises(ModelFileError, match=r"damaged or not an HDF5 file that Keras wrote"):
        load_bytes(data)


def test_a_function_that_turns_off_safe_mode_is_refused(valid):
    """CVE-2025-1550's shape: a config object that names one of Keras's own functions."""
    unsafe = {
        "module": "keras.config",
        "class_name": "function",
        "config": "enable_unsafe_deserialization",
        "registered_name": "function",
    }
    data = with_config(valid, lambda dense: dense["config"].update(kernel_initializer=unsafe))
    with pytest.raises(ModelFileError, match="contains a custom function"):
        load_bytes(data)


@pytest.mark.parametrize(
    "config",
    [ModelConfig(), ModelConfig(layers=(Conv(4, 3), Pool(2), Conv(6, 5), Pool(3), Dense(12, dropout=0.5), Dense(8)))],
    ids=["mlp", "cnn"],
)
def test_deepviz_expects_the_weights_where_keras_writes_them(config, tmp_path):
    """deepviz reads Keras's file layout (modelfile.weights.expected_weights): an upgrade that moves
    a weight fails here, not as refused uploads."""
    model = build_model(config)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as file:
        written = {}
        file["layers"].visititems(
            lambda name, item: written.update({f"layers/{name}": item[()]} if isinstance(item, h5py.Dataset) else {})
        )
    expected = expected_weights(config)
    assert {name: values.shape for name, values in written.items()} == expected
    for (name, _shape), weight in zip(expected.items(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(written[name], weight)
