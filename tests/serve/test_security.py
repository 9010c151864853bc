"""Issue 28's security findings against the live graph (real Serve proxy, auth on): Host and
Origin checks, the WebSocket refused before accept, the live-stream budget leaving /health
and the API free, bodies bounded whatever their Content-Type, text-only chat, and every
listener of the local Ray on loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import json

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import ADMIN_KEY, USER_KEY, submit, wait_done

pytestmark = pytest.mark.serve

EVIL = "https://evil.example"


def ws_url(base_url: str, job_id: str) -> str:
    return base_url.replace("http://", "ws://") + f"/api/transcribe/live/{job_id}"


def test_foreign_host_is_421_and_loopback_names_are_served(http, base_url):
    port = base_url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.io:{port}"):
        for path in ("/health", "/api/transcribe/jobs"):
            r = http.get(path, headers={"Host": host})
            assert r.status_code == 421, (host, path, r.status_code)
            assert r.json()["code"] == "misdirected_request"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert http.get("/api/transcribe/jobs", headers={"Host": host}).status_code == 200


def test_foreign_origin_is_refused_and_gets_no_cors_headers(http):
    r = http.get("/api/transcribe/jobs", headers={"Origin": EVIL})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    preflight = http.options(
        "/api/transcribe/",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    # the configured origin (tests/serve/conftest.py) gets its CORS headers
    ok = http.get("/api/transcribe/jobs", headers={"Origin": "http://127.0.0.1"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://127.0.0.1"


def test_websocket_foreign_origin_or_host_is_refused_before_accept(http, base_url):
    job_id = submit(http, encode(speech(SENTENCES[:1]), "wav"), diarize="false").json()["job_id"]
    wait_done(http, job_id)
    url = ws_url(base_url, job_id)
    protocols = ["transcribe", f"bearer.{ADMIN_KEY}"]
    port = base_url.rsplit(":", 1)[1]
    for headers in ({"Origin": EVIL}, {"Host": f"evil.example:{port}"}):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, subprotocols=protocols, additional_headers=headers, open_timeout=30)
        assert refused.value.response.status_code == 403, headers
    own = {"Origin": base_url}
    with connect(url, subprotocols=protocols, additional_headers=own, open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] in ("status", "segment")


def test_live_streams_past_the_cap_are_closed_and_the_api_still_answers(
    http, http_user, base_url, app_config
):
    """More sockets than one caller may hold, against a job still running: the extra one is
    closed with 1013 and a reason, and /health and the API answer meanwhile."""
    cap = app_config.ingress.live.max_streams_per_caller
    assert cap < app_config.ingress.live.max_streams
    audio = encode(speech(SENTENCES * 3, pause_s=1.0), "mp3")  # ~75 s: runs a while
    job_id = submit(http_user, audio, name="long.mp3", diarize="false").json()["job_id"]
    protocols = ["transcribe", f"bearer.{USER_KEY}"]
    with contextlib.ExitStack() as stack:
        for _ in range(cap):
            ws = stack.enter_context(
                connect(ws_url(base_url, job_id), subprotocols=protocols, open_timeout=30)
            )
            json.loads(ws.recv(timeout=30))  # accepted and streaming
        extra = stack.enter_context(
            connect(ws_url(base_url, job_id), subprotocols=protocols, open_timeout=30)
        )
        with pytest.raises(ConnectionClosed) as closed:
            extra.recv(timeout=30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert "per caller" in closed.value.rcvd.reason
        assert http.get("/health", timeout=10).status_code == 200
        assert http_user.get(f"/api/transcribe/status/{job_id}", timeout=10).status_code == 200
        # another caller still has its own share
        other = stack.enter_context(
            connect(
                ws_url(base_url, job_id),
                subprotocols=["transcribe", f"bearer.{ADMIN_KEY}"],
                open_timeout=30,
            )
        )
        assert json.loads(other.recv(timeout=30))["type"] in ("status", "segment")
    wait_done(http_user, job_id)


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", None])
def test_a_large_body_is_413_whatever_its_content_type(http, app_config, content_type):
    size = int(app_config.ingress.limits.max_json_mb * 1e6) + 1
    headers = {} if content_type is None else {"Content-Type": content_type}
    r = http.post("/api/summary/", content=b"[" + b" " * size + b"]", headers=headers)
    assert r.status_code == 413, r.text


def test_chat_completions_refuses_a_url_part(http):
    body = {
        "model": "smollm2-135m-instruct",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in the picture?"},
                    {"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/x.png"}},
                ],
            }
        ],
        "max_tokens": 8,
    }
    r = http.post("/v1/chat/completions", json=body)
    assert r.status_code == 400 and "image_url" in r.json()["detail"]


def test_every_ray_listener_is_on_loopback(base_url):
    """The local Ray this session started (the test process's children): GCS, raylet,
    agents, metrics, the Serve proxy and the replicas' gRPC servers listen on 127.0.0.1."""
    processes = psutil.Process().children(recursive=True)
    assert processes, "no Ray processes found"
    listening = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            for conn in process.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    listening.append((process.name(), conn.laddr.ip, conn.laddr.port))
    assert listening
    exposed = [entry for entry in listening if not _loopback(entry[1])]
    assert exposed == [], exposed
    port = int(base_url.rsplit(":", 1)[1])
    assert any(p == port for _, _, p in listening)  # the HTTP proxy was among them
    assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200


def _loopback(address: str) -> bool:
    """127.0.0.0/8 or ::1, IPv4-mapped (``::ffff:127.0.0.1``, a dual-stack socket) included."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
