"""A small synchronous client for the HTTP API, used by the CLI."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from serve_app.config import is_loopback
from serve_app.paths import PROJECT_ROOT

LOCAL_KEY_FILE = "var/local-key"
"""Where ``make run`` keeps its local admin key (``ingress.auth.local_key_file``)."""


def local_key(base_url: str) -> str | None:
    """The local admin key of a server on this machine (auth off), if one was made: what the
    CLI sends when no key is given. Never sent to a server elsewhere."""
    host = httpx.URL(base_url).host
    if not is_loopback(host):
        return None
    path = Path(os.environ.get("TRANSCRIBE_LOCAL_KEY_FILE") or PROJECT_ROOT / LOCAL_KEY_FILE)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def local_headers(base_url: str) -> dict[str, str]:
    """``Authorization`` with the local admin key for a server on this machine, if it has
    one (scripts and tests against ``make run`` or ``local_app``), else nothing."""
    key = local_key(base_url)
    return {"Authorization": f"Bearer {key}"} if key else {}


class ApiError(Exception):
    """A failed call, with the server's ``detail`` when it sent one."""


class TranscribeClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 120) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise ApiError(f"cannot reach {self.base_url} ({exc})") from exc
        except httpx.HTTPError as exc:
            raise ApiError(f"request to {self.base_url}{path} failed ({exc})") from exc
        if response.status_code >= 400:
            detail = response.text.strip()
            try:
                body = response.json()
                detail = body.get("detail") or body.get("message") or detail
            except ValueError:
                pass
            # A bare "Not Found" on these routes means the server lacks the API, not the job.
            if response.status_code == 404 and detail == "Not Found":
                detail = f"this server has no {path.split('/')[2]} API"
            raise ApiError(f"{detail} (HTTP {response.status_code})")
        return response

    def models(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/transcribe/models").json()["models"])

    def submit(
        self, path: Path, model: str | None, language: str | None, diarize: bool
    ) -> dict[str, Any]:
        fields: dict[str, str] = {"diarize": str(diarize).lower()}
        if model:
            fields["model_name"] = model
        if language:
            fields["language"] = language
        with path.open("rb") as f:
            return dict(
                self._call(
                    "POST", "/api/transcribe/", files={"file": (path.name, f)}, data=fields
                ).json()
            )

    def status(self, job_id: str) -> dict[str, Any]:
        response = self._http.get(f"/api/transcribe/status/{job_id}")
        if response.status_code == 404:
            raise ApiError(f"job {job_id}: {response.json()['message']} (HTTP 404)")
        if response.status_code >= 400:
            self._call("GET", f"/api/transcribe/status/{job_id}")
        return dict(response.json())

    def jobs(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/transcribe/jobs").json()["jobs"])

    def result(self, job_id: str, fmt: str = "json") -> str | dict[str, Any]:
        response = self._call("GET", f"/api/transcribe/result/{job_id}", params={"format": fmt})
        return dict(response.json()) if fmt == "json" else response.text

    def follow(self, job_id: str) -> Iterator[dict[str, Any]]:
        """The job's live messages (status and segments) until it ends."""
        from websockets.sync.client import connect

        url = self.base_url.replace("http", "ws", 1) + f"/api/transcribe/live/{job_id}"
        headers = dict(self._http.headers)
        auth = {"Authorization": headers["authorization"]} if "authorization" in headers else None
        try:
            with connect(url, additional_headers=auth, open_timeout=30) as ws:
                for raw in ws:
                    yield json.loads(raw)
        except OSError as exc:
            raise ApiError(f"cannot follow job {job_id} at {url} ({exc})") from exc

    def summarize(self, job_id: str, fmt: str, model: str | None) -> dict[str, Any]:
        transcript = self.result(job_id)
        assert isinstance(transcript, dict)
        body: dict[str, Any] = {
            "transcript": _transcript(transcript),
            "full_text": transcript["text"],
            "format": fmt,
        }
        if model:
            body["model_name"] = model
        job = self._call("POST", "/api/summary/", json=body).json()
        while True:
            status = self._call("GET", f"/api/summary/status/{job['job_id']}").json()
            if status["status"] == "completed":
                return dict(self._call("GET", f"/api/summary/{job['job_id']}").json())
            if status["status"] == "failed":
                raise ApiError(f"summary failed: {status['message']}")
            time.sleep(0.5)

    def chat(self, job_id: str, question: str, model: str | None) -> dict[str, Any]:
        transcript = self.result(job_id)
        assert isinstance(transcript, dict)
        body: dict[str, Any] = {
            "transcript": _transcript(transcript),
            "full_text": transcript["text"],
            "messages": [{"role": "user", "content": question}],
        }
        if model:
            body["model_name"] = model
        return dict(self._call("POST", "/api/chat/", json=body).json())


def _transcript(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"start": s["start"], "end": s["end"], "text": s["text"], "speaker": s["speaker"]}
        for s in result["segments"]
    ]
