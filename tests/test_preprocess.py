import base64
import io

import numpy as np
import pytest
from PIL import Image

from deepviz.preprocess import (
    CANVAS_SIZE,
    CanvasError,
    canvas_image,
    centre_of_mass,
    ink_of,
    prepare,
)


def canvas(draw=None) -> np.ndarray:
    """A CANVAS_SIZE x CANVAS_SIZE RGBA canvas as streamlit-drawable-canvas returns it: opaque black, white ink."""
    image = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)
    image[..., 3] = 255
    if draw:
        draw(image)
    return image


def ink(rows, cols):
    def draw(image):
        image[rows, cols, :3] = 255

    return draw


def test_empty_canvas_has_nothing_to_read():
    assert prepare(canvas()) is None
    assert prepare(np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)) is None  # fully transparent


def test_faint_noise_is_not_ink():
    assert prepare(canvas(lambda image: image[..., :3].__iadd__(5))) is None


def test_off_centre_stroke_is_scaled_to_20px_and_centred():
    prepared = prepare(canvas(ink(slice(10, 110), slice(200, 260))))  # 100 tall, 60 wide, top right
    assert prepared.crop.shape == (100, 60)
    assert prepared.scaled.shape == (20, 12)  # longest side 20, aspect ratio kept
    assert prepared.image.shape == (28, 28) and prepared.image.dtype == np.float32
    row, col = centre_of_mass(prepared.image)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_lopsided_digit_is_centred_by_mass_not_by_box():
    def draw(image):
        image[40:240, 190:200, :3] = 255  # heavy stem on the right
        image[40:50, 100:200, :3] = 255  # thin flag to the left

    prepared = prepare(canvas(draw))
    row, col = centre_of_mass(prepared.image)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
    cols = np.flatnonzero(prepared.image.any(axis=0))
    assert (cols[0] + cols[-1]) / 2 < 12.5  # the box sits left, so the heavy stem lands at the centre


def test_centring_never_cuts_ink_off():
    def draw(image):
        image[40:240, 100:110, :3] = 255
        image[40:80, 100:200, :3] = 255  # so top-heavy that full centring would push it off the field

    prepared = prepare(canvas(draw))
    assert prepared.image.sum() == pytest.approx(prepared.scaled.sum())


def test_tiny_dot_becomes_a_centred_blob():
    prepared = prepare(canvas(ink(slice(5, 8), slice(270, 273))))
    assert prepared.image.max() == pytest.approx(1.0)
    assert centre_of_mass(prepared.image) == pytest.approx((13.5, 13.5), abs=0.5)


def test_full_canvas_fills_the_20px_box():
    prepared = prepare(np.full((CANVAS_SIZE, CANVAS_SIZE, 4), 255, np.uint8))
    assert (prepared.image > 0.99).sum() == 400
    assert prepared.image.sum() == pytest.approx(400)


def test_grey_rgb_and_other_sizes_are_accepted():
    grey = np.zeros((560, 560), np.uint8)  # a high-DPI canvas is twice the size
    grey[100:400, 250:300] = 255
    rgb = np.stack([grey] * 3, axis=2)
    np.testing.assert_allclose(prepare(grey).image, prepare(rgb).image)


def test_transparent_ink_counts_as_background():
    image = canvas(ink(slice(50, 200), slice(50, 200)))
    image[..., 3] = 0
    assert prepare(image) is None
    assert ink_of(image).max() == 0


def test_unusual_shapes_are_refused_clearly():
    with pytest.raises(CanvasError, match="expected a grey, RGB or RGBA image"):
        prepare(np.zeros((28, 28, 2)))


def test_values_that_are_not_numbers_are_refused_clearly():
    stroke = np.zeros((10, 10))
    stroke[5, 5:8] = 255, np.nan, 255  # NaN inside the ink once failed deep in the centring
    with pytest.raises(CanvasError, match="not finite"):
        prepare(stroke)
    with pytest.raises(CanvasError, match="expected an image of numbers"):
        prepare(np.full((4, 4), "ink"))


def test_values_beyond_0_to_255_saturate():
    image = np.zeros((10, 10), np.int16)
    image[5, 5:8] = 1000, -1000, 1000  # once came through as brightness 3.9 and -3.9
    prepared = prepare(image)
    assert prepared.ink.min() == 0 and prepared.ink.max() == 1
    assert prepared.crop.tolist() == [[1, 0, 1]]


def test_a_one_pixel_canvas_with_ink_becomes_the_20px_box():
    prepared = prepare(np.full((1, 1, 4), 255, np.uint8))
    assert prepared.image.sum() == pytest.approx(400)
    assert prepared.image[4:24, 4:24].min() == pytest.approx(1)


def test_an_mnist_digit_drawn_large_comes_back_as_itself(mnist):
    """Blow a real test digit up 9x onto an off-centre spot of the canvas: preparing it must
    give back (almost) the original 28x28 image, since MNIST was made this same way."""
    for index in range(20):
        digit = mnist.x_test[index]
        big = np.asarray(Image.fromarray(digit).resize((252, 252), Image.Resampling.NEAREST))
        image = np.zeros((400, 400), np.uint8)
        image[120:372, 30:282] = big
        prepared = prepare(image).image
        original = digit / 255.0
        assert np.corrcoef(prepared.ravel(), original.ravel())[0, 1] > 0.9
        assert np.abs(np.subtract(centre_of_mass(prepared), centre_of_mass(original))).max() <= 1.0


