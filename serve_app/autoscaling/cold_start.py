"""A request to a deployment scaled to zero: wait for the cold start, or say "starting".

Serve queues a request for a deployment with no replica in the caller's handle and tells
the controller at once, which starts one (``min_replicas: 0`` in the config). A job's
background work simply waits for it. A synchronous HTTP route cannot hold its client for a
cold start of minutes (a GPU model loading): it waits ``wait_s``, and if the deployment
still has no running replica it withdraws the request (still queued in the handle, never
run) and answers 503 ``starting`` with ``Retry-After``. The replica keeps starting; the
client's retry finds it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from serve_app.errors import OverloadedError

T = TypeVar("T")
logger = logging.getLogger("ray.serve")


class StartingError(OverloadedError):
    """The deployment that would answer was scaled to zero and is starting again."""

    code = "starting"

    def __init__(self, message: str, retry_after_s: int = 30) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @classmethod
    def for_deployment(cls, what: str, retry_after_s: int) -> StartingError:
        return cls(
            f"The {what} is starting (scaled to zero while idle); retry in about {retry_after_s} s",
            retry_after_s,
        )


async def await_or_starting(
    response: Awaitable[T],
    *,
    what: str,
    is_cold: Callable[[], Awaitable[bool]],
    wait_s: float,
    retry_after_s: int,
    cancel: Callable[[], Any] | None = None,
) -> T:
    """``await response``; if it is not done after ``wait_s`` and ``is_cold()`` (no running
    replica), ``cancel()`` it and raise :class:`StartingError`. A warm deployment that is
    merely slow is awaited to the end."""
    task: asyncio.Future[T] = asyncio.ensure_future(response)
    done, _ = await asyncio.wait({task}, timeout=wait_s)
    if not done and await is_cold():
        if cancel is not None:
            cancel()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise StartingError.for_deployment(what, retry_after_s)
    return await task


async def running_replicas(deployment: str, app: str | None = None) -> int:
    """Running replicas of ``deployment`` in ``app`` (this replica's app when None), from
    the Serve controller's status."""
    from ray import serve

    def count() -> int:
        name = app or serve.get_replica_context().app_name
        status = serve.status().applications.get(name)
        if status is None or deployment not in status.deployments:
            return 0
        states: dict[Any, int] = dict(status.deployments[deployment].replica_states)
        return int(states.get("RUNNING", 0))

    return await asyncio.to_thread(count)


class ColdStartGuard:
    """``await_or_starting`` for one deployment, from its config: a deployment that never
    scales to zero is simply awaited."""

    def __init__(self, deployment: str, what: str, options: Any) -> None:
        self.deployment = deployment
        self.what = what
        self.enabled = bool(options.scales_to_zero)
        self.wait_s = float(options.starting_wait_s)
        self.retry_after_s = int(options.expected_start_s)

    async def __call__(self, response: Any) -> Any:
        if not self.enabled:
            return await response

        async def is_cold() -> bool:
            return await running_replicas(self.deployment) == 0

        return await await_or_starting(
            response,
            what=self.what,
            is_cold=is_cold,
            wait_s=self.wait_s,
            retry_after_s=self.retry_after_s,
            cancel=getattr(response, "cancel", None),
        )


async def note_if_cold(deployment: str, after_s: float, note: Callable[[], Awaitable[Any]]) -> bool:
    """After ``after_s`` (the caller cancels this once an answer came), call ``note()`` if
    ``deployment`` has no running replica: a job waiting for a cold start says so."""
    await asyncio.sleep(after_s)
    try:
        if await running_replicas(deployment) > 0:
            return False
        await note()
    except Exception:  # a status note is never worth failing the job for
        logger.warning("could not tell whether %s is starting", deployment, exc_info=True)
        return False
    return True
