import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from deepviz.cli import main


def run_cli(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "deepviz", *args], check=False, capture_output=True, text=True, timeout=300, **kwargs
    )


@pytest.mark.slow
def test_train_prints_the_tutorial_line_and_saves(data_dir, tmp_path):
    saved = tmp_path / "model.keras"
    result = run_cli(
        "train",
        "--layers",
        "64",
        "--epochs",
        "1",
        "--train-images",
        "3000",
        "--data-dir",
        str(data_dir),
        "--save",
        str(saved),
        "--seed",
        "0",
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Epoch 1/1 - .* - val_accuracy: 0\.\d{4}", result.stdout, re.M)
    assert re.search(r"^Test accuracy: 0\.\d{4}$", result.stdout, re.M)
    assert keras.models.load_model(saved).get_layer("dense1").units == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--layers", "128,foo"], "layer 'foo' has a value that is not a number"),
        (["train", "--epochs", "0"], "epochs must be between 1 and 20"),
        (["train", "--epochs", "three"], "invalid int value"),
        (["train", "--optimizer", "adagrad"], "invalid choice"),
        (["train", "--save", "model.h5"], "--save needs a path ending in .keras"),
        (["train", "--data-dir", "/no/such/folder"], "/no/such/folder is not a folder"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["handwriting", "--offline", "--limit", "5"], "--offline reads both shared sets with one model"),
        (
            ["handwriting", "--offline", "--data-dir", "/no/such/folder"],
            "cannot read pen digits from /no/such/pen-digits",
        ),
        ([], "required: command"),
    ],
)
def test_bad_options_exit_non_zero_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(main(args))
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepviz: error: ") and message in err


def test_a_measurement_where_its_tools_are_not_is_one_line(tmp_path):
    """The app's image (Dockerfile) carries deepviz/ and not the measurement tools beside it."""
    shutil.copytree(
        Path(__file__).parents[1] / "deepviz", tmp_path / "deepviz", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    for command in ("bench", "handwriting", "loadtest"):
        result = run_cli(command, cwd=tmp_path, env=env)
        assert result.returncode == 1, result.stderr
        where = "measure/ beside deepviz/, in a clone of the repository"
        assert result.stderr == f"deepviz: error: {command} needs the measurement tools ({where})\n"


def test_data_dir_with_damaged_files_is_one_line(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"junk")
    assert main(["train", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable gzip file" in err
