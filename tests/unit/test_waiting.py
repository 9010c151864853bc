"""The tests' deadline polls (tests/waiting.py) return the first truthy value, and on timeout
fail with what they waited for."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.waiting import await_until, wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    values = iter([0, [], "ready"])
    assert wait_until(lambda: next(values), timeout=5, interval=0) == "ready"


def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(
        AssertionError, match=r"after 0.05 s waiting for the job to finish \(last: 0\)"
    ):
        wait_until(lambda: 0, timeout=0.05, interval=0.01, what="the job to finish")

    def chunk_running() -> bool:
        """a chunk to be running"""
        return False

    with pytest.raises(AssertionError, match="waiting for a chunk to be running"):
        wait_until(chunk_running, timeout=0.02, interval=0.01)
    with pytest.raises(AssertionError, match=r"waiting for .*lambda: \[\]"):
        wait_until(lambda: [], timeout=0.02, interval=0.01)


def test_await_until_awaits_coroutine_predicates() -> None:
    counter = itertools.count()

    async def third_call() -> int:
        return next(counter) >= 2 and 7

    assert asyncio.run(await_until(third_call, timeout=5, interval=0)) == 7
    with pytest.raises(AssertionError, match="waiting for nothing"):
        asyncio.run(await_until(lambda: None, timeout=0.02, what="nothing"))
