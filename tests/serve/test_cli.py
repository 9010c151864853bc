"""The ``transcribe`` CLI as a subprocess against the live server."""

from __future__ import annotations

import subprocess
import sys

import pytest
import srt

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import ADMIN_KEY, wer

pytestmark = pytest.mark.serve

REFERENCE = SENTENCES[:3]


def cli(base_url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serve_app.client.cli", "--base-url", base_url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            "PATH": "/usr/bin:/bin",
            "TERM": "dumb",
            "COLUMNS": "200",
            "TRANSCRIBE_API_KEY": ADMIN_KEY,
        },
    )


@pytest.fixture(scope="module")
def audio_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "meeting.m4a"
    path.write_bytes(encode(speech(REFERENCE), "m4a"))
    return path


def test_submit_follow_then_result_as_srt(base_url, audio_file, tmp_path):
    run = cli(base_url, "submit", str(audio_file), "--follow", "--no-diarize")
    assert run.returncode == 0, run.stderr
    job_line = run.stderr.strip().splitlines()[0]
    assert job_line.startswith("job ")
    job_id = job_line.split()[1]
    live_lines = [line for line in run.stderr.splitlines() if line.startswith("[00:")]
    assert len(live_lines) >= 2, run.stderr  # segments printed as they arrived
    assert run.stdout.splitlines() == live_lines  # then the whole transcript, on stdout

    out = tmp_path / "out.srt"
    run = cli(base_url, "result", job_id, "--format", "srt", "-o", str(out))
    assert run.returncode == 0, run.stderr
    cues = list(srt.parse(out.read_text()))
    assert wer(" ".join(REFERENCE), " ".join(c.content for c in cues)) < 0.3

    run = cli(base_url, "status", job_id)
    assert run.returncode == 0 and run.stdout.startswith("completed")
    run = cli(base_url, "result", job_id)
    assert wer(" ".join(REFERENCE), run.stdout) < 0.3


def test_submit_prints_job_id_and_models_lists(base_url, audio_file):
    run = cli(base_url, "submit", str(audio_file))
    assert run.returncode == 0 and len(run.stdout.strip()) == 32
    run = cli(base_url, "models")
    assert run.returncode == 0 and "tiny.en" in run.stdout and "large-v3" in run.stdout


def test_summary_and_chat_about_a_finished_job(base_url, audio_file):
    run = cli(base_url, "submit", str(audio_file), "--follow", "--no-diarize")
    assert run.returncode == 0, run.stderr
    job_id = run.stderr.strip().splitlines()[0].split()[1]

    run = cli(base_url, "summary", job_id, "--format", "bullet_points")
    assert run.returncode == 0, run.stderr
    bullets = [line for line in run.stdout.splitlines() if not line.startswith("topics: ")]
    if bullets:
        # (a long bullet may wrap in the terminal: only its first line starts with "- ")
        assert bullets[0].startswith("- "), run.stdout
    else:  # the 135M test model's notes can all fail the evidence check: then it says so
        assert "no summary: none of the model's notes" in run.stderr, run.stderr

    run = cli(base_url, "chat", job_id, "What is this recording about?")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("status", "nope"), "not found"),
        (("result", "nope"), "not found"),
        (("result", "nope", "--format", "doc"), "unknown format"),
        (("submit", "/etc/hostname"), "audio"),
    ],
)
def test_errors_are_one_line_and_nonzero(base_url, args, message):
    run = cli(base_url, *args)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0].lower()


def test_unreachable_server_is_a_clear_error():
    run = cli("http://127.0.0.1:9", "models")
    assert run.returncode == 1 and "cannot reach" in run.stderr
