"""How a model file is refused: one sentence saying what is wrong, and what deepviz accepts."""

ACCEPTED = (
    "deepviz accepts .keras files saved by Keras (model.save('model.keras')) with only "
    "Input, Reshape, Flatten, Dense, Conv2D, MaxPooling2D and Dropout layers"
)


class ModelFileError(ValueError):
    """A refused model file; the message is one sentence: what is wrong, and what is accepted."""


def cut(text: str, limit: int = 40) -> str:
    """Text from the file, cut short: whatever the file holds, a message stays one short line."""
    return text if len(text) <= limit else text[:limit] + "..."


def not_a_model() -> ModelFileError:
    return ModelFileError(f"The file's config.json does not describe a Keras model: {ACCEPTED}.")