def test_switching_off_the_crop_keeps_the_digit_where_it_was_drawn():
    from deepviz.preprocess import Preparation

    prepared = prepare(canvas(ink(slice(10, 60), slice(200, 260))), Preparation(crop=False))
    assert prepared.crop.shape == (CANVAS_SIZE, CANVAS_SIZE)
    rows = np.flatnonzero(prepared.image.any(axis=1))
    row, col = centre_of_mass(prepared.image)
    assert rows[-1] - rows[0] < 6  # stays as small as it was drawn
    assert np.hypot(row - 14, col - 14) > 3 and row < 14 < col  # off-centre, up and right, as drawn


def test_switching_off_scaling_fills_the_frame_and_centring_leaves_it_in_the_corner():
    from deepviz.preprocess import Preparation

    drawing = canvas(ink(slice(60, 220), slice(100, 180)))
    assert prepare(drawing, Preparation(scale=False)).scaled.shape == (28, 14)
    cornered = prepare(drawing, Preparation(centre=False)).image
    assert cornered[:20, :10].sum() == pytest.approx(cornered.sum()) and cornered[0, 0] > 0.9
    assert prepare(drawing, Preparation()).image[0, 0] == 0


def test_only_a_plausible_record_of_strokes_is_kept_to_show_again():
    from deepviz.preprocess import MAX_SKETCH_BYTES, restorable

    strokes = {"version": "6.0.0", "objects": [{"type": "Path", "path": [["M", 1, 2], ["L", 3, 4]]}]}
    assert restorable(strokes) == strokes
    assert restorable({"objects": []}) == {"objects": []}
    huge = {"objects": [{"type": "Path", "path": [["L", 1, 2]] * (MAX_SKETCH_BYTES // 8)}]}
    for sent in (
        None,
        [],
        "objects",
        {"objects": "x"},
        {"version": "6"},
        {"objects": [float("nan")] * 0 + [{1, 2}]},
        huge,
    ):
        assert restorable(sent) is None


def png_url(image: Image.Image, kind: str = "png") -> str:
    saved = io.BytesIO()
    image.save(saved, format=kind)
    return f"data:image/{kind};base64,{base64.b64encode(saved.getvalue()).decode()}"


def test_the_canvas_png_is_decoded_to_its_rgba_pixels():
    pixels = np.random.default_rng(0).integers(
        0, 256, (CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8
    )  # noise: the largest PNG
    decoded = canvas_image(png_url(Image.fromarray(pixels)))
    assert decoded.dtype == np.uint8 and (decoded == pixels).all()
    grey = canvas_image(png_url(Image.fromarray(pixels[..., 0])))  # any PNG of the pad's size, as RGBA
    assert (
        grey.shape == (CANVAS_SIZE, CANVAS_SIZE, 4)
        and (grey[..., 0] == pixels[..., 0]).all()
        and (grey[..., 3] == 255).all()
    )


def test_a_huge_png_is_refused_from_its_header_without_being_decoded(monkeypatch):
    huge = png_url(Image.new("1", (9000, 9000)))  # 13 KB of PNG, 81 million pixels
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: pytest.fail("decoded"))
    with pytest.raises(CanvasError, match=r"^its image is 9000x9000 pixels, not the pad's 280x280$"):
        canvas_image(huge)
    with pytest.raises(CanvasError, match="281x280 pixels"):
        canvas_image(png_url(Image.new("RGBA", (281, 280))))


def test_only_a_png_data_url_of_plausible_length_is_read():
    from deepviz.preprocess import MAX_CANVAS_URL, PNG_URL

    canvas = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE))
    for kind in ("jpeg", "gif", "bmp"):
        with pytest.raises(CanvasError, match="not a PNG image"):
            canvas_image(png_url(canvas.convert("RGB"), kind))
        with pytest.raises(CanvasError, match="not a PNG image"):  # a PNG's header, not what its URL says
            canvas_image(PNG_URL + png_url(canvas.convert("RGB"), kind).split(",", 1)[1])
    svg = "data:image/svg+xml;base64," + base64.b64encode(b'<svg width="280" height="280"/>').decode()
    for sent in (svg, None, 280, ["data"], {"data": PNG_URL}, b"data:image/png;base64,", ""):
        with pytest.raises(CanvasError, match="not a PNG image"):
            canvas_image(sent)
    with pytest.raises(CanvasError, match="far more than a drawing takes"):
        canvas_image(png_url(canvas) + "A" * MAX_CANVAS_URL)


def test_a_damaged_png_is_refused():
    from deepviz.preprocess import PNG_URL

    pixels = np.random.default_rng(0).integers(0, 256, (CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)
    url = png_url(Image.fromarray(pixels))
    encoded = url.removeprefix(PNG_URL)
    with pytest.raises(CanvasError, match=r"^its PNG is damaged$"):
        canvas_image(PNG_URL + encoded[: len(encoded) // 8 * 4])  # cut short in its pixels
    with pytest.raises(CanvasError, match=r"^its PNG is damaged$"):
        canvas_image(url[:5000] + url[5000:6000][::-1] + url[6000:])
    with pytest.raises(CanvasError, match=r"^its PNG is cut short$"):
        canvas_image(url[: len(PNG_URL) + 28])  # in its header
    for garbled in (url[:60] + "!" + url[61:], url[:30] + "é" + url[31:], url[:30] + " " + url[31:], url[:-1]):
        with pytest.raises(CanvasError, match=r"^its image is not valid base64$"):
            canvas_image(garbled)
