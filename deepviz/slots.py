"""A line for training: at most `size` trainings run at once on a server, first come first served.

Training takes all the cores it can get; thirty students pressing Train together would
otherwise slow every drawing to a crawl and could run the server out of memory. Everyone
else waits in line, sees their place, and can leave it at any time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS_ENV = "DEEPVIZ_TRAINING_SLOTS"


def default_size() -> int:
    """DEEPVIZ_TRAINING_SLOTS if set, else one training per two cores (at least one)."""
    if os.environ.get(SLOTS_ENV):
        try:
            size = int(os.environ[SLOTS_ENV])
        except ValueError:
            size = 0
        if size < 1:
            raise ValueError(f"{SLOTS_ENV} must be a whole number of at least 1, got {os.environ[SLOTS_ENV]!r}")
        return size
    return max(1, (os.cpu_count() or 1) // 2)


class Ticket:
    """One place in line; `SlotLine.position` says where it stands."""


class SlotLine:
    def __init__(self, size: int):
        self.size = size
        self._changed = threading.Condition()
        self._running: set[Ticket] = set()
        self._waiting: list[Ticket] = []

    def join(self) -> Ticket:
        ticket = Ticket()
        with self._changed:
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
        """True once the ticket may run; False if `timeout` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: ticket in self._running, timeout)

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
    def slot(self, waiting=None, poll: float = 0.5) -> Iterator[None]:
        """Hold a slot for the block's duration; while in line, call `waiting(position)` every
        `poll` seconds. Whatever ends the block or the wait (an exception from `waiting`
        included, such as a page's rerun) gives the slot or the place back."""
        ticket = self.join()
        try:
            while not self.wait(ticket, poll):
                if waiting:
                    waiting(self.position(ticket))
            yield
        finally:
            self.leave(ticket)
