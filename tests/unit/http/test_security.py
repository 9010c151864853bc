"""Secure defaults of the HTTP layer (issue 28, "Security"), on the plain FastAPI app with the
real in-process job store: no cross-origin reads, a Host allow-list against DNS rebinding,
anonymous callers that are not admin and see only their own jobs, the JSON size limit with
any Content-Type, live-stream budgets, and text-only chat content."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from serve_app.asr.registry import ModelRegistry
from serve_app.config import AuthConfig, IngressConfig, LiveStreamsConfig
from serve_app.http.factory import create_http_app
from serve_app.jobs.model import JobStatus
from tests.unit.http.test_routes import WAV, StoreOnlyBackend

EVIL = "https://evil.example"
BASE = "http://127.0.0.1:8000"


def settings(tmp_path: Path, **values) -> IngressConfig:
    auth = values.pop("auth", {})
    return IngressConfig(
        ws_poll_timeout_s=0.2,
        auth=AuthConfig(local_key_file=str(tmp_path / "local-key"), **auth),
        **values,
    )


@pytest.fixture
def backend():
    return StoreOnlyBackend()


@pytest.fixture
def app(backend, tmp_path):
    return create_http_app(backend, ModelRegistry(tmp_path), settings(tmp_path))


def browser(app, base_url: str = BASE) -> TestClient:
    """One browser: its own cookie jar."""
    return TestClient(app, base_url=base_url, raise_server_exceptions=False)


def submit(client: TestClient, **kwargs) -> str:
    r = client.post("/api/transcribe/", files={"file": ("a.wav", WAV)}, **kwargs)
    assert r.status_code == 200, r.text
    return str(r.json()["job_id"])


# ---- finding 1: cross-origin reads, DNS rebinding, anonymous admin --------------------------


def test_no_wildcard_cors_and_foreign_origins_are_refused(app):
    client = browser(app)
    r = client.get("/health", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in r.headers
    assert r.status_code == 403 and r.json()["code"] == "forbidden_origin"
    preflight = client.options(
        "/api/transcribe/jobs",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 403
    for method, path in (("GET", "/api/transcribe/jobs"), ("POST", "/api/transcribe/")):
        r = client.request(method, path, headers={"Origin": EVIL})
        assert r.status_code == 403, (method, path, r.status_code)
    # the server's own page (same origin) and clients that send no Origin
    assert client.get("/health", headers={"Origin": BASE}).status_code == 200
    assert client.get("/api/transcribe/jobs").status_code == 200


def test_configured_origins_get_cors_headers(backend, tmp_path):
    app = create_http_app(
        backend,
        ModelRegistry(tmp_path),
        settings(tmp_path, cors_origins=["https://app.example.com"]),
    )
    client = browser(app)
    r = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert client.get("/health", headers={"Origin": EVIL}).status_code == 403


def test_wildcard_origin_is_a_config_error_even_with_auth_off():
    with pytest.raises(ValidationError, match="cors_origins"):
        IngressConfig(cors_origins=["*"])
    assert IngressConfig().cors_origins == []


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example:8000", "", "[::2]:8000"]
)
def test_foreign_host_is_refused(app, host):
    client = browser(app)
    for path in ("/health", "/", "/api/transcribe/jobs"):
        r = client.get(path, headers={"Host": host, "Accept": "text/html"})
        assert r.status_code == 421, (host, path, r.status_code)
        assert r.json()["code"] == "misdirected_request"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST:8000", "localhost"]
)
def test_loopback_names_are_served(app, host):
    assert browser(app).get("/health", headers={"Host": host}).status_code == 200


def test_configured_host_names(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEYS", "alice=sk-alice")  # other names than loopback need keys
    config = settings(
        tmp_path,
        allowed_hosts=["transcribe.example.com", "10.0.0.5:8000"],
        auth={"enabled": True, "keys_env": "TEST_KEYS"},
    )
    client = browser(create_http_app(backend, ModelRegistry(tmp_path), config))
    ok = ("transcribe.example.com", "transcribe.example.com:443", "10.0.0.5:8000")
    for host in ok:
        assert client.get("/health", headers={"Host": host}).status_code == 200, host
    for host in ("localhost:8000", "10.0.0.5:9000", "example.com"):
        assert client.get("/health", headers={"Host": host}).status_code == 421, host


def test_websocket_refuses_foreign_origin_or_host_before_accept(app, backend):
    owner = browser(app)
    job_id = submit(owner)
    asyncio.run(backend.store.update_job(job_id, status=JobStatus.COMPLETED))
    url = f"/api/transcribe/live/{job_id}"
    refused = (
        {"Origin": EVIL},
        {"Origin": "null"},
        # a rebinding name: same-origin to its own Host, which is not ours
        {"Origin": "http://evil.example:8000", "Host": "evil.example:8000"},
        {"Host": "evil.example:8000"},
    )
    for headers in refused:
        with (
            pytest.raises(WebSocketDisconnect) as caught,
            owner.websocket_connect(url, headers=headers),
        ):
            pass
        assert caught.value.code == 1008, headers
    with owner.websocket_connect(url, headers={"Origin": BASE}) as ws:
        assert ws.receive_json()["status"] == "completed"


def test_anonymous_callers_see_only_their_own_jobs(app):
    alice, bob = browser(app), browser(app)
    mine = submit(alice)
    cookie = alice.cookies
    assert len(cookie) == 1
    set_cookie = browser(app).get("/health").headers["set-cookie"].lower()
    for attribute in ("httponly", "samesite=strict", "path=/"):
        assert attribute in set_cookie
    assert [j["job_id"] for j in alice.get("/api/transcribe/jobs").json()["jobs"]] == [mine]
    assert bob.get("/api/transcribe/jobs").json()["jobs"] == []
    for path in ("status", "result", "debug", "audio"):
        assert bob.get(f"/api/transcribe/{path}/{mine}").status_code in (403, 404), path
    with bob.websocket_connect(f"/api/transcribe/live/{mine}") as ws:
        assert ws.receive_json()["status"] == "not_found"
    # anonymous is not admin, even for its own job
    r = alice.get(f"/api/transcribe/debug/{mine}")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    # a forged cookie is a stranger, not the owner
    forged = browser(app)
    forged.cookies.set("transcribe_anon", "x" * 32)
    assert forged.get(f"/api/transcribe/status/{mine}").status_code == 404


def test_local_key_is_the_admin_and_wrong_keys_are_401(app, tmp_path):
    anonymous = browser(app)
    theirs = submit(anonymous)
    key_file = tmp_path / "local-key"
    assert key_file.stat().st_mode & 0o077 == 0  # only the owner may read it
    admin = {"Authorization": f"Bearer {key_file.read_text().strip()}"}
    cli = browser(app)
    listed = cli.get("/api/transcribe/jobs", headers=admin).json()
    assert [j["job_id"] for j in listed["jobs"]] == [theirs]
    assert cli.get(f"/api/transcribe/debug/{theirs}", headers=admin).status_code == 200
    mine = submit(cli, headers=admin)
    assert cli.get(f"/api/transcribe/status/{mine}", headers=admin).status_code == 200
    assert anonymous.get(f"/api/transcribe/status/{mine}").status_code == 404
    r = cli.get("/api/transcribe/jobs", headers={"Authorization": "Bearer sk-wrong"})
    assert r.status_code == 401


def test_caller_identity(app, tmp_path):
    from serve_app.http.auth import caller_identity

    seen: list[str] = []

    @app.get("/whoami")
    async def whoami(request: __import__("fastapi").Request) -> dict[str, str]:
        seen.append(caller_identity(request))
        return {}

    a = browser(app)
    a.get("/whoami")  # no cookie yet: the client address
    a.get("/whoami")  # the cookie it was given
    key = (tmp_path / "local-key").read_text().strip()
    a.get("/whoami", headers={"Authorization": f"Bearer {key}"})
    assert seen[0] == "addr:testclient"
    assert seen[1].startswith("anon:") and seen[2] == "key:local"


# ---- finding 4: live streams capped per caller and in total, the API still answers ----------


def test_live_streams_are_capped_and_leave_the_api_free(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEYS", "alice=sk-alice,bob=sk-bob")
    config = settings(
        tmp_path,
        auth={"enabled": True, "keys_env": "TEST_KEYS"},
        live=LiveStreamsConfig(max_streams=3, max_streams_per_caller=2),
    )
    alice, bob = ({"Authorization": f"Bearer sk-{name}"} for name in ("alice", "bob"))
    app = create_http_app(backend, ModelRegistry(tmp_path), config)
    with browser(app) as client:  # one event loop for every socket (the store's events)
        job_a, job_b = submit(client, headers=alice), submit(client, headers=bob)
        live_a, live_b = f"/api/transcribe/live/{job_a}", f"/api/transcribe/live/{job_b}"

        def refused(url: str, headers: dict[str, str]) -> dict:
            """The first message: a close, before any event."""
            with client.websocket_connect(url, headers=headers) as ws:
                message = ws.receive()
                assert message["type"] == "websocket.close", message
                return message

        # the jobs stay processing (nothing runs them here), so their sockets stay open
        with (
            client.websocket_connect(live_a, headers=alice) as a1,
            client.websocket_connect(live_a, headers=alice) as a2,
        ):
            a1.receive_json(), a2.receive_json()
            third = refused(live_a, alice)
            assert third["code"] == 1013 and "per caller" in third["reason"]
            with client.websocket_connect(live_b, headers=bob) as b1:
                b1.receive_json()
                full = refused(live_b, bob)
                assert full["code"] == 1013 and "in all" in full["reason"]
                assert client.get("/health").status_code == 200
                assert client.get("/api/transcribe/jobs", headers=bob).json()["total"] == 1
        with client.websocket_connect(live_a, headers=alice) as again:  # slots freed
            assert again.receive_json()["type"] == "status"


def test_live_budget_must_stay_below_the_replica_request_budget():
    with pytest.raises(ValidationError, match="max_streams"):
        IngressConfig(live=LiveStreamsConfig(max_streams=128))
    assert IngressConfig().live.max_streams < IngressConfig().deployment.max_ongoing_requests


def test_the_page_works_with_no_steps(app, backend):
    """A browser on make run: the page, then its API calls and live stream, same-origin,
    carrying only the cookie the first response set."""
    page = browser(app)
    r = page.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200 and "transcribe_anon" in r.headers["set-cookie"]
    own = {"Origin": BASE}
    assert page.get("/api/transcribe/models", headers=own).status_code == 200
    job_id = submit(page, headers=own)
    asyncio.run(backend.store.update_job(job_id, status=JobStatus.COMPLETED))
    assert page.get(f"/api/transcribe/result/{job_id}", headers=own).status_code == 200
    with page.websocket_connect(f"/api/transcribe/live/{job_id}", headers=own) as ws:
        assert ws.receive_json()["status"] == "completed"
