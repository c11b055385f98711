"""The training and validation steps, traced once per training and called STEPS_PER_CALL
batches at a time.

Keras's `fit` spends much of a small network's step outside the network: its tf.data
iterator, a function call and an optional value per batch, per-step bookkeeping. Here one
traced loop trains a group of batches, gathering each from uint8 images held as tensors,
with Keras's own loss (`compute_loss`), optimizer (`apply`, which also sums gradients over
mirrored devices) and metrics: the same arithmetic, about a fifth less time a step
(tests/test_steps.py checks the weights against `fit`'s; docs/performance.md has the
figures).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from deepviz.augment import distorted

STEPS_PER_CALL = 32  # progress callbacks run between calls, so this sets how live they are
HOST = "/cpu:0"


def shuffled(images: int) -> tf.Tensor:
    """A fresh order of the training images for an epoch (seeded by keras.utils.set_random_seed)."""
    return tf.random.shuffle(tf.range(images))


class Steps:
    """Trains `model` on (images, labels) held as tensors, and scores it on another such pair.

    Both return the batches' mean loss and accuracy since the last `reset`, as `fit`'s logs."""

    def __init__(self, model: keras.Model, batch_size: int, distort: bool = False):
        self.model = model
        self.batch_size = batch_size
        self.distort = distort
        self.strategy = model.distribute_strategy
        with self.strategy.scope():  # mirrored metrics add up over devices
            # Variables made while tracing need a conditional first call, which fails when
            # mirrored ("You must feed a value for placeholder"): make the optimizer's now.
            model.optimizer.build(model.trainable_variables)
            self.loss = keras.metrics.Mean(name="loss")
            self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self._train = tf.function(self._train_batches)

    def reset(self) -> None:
        self.loss.reset_state()
        self.accuracy.reset_state()

    def train(self, data: tuple[tf.Tensor, tf.Tensor], order: tf.Tensor, first: int, last: int) -> dict[str, float]:
        """Train on batches first to last-1 of the epoch's `order`."""
        return self._logs(self._train(*data, order, tf.constant(first), tf.constant(last)))

    def score(self, data: tuple[tf.Tensor, tf.Tensor], batch_size: int) -> dict[str, float]:
        """Mean loss and accuracy over every image of `data`, without training; resets first.

        Eager: it runs once an epoch, a few large batches, where tracing it costs more than it saves."""
        self.reset()
        x, y = data
        for start in range(0, len(x), batch_size):
            batch = tf.range(start, min(start + batch_size, len(x)))
            self.strategy.run(self._score_step, args=(x, y, batch))
        return self._logs(self._results())

    @staticmethod
    def _logs(results) -> dict[str, float]:
        return {name: float(value) for name, value in results.items()}

    def _results(self) -> dict[str, tf.Tensor]:
        return {"loss": self.loss.result(), "accuracy": self.accuracy.result()}

    def _train_batches(self, x, y, order, first, last):
        for step in tf.range(first, last):
            batch = order[step * self.batch_size : (step + 1) * self.batch_size]
            self.strategy.run(self._train_step, args=(x, y, batch))
        return self._results()

    def _train_step(self, x, y, batch):
        x, y = self._shard(x, y, batch)
        if self.distort:
            x = distorted(x)
        model = self.model
        with tf.GradientTape() as tape:
            predicted = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=predicted, training=True)
        model.optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        self._update_metrics(y, predicted, loss)

    def _score_step(self, x, y, batch):
        x, y = self._shard(x, y, batch)
        predicted = self.model(x, training=False)
        self._update_metrics(y, predicted, self.model.compute_loss(x=x, y=y, y_pred=predicted, training=False))

    @staticmethod
    def _shard(x, y, batch):
        """This device's share of the batch (all of it on one device), scaled to [0, 1]."""
        replica = tf.distribute.get_replica_context()
        mine = batch[replica.replica_id_in_sync_group :: replica.num_replicas_in_sync]
        with tf.device(HOST):  # as `tensors`: only the batch goes to a GPU
            return tf.cast(tf.gather(x, mine), tf.float32) / 255.0, tf.gather(y, mine)

    def _update_metrics(self, y, predicted, loss):
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        # compute_loss divides by the number of devices, so that their gradients add up to the batch's
        self.loss.update_state(loss * replicas, sample_weight=tf.shape(y)[0])
        self.accuracy.update_state(y, predicted)


def tensors(images: np.ndarray, labels: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
    """Images stay uint8 (a quarter of a float copy's memory) and are scaled a batch at a time.

    They stay in the host's memory and batches are gathered there, as in a tf.data pipeline:
    a GPU receives each scaled batch, never the whole set (not measured on a GPU: there is
    none on this project's machine)."""
    with tf.device(HOST):
        return tf.constant(images), tf.constant(labels.astype(np.int32))
