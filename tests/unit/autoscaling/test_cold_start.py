"""A synchronous request to a deployment scaled to zero: 'starting', or the answer."""

from __future__ import annotations

import asyncio

import pytest

from serve_app.autoscaling.cold_start import StartingError, await_or_starting


async def answer(after_s: float, value: str = "text") -> str:
    await asyncio.sleep(after_s)
    return value


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_cold_deployment_answers_starting_and_withdraws_the_request():
    cancelled: list[bool] = []

    async def cold() -> bool:
        return True

    async def scenario() -> None:
        with pytest.raises(StartingError) as info:
            await await_or_starting(
                answer(5.0),
                what="re-transcriber",
                is_cold=cold,
                wait_s=0.05,
                retry_after_s=42,
                cancel=lambda: cancelled.append(True),
            )
        error = info.value
        assert error.status_code == 503 and error.code == "starting"
        assert error.retry_after_s == 42 and "re-transcriber is starting" in error.message

    run(scenario())
    assert cancelled == [True]


def test_warm_but_slow_deployment_is_awaited_to_the_end():
    async def warm() -> bool:
        return False

    result = run(
        await_or_starting(
            answer(0.2), what="x", is_cold=warm, wait_s=0.01, retry_after_s=1, cancel=None
        )
    )
    assert result == "text"


def test_fast_answer_never_asks_whether_cold():
    asked: list[bool] = []

    async def cold() -> bool:
        asked.append(True)
        return True

    result = run(
        await_or_starting(answer(0.0, "ok"), what="x", is_cold=cold, wait_s=1.0, retry_after_s=1)
    )
    assert result == "ok" and asked == []


def test_starting_maps_to_503_with_retry_after():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from serve_app.http.errors import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    async def route() -> None:
        raise StartingError.for_deployment("diarizer", 60)

    response = TestClient(app).get("/x")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.json()["code"] == "starting"
