"""``transcribe stream FILE --realtime`` as a subprocess against the live server: the file
goes through /v1/realtime, partial and completed lines come back, and the session is saved
as an ordinary job."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import ADMIN_KEY, wait_done, wer

pytestmark = pytest.mark.serve

REFERENCE = SENTENCES[3:6]
LINE = re.compile(r"^\[(\d{2}:\d{2}:\d{2}\.\d{3}) -> (\d{2}:\d{2}:\d{2}\.\d{3})\] (.+)$")
SPEED = "2"
"""Twice real time: the pacing is the client's, the server's back-pressure allows it."""


def stream(base_url: str, *args: str, key: str = ADMIN_KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serve_app.client.cli", "--base-url", base_url, "stream", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TERM": "dumb", "COLUMNS": "200", "TRANSCRIBE_API_KEY": key},
    )


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-realtime") / "dictation.m4a"
    path.write_bytes(encode(speech(REFERENCE, pause_s=1.0), "m4a"))
    return path


def test_stream_realtime_prints_partials_then_lines_and_saves_a_job(base_url, http, spoken):
    run = stream(base_url, str(spoken), "--realtime", "--speed", SPEED)
    assert run.returncode == 0, run.stderr
    err_lines = run.stderr.splitlines()
    assert err_lines[0].startswith("job "), run.stderr
    job_id = err_lines[0].split()[1]
    assert any(line.startswith("partial: ") and line[9:].strip() for line in err_lines), run.stderr
    assert not [line for line in err_lines if line.startswith("error:")], run.stderr

    out_lines = run.stdout.splitlines()
    assert out_lines[-1] == job_id  # the saved job's id comes last
    completed = [LINE.match(line) for line in out_lines[:-1]]
    assert len(completed) >= 2 and all(completed), run.stdout  # one line per utterance
    starts = [m.group(1) for m in completed if m]
    assert starts == sorted(starts)
    text = " ".join(m.group(3) for m in completed if m)
    assert wer(" ".join(REFERENCE), text) < 0.3, text

    # An ordinary job: finished, with the transcript the session produced.
    assert wait_done(http, job_id, timeout=120)[-1]["status"] == "completed"
    result = http.get(f"/api/transcribe/result/{job_id}").json()
    assert wer(" ".join(REFERENCE), result["text"]) < 0.3, result["text"]
    audio = http.get(f"/api/transcribe/audio/{job_id}")
    assert audio.status_code == 200 and len(audio.content) > 1000  # the audio was kept


def test_stream_realtime_with_a_wrong_key_says_why(base_url, spoken):
    run = stream(base_url, str(spoken), "--realtime", key="sk-not-a-key")
    assert run.returncode == 1
    assert run.stderr.startswith("error: the server refused the session (HTTP 40"), run.stderr
    assert "Traceback" not in run.stderr


def test_stream_realtime_of_a_file_that_is_not_audio_says_so(base_url, tmp_path):
    notes = tmp_path / "notes.mp3"
    notes.write_text("these are not sounds")
    run = stream(base_url, str(notes), "--realtime")
    assert run.returncode == 1
    assert run.stderr.startswith("error: cannot decode"), run.stderr
    assert "Traceback" not in run.stderr
