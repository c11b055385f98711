"""The training queue (the "line" students see): at most `size` trainings run at once on a
server, first come first served.

Training takes all the cores it can get; thirty students pressing Train together would
otherwise slow every drawing to a crawl and could run the server out of memory. Everyone
else waits in line, sees their place, and can leave it at any time.

Each session has at most one place in line, and the line itself has a length: a script
opening session after session, or a student pressing Train again and again, cannot push
a class's trainings back for hours.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from deepviz.config import MAX_TRAINING_SECONDS, plural

SLOTS_ENV = "DEEPVIZ_TRAINING_SLOTS"
LENGTH_ENV = "DEEPVIZ_TRAINING_LINE"
SECONDS_ENV = "DEEPVIZ_MAX_TRAINING_SECONDS"
# Two classes of 30 with one place each: a second room sharing the server still fits.
DEFAULT_LENGTH = 60
# Half as long again as the longest training config lets a student set up (at the slowest pace
# measured): a busy server may train slower than measured.
DEFAULT_SECONDS = MAX_TRAINING_SECONDS * 3 // 2


def _setting(name: str, default: int) -> int:
    """The environment's `name` if set, else `default`: a whole number of at least 1."""
    if not os.environ.get(name):
        return default
    try:
        value = int(os.environ[name])
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {os.environ[name]!r}")
    return value


def default_size() -> int:
    """DEEPVIZ_TRAINING_SLOTS if set, else one training per two cores (at least one)."""
    return _setting(SLOTS_ENV, max(1, (os.cpu_count() or 1) // 2))


def queue_from_settings() -> TrainingQueue:
    """The line a server's settings ask for (ValueError names a bad one): DEEPVIZ_TRAINING_SLOTS,
    DEEPVIZ_TRAINING_LINE (most trainings waiting) and DEEPVIZ_MAX_TRAINING_SECONDS."""
    return TrainingQueue(default_size(), _setting(LENGTH_ENV, DEFAULT_LENGTH), _setting(SECONDS_ENV, DEFAULT_SECONDS))


class QueueError(Exception):
    """Why a training has no place in line; the message says so, for the student."""


class Ticket:
    """One place in line; `TrainingQueue.position` says where it stands."""

    def __init__(self, owner: object = None):
        self.owner = owner


class TrainingQueue:
    """`size` trainings at once, at most `length` waiting; `time_limit`: the most seconds a
    student's training may hold its slot, which the training enforces (TrainingRun's time_limit).
    The server's own default model, a preset of a minute or two, trains to its end: cut short, a
    partly trained model would be kept in the cache folder as the default for good."""

    def __init__(self, size: int, length: int = DEFAULT_LENGTH, time_limit: float | None = None):
        self.size = size
        self.length = length
        self.time_limit = time_limit
        self._changed = threading.Condition()
        self._running: set[Ticket] = set()
        self._waiting: list[Ticket] = []

    def join(self, owner: object = None) -> Ticket:
        """A place at the end of the line; QueueError when `length` trainings wait already.

        An `owner` (a session) has one place at most: a second training of the same owner takes
        the first one's place while that one waits, and its wait ends in QueueError. A student
        who presses Train again wants the new settings trained, not both, and no later than the
        first; a page's rerun stops the first anyway. Once the first is running, the second
        waits at the end like anyone's: the first had its turn."""
        ticket = Ticket(owner)
        with self._changed:
            mine = [index for index, other in enumerate(self._waiting) if owner is not None and other.owner == owner]
            if mine:
                self._waiting[mine[0]] = ticket
            elif len(self._waiting) >= self.length:
                raise QueueError(
                    f"The training line is full: {plural(self.length, 'training')} waiting for this server's "
                    f"{plural(self.size, 'training slot')}. Try again in a few minutes"
                )
            else:
                self._waiting.append(ticket)
            self._promote()
        return ticket

    def position(self, ticket: Ticket) -> int:
        """0 while the ticket's training may run, k for the k-th in line; -1 once it has left."""
        with self._changed:
            if ticket in self._running:
                return 0
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else -1

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        """True once the ticket may run; False if `timeout` seconds passed first, or once it has
        no place (left, or taken by its owner's next training: `position` says -1)."""
        with self._changed:
            self._changed.wait_for(lambda: ticket in self._running or ticket not in self._waiting, timeout)
            return ticket in self._running

    def leave(self, ticket: Ticket) -> None:
        """Give up the slot or the place in line; the next in line moves up. Idempotent."""
        with self._changed:
            self._running.discard(ticket)
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._promote()

    @property
    def busy(self) -> tuple[int, int]:
        """(trainings running, trainings waiting)."""
        with self._changed:
            return len(self._running), len(self._waiting)

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.size:
            self._running.add(self._waiting.pop(0))
        self._changed.notify_all()

    @contextmanager
    def slot(self, waiting=None, poll: float = 0.5, owner: object = None) -> Iterator[None]:
        """Hold a slot for the block's duration; while in line, call `waiting(position)` every
        `poll` seconds. Whatever ends the block or the wait (an exception from `waiting`
        included, such as a page's rerun) gives the slot or the place back. QueueError when
        there is no place in line (see `join`)."""
        ticket = self.join(owner)
        try:
            while not self.wait(ticket, poll):
                position = self.position(ticket)
                if position < 0:
                    raise QueueError("A newer training from this session took this one's place in line")
                if waiting:
                    waiting(position)
            yield
        finally:
            self.leave(ticket)
