"""Prepare a canvas drawing the way MNIST's digits were prepared.

MNIST scaled each digit so its bounding box's longest side is 20 px (anti-aliased,
aspect ratio kept) and placed it in a 28x28 field with its centre of mass at the centre.
Measured on the real test set: every digit's box is 20 px on its long side and the mean
centre of mass sits at (row, column) index (14.0, 14.0).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from deepviz.config import IMAGE_SIDE

CANVAS_SIZE = 280  # the drawing canvas's own pixels, whatever size the page shows it at
# The pen's default width, in canvas pixels. Measured: MNIST's test digits carry 104 units of
# ink on average; real pen digits drawn over two thirds of the canvas carry 84 at a 20 px
# stroke, 109 at 28, 130 at 36.
STROKE_WIDTH = 28
MAX_SKETCH_BYTES = 500_000  # a digit's strokes take 5-40 KB: far more is not a digit
PNG_URL = "data:image/png;base64,"
# The canvas's PNG, even of pure noise stored uncompressed, is its 314 KB of pixels and a few
# hundred bytes of chunks: 420 KB in base64. A drawn digit takes 5-20 KB.
MAX_CANVAS_URL = 500_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOX = 20
CENTRE = 14.0
INK_THRESHOLD = 0.05  # fraction of full brightness; below it a pixel is background


class CanvasError(ValueError):
    """The canvas image is not an image: the wrong shape, or values that are not finite numbers; or
    what the browser sent as the canvas's image is not its PNG."""


def canvas_image(data_url: object) -> np.ndarray:
    """The CANVAS_SIZE x CANVAS_SIZE RGBA uint8 image in `data_url`, as the canvas sends its drawing:
    a PNG data URL. It comes from the browser, and a PNG's few bytes can declare billions of pixels,
    which decoding would allocate (a 410 KB PNG of 9000x9000 took 9 s and 1.3 GB): so nothing is
    decoded before the URL's length and the PNG's header have been checked. Raises CanvasError,
    saying why, for anything else."""
    if not isinstance(data_url, str) or not data_url.startswith(PNG_URL):
        raise CanvasError("it is not a PNG image")
    if len(data_url) > MAX_CANVAS_URL:
        raise CanvasError(f"its {len(data_url):,} characters are far more than a drawing takes")
    encoded = data_url[len(PNG_URL) :]
    pad_size(*png_size(decoded(encoded[:44])))  # 44 characters: 33 bytes, the signature and IHDR chunk
    try:
        return rgba(decoded(encoded))
    except CanvasError:
        raise
    except (OSError, SyntaxError, EOFError, struct.error, ValueError) as error:  # Pillow's, on a broken file
        raise CanvasError("its PNG is damaged") from error


def rgba(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        pad_size(*image.size)  # Pillow's reading of the header must agree before it allocates the pixels
        return np.asarray(image.convert("RGBA"))


def pad_size(width: int, height: int) -> None:
    if (width, height) != (CANVAS_SIZE, CANVAS_SIZE):
        raise CanvasError(f"its image is {width}x{height} pixels, not the pad's {CANVAS_SIZE}x{CANVAS_SIZE}")


def decoded(base64_text: str) -> bytes:
    try:
        return base64.b64decode(base64_text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise CanvasError("its image is not valid base64") from error


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header, read without decoding anything else."""
    if len(png) < 24:
        raise CanvasError("its PNG is cut short")
    signature, length, kind, width, height = struct.unpack(">8sI4sII", png[:24])
    if signature != PNG_SIGNATURE or (length, kind) != (13, b"IHDR"):
        raise CanvasError("it is not a PNG image")
    return width, height


def restorable(sketch: object) -> dict | None:
    """The canvas's own record of a drawing (Fabric.js JSON: its strokes), fit to hand back to
    a canvas so the drawing reappears, or None. It comes from the browser, so anything that is
    not a JSON object with a list of objects, or is implausibly large, is not kept."""
    if not isinstance(sketch, dict) or not isinstance(sketch.get("objects"), list):
        return None
    try:
        size = len(json.dumps(sketch))
    except (TypeError, ValueError, RecursionError):
        return None
    return sketch if size <= MAX_SKETCH_BYTES else None


@dataclass(frozen=True)
class Preparation:
    """Which of MNIST's preparation steps to apply; switching one off shows what it is for."""

    crop: bool = True  # cut the canvas down to the ink's bounding box; off: keep the whole canvas
    scale: bool = True  # longest side to 20 px, leaving MNIST's margin; off: fill all 28 px
    centre: bool = True  # centre of mass at the centre; off: leave the digit in the top-left corner


@dataclass(frozen=True)
class Prepared:
    ink: np.ndarray  # the canvas as float brightness in [0, 1]
    crop: np.ndarray  # the ink's bounding box
    scaled: np.ndarray  # longest side 20 px (28 with scaling off)
    image: np.ndarray  # 28x28 float32 in [0, 1], centre of mass at the centre: the network's input


def ink_of(canvas: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1] of an RGBA, RGB or grey canvas image of 0-255 values (any number
    type; values outside saturate); transparent counts as dark. Raises CanvasError otherwise."""
    canvas = np.asarray(canvas)
    if canvas.ndim not in (2, 3) or (canvas.ndim == 3 and canvas.shape[2] not in (3, 4)):
        raise CanvasError(f"expected a grey, RGB or RGBA image, got shape {canvas.shape}")
    if canvas.dtype.kind not in "biuf":  # bool, signed, unsigned or float: what images hold
        raise CanvasError(f"expected an image of numbers, got {canvas.dtype}")
    if not np.isfinite(canvas).all():
        raise CanvasError("the image has values that are not finite numbers (NaN or infinity)")
    if canvas.ndim == 2:
        return levels(canvas)
    # The brightest channel, taken in the image's own number type: one float plane, not four.
    grey = levels(np.maximum(np.maximum(canvas[..., 0], canvas[..., 1]), canvas[..., 2]))
    return grey * levels(canvas[..., 3]) if canvas.shape[2] == 4 else grey


def levels(values: np.ndarray) -> np.ndarray:
    """0-255 values as float32 in [0, 1]; clipped before the cast, where a float64 beyond
    float32's range would become infinite."""
    return np.clip(values, 0, 255).astype(np.float32) / 255.0


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def prepare(canvas: np.ndarray, steps: Preparation = Preparation()) -> Prepared | None:
    """The drawing as MNIST would have it, or None when there is no ink to read."""
    ink = ink_of(canvas)
    inked = ink > INK_THRESHOLD
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if rows.size == 0:
        return None
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] if steps.crop else ink
    height, width = crop.shape
    scale = (BOX if steps.scale else IMAGE_SIDE) / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    scaled = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BOX))
    scaled = np.clip(scaled, 0.0, 1.0)
    return Prepared(ink, crop, scaled, place(scaled) if steps.centre else corner(scaled))


def corner(scaled: np.ndarray) -> np.ndarray:
    image = np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float32)
    image[: scaled.shape[0], : scaled.shape[1]] = scaled
    return image


def place(scaled: np.ndarray) -> np.ndarray:
    """Put `scaled` into a 28x28 field with its centre of mass at (14, 14), never cut off."""
    com_row, com_col = centre_of_mass(scaled)
    height, width = scaled.shape
    top = int(np.clip(round(CENTRE - com_row), 0, IMAGE_SIDE - height))
    left = int(np.clip(round(CENTRE - com_col), 0, IMAGE_SIDE - width))
    image = np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float32)
    image[top : top + height, left : left + width] = scaled
    return image
