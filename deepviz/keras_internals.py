"""The one place deepviz reaches into Keras's private parts: where Adam keeps a variable's
moments, which network.py's fused Adam step updates in place.

Checked when used, so a Keras upgrade that moves them fails loudly, naming what moved, instead
of deep inside a traced training step (tests/test_internals.py holds them to Keras).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


def adam_moments(optimizer: keras.optimizers.Adam, variable: keras.Variable) -> tuple[keras.Variable, keras.Variable]:
    """(first moment, second moment): the two variables Keras Adam keeps for `variable`."""
    try:
        index = optimizer._get_variable_index(variable)
        return optimizer._momentums[index], optimizer._velocities[index]
    except AttributeError as error:
        import keras

        raise RuntimeError(
            f"Keras {keras.version()} has moved Adam's moments, which deepviz's fused Adam step "
            f"updates ({error}): install the Keras version in requirements.txt, or update "
            "deepviz/keras_internals.py."
        ) from None
