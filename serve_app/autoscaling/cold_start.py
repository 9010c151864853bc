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
from collections.abc import AsyncIterator, Awaitable, Callable
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


LLM_STARTING_WAIT_S = 10.0
"""How long a chat request waits for a cold LLM before answering "starting"."""
LLM_EXPECTED_START_S = 120
"""``Retry-After`` of that answer: an LLM replica loads its weights for minutes on a GPU."""


def llm_deployment_name(server_cls: str | None, model_id: str) -> str:
    """The Serve deployment ``ray.serve.llm.build_llm_deployment`` names for ``model_id``:
    ``<server class name>:<model id, '/' -> '--', '.' -> '_'>``."""
    cls = (server_cls or "LLMServer").rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    return f"{cls}:{model_id.replace('/', '--').replace('.', '_')}"


class LLMColdStart:
    """The "starting" answer for the LLM routes (chat, OpenAI chat, summary submission) when
    the LLM deployments scale to zero (``llm.autoscaling.min_replicas: 0``).

    Chat awaits the answer through :func:`await_or_starting` (the request, queued in the
    handles, is what starts a replica). A summary is a job: its submission is answered
    "starting" at once when the model has no running replica, after a ``check_health``
    call to that deployment is queued so that the replica starts and the retry finds it."""

    what = "LLM"

    def __init__(
        self,
        settings: Any,
        *,
        app: str | None = None,
        wait_s: float = LLM_STARTING_WAIT_S,
        retry_after_s: int = LLM_EXPECTED_START_S,
        replicas: Callable[[str], Awaitable[int]] | None = None,
        wake: Callable[[str], None] | None = None,
    ) -> None:
        autoscaling = getattr(settings, "autoscaling", None)
        self.enabled = bool(
            settings.enabled and autoscaling is not None and autoscaling.min_replicas == 0
        )
        self._settings = settings
        self._app = app
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self._replicas = replicas or (lambda name: running_replicas(name, self._app))
        self._wake = wake or self._queue_health_check
        self._waking: dict[str, Any] = {}  # deployment -> its queued check_health response

    def deployment(self, model: str | None) -> str | None:
        """The deployment that serves ``model`` (a name or alias; None: the default), or
        None for a name the assistant will reject itself."""
        try:
            model_id = self._settings.resolve_name(model)
        except KeyError:
            return None
        return llm_deployment_name(self._settings.server_cls, model_id)

    async def _is_cold(self, deployment: str) -> bool:
        return await self._replicas(deployment) == 0

    async def call(self, model: str | None, response: Awaitable[T]) -> T:
        """``await response`` (a chat answer), or :class:`StartingError` if the model's
        deployment is still cold after ``wait_s``."""
        deployment = self.deployment(model) if self.enabled else None
        if deployment is None:
            return await response
        return await await_or_starting(
            response,
            what=self.what,
            is_cold=lambda: self._is_cold(deployment),
            wait_s=self.wait_s,
            retry_after_s=self.retry_after_s,
            cancel=getattr(response, "cancel", None),
        )

    def stream(self, model: str | None, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        """``stream`` whose first item is awaited as :meth:`call` awaits an answer."""

        async def guarded() -> AsyncIterator[T]:
            iterator = aiter(stream)
            try:
                first = await self.call(model, anext(iterator))
            except StopAsyncIteration:
                return
            yield first
            async for item in iterator:
                yield item

        return guarded()

    async def check_ready(self, model: str | None) -> None:
        """Raise :class:`StartingError` if ``model``'s deployment has no running replica
        (and have one started); a warm or non-scaling LLM passes."""
        deployment = self.deployment(model) if self.enabled else None
        if deployment is None or not await self._is_cold(deployment):
            return
        self._wake(deployment)
        raise StartingError.for_deployment(self.what, self.retry_after_s)

    def _queue_health_check(self, deployment: str) -> None:
        from ray import serve

        app = self._app or serve.get_replica_context().app_name
        handle = serve.get_deployment_handle(deployment, app)
        # Kept, so the request stays queued in the handle until a replica is up.
        self._waking[deployment] = handle.check_health.remote()
