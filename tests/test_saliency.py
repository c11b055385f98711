import numpy as np
import pytest

from deepviz.saliency import Saliency, patch_masks, top_two

PIXEL = (9, 20)  # off the diagonal, so a transposed map lands elsewhere


def one_pixel_model():
    """Input -> Flatten -> Dense softmax where only PIXEL feeds the scores: class k's logit
    is 20k times that pixel, so with it inked the prediction is 9 (p = 1.0 in float32) and
    the runner-up 8."""
    import keras

    inputs = keras.Input((28, 28))
    head = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, head(keras.layers.Flatten()(inputs)))
    kernel = np.zeros((784, 10), np.float32)
    kernel[PIXEL[0] * 28 + PIXEL[1]] = 20 * np.arange(10)
    head.set_weights([kernel, np.zeros(10, np.float32)])
    return model


@pytest.fixture(scope="module")
def one_pixel():
    model = one_pixel_model()

    def refuse(*args, **kwargs):
        raise AssertionError("model.predict is too slow for the drawing path")

    model.predict = refuse
    return model, Saliency(model)


@pytest.fixture(scope="module")
def scribble():
    image = np.random.default_rng(1).uniform(0, 1, (28, 28)).astype(np.float32)
    image[PIXEL] = 1
    return image


@pytest.fixture(scope="module")
def trained(default_trained, mnist):
    images = mnist.scaled(mnist.x_test[:10])
    probabilities = default_trained.model(images).numpy()
    return default_trained.model, Saliency(default_trained.model), images, probabilities


def test_top_two_is_the_predicted_digit_then_the_runner_up():
    assert top_two(np.array([0.05, 0.5, 0.05, 0.3, 0.1, 0, 0, 0, 0, 0])) == (1, 3)
    assert top_two([0.1] * 10) == (0, 1)  # ties: the lower digit first, as argmax does


def test_patches_cover_every_pixel_whatever_the_stride():
    for patch, stride in [(4, 2), (5, 2), (7, 7), (1, 1)]:
        masks = patch_masks(patch, stride)
        assert masks.sum(axis=0).min() >= 1
        assert (masks.sum(axis=(1, 2)) == patch * patch).all()
    with pytest.raises(ValueError, match="need 1 <= stride <= patch"):
        patch_masks(3, 4)  # gaps between patches would leave pixels unscored


@pytest.mark.parametrize("smooth", [0, 8])
@pytest.mark.parametrize("times_input", [True, False])
def test_gradient_of_a_one_pixel_model_is_all_on_that_pixel(one_pixel, scribble, smooth, times_input):
    _, saliency = one_pixel
    for digit in top_two(np.arange(10)):
        result = saliency.gradients(scribble, [digit], smooth=smooth, times_input=times_input)[0]
        assert np.unravel_index(result.argmax(), result.shape) == PIXEL
        assert result[PIXEL] / result.sum() > 0.99


def test_occlusion_of_a_one_pixel_model_peaks_there_and_is_zero_far_away(one_pixel, scribble):
    model, saliency = one_pixel
    patch = 4
    result = saliency.occlusions(scribble, [9], patch=patch, stride=2)[0]
    probability = model(scribble[np.newaxis]).numpy()[0, 9]
    # Every patch over PIXEL blanks it: all logits 0, p = 0.1.
    assert result[PIXEL] == pytest.approx(probability - 0.1, abs=1e-5)
    assert result.max() == pytest.approx(result[PIXEL], abs=1e-6)
    rows, cols = np.indices((28, 28))
    far = np.maximum(abs(rows - PIXEL[0]), abs(cols - PIXEL[1])) >= patch
    assert np.abs(result[far]).max() < 1e-6
    # Blanking PIXEL raises p(0) from about 0 to 0.1: a negative drop.
    assert saliency.occlusions(scribble, [0])[0][PIXEL] == pytest.approx(-0.1, abs=1e-3)


def test_maps_of_real_digits_have_the_documented_shape_and_sign(trained):
    _, saliency, images, probabilities = trained
    for image, digits in zip(images[:3], probabilities):
        for digit in top_two(digits):
            for result in [
                saliency.gradients(image, [digit])[0],
                saliency.gradients(image, [digit], smooth=8)[0],
                saliency.gradients(image, [digit], times_input=False)[0],
            ]:
                assert result.shape == (28, 28) and np.isfinite(result).all() and result.min() >= 0
            result = saliency.occlusions(image, [digit])[0]
            assert result.shape == (28, 28) and np.isfinite(result).all()


def dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Every pixel within `steps` of the mask, diagonals included."""
    padded = np.pad(mask, steps)
    shifts = range(2 * steps + 1)
    return np.any([padded[r : r + 28, c : c + 28] for r in shifts for c in shifts], axis=0)


def test_saliency_of_a_real_digit_lies_on_its_ink(trained):
    _, saliency, images, probabilities = trained
    for image, digits in zip(images, probabilities):
        digit = top_two(digits)[0]
        near = dilate(image > 0.2, 2)
        gradient = saliency.gradients(image, [digit], smooth=8)[0]
        assert gradient[near].sum() > 0.5 * gradient.sum()
        occlusion = np.abs(saliency.occlusions(image, [digit])[0])
        assert occlusion[dilate(image > 0, 3)].sum() > 0.99 * occlusion.sum()


@pytest.mark.parametrize("method", ["gradient", "occlusion"])
def test_erasing_the_most_salient_ink_hurts_more_than_erasing_random_ink(trained, mnist, method):
    """The map is faithful: erasing the fifth of the ink it ranks highest lowers p(predicted)
    more than erasing a random fifth, for most digits (a coin would win 10 of 20). Measured with
    the Handwriting CNN on these 20: gradient 20, occlusion 17 (its 4x4 patches rank ink more
    coarsely); the floors leave two digits of margin."""
    model, saliency, _, _ = trained
    images = mnist.scaled(mnist.x_test[:20])
    probabilities = model(images).numpy()
    rng = np.random.default_rng(0)
    wins = 0
    for image, digits in zip(images, probabilities):
        digit = top_two(digits)[0]
        ranks = getattr(saliency, f"{method}s")(image, [digit])[0].ravel()
        ink = np.flatnonzero(image.ravel() > 0.2)
        count = len(ink) // 5
        salient = ink[np.argsort(-ranks[ink], kind="stable")[:count]]
        erased = np.repeat(image.reshape(1, -1), 2, axis=0)
        erased[0, salient] = 0
        erased[1, rng.choice(ink, count, replace=False)] = 0
        after = model(erased.reshape(2, 28, 28)).numpy()[:, digit]
        wins += after[0] < after[1]
    assert wins >= {"gradient": 18, "occlusion": 15}[method]


def test_the_predicted_digit_and_the_runner_up_get_different_maps(trained):
    """Different, not mirror images: the gradient of a softmax output would give the
    runner-up nearly the predicted digit's map (both are led by their logits' difference)."""
    _, saliency, images, probabilities = trained
    maps = {
        "gradient": saliency.gradients,
        "raw gradient": lambda image, digits: saliency.gradients(image, digits, times_input=False),
        "occlusion": saliency.occlusions,
    }
    for name, method in maps.items():
        correlations = []
        for image, digits in zip(images, probabilities):
            first, second = method(image, list(top_two(digits)))
            correlations.append(np.corrcoef(first.ravel(), second.ravel())[0, 1])
        assert np.median(correlations) < 0.85, name


def test_maps_of_several_digits_in_one_call_are_each_digits_own(trained):
    _, saliency, images, probabilities = trained
    image, digits = images[0], list(top_two(probabilities[0]))
    for method, options in [(saliency.gradients, {"smooth": 8}), (saliency.occlusions, {})]:
        together = method(image, digits, **options)
        assert together.shape == (2, 28, 28)
        for digit, result in zip(digits, together):
            np.testing.assert_allclose(result, method(image, [digit], **options)[0], rtol=1e-4, atol=1e-6)


def test_smoothgrad_is_repeatable_with_a_seed(trained):
    _, saliency, images, probabilities = trained
    image, digit = images[0], top_two(probabilities[0])[0]
    same = saliency.gradients(image, [digit], smooth=16, seed=3)[0]
    np.testing.assert_array_equal(same, saliency.gradients(image, [digit], smooth=16, seed=3)[0])
    assert not np.array_equal(same, saliency.gradients(image, [digit], smooth=16, seed=4)[0])
    assert not np.array_equal(same, saliency.gradients(image, [digit])[0])


def test_maps_follow_replayed_weights_and_leave_the_model_alone(one_pixel, scribble):
    """With a snapshot whose only live pixel is elsewhere, both maps move there; afterwards
    the model's own weights, and so its maps, are unchanged."""
    _model, saliency = one_pixel
    other = (3, 4)
    kernel = np.zeros((784, 10), np.float32)
    kernel[other[0] * 28 + other[1]] = 20 * np.arange(10)
    image = scribble.copy()
    image[other] = 1
    weights = [kernel, np.zeros(10, np.float32)]
    gradient = saliency.gradients(image, [8], weights=weights)[0]
    occlusion = saliency.occlusions(image, [9], weights=weights)[0]
    assert np.unravel_index(gradient.argmax(), gradient.shape) == other
    assert occlusion[other] == pytest.approx(0.9, abs=1e-5) and occlusion.max() == pytest.approx(0.9, abs=1e-5)
    assert abs(occlusion[PIXEL]) < 1e-6
    own = saliency.gradients(image, [8])[0]
    assert np.unravel_index(own.argmax(), own.shape) == PIXEL


def test_the_draw_pages_maps_are_titled_for_the_answer_and_the_runner_up(one_pixel, scribble):
    model, saliency = one_pixel
    maps = saliency.explain(scribble, model(scribble[np.newaxis]).numpy()[0])
    assert [title for title, _ in maps] == [
        "Gradient: ink for 9 (answer)",
        "Gradient: ink for 8 (second)",
        "Occlusion: covering lowers 9",
        "Occlusion: covering lowers 8",
    ]
    np.testing.assert_array_equal(maps[0][1], saliency.gradients(scribble, [9], smooth=16)[0])
    # Blanking PIXEL raises p(8) from about 0: a negative drop, which the page shows as none.
    assert saliency.occlusions(scribble, [8])[0][PIXEL] < 0
    assert maps[3][1][PIXEL] == 0 and all(heat.min() >= 0 for _, heat in maps)
