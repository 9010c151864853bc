"""The retry policy for calls to another replica (tenacity): ``attempts`` tries, waiting
``first_wait_s`` before the second and doubling up to ``MAX_WAIT_S``. An error in the input
(:class:`~serve_app.errors.AppError`) and a cancellation are never retried."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from serve_app.errors import AppError

MAX_WAIT_S = 8.0


def _retryable(exc: BaseException) -> bool:
    # CancelledError is a BaseException, not an Exception: it goes straight through.
    return isinstance(exc, Exception) and not isinstance(exc, AppError)


def replica_calls(
    attempts: int,
    first_wait_s: float,
    before_sleep: Callable[[RetryCallState], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """``async for attempt in replica_calls(...): with attempt: ...``; after the last
    attempt (or a non-retryable error) the call's own exception is raised."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=first_wait_s, max=MAX_WAIT_S),
        retry=retry_if_exception(_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
