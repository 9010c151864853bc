"""The OpenAI-compatible audio API through the official ``openai`` client, and exports."""

from __future__ import annotations

import io

import numpy as np
import pytest
import srt
import webvtt
from openai import BadRequestError, OpenAI

from eval.speech import SENTENCES, encode, speech
from tests.serve.helpers import ADMIN_KEY, submit, wait_done, wer

pytestmark = pytest.mark.serve

REFERENCE = SENTENCES[4:7]
AUDIO = encode(speech(REFERENCE), "mp3")


@pytest.fixture(scope="module")
def openai_client(base_url):
    return OpenAI(base_url=f"{base_url}/v1", api_key=ADMIN_KEY, max_retries=0, timeout=300)


def test_verbose_json_with_words(openai_client):
    result = openai_client.audio.transcriptions.create(
        model="whisper-1",
        file=("speech.mp3", AUDIO),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert wer(" ".join(REFERENCE), result.text) < 0.3
    assert result.language == "en" and result.duration > 5
    assert result.segments and all(s.start <= s.end for s in result.segments)
    assert result.words and all(w.start <= w.end for w in result.words)
    # The words spell out the same transcript as the text.
    assert wer(result.text, " ".join(w.word for w in result.words)) < 0.05


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt"])
def test_response_formats(openai_client, fmt):
    body = openai_client.audio.transcriptions.create(
        model="tiny.en", file=("speech.mp3", AUDIO), response_format=fmt
    )
    text = body.text if fmt == "json" else body
    assert isinstance(text, str)
    if fmt == "srt":
        cues = list(srt.parse(text))
        assert cues and all(c.start < c.end for c in cues)
        text = " ".join(c.content for c in cues)
    elif fmt == "vtt":
        captions = webvtt.from_buffer(io.StringIO(text))
        assert len(captions) > 0
        text = " ".join(c.text for c in captions)
    assert wer(" ".join(REFERENCE), text) < 0.3


def test_translation_with_a_multilingual_model(openai_client):
    from eval.conversations import Voice, synthesize

    german = synthesize(
        "Guten Morgen. Heute besprechen wir den Zeitplan.", Voice("de", "de", 50, 150)
    ).astype(np.float32)
    result = openai_client.audio.translations.create(
        model="whisper-1", file=("de.wav", encode(german, "wav"))
    )
    assert result.text.strip()


def test_openai_errors_are_4xx(openai_client):
    with pytest.raises(BadRequestError):
        openai_client.audio.transcriptions.create(model="nope", file=("a.mp3", AUDIO))
    with pytest.raises(BadRequestError):
        openai_client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", b"not audio"))
    with pytest.raises(BadRequestError, match="English-only"):
        openai_client.audio.translations.create(model="tiny.en", file=("a.mp3", AUDIO))


def test_models_list(openai_client):
    ids = {m.id for m in openai_client.models.list()}
    assert {"whisper-1", "tiny.en", "base"} <= ids


def test_result_exports_parse(http):
    job_id = submit(http, AUDIO, name="talk.mp3").json()["job_id"]
    assert wait_done(http, job_id)[-1]["status"] == "completed"
    segments = http.get(f"/api/transcribe/result/{job_id}").json()["segments"]

    r = http.get(f"/api/transcribe/result/{job_id}", params={"format": "srt"})
    assert r.headers["content-type"].startswith("application/x-subrip")
    assert 'filename="talk.srt"' in r.headers["content-disposition"]
    cues = list(srt.parse(r.text))
    assert len(cues) == len(segments)
    assert [round(c.start.total_seconds(), 3) for c in cues] == [s["start"] for s in segments]

    r = http.get(f"/api/transcribe/result/{job_id}", params={"format": "vtt"})
    captions = webvtt.from_buffer(io.StringIO(r.text))
    assert [c.text for c in captions] == [s["text"] for s in segments]
    assert [c.voice for c in captions] == [s["speaker"] for s in segments]

    r = http.get(f"/api/transcribe/result/{job_id}", params={"format": "txt"})
    assert r.text.splitlines() == [
        f"{s['speaker']}: {s['text']}" if s["speaker"] else s["text"] for s in segments
    ]
    assert http.get(f"/api/transcribe/result/{job_id}", params={"format": "doc"}).status_code == 422
