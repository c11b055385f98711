import threading

import pytest

from deepviz.slots import SLOTS_ENV, SlotLine, default_size


def test_the_first_come_run_and_the_rest_wait_in_order():
    line = SlotLine(2)
    first, second, third, fourth = (line.join() for _ in range(4))
    assert [line.position(t) for t in (first, second, third, fourth)] == [0, 0, 1, 2]
    assert line.busy == (2, 2)
    assert not line.wait(third, timeout=0.01)
    line.leave(second)
    assert line.wait(third, timeout=0.01)
    assert [line.position(t) for t in (first, second, third, fourth)] == [0, -1, 0, 1]


def test_leaving_the_line_moves_those_behind_up_and_is_idempotent():
    line = SlotLine(1)
    running, waiting, last = line.join(), line.join(), line.join()
    line.leave(waiting)
    line.leave(waiting)
    assert line.position(last) == 1 and line.busy == (1, 1)
    line.leave(running)
    assert line.position(last) == 0 and line.busy == (1, 0)


def test_a_waiter_is_woken_when_a_slot_frees():
    line = SlotLine(1)
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
    line = SlotLine(1)
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
    line = SlotLine(1)
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
