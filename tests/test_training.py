import re

import numpy as np
import pytest

from deepviz.config import DEFAULT_MODEL, PRESETS, ModelConfig
from deepviz.data import Handwriting, Mnist
from deepviz.history import Snapshot
from deepviz.store import default_model, load, model_path, save
from deepviz.training import MAX_SNAPSHOTS, TrainingRun, WeightSnapshots, train

SMALL = ModelConfig(epochs=2, train_images=2000, batch_size=32)


class Interrupt(BaseException):
    """Stands in for Streamlit's StopException, which also derives from BaseException."""


def test_training_on_a_subset_learns_and_records_every_step(small):
    reports = []
    trained = train(SMALL, small, reports.append)
    history = trained.history
    assert history.steps_per_epoch == 57  # 1,800 training images after the 10% validation split
    assert history.steps == history.total_steps == 114 and history.fraction == 1.0
    assert [row["epoch"] for row in history.rows] == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(history.rows[0])
    assert history.points[-1][0] == 2.0 and all(0 < point[0] <= 2 for point in history.points)
    assert len(reports) >= 2 and reports[-1] is history
    assert trained.complete and trained.test_accuracy > 0.8
    assert trained.label.startswith("trained for 2 epochs, test accuracy 0.")


def test_snapshots_go_from_random_weights_to_the_trained_ones(small):
    trained = train(SMALL, small)
    snapshots = trained.snapshots
    assert [s.epoch for s in snapshots] == [0, 1, 2]
    assert [s.label for s in snapshots] == ["before training (random weights)", "after epoch 1", "after epoch 2"]
    for final, now in zip(snapshots[-1].weights, trained.model.get_weights()):
        np.testing.assert_array_equal(final, now)
    assert not np.allclose(snapshots[0].weights[0], snapshots[-1].weights[0])


def test_a_stopped_run_snapshots_where_it_stopped(small, monkeypatch):
    monkeypatch.setattr("deepviz.training.REPORT_EVERY_S", 0)  # report every group of batches
    run = TrainingRun(ModelConfig(epochs=3, train_images=2000, batch_size=8), small)

    def report(history):
        if history.epoch_progress > 1.2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run.fit(report)
    snapshots = run.finish().snapshots
    assert [s.epoch for s in snapshots[:2]] == [0, 1] and 1.2 < snapshots[2].epoch < 2
    shown = float(snapshots[2].label.removeprefix("stopped at epoch "))
    assert snapshots[2].epoch - 0.1 < shown <= snapshots[2].epoch  # to a tenth, never rounded up
    for final, now in zip(snapshots[-1].weights, run.model.get_weights()):
        np.testing.assert_array_equal(final, now)


@pytest.mark.parametrize(
    ("epochs", "kept"), [(3, [0, 1, 2, 3]), (20, list(range(21))), (50, [0, *range(3, 49, 3), 50])]
)
def test_long_trainings_keep_a_bounded_number_of_snapshots(epochs, kept):
    class Model:
        def get_weights(self):
            return []

    snapshots = []
    callback = WeightSnapshots(snapshots, epochs)
    callback.set_model(Model())
    callback.on_train_begin()
    for epoch in range(epochs):
        callback.on_epoch_end(epoch)
    assert [s.epoch for s in snapshots] == kept and len(snapshots) <= MAX_SNAPSHOTS
    assert isinstance(snapshots[0], Snapshot)


def test_progress_follows_the_steps_trained_not_callback_calls(small):
    seen = []
    train(ModelConfig(epochs=1, train_images=2000, batch_size=8), small, lambda h: seen.append(h.steps))
    # 225 batches trained 32 a call: 8 calls back, the last group short
    assert seen[-1] == 225


def test_an_interrupted_run_keeps_the_partly_trained_model(small):
    run = TrainingRun(ModelConfig(epochs=3, train_images=2000, batch_size=8), small)

    def report(history):
        raise Interrupt  # at the first report, whenever the throttle lets it through

    with pytest.raises(Interrupt):
        run.fit(report)
    trained = run.finish()
    assert not trained.complete and 0 < trained.history.fraction <= 1 / 3
    assert re.match(r"partly trained: stopped at epoch [01]\.\d of 3, test accuracy 0\.\d{4}$", trained.label)
    assert 0.1 < trained.test_accuracy < 1


def test_a_run_past_its_time_limit_stops_cleanly_and_keeps_the_partly_trained_model(small):
    # The first group of 32 batches alone (graph tracing included) takes longer than 10 ms.
    run = TrainingRun(ModelConfig(epochs=3, train_images=2000, batch_size=8), small, time_limit=0.01)
    run.fit()
    trained = run.finish()
    assert run.timed_out and not trained.complete and trained.history.steps == 32 and not trained.history.rows
    assert trained.snapshots[-1].epoch == trained.history.epoch_progress
    assert re.match(
        r"partly trained: stopped at this server's time limit of 0 s at epoch 0\.1 of 3, test accuracy 0\.\d{4}$",
        trained.label,
    )


