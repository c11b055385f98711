import numpy as np
import pytest

from deepviz.fool import CHANGED

COUNT = 20


@pytest.fixture(scope="module")
def digits(mnist):
    images = mnist.x_test[:COUNT] / 255.0
    return images.astype(np.float32), (mnist.y_test[:COUNT].astype(int) + 1) % 10


def blend_ink(model, image, towards, target) -> float:
    """The ink a plain blend of `image` towards a digit of the target class takes to be read as it."""
    for share in np.linspace(0, 1, 41):
        blended = ((1 - share) * image + share * towards).astype(np.float32)
        if model(blended[np.newaxis], training=False).numpy().argmax() == target:
            return float(np.abs(blended - image).sum())
    return float("inf")


@pytest.mark.parametrize("which", ["default_trained", "tutorial_trained"])
def test_the_smallest_change_is_read_as_the_target_and_takes_less_ink_than_a_blend(request, mnist, digits, which):
    trained = request.getfixturevalue(which)
    images, targets = digits
    change = trained.fooler.fool(images, targets)
    assert change.fooled.all() and (change.predictions == targets).all()
    assert change.images.min() >= 0 and change.images.max() <= 1
    np.testing.assert_allclose(change.images - images, change.differences, atol=1e-6)
    later = mnist.y_test[COUNT:]
    blends = [
        blend_ink(trained.model, image, mnist.x_test[COUNT:][later == target][0] / 255.0, target)
        for image, target in zip(images, targets)
    ]
    assert np.median(change.ink) < 0.5 * np.median(blends)


def test_a_drawing_already_read_as_the_target_is_left_as_it_is(default_trained, digits):
    images, _ = digits
    read = default_trained.reader.batch(images[:3])[-1].argmax(axis=1)
    change = default_trained.fooler.fool(images[:3], read)
    assert change.fooled.all() and not change.differences.any() and (change.ink == 0).all()


def test_ink_and_pixels_count_the_change():
    from deepviz.fool import Change

    differences = np.zeros((1, 28, 28), np.float32)
    differences[0, 0, :3] = [0.5, -1.0, CHANGED / 2]
    change = Change(np.zeros_like(differences), differences, np.eye(10)[:1], np.array([True]))
    assert change.ink[0] == pytest.approx(1.5 + CHANGED / 2) and change.pixels[0] == 2


def test_the_reverse_lesson_measures_the_ink_each_network_needs(default_trained, mnist):
    from measure.fooling import measure, targets

    assert targets([0, 8, 9]).tolist() == [1, 9, 0]
    fooled = measure("default", default_trained, mnist, count=10)
    assert fooled.count == 10 and fooled.fooled == 1.0
    assert 0 < fooled.ink < fooled.original_ink and fooled.pixels > 0
    assert fooled.line().startswith(
        "default: 100% of 10 test digits fooled into reading label + 1; median ink changed "
    )


def test_the_fool_command_refuses_no_digits(capsys):
    from deepviz.cli import main

    with pytest.raises(SystemExit):
        main(["fool", "--count", "0"])
    assert "--count" in capsys.readouterr().err
