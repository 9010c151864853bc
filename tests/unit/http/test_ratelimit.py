"""The per-caller rate limit (the `limits` library), in one replica's memory and in a
real Redis (Debian's redis-server on loopback, tests/services.py) that two ingress
replicas share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, RateLimitConfig
from serve_app.http.factory import create_http_app
from serve_app.http.ratelimit import RateLimiter
from tests.services import free_port, redis_server
from tests.unit.http.test_routes import StoreOnlyBackend


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def _takes(limiter: RateLimiter, caller: str, n: int) -> list[float]:
    async def run() -> list[float]:
        return [await limiter.take(caller) for _ in range(n)]

    return asyncio.run(run())


def test_a_burst_then_a_wait_until_the_window_frees_a_request():
    limiter = RateLimiter(RateLimitConfig(requests_per_s=2, burst=4))  # 4 in any 2 s
    waits = _takes(limiter, "alice", 5)
    assert waits[:4] == [0, 0, 0, 0] and 1.5 < waits[4] <= 2.0
    assert _takes(limiter, "bob", 1) == [0]  # per caller


def test_the_window_is_whole_seconds_at_least_the_burst_over_the_rate():
    assert RateLimiter(RateLimitConfig(requests_per_s=20, burst=60)).item.get_expiry() == 3
    assert RateLimiter(RateLimitConfig(requests_per_s=0.5, burst=3)).item.get_expiry() == 6
    assert RateLimiter(RateLimitConfig(requests_per_s=100, burst=5)).item.get_expiry() == 1


def test_memory_counts_are_per_replica():
    config = RateLimitConfig(requests_per_s=1, burst=2)
    first, second = RateLimiter(config), RateLimiter(config)
    assert _takes(first, "alice", 3)[2] > 0
    assert _takes(second, "alice", 1) == [0]  # why clusters configure redis://


def test_two_replicas_on_one_redis_share_one_window(redis_url):
    config = RateLimitConfig(requests_per_s=1, burst=3, storage_uri=redis_url)
    first, second = RateLimiter(config), RateLimiter(config)
    assert _takes(first, "carol", 2) == [0, 0]
    assert _takes(second, "carol", 1) == [0]
    wait = _takes(second, "carol", 1)[0]
    assert 2.0 < wait <= 3.0
    assert _takes(first, "carol", 1)[0] > 0
    assert _takes(first, "dave", 1) == [0]


def _replicas(tmp_path, config: IngressConfig, n: int = 2) -> list[TestClient]:
    return [
        TestClient(create_http_app(StoreOnlyBackend(), ModelRegistry(tmp_path), config))
        for _ in range(n)
    ]


def test_two_ingress_apps_on_one_redis_answer_429_together(redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RATE_TEST_KEYS", "alice=sk-alice-0123,bob=sk-bob-4567")
    config = IngressConfig(
        auth=AuthConfig(enabled=True, keys_env="RATE_TEST_KEYS"),
        rate_limit=RateLimitConfig(requests_per_s=0.5, burst=3, storage_uri=redis_url),
    )
    replicas = _replicas(tmp_path, config)
    alice, bob = {"Authorization": "Bearer sk-alice-0123"}, {"Authorization": "Bearer sk-bob-4567"}
    # One key's requests, alternating between the replicas (a load balancer's turns).
    codes = [
        replicas[i % 2].get("/api/transcribe/jobs", headers=alice).status_code for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    r = replicas[0].get("/api/transcribe/jobs", headers=alice)
    assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
    assert replicas[1].get("/api/transcribe/jobs", headers=bob).status_code == 200  # per key


def test_without_auth_each_browser_has_its_own_window_on_every_replica(redis_url, tmp_path):
    config = IngressConfig(
        auth=AuthConfig(local_key_file=str(tmp_path / "local-key")),
        rate_limit=RateLimitConfig(requests_per_s=0.5, burst=3, storage_uri=redis_url),
    )
    replicas = _replicas(tmp_path, config)
    # The browser's first request gets its anonymous identity; both replicas accept it.
    assert replicas[0].get("/api/transcribe/jobs").status_code == 200
    replicas[1].cookies = replicas[0].cookies
    codes = [replicas[i % 2].get("/api/transcribe/jobs").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another browser on the same address is not held back by the first one's requests.
    other = _replicas(tmp_path, config, 1)[0]
    assert [other.get("/api/transcribe/jobs").status_code for _ in range(3)] == [200] * 3


def test_an_unreachable_storage_does_not_stop_requests(caplog):
    config = RateLimitConfig(
        requests_per_s=1, burst=1, storage_uri=f"redis://127.0.0.1:{free_port()}/0"
    )
    limiter = RateLimiter(config)
    with caplog.at_level(logging.WARNING, logger="ray.serve"):
        assert _takes(limiter, "alice", 3) == [0, 0, 0]
    warnings = [r for r in caplog.records if "rate limit storage unavailable" in r.message]
    assert len(warnings) == 1  # once a minute, not once a request


def test_an_unknown_storage_is_a_config_error():
    with pytest.raises(ValidationError, match="unknown rate limit storage 'redsi://x'"):
        RateLimitConfig(storage_uri="redsi://x")
    with pytest.raises(ValidationError, match="unknown rate limit storage"):
        RateLimitConfig(storage_uri="async+memory://")
