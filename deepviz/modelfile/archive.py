"""A model file's archive, checked before anything in it is parsed: its size, that it is a
`.keras` zip archive and not a legacy `.h5`, its entries (zip bombs, paths outside the archive,
anything Keras does not write), and its config.json, read within a size limit."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath

from deepviz.config import _shorten
from deepviz.modelfile.errors import ACCEPTED, ModelFileError, not_a_model

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"

MAX_MODEL_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_CONFIG_BYTES = 1024 * 1024
MAX_MEMBERS = 32
# Keras stores its entries uncompressed, so only a crafted archive packs a big entry this tightly.
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024

MEMBERS = (CONFIG, "metadata.json", WEIGHTS)
REQUIRED_MEMBERS = (CONFIG, WEIGHTS)
ASSETS = "assets/"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_size(size: int) -> None:
    if size > MAX_MODEL_BYTES:
        raise ModelFileError(
            f"The file is {_megabytes(size)}, larger than the {_megabytes(MAX_MODEL_BYTES)} "
            "deepviz accepts for a model file."
        )


def check_signature(data: bytes) -> None:
    if data.startswith(HDF5_SIGNATURE):
        raise ModelFileError(
            "This is a legacy Keras .h5 file, which deepviz does not accept because loading one is "
            "unsafe; save the model in the .keras format with model.save('model.keras')."
        )
    if not data.startswith(ZIP_SIGNATURE):
        raise ModelFileError(f"This is not a Keras model file: {ACCEPTED}.")


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise ModelFileError(f"The file is a damaged zip archive: {ACCEPTED}.") from None


def check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"The file holds {len(members)} entries, more than a model file has: {ACCEPTED}.")
    names = [member.filename for member in members]
    for name in names:
        _check_name(name, names.count(name))
    for name in REQUIRED_MEMBERS:
        if name not in names:
            raise ModelFileError(f"The file has no {name}, so it is not a complete .keras model file.")
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise ModelFileError(
            f"The file would unpack to {_megabytes(unpacked)}, more than the "
            f"{_megabytes(MAX_UNPACKED_BYTES)} deepviz allows, so it is refused as a possible "
            "zip bomb."
        )
    for member in members:
        packed = max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * packed:
            raise ModelFileError(
                f"The file's entry {_shorten(member.filename)} is packed far more tightly than a "
                "model's weights ever are, so it is refused as a possible zip bomb."
            )


def _check_name(name: str, copies: int) -> None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or ":" in name:
        raise ModelFileError(f"The file contains an entry with an unsafe path, {_shorten(name)}: {ACCEPTED}.")
    if name not in MEMBERS and not (name.startswith(ASSETS) and name != ASSETS):
        raise ModelFileError(
            f"The file contains {_shorten(name)}, which a .keras model file does not have; deepviz "
            f"accepts only {', '.join(MEMBERS)} and an assets folder."
        )
    if copies > 1:
        raise ModelFileError(
            f"The file contains {_shorten(name)} {copies} times, which a .keras model file never does."
        )


def read_config(archive: zipfile.ZipFile) -> dict:
    try:
        with archive.open(CONFIG) as file:
            text = file.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError):
        # Encrypted entries, unknown compression methods, bad checksums: Keras never writes these.
        raise ModelFileError(f"The file's config.json cannot be read: {ACCEPTED}.") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelFileError(
            f"The file's config.json is larger than {_megabytes(MAX_CONFIG_BYTES)}, far more than "
            "any network deepviz can show needs."
        )
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelFileError(f"The file's config.json is not valid JSON: {ACCEPTED}.") from None
    if not isinstance(config, dict):
        raise not_a_model()
    return config
