"""A job's changes on their way to the database: one immutable unit per change, committed
in the order the changes were made.

A change to a job (a chunk result, a status, a lease) is made in memory on the store's
event loop and then committed on a worker thread. The unit of commit is taken *when the
change is made*: a copy of the job's row, the rows the change writes (chunk result,
segments, events) and the ``seq`` of its last event. Committing it later therefore writes
that change and nothing of the ones made since, so a store killed between two commits
leaves a database in which each change is whole or absent.

Units of one job are committed one at a time, oldest first. A unit that fails (the
database is away) stays first in line: the call that made it gets the error after a few
tries, and the store's sweeper retries the job's queue until it goes through, so a change
that nothing follows (a job's final status) still reaches the database.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serve_app.jobs.model import Job

Write = tuple[Callable[..., Any], tuple[Any, ...]]


@dataclass(frozen=True)
class Commit:
    """One change of one job, as it was when it was made."""

    number: int
    """Position in the job's sequence of changes (1, 2, ...)."""
    row: Job
    """A copy of the job's row after the change."""
    writes: tuple[Write, ...]
    """Database writes of the rows the change added or replaced (their arguments copied)."""
    upto: int
    """The ``seq`` of the job's last event once this change is committed."""

    def apply(self, db: Any) -> None:
        """Write the unit in one transaction (on the store's worker thread). Every write is
        idempotent, so a unit tried again after a lost acknowledgement changes nothing."""
        with db.transaction():
            for fn, args in self.writes:
                fn(*args)
            db.save_job(self.row)


def frozen_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with lists and dicts copied: later changes to the live ones (a transcript
    that grows) must not reach a unit made before them."""
    return tuple(
        list(a) if isinstance(a, list) else dict(a) if isinstance(a, dict) else a for a in args
    )


class CommitQueue:
    """The units of one job not yet committed, and the lock that keeps them in order."""

    __slots__ = ("_lock", "made", "pending")

    def __init__(self) -> None:
        self.pending: deque[Commit] = deque()
        self.made = 0
        self._lock: asyncio.Lock | None = None

    def add(self, row: Job, writes: list[Write], upto: int) -> Commit:
        """A unit of the change just made (``row`` is copied here)."""
        self.made += 1
        # Through JSON: the row as it will be stored, and ~7x faster than a deep copy
        # (5 ms against 36 ms for a job of 500 chunks and 3000 speaker turns).
        frozen = Job.model_validate_json(row.model_dump_json())
        unit = Commit(self.made, frozen, tuple(writes), upto)
        self.pending.append(unit)
        return unit

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def waiting(self, upto: int | None) -> Commit | None:
        """The next unit to commit, while units up to number ``upto`` (None: all) wait."""
        if self.pending and (upto is None or self.pending[0].number <= upto):
            return self.pending[0]
        return None
