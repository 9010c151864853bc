"""The ASR replicas' batcher: batches fill from what queued while the previous pass ran."""

import asyncio

import pytest

from serve_app.asr.batcher import Batcher
from tests.waiting import await_until


def test_requests_that_queue_during_a_pass_form_the_next_batch():
    passes: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        passes.append(items)
        await asyncio.sleep(0.2)  # a slow pass, as Whisper on a CPU
        return [i * 10 for i in items]

    async def main() -> list[int]:
        batcher: Batcher[int, int] = Batcher(run, max_size=4, wait_s=0.01)
        first = asyncio.create_task(batcher.submit(0))
        await await_until(lambda: passes, timeout=5, what="the first pass to run")
        later = []
        for i in range(1, 6):  # arrive one by one while it runs
            later.append(asyncio.create_task(batcher.submit(i)))
            await asyncio.sleep(0.02)
        return await asyncio.gather(first, *later)

    results = asyncio.run(main())
    assert results == [0, 10, 20, 30, 40, 50]
    assert passes[0] == [0]
    assert passes[1] == [1, 2, 3, 4], "the next pass takes what queued, up to max_size"
    assert passes[2] == [5]


def test_one_items_error_reaches_only_its_caller_and_a_failed_pass_reaches_all():
    async def run(items: list[int]) -> list[int | BaseException]:
        if 99 in items:
            raise RuntimeError("pass failed")
        return [ValueError("bad") if i < 0 else i for i in items]

    async def main() -> None:
        batcher: Batcher[int, int] = Batcher(run, max_size=2, wait_s=0.05)
        good, bad = await asyncio.gather(
            batcher.submit(1), batcher.submit(-1), return_exceptions=True
        )
        assert good == 1 and isinstance(bad, ValueError)
        with pytest.raises(RuntimeError, match="pass failed"):
            await batcher.submit(99)
        assert await batcher.submit(2) == 2  # the worker survives a failed pass

    asyncio.run(main())
