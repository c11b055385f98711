import threading

import pytest

from deepviz.slots import (
    DEFAULT_LENGTH,
    DEFAULT_SECONDS,
    LENGTH_ENV,
    SECONDS_ENV,
    SLOTS_ENV,
    QueueError,
    TrainingQueue,
    default_size,
    queue_from_settings,
)


def test_the_first_come_run_and_the_rest_wait_in_order():
    line = TrainingQueue(2)
    first, second, third, fourth = (line.join() for _ in range(4))
    assert [line.position(t) for t in (first, second, third, fourth)] == [0, 0, 1, 2]
    assert line.busy == (2, 2)
    assert not line.wait(third, timeout=0.01)
    line.leave(second)
    assert line.wait(third, timeout=0.01)
    assert [line.position(t) for t in (first, second, third, fourth)] == [0, -1, 0, 1]


def test_leaving_the_line_moves_those_behind_up_and_is_idempotent():
    line = TrainingQueue(1)
    running, waiting, last = line.join(), line.join(), line.join()
    line.leave(waiting)
    line.leave(waiting)
    assert line.position(last) == 1 and line.busy == (1, 1)
    line.leave(running)
    assert line.position(last) == 0 and line.busy == (1, 0)


def test_a_waiter_is_woken_when_a_slot_frees():
    line = TrainingQueue(1)
    holder = line.join()
    ran = threading.Event()

    def train():
        with line.slot():
            ran.set()

    thread = threading.Thread(target=train)
    thread.start()
    assert not ran.wait(0.2)
    line.leave(holder)
    assert ran.wait(5)
    thread.join(5)
    assert line.busy == (0, 0)


def test_an_interrupted_wait_gives_the_place_back():
    """A page rerun (Stop, leaving the page, a closed tab) raises inside `waiting`."""
    line = TrainingQueue(1)
    holder = line.join()
    seen = []

    def waiting(position):
        seen.append(position)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), line.slot(waiting, poll=0.01):
        pass
    assert seen == [1] and line.busy == (1, 0)
    line.leave(holder)


def test_a_failing_training_gives_the_slot_back():
    line = TrainingQueue(1)
    with pytest.raises(RuntimeError), line.slot():
        raise RuntimeError("out of memory")
    assert line.busy == (0, 0)


def test_the_size_comes_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv(SLOTS_ENV, "3")
    assert default_size() == 3
    for bad in ("0", "-2", "many"):
        monkeypatch.setenv(SLOTS_ENV, bad)
        with pytest.raises(ValueError, match=SLOTS_ENV):
            default_size()
    monkeypatch.delenv(SLOTS_ENV)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_size() == 1
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_size() == 8


def test_a_sessions_second_training_takes_the_place_of_its_first_while_that_waits():
    line = TrainingQueue(1)
    running, ahead, first = line.join("a"), line.join("b"), line.join("c")
    behind = line.join("d")
    second = line.join("c")
    assert [line.position(t) for t in (running, ahead, second, behind)] == [0, 1, 2, 3]
    assert line.position(first) == -1 and line.busy == (1, 3)
    assert not line.wait(first, timeout=5)  # at once: it has no place left to wait in


def test_the_replaced_training_stops_waiting_with_the_reason():
    line = TrainingQueue(1)
    holder = line.join()
    replaced = []

    def waiting(position):
        if not replaced:
            replaced.append(line.join("me"))

    with pytest.raises(QueueError, match="newer training from this session"), line.slot(waiting, poll=0.01, owner="me"):
        pass
    assert line.busy == (1, 1) and line.position(replaced[0]) == 1
    line.leave(holder)
    assert line.position(replaced[0]) == 0


def test_once_its_first_training_runs_a_sessions_next_waits_at_the_end():
    line = TrainingQueue(1)
    first, other = line.join("me"), line.join("other")
    second = line.join("me")
    assert [line.position(t) for t in (first, other, second)] == [0, 1, 2]


def test_a_full_line_refuses_newcomers_but_not_a_replacement_or_a_freed_place():
    line = TrainingQueue(1, length=2)
    for owner in (None, "a", "b"):
        line.join(owner)
    with pytest.raises(
        QueueError, match=r"line is full: 2 trainings waiting for this server's 1 training slot. Try again"
    ):
        line.join("c")
    with pytest.raises(QueueError), line.slot(owner="c"):
        pass
    assert line.busy == (1, 2)
    replacement = line.join("a")
    assert line.position(replacement) == 1
    line.leave(replacement)
    assert line.position(line.join("c")) == 2


def test_the_line_length_and_time_limit_come_from_the_environment(monkeypatch):
    for name in (SLOTS_ENV, LENGTH_ENV, SECONDS_ENV):
        monkeypatch.delenv(name, raising=False)
    line = queue_from_settings()
    assert (line.size, line.length, line.time_limit) == (default_size(), DEFAULT_LENGTH, DEFAULT_SECONDS)
    monkeypatch.setenv(LENGTH_ENV, "5")
    monkeypatch.setenv(SECONDS_ENV, "30")
    line = queue_from_settings()
    assert (line.length, line.time_limit) == (5, 30)
    for name in (LENGTH_ENV, SECONDS_ENV):
        for bad in ("0", "-1", "1.5", "soon"):
            monkeypatch.setenv(name, bad)
            with pytest.raises(ValueError, match=f"{name} must be a whole number of at least 1, got '{bad}'"):
                queue_from_settings()
        monkeypatch.setenv(name, "10")
