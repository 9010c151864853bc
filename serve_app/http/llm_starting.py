"""The LLM routes' "starting" answer: ``app.state.llm_starting`` (an
:class:`~serve_app.autoscaling.cold_start.LLMColdStart`, set by the Serve ingress when the
LLM scales to zero) guards chat answers and summary submissions; without it the routes call
the assistant as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, Protocol, TypeVar, runtime_checkable

from fastapi import Depends
from starlette.requests import HTTPConnection

T = TypeVar("T")


@runtime_checkable
class ColdStartGuard(Protocol):
    """What ``LLMColdStart`` offers the routes (http imports no autoscaling code)."""

    async def call(self, model: str | None, response: Awaitable[T]) -> T: ...

    def stream(self, model: str | None, stream: AsyncIterator[T]) -> AsyncIterator[T]: ...

    async def check_ready(self, model: str | None) -> None: ...


class LLMStarting:
    """What a route calls: pass-throughs when the LLM never scales to zero."""

    def __init__(self, guard: ColdStartGuard | None) -> None:
        self._guard = guard

    async def call(self, model: str | None, response: Awaitable[T]) -> T:
        return await (response if self._guard is None else self._guard.call(model, response))

    def stream(self, model: str | None, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        return stream if self._guard is None else self._guard.stream(model, stream)

    async def check_ready(self, model: str | None) -> None:
        if self._guard is not None:
            await self._guard.check_ready(model)


def get_llm_starting(conn: HTTPConnection) -> LLMStarting:
    guard: Any = getattr(conn.app.state, "llm_starting", None)
    return LLMStarting(guard if isinstance(guard, ColdStartGuard) else None)


LLMStartingDep = Annotated[LLMStarting, Depends(get_llm_starting)]
