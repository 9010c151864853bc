"""Small client helpers shared by the Serve tests."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
from websockets.sync.client import connect

from eval.speech import wer  # noqa: F401 - re-exported for the tests

ADMIN_KEY, USER_KEY = "sk-test-admin-5b1f", "sk-test-user-93ac"
KEYS_ENV = "TRANSCRIBE_TEST_API_KEYS"
DISPLAY = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3}$")


def submit(http: httpx.Client, data: bytes, name: str = "a.wav", **fields: Any) -> httpx.Response:
    return http.post("/api/transcribe/", files={"file": (name, data)}, data=fields)


def wait_done(http: httpx.Client, job_id: str, timeout: float = 300) -> list[dict[str, Any]]:
    """Poll status until the job finishes; returns every status seen."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = http.get(f"/api/transcribe/status/{job_id}").json()
        seen.append(status)
        if status["status"] != "processing":
            return seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still processing after {timeout}s: {seen[-1]}")


def follow(
    base_url: str, job_id: str, timeout: float = 300, key: str | None = None
) -> list[dict[str, Any]]:
    """Every WebSocket message until the server closes the socket. The key goes as a
    ``Sec-WebSocket-Protocol`` value, as a browser sends it (default: the admin key)."""
    ws_url = base_url.replace("http://", "ws://") + f"/api/transcribe/live/{job_id}"
    messages = []
    protocols = ["transcribe", f"bearer.{key or ADMIN_KEY}"]
    with connect(ws_url, open_timeout=30, close_timeout=5, subprotocols=protocols) as ws:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                messages.append(json.loads(ws.recv(timeout=timeout)))
            except Exception:  # ConnectionClosed: the server is done
                break
    return messages


def check_segments(segments: list[dict[str, Any]]) -> None:
    """Time-ordered, non-overlapping, well-formed segments."""
    previous_end = 0.0
    for seg in segments:
        assert set(seg) == {
            "id",
            "start",
            "end",
            "text",
            "speaker",
            "speaker_confidence",
            "speaker_id",
            "speaker_match",
            "start_display",
            "end_display",
        }
        assert seg["text"].strip() and seg["id"]
        assert previous_end - 1e-3 <= seg["start"] <= seg["end"]
        assert DISPLAY.match(seg["start_display"]) and DISPLAY.match(seg["end_display"])
        previous_end = seg["end"]
