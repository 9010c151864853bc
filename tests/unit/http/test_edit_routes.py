"""The edit routes, the job's audio and the web page, over the plain FastAPI app."""

import asyncio

import pytest

from serve_app.jobs.model import JobStatus
from serve_app.transcript.segments import Segment
from tests.unit.http.test_auth import ALICE, BOB, auth, backend, client, keys_env, upload
from tests.unit.http.test_routes import WAV

__all__ = ["backend", "client", "keys_env"]  # the fixtures, shared with the auth tests


def finish(backend, job_id):
    segments = [
        Segment(start=0, end=1, text="hello", speaker="SPEAKER_1"),
        Segment(start=1, end=2, text="world", speaker="SPEAKER_2"),
    ]
    asyncio.run(backend.store.update_job(job_id, status=JobStatus.COMPLETED, segments=segments))


def result_path(job_id):
    return f"/api/transcribe/result/{job_id}"


def test_edit_rename_merge_and_exports_follow(client, backend):
    job = upload(client, ALICE)
    finish(backend, job)
    assert client.get(result_path(job), headers=auth(ALICE)).json()["version"] == 0
    r = client.patch(
        f"{result_path(job)}/segments/0",
        json={"version": 0, "text": "hello there"},
        headers=auth(ALICE),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["segments"][0]["text"] == "hello there"
    r = client.put(
        f"{result_path(job)}/speakers",
        json={"version": 1, "names": {"SPEAKER_1": "Alice", "SPEAKER_2": "Alice"}},
        headers=auth(ALICE),
    )
    assert r.status_code == 200, r.text
    assert r.json()["speakers"] == ["Alice"] and r.json()["version"] == 2
    srt = client.get(f"{result_path(job)}?format=srt", headers=auth(ALICE)).text
    assert "[Alice] hello there" in srt and "SPEAKER_" not in srt
    body = client.get(result_path(job), headers=auth(ALICE)).json()
    assert body["version"] == 2 and body["text"] == "hello there world"


def test_stale_version_is_409_and_changes_nothing(client, backend):
    job = upload(client, ALICE)
    finish(backend, job)
    path = f"{result_path(job)}/segments/1"
    assert client.patch(path, json={"version": 0, "speaker": "Bo"}, headers=auth(ALICE)).is_success
    r = client.patch(path, json={"version": 0, "text": "late"}, headers=auth(ALICE))
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    assert "reload" in r.json()["detail"]
    stored = client.get(result_path(job), headers=auth(ALICE)).json()
    assert stored["segments"][1]["text"] == "world" and stored["version"] == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("segments/9", {"version": 0, "text": "x"}, 404, "segment_not_found"),
        ("segments/0", {"version": 0}, 400, "invalid_request"),
        ("segments/0", {"version": 0, "text": " "}, 400, "invalid_request"),
        ("segments/0", {"text": "x"}, 422, None),
        ("speakers", {"version": 0, "names": {"SPEAKER_7": "x"}}, 400, "invalid_request"),
    ],
)
def test_bad_edits_are_4xx_with_a_reason(client, backend, path, body, status, code):
    job = upload(client, ALICE)
    finish(backend, job)
    method = client.put if path == "speakers" else client.patch
    r = method(f"{result_path(job)}/{path}", json=body, headers=auth(ALICE))
    assert r.status_code == status, r.text
    assert r.json()["detail"] and (code is None or r.json()["code"] == code)


def test_a_running_job_and_another_keys_job_cannot_be_edited(client, backend):
    job = upload(client, ALICE)
    edit = {"version": 0, "text": "x"}
    r = client.patch(f"{result_path(job)}/segments/0", json=edit, headers=auth(ALICE))
    assert r.status_code == 409 and r.json()["code"] == "job_not_finished"
    finish(backend, job)
    r = client.patch(f"{result_path(job)}/segments/0", json=edit, headers=auth(BOB))
    assert r.status_code == 404
    assert client.get(f"/api/transcribe/audio/{job}", headers=auth(BOB)).status_code == 404


def test_job_audio_is_the_kept_upload(client, backend):
    job = upload(client, ALICE)
    r = client.get(f"/api/transcribe/audio/{job}", headers=auth(ALICE))
    assert r.status_code == 200 and r.content == WAV
    assert client.get(f"/api/transcribe/audio/{job}").status_code == 401
    backend.audio.clear()
    r = client.get(f"/api/transcribe/audio/{job}", headers=auth(ALICE))
    assert r.status_code == 410 and r.json()["code"] == "audio_expired"


def test_browsers_get_the_page_and_api_clients_json(client):
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/js/app.js">' in page.text
    for asset in ("/ui/js/app.js", "/ui/style.css", "/ui/vendor/wavesurfer.esm.js"):
        assert client.get(asset).status_code == 200, asset  # public: the page asks for a key
    assert client.get("/", headers={"Accept": "application/json"}).status_code == 401
    meta = client.get("/", headers=auth(ALICE))
    assert meta.status_code == 200 and meta.json()["name"]
    assert "PATCH /api/transcribe/result/{job_id}/segments/{segment_id}" in meta.json()["endpoints"]
    assert client.get("/ui/no-such.js").status_code == 404
    assert client.get("/ui/%2e%2e/pyproject.toml").status_code == 404
