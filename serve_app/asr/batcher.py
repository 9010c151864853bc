"""Dynamic batching that fills a batch from what queued while the previous one ran, most
urgent first.

``@serve.batch`` closes a batch ``batch_wait_timeout_s`` after its first request, whether or
not the previous batch has finished; the closed batch then waits for its turn. Where one
pass takes seconds (Whisper on a CPU) and chunks arrive one by one, its batches held one
chunk each (mean 1.00-1.08 in ``bench/profile_job.py``), so nothing was batched. Here the
next batch is taken only when the worker is free: every request that queued meanwhile goes
in it, up to ``max_size``. An idle worker still waits ``wait_s`` after a first request, so
requests sent together are decoded together.

Each request has a priority (lower is sooner): a batch takes the
queued requests in order of priority, then of arrival, so a realtime session's utterance
is decoded before file-job chunks that queued earlier on the same replica.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

REALTIME_PRIORITY = 0
"""ASR requests of a realtime session (someone is waiting for the words as they speak)."""
FILE_JOB_PRIORITY = 10
"""ASR requests of file jobs and everything else."""

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """``submit`` one item, get its result; ``run`` gets lists of at most ``max_size`` items
    and returns one result (or exception, raised to that item's caller) per item."""

    def __init__(
        self,
        run: Callable[[list[Item]], Awaitable[list[Result | BaseException]]],
        max_size: int,
        wait_s: float,
    ) -> None:
        self._run, self._max_size, self._wait_s = run, max_size, wait_s
        # (priority, arrival, item, future): the arrival number keeps equal priorities FIFO
        # and means items and futures are never compared.
        self._queue: asyncio.PriorityQueue[tuple[int, int, Item, asyncio.Future[Result]]] = (
            asyncio.PriorityQueue()
        )
        self._arrivals = itertools.count()
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: Item, priority: int = FILE_JOB_PRIORITY) -> Result:
        """``item``'s result; lower ``priority`` values are decoded first."""
        if self._worker is None or self._worker.done():
            # A fresh context: the worker serves every caller, not the first one's request.
            self._worker = asyncio.get_running_loop().create_task(
                self._work(), context=contextvars.Context()
            )
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((priority, next(self._arrivals), item, future))
        return await future

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._max_size > 1 and self._queue.empty() and self._wait_s > 0:
                await asyncio.sleep(self._wait_s)  # idle: let requests sent together join
            while len(batch) < self._max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [entry for entry in batch if not entry[3].cancelled()]
            if not batch:
                continue
            try:
                results = await self._run([item for _, _, item, _ in batch])
            except Exception as exc:  # the whole pass failed: every item gets the error
                results = [exc] * len(batch)
            for (_, _, _, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
