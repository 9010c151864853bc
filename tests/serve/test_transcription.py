"""The whole graph over HTTP and WebSocket on a local Ray: real tiny.en, real audio."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import check_segments, follow, submit, wait_done, wer
from tests.waiting import wait_until

pytestmark = pytest.mark.serve

REFERENCE = SENTENCES[:4]
SHORT = speech(REFERENCE)
# ~75 s: several 30 s chunks, so several ASR replicas work on one job.
LONG_SENTENCES = SENTENCES * 3
LONG = speech(LONG_SENTENCES, pause_s=1.0)


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a"])
def test_upload_poll_and_result(http, fmt):
    r = submit(http, encode(SHORT, fmt), name=f"speech.{fmt}", diarize="true")
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["status"] == "processing"
    statuses = wait_done(http, created["job_id"])

    final = statuses[-1]
    assert final["status"] == "completed", final
    assert final["progress"] == 100
    progress = [s["progress"] for s in statuses]
    assert progress == sorted(progress) and progress[0] >= 0 and progress[-1] == 100

    result = http.get(f"/api/transcribe/result/{created['job_id']}").json()
    assert result["language"] == "en"
    assert abs(result["audio_duration"] - SHORT.size / 16000) < 0.2
    check_segments(result["segments"])
    # One voice: one speaker on every segment, with a meaningful confidence.
    assert {s["speaker"] for s in result["segments"]} == {"SPEAKER_1"}
    assert all(0 < s["speaker_confidence"] <= 1 for s in result["segments"])
    error_rate = wer(" ".join(REFERENCE), result["text"])
    assert error_rate < 0.3, (error_rate, result["text"])


def test_live_stream_late_subscriber_and_concurrent_chunks(http, base_url):
    job_id = submit(http, encode(LONG, "mp3"), name="long.mp3", diarize="false").json()["job_id"]
    # Not finished yet: the result is a clear 409.
    early = http.get(f"/api/transcribe/result/{job_id}")
    assert early.status_code == 409 and "processing" in early.json()["detail"]

    live = follow(base_url, job_id)
    assert live, "no WebSocket messages"
    assert live[-1]["type"] == "status" and live[-1]["status"] == "completed"
    statuses = [m for m in live if m["type"] == "status"]
    progress = [m["progress"] for m in statuses]
    assert progress == sorted(progress) and progress[-1] == 100
    assert statuses[-1]["chunk_info"]["total_chunks"] >= 3
    assert statuses[-1]["chunk_info"]["current_chunk"] == statuses[-1]["chunk_info"]["total_chunks"]
    streamed = [
        {k: v for k, v in m.items() if k not in ("type", "seq")}
        for m in live
        if m["type"] == "segment"
    ]
    check_segments(streamed)
    assert streamed and all(s["speaker"] is None for s in streamed)  # diarize=false: none

    result = http.get(f"/api/transcribe/result/{job_id}").json()
    assert streamed == result["segments"]
    assert wer(" ".join(LONG_SENTENCES), result["text"]) < 0.3

    # A subscriber arriving after the end gets the transcript and the final status, in order
    # (a finished job's status history is compacted away).
    assert follow(base_url, job_id) == [m for m in live if m["type"] == "segment"] + [live[-1]]

    debug = http.get(f"/api/transcribe/debug/{job_id}").json()
    chunks = debug["chunks"]
    assert len(chunks) >= 3 and all(c["state"] == "done" for c in chunks)
    assert debug["cached_segments"] == len(result["segments"])
    assert debug["latest_segment_time"] == result["segments"][-1]["end"]
    assert {"decode_s", "vad_s", "transcribe_s", "total_s", "first_segment_s"} <= set(
        debug["timings"]
    )
    # Two ASR replicas: some chunk started before the previous one finished.
    overlaps = [b["started_at"] < a["finished_at"] for a, b in pairwise(chunks)]
    assert any(overlaps), chunks
    # Chunk boundaries never overlap and every segment lies in the audio.
    for a, b in pairwise(chunks):
        assert a["end"] <= b["start"]


def test_silence_only_completes_with_no_segments(http):
    silence = np.zeros(16000 * 4, dtype=np.float32)
    job_id = submit(http, encode(silence, "wav")).json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    result = http.get(f"/api/transcribe/result/{job_id}").json()
    assert result["segments"] == [] and result["text"] == ""
    assert "no speech" in http.get(f"/api/transcribe/status/{job_id}").json()["message"]


def test_multilingual_model_detects_language(http):
    from eval.conversations import Voice, synthesize

    german = synthesize(
        "Guten Morgen. Heute besprechen wir den Zeitplan für das neue Projekt.",
        Voice("de", "de", 50, 150),
    ).astype(np.float32)
    job_id = submit(http, encode(german, "ogg"), name="de.ogg", model_name="base").json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    result = http.get(f"/api/transcribe/result/{job_id}").json()
    assert result["language"] == "de"
    assert "morgen" in result["text"].lower()


def test_jobs_list_and_store_survives_a_restart(http, app_config):
    import ray

    own = submit(http, encode(speech(SENTENCES[:1]), "wav"), diarize="false").json()["job_id"]
    assert wait_done(http, own)[-1]["status"] == "completed"
    jobs = http.get("/api/transcribe/jobs").json()
    assert jobs["count"] == len(jobs["jobs"]) >= 1
    finished = [j for j in jobs["jobs"] if j["status"] == "completed"]
    assert finished
    store = ray.get_actor(app_config.job_store.actor_name, namespace=app_config.job_store.namespace)
    ray.kill(store, no_restart=False)  # the actor restarts and reloads from SQLite

    def answered() -> dict | None:
        """the restarted job store to answer for a finished job"""
        r = http.get(f"/api/transcribe/status/{finished[0]['job_id']}")
        return r.json() if r.status_code == 200 else None

    assert wait_until(answered, timeout=60, interval=0.5)["status"] == "completed"
    again = http.get("/api/transcribe/jobs").json()
    assert {j["job_id"] for j in again["jobs"]} == {j["job_id"] for j in jobs["jobs"]}


def test_two_speaker_conversation_gets_consistent_speakers(http, base_url):
    from eval.conversations import make_conversation
    from serve_app.client.transcript import apply_events

    audio, turns = make_conversation(num_speakers=2, duration=50.0, seed=3)
    job_id = submit(http, encode(audio, "wav"), name="dialog.wav", max_speakers="4").json()[
        "job_id"
    ]
    live = follow(base_url, job_id)
    assert live[-1]["status"] == "completed", live[-1]
    statuses = [m for m in live if m["type"] == "status"]
    diarization = [m["chunk_info"]["diarization_progress"] for m in statuses]
    assert any(p is not None and 0 < p < 100 for p in diarization) or diarization[-1] == 100
    assert "diariz" in " ".join(m["message"] for m in statuses).lower()

    result = http.get(f"/api/transcribe/result/{job_id}").json()
    segments = result["segments"]
    check_segments(segments)
    # The live invariant: segments stream before the speakers are final, revisions name
    # them by id, and a client that applies every event in order ends with the result.
    assert any(m["type"] == "revision" and m["final"] for m in live)
    assert apply_events(live) == segments
    late = follow(base_url, job_id)  # a late subscriber: the state, not the history
    assert [m["type"] for m in late].count("revision") == 1
    assert apply_events(late) == segments
    assert {s["speaker"] for s in segments} == {"SPEAKER_1", "SPEAKER_2"}
    assert segments[0]["speaker"] == "SPEAKER_1"  # numbered by first appearance

    # Share of transcribed speech attributed to the right speaker (best label mapping).
    overlap: dict[tuple[str, str], float] = {}
    for seg in segments:
        for turn in turns:
            o = min(seg["end"], turn.end) - max(seg["start"], turn.start)
            if o > 0:
                key = (seg["speaker"], turn.speaker)
                overlap[key] = overlap.get(key, 0.0) + o
    hyp = sorted({h for h, _ in overlap})
    refs = sorted({r for _, r in overlap})
    best = max(
        sum(overlap.get((h, r), 0.0) for h, r in zip(hyp, perm, strict=False))
        for perm in __import__("itertools").permutations(refs)
    )
    attribution = best / sum(overlap.values())
    assert attribution > 0.85, attribution
