"""Waiting for a condition with a deadline, instead of sleeping a fixed time and hoping.

``wait_until`` (threads, blocking calls) and ``await_until`` (inside an event loop) call
``predicate`` every ``interval`` seconds until it returns something truthy, and return that;
past ``timeout`` they fail the test with a message that says what was awaited (``what``,
else the predicate's docstring, name or source line) and its last value.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def describe(predicate: Callable[..., Any]) -> str:
    """A readable name for a predicate: its docstring, its name, or (a lambda) its source."""
    doc = inspect.getdoc(predicate)
    if doc:
        return doc.splitlines()[0]
    name = getattr(predicate, "__name__", "")
    if name and name != "<lambda>":
        return name
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return repr(predicate)


def _timed_out(predicate: Callable[..., Any], what: str | None, timeout: float, last: Any) -> str:
    return (
        f"timed out after {timeout:g} s waiting for {what or describe(predicate)} (last: {last!r})"
    )


def wait_until(
    predicate: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """``predicate()``'s first truthy value, polled every ``interval`` s for ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(predicate, what, timeout, value))
        time.sleep(interval)


async def await_until(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 30.0,
    interval: float = 0.01,
    what: str = "",
) -> T:
    """As ``wait_until``, without blocking the loop; ``predicate`` may be a coroutine
    function (its result is awaited)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(_timed_out(predicate, what, timeout, value))
        await asyncio.sleep(interval)
