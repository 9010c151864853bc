"""Realtime ASR requests go before file-job chunks that a replica already holds: the
replica's :class:`~serve_app.asr.batcher.Batcher` against a model of what it must do, on
interleavings of submissions and finished passes that Hypothesis draws (the race: requests
arrive while a pass runs, and the next batch is taken the moment it ends)."""

from __future__ import annotations

import asyncio
import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from serve_app.asr.batcher import FILE_JOB_PRIORITY, REALTIME_PRIORITY, Batcher

Op = tuple[str, int]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from([REALTIME_PRIORITY, FILE_JOB_PRIORITY])),
        st.tuples(st.just("pass"), st.just(0)),
    ),
    max_size=40,
)


def expected_batches(ops: list[Op], max_size: int) -> list[list[int]]:
    """The batches (item numbers) a priority batcher forms: an idle worker takes a request
    at once; when a pass ends, the next batch is the ``max_size`` most urgent queued ones
    (priority, then arrival)."""
    queue: list[tuple[int, int]] = []
    batches: list[list[int]] = []
    busy = False
    n = 0

    def take() -> bool:
        if not queue:
            return False
        batches.append([heapq.heappop(queue)[1] for _ in range(min(max_size, len(queue)))])
        return True

    for op, priority in ops:
        if op == "submit":
            heapq.heappush(queue, (priority, n))
            n += 1
            if not busy:
                busy = take()
        elif busy:
            busy = take()
    while busy:
        busy = take()
    return batches


async def run_ops(ops: list[Op], max_size: int) -> tuple[list[list[int]], dict[int, int]]:
    running: list[asyncio.Future[None]] = []  # the pass in progress, ended by the test
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        batches.append(list(items))
        running.append(asyncio.get_running_loop().create_future())
        await running[-1]
        return [item * 100 for item in items]

    def end_pass() -> None:
        if running and not running[-1].done():
            running[-1].set_result(None)

    batcher: Batcher[int, int] = Batcher(run, max_size=max_size, wait_s=0.0)

    async def settle() -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    tasks: dict[int, asyncio.Task[int]] = {}
    for op, priority in ops:
        if op == "submit":
            n = len(tasks)
            tasks[n] = asyncio.create_task(batcher.submit(n, priority))
        else:
            end_pass()  # a pass ending while none runs is a no-op, as in the model
        await settle()
    while not all(t.done() for t in tasks.values()):
        end_pass()
        await settle()
    return batches, {n: t.result() for n, t in tasks.items()}


@settings(max_examples=150, deadline=None)
@given(ops=OPS, max_size=st.integers(1, 3))
def test_batches_take_realtime_requests_first(ops: list[Op], max_size: int) -> None:
    batches, results = asyncio.run(run_ops(ops, max_size))
    assert batches == expected_batches(ops, max_size)
    # every request answered once, with its own result
    assert results == {n: n * 100 for n in results}
    assert sorted(i for b in batches for i in b) == list(results)


def test_a_realtime_request_overtakes_queued_file_chunks() -> None:
    ops: list[Op] = [("submit", FILE_JOB_PRIORITY)] * 4 + [("submit", REALTIME_PRIORITY)]
    batches, _ = asyncio.run(run_ops(ops, max_size=1))
    # chunk 0 was already being decoded; the realtime request (4) comes next
    assert batches == [[0], [4], [1], [2], [3]]


def test_without_priorities_the_order_is_arrival() -> None:
    ops: list[Op] = [("submit", FILE_JOB_PRIORITY)] * 5
    batches, _ = asyncio.run(run_ops(ops, max_size=2))
    assert batches == [[0], [1, 2], [3, 4]]
