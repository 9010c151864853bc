"""The ``/v1/realtime`` router in-process (Starlette's TestClient, no Ray): auth, intent,
bad input as ``error`` events on a session that stays open, the caps and back-pressure.
The job store is the real one in memory; only silence is sent, so the ASR is never
called (``UnusedASR`` says so if it were)."""

from __future__ import annotations

import base64
import time
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.asr.registry import build_registry
from serve_app.audio.store import AudioStore
from serve_app.config import ASRConfig, IngressConfig, ModelsConfig
from serve_app.http.factory import create_http_app
from serve_app.jobs.model import JobStatus
from serve_app.jobs.store import JobStore
from serve_app.realtime.session import RealtimeServices
from tests.unit.http.conftest import _loopback_test_client  # noqa: F401 - autouse fixture
from tests.unit.realtime.handles import Handle

KEYS_ENV = "REALTIME_TEST_KEYS"
KEY, OTHER = "sk-rt-1", "sk-rt-2"
URL = "/v1/realtime?intent=transcription"


class UnusedASR:
    async def transcribe_chunk(self, *args: Any) -> Any:
        raise AssertionError("silence must not reach the ASR")


@pytest.fixture
def app(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(KEYS_ENV, f"one={KEY},two={OTHER}")
    settings = IngressConfig.model_validate(
        {
            "auth": {"enabled": True, "keys_env": KEYS_ENV},
            "realtime": {"max_sessions_per_caller": 2, "max_ahead_s": 5, "max_frame_bytes": 65536},
        }
    )
    registry = build_registry(ModelsConfig(), ASRConfig())
    app = create_http_app(backend=None, registry=registry, settings=settings)  # type: ignore[arg-type]
    app.state.realtime = RealtimeServices(
        asr=Handle(UnusedASR()),
        diarizer=None,
        store=Handle(JobStore(lease_s=30)),
        audio=AudioStore(tmp_path / "audio", ttl_s=3600),
        registry=registry,
        config=settings.realtime,
        lease_s=30,
    )
    return app


def headers(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def silence(seconds: float) -> str:
    return base64.b64encode(np.zeros(int(24000 * seconds), "<i2").tobytes()).decode()


def test_bad_input_is_answered_with_errors_and_the_job_completes(app: Any) -> None:
    with TestClient(app) as client:
        created = bad_input_session(client)
        store: JobStore = app.state.realtime.store._target
        deadline = time.monotonic() + 10
        while (job := client.portal.call(store.get_job, created["job_id"])) is not None:
            if job.finished or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert job is not None and job.status == JobStatus.COMPLETED and job.owner == "one"


def bad_input_session(client: TestClient) -> dict[str, Any]:
    with client.websocket_connect(URL, headers=headers()) as ws:
        created = ws.receive_json()
        assert created["type"] == "session.created" and created["job_id"]
        sends: list[Any] = [
            {"type": "input_audio_buffer.append", "audio": "@@", "event_id": "b64"},
            {"type": "response.create", "event_id": "unknown"},
            {
                "type": "session.update",
                "event_id": "rate",
                "session": {"input_audio_format": "g711_ulaw"},
            },
            "{not json",
            {"type": "input_audio_buffer.append", "audio": "A" * 70000},
            {"type": "input_audio_buffer.commit", "event_id": "empty"},
        ]
        for message in sends:
            if isinstance(message, str):
                ws.send_text(message)
            else:
                ws.send_json(message)
        errors = [ws.receive_json() for _ in sends]
        assert all(e["type"] == "error" for e in errors)
        codes = [(e["error"].get("event_id"), e["error"]["code"]) for e in errors]
        assert codes == [
            ("b64", "invalid_value"),
            ("unknown", "unsupported_event"),
            ("rate", "invalid_value"),
            (None, "invalid_json"),
            (None, "message_too_large"),
            ("empty", "input_audio_buffer_commit_empty"),
        ]
        ws.send_json({"type": "input_audio_buffer.append", "audio": silence(0.5)})
        ws.send_json({"type": "input_audio_buffer.clear"})
        assert ws.receive_json()["type"] == "input_audio_buffer.cleared"
        ws.send_json({"type": "session.update", "session": {"turn_detection": None}})
        updated = ws.receive_json()
        assert updated["type"] == "session.updated"
        assert updated["session"]["audio"]["input"]["turn_detection"] is None
    return created


def test_auth_intent_and_caps(app: Any) -> None:
    with TestClient(app) as client:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect(URL) as ws:
            ws.receive_json()
        with client.websocket_connect("/v1/realtime?intent=conversation", headers=headers()) as ws:
            assert ws.receive_json()["error"]["param"] == "intent"
            with pytest.raises(WebSocketDisconnect):
                ws.receive_json()
        protocols = ["transcribe", f"bearer.{OTHER}"]
        with client.websocket_connect(URL, subprotocols=protocols) as ws:
            assert ws.accepted_subprotocol == "transcribe"
            assert ws.receive_json()["type"] == "session.created"
        with (
            client.websocket_connect(URL, headers=headers()) as one,
            client.websocket_connect(URL, headers=headers()) as two,
            client.websocket_connect(URL, headers=headers()) as three,
        ):
            assert one.receive_json()["type"] == two.receive_json()["type"] == "session.created"
            refused = three.receive_json()
            assert refused["error"]["code"] == "rate_limit_exceeded"
            with client.websocket_connect(URL, headers=headers(OTHER)) as other:
                assert other.receive_json()["type"] == "session.created"


def test_faster_than_real_time_past_max_ahead_is_closed(app: Any) -> None:
    with TestClient(app) as client, client.websocket_connect(URL, headers=headers()) as ws:
        ws.receive_json()
        for _ in range(7):  # 7 s at once, 5 s ahead allowed
            ws.send_json({"type": "input_audio_buffer.append", "audio": silence(1)})
        error = ws.receive_json()
        assert error["type"] == "error" and error["error"]["code"] == "back_pressure"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
