"""A fine-tuning as a `TrainingRun`: its steps, progress reports, Stop and time limit, started
from a copy of a trained model's weights instead of random ones (see deepviz.teach)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from deepviz.config import MNIST_TRAIN_IMAGES
from deepviz.data import Handwriting, Mnist
from deepviz.evaluation import Evaluation
from deepviz.teach import RECIPE, SEED, Recipe, TeachError, Tuning, class_accuracy
from deepviz.trained import TrainedModel
from deepviz.training import Examples, TrainingRun


class TuningRun(TrainingRun):
    """A TrainingRun from a copy of `trained`'s weights, on `taught` mixed with MNIST; `finish`
    gives the tuned model, scored on MNIST's test set and on `held_out` (if any drawings)."""

    def __init__(
        self,
        trained: TrainedModel,
        mnist: Mnist,
        taught: Handwriting,
        held_out: Handwriting | None = None,
        class_code: str = "",
        recipe: Recipe = RECIPE,
        time_limit: float | None = None,
    ):
        if not len(taught):
            raise TeachError("there are no drawings to learn from")
        self.mix = mixed(taught, mnist, recipe)
        # The network as `trained`'s, with the recipe's optimizer; trained on the mix, no validation,
        # and held to the server's limits for that many images.
        config = replace(
            trained.config,
            epochs=recipe.epochs,
            learning_rate=recipe.learning_rate,
            schedule="constant",
            validation_split=0.0,
            train_images=min(len(self.mix[0]), MNIST_TRAIN_IMAGES),
            augment="none",
            data="mnist",
        )
        super().__init__(config, mnist, time_limit)
        self.model.set_weights(trained.model.get_weights())  # a copy: `trained` itself never changes
        self.base = trained
        self.taught = taught
        self.held_out = held_out if held_out is not None and len(held_out) else None
        self.class_code = class_code
        self.before = self._read(trained)

    def _examples(self, pens: Handwriting | None) -> tuple[Examples, Examples]:
        images, labels = self.mix
        return (images, labels), (images[:0], labels[:0])

    def _read(self, trained: TrainedModel) -> Evaluation | None:
        held_out = self.held_out
        return None if held_out is None else class_accuracy(trained, held_out.images, held_out.labels)

    def _score(self) -> TrainedModel:
        tuned = super()._score()
        return replace(
            tuned,
            config=self.base.config,  # the network it is; the tuning's recipe is in `tuning`
            snapshots=[],  # its first weights are not random: the Draw page's replay would say they were
            tuning=Tuning(
                self.class_code,
                len(set(self.taught.students)),
                len(self.taught),
                tuple(sorted(set(self.held_out.students))) if self.held_out is not None else (),
                self.before,
                self._read(tuned),
                self.base.test_accuracy,
                self.base,
            ),
        )


def mixed(taught: Handwriting, mnist: Mnist, recipe: Recipe, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """An epoch's images: a sample of MNIST's training digits, and the class's drawings repeated
    to make up `class_share` of them."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(mnist.x_train), min(recipe.mnist_images, len(mnist.x_train)), replace=False)
    wanted = len(sample) * recipe.class_share / (1 - recipe.class_share)
    repeats = max(1, round(wanted / len(taught)))
    images = np.concatenate([mnist.x_train[sample], np.tile(taught.images, (repeats, 1, 1))])
    labels = np.concatenate([mnist.y_train[sample].astype(np.int64), np.tile(taught.labels, repeats)])
    return images, labels
