"""The default model's training distortions (deepviz/augment.py)."""

import numpy as np
import pytest

from deepviz import augment
from deepviz.data import read_dir


@pytest.fixture(scope="module")
def digits(data_dir):
    return read_dir(data_dir).x_train[:64].astype(np.float32) / 255.0


def test_a_share_of_the_digits_is_distorted_and_the_rest_left_as_they_are(digits):
    import tensorflow as tf

    tf.random.set_seed(0)
    out = augment.distorted(tf.constant(digits)).numpy()
    changed = np.abs(out - digits).max(axis=(1, 2)) > 1e-6
    assert out.shape == digits.shape and out.min() >= 0 and out.max() <= 1
    assert 0.25 < changed.mean() < 0.75  # SHARE is a half
    # Distorted, but still a digit: its ink moved and bent, not lost or smeared over the field.
    ink_before, ink_after = digits[changed].sum(axis=(1, 2)), out[changed].sum(axis=(1, 2))
    assert np.all(ink_after > 0.25 * ink_before) and np.all(ink_after < 4 * ink_before)


def test_without_any_distortion_a_digit_comes_back_as_it_was(digits, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(augment, "ELASTIC_ALPHA", 0.0)
    monkeypatch.setattr(augment, "SHARE", 1.0)
    assert np.allclose(augment.distorted(tf.constant(digits)).numpy(), digits, atol=1e-5)