def test_a_run_that_ends_at_its_time_limit_is_complete(small):
    run = TrainingRun(ModelConfig(epochs=1, train_images=200), small, time_limit=0.01)  # 6 batches: one group
    run.fit()
    assert not run.timed_out and run.finish().complete


def test_a_run_stopped_before_its_first_step_leaves_no_model(small):
    assert TrainingRun(SMALL, small).finish() is None


def test_training_without_validation(small):
    trained = train(ModelConfig(epochs=1, validation_split=0.0, train_images=500), small)
    assert "val_loss" not in trained.history.rows[0] and trained.history.steps_per_epoch == 16


def test_a_cnn_trains_too(small):
    trained = train(ModelConfig(layers=PRESETS["Small CNN"].layers, epochs=1, train_images=1000), small)
    assert trained.complete and trained.test_accuracy > 0.3


def test_saved_models_load_with_their_history(small, tmp_path):
    trained = train(ModelConfig(epochs=1, train_images=500), small)
    path = model_path(trained.config, small, tmp_path)
    save(trained, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        path.with_suffix(s).name for s in (".keras", ".json", ".npz")
    )
    loaded = load(path, small)
    assert loaded.config == trained.config and loaded.test_accuracy == trained.test_accuracy
    assert loaded.history == trained.history
    assert [s.epoch for s in loaded.snapshots] == [s.epoch for s in trained.snapshots] == [0, 1]
    for before, after in zip(trained.snapshots, loaded.snapshots):
        for saved, restored in zip(before.weights, after.weights):
            np.testing.assert_array_equal(saved, restored)
    image = small.scaled(small.x_test[:1])
    np.testing.assert_allclose(loaded.model(image).numpy(), trained.model(image).numpy(), rtol=1e-5)


@pytest.fixture(scope="module")
def tiny(small):
    """Enough to train the default configuration in a second or two."""
    return Mnist(small.x_train[:300], small.y_train[:300], small.x_test[:100], small.y_test[:100], "tiny", full=False)


@pytest.fixture
def few_pens(tiny, monkeypatch):
    """30 drawings stand in for the 30 writers' 22,482, which take minutes to draw."""
    import deepviz.store

    pens = Handwriting(tiny.x_test[:30], tiny.y_test[:30].astype(np.int64), np.array(["p01"] * 30))
    monkeypatch.setattr(deepviz.store, "pen_digits", lambda *a, **k: pens)
    return pens


def test_default_model_is_trained_once_with_the_pen_digits_then_loaded(tiny, few_pens, tmp_path, monkeypatch):
    import deepviz.store

    runs = []
    made = deepviz.store.train_default
    monkeypatch.setattr(deepviz.store, "train_default", lambda *a: runs.append(made(*a)) or runs[-1])
    first = default_model(tiny, tmp_path)
    again = default_model(tiny, tmp_path)
    assert len(runs) == 1 and first.config == again.config == PRESETS[DEFAULT_MODEL]
    assert len(runs[0].train[0]) == 270 + len(few_pens)  # MNIST's, less the validation's 30, and the pens'
    assert again.test_accuracy == first.test_accuracy


def test_a_damaged_cache_file_is_retrained_and_an_unwritable_folder_is_survived(tiny, few_pens, tmp_path):
    path = model_path(ModelConfig(), tiny, tmp_path)
    path.write_bytes(b"not a zip")
    path.with_suffix(".json").write_text("{}")
    assert default_model(tiny, tmp_path).complete
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert default_model(tiny, blocked / "cache").complete  # cannot write there: kept in memory


def test_curve_points_are_recent_batches_not_the_epochs_running_mean(small):
    """Recombining each point's batches must give back the running mean Keras logs at epoch end."""
    trained = train(ModelConfig(epochs=1, validation_split=0.0, train_images=2000, batch_size=8), small)
    history = trained.history
    done = [round(point[0] * history.steps_per_epoch) for point in history.points]
    batches = np.diff([0, *done])
    assert done[-1] == history.steps_per_epoch == 250
    mean_loss = sum(n * point[1] for n, point in zip(batches, history.points)) / done[-1]
    assert mean_loss == pytest.approx(history.rows[0]["loss"], rel=1e-3)
    assert history.points[-1][1] < history.points[0][1]  # the latest batches, not the mean, are low


def test_finish_from_another_thread_waits_for_fit_and_scores_once(small, monkeypatch):
    """A UI may settle a run from a new thread while the interrupted one is still unwinding."""
    import threading

    run = TrainingRun(ModelConfig(epochs=2, train_images=2000, batch_size=8), small)
    scored = []
    real_score = run._score
    monkeypatch.setattr(run, "_score", lambda: scored.append(1) or real_score())
    started = threading.Event()
    trainer = threading.Thread(target=run.fit, args=(lambda history: started.set(),))
    trainer.start()
    started.wait(timeout=60)
    results = []
    finishers = [threading.Thread(target=lambda: results.append(run.finish())) for _ in range(3)]
    for thread in finishers:
        thread.start()
    for thread in [trainer, *finishers]:
        thread.join(timeout=120)
    assert scored == [1]
    assert len(results) == 3 and results[0] is results[1] is results[2]
    assert results[0].complete  # scored only after fit had returned, not mid-training
