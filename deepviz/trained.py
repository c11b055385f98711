"""A trained model as the pages show it: the network, the record of its training, its test
scores, and the tools that look inside it (made once, on first use)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from deepviz.config import ModelConfig, duration, plural
from deepviz.data import Mnist
from deepviz.evaluation import Evaluation, evaluate
from deepviz.history import History, Snapshot

if TYPE_CHECKING:
    import keras

    from deepviz.activations import LayerReader
    from deepviz.dream import Dreamer
    from deepviz.fool import Fooler
    from deepviz.saliency import Saliency
    from deepviz.teach import Tuning


@dataclass
class TrainedModel:
    config: ModelConfig
    model: keras.Model
    history: History
    evaluation: Evaluation  # every test digit's scores: accuracy, confusions, mistakes
    complete: bool
    data_source: str
    snapshots: list[Snapshot] = field(default_factory=list)  # replays training, first to last
    # Names this model in caches of results computed from it (unit strengths, projections).
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    opened_from: str = ""  # the file a model trained elsewhere came from; its training is unknown
    time_limit: float | None = None  # the limit it was stopped at, when that is what stopped it
    tuning: Tuning | None = None  # set when it is another model fine-tuned on a class's drawings

    @property
    def test_accuracy(self) -> float:
        return self.evaluation.accuracy

    @property
    def label(self) -> str:
        if self.opened_from:
            return f"opened from {self.opened_from}, test accuracy {self.test_accuracy:.4f}"
        trained = f"tuned on {self.tuning.whose} drawings" if self.tuning else "trained"
        if self.complete:
            return f"{trained} for {plural(self.history.epochs, 'epoch')}, test accuracy {self.test_accuracy:.4f}"
        limit = f" at this server's time limit of {duration(self.time_limit)}" if self.time_limit else ""
        return (
            f"partly {trained}: stopped{limit} at epoch {self.history.epochs_done:.1f} of "
            f"{self.history.epochs}, test accuracy {self.test_accuracy:.4f}"
        )

    @cached_property
    def reader(self) -> LayerReader:
        from deepviz.activations import LayerReader

        return LayerReader(self.model)

    @cached_property
    def saliency(self) -> Saliency:
        from deepviz.saliency import Saliency

        return Saliency(self.model)

    @cached_property
    def dreamer(self) -> Dreamer:
        from deepviz.dream import Dreamer

        return Dreamer(self.model)

    @cached_property
    def fooler(self) -> Fooler:
        from deepviz.fool import Fooler

        return Fooler(self.model)


def opened(config: ModelConfig, model: keras.Model, mnist: Mnist, name: str) -> TrainedModel:
    """A model from a file (modelfile.load_bytes), scored on the test set like a trained one."""
    return TrainedModel(
        config, model, History(config.epochs, 1), evaluate(model, mnist), True, mnist.source, opened_from=name
    )
