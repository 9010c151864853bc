"""The batched ASR path (``asr.batch_size`` > 1) against one chunk per call, without Ray:
the real tiny.en model on synthesised speech, plus the pure segment splitting."""

import shutil

import pytest

from serve_app.asr.decoding import DecodeOptions
from serve_app.transcript.segments import Segment, Word

# The replica lowers its own process's priority (deployment.nice): not this test process's.
NOT_NICE = {"nice": 0}


def _words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(word=w, start=a, end=b, probability=0.9) for w, a, b in spec]


def test_split_at_sentence_ends_and_pauses():
    from serve_app.asr.segments import split_at_sentences

    words = _words(
        (" Hello", 0.0, 0.4),
        (" there.", 0.5, 0.9),
        (" We", 1.2, 1.4),
        (" paused", 1.5, 1.9),
        (" here", 3.5, 3.8),  # 1.6 s after the previous word
        (" again", 3.9, 4.2),
    )
    segment = Segment(start=0.0, end=4.2, text="x", words=words, avg_logprob=-0.2, tokens=[1])
    pieces = split_at_sentences(segment)
    assert [p.text for p in pieces] == ["Hello there.", "We paused", "here again"]
    assert [(p.start, p.end) for p in pieces] == [(0.0, 0.9), (1.2, 1.9), (3.5, 4.2)]
    assert all(p.avg_logprob == -0.2 and p.tokens == [] for p in pieces)


def test_one_sentence_stays_whole():
    from serve_app.asr.segments import split_at_sentences

    segment = Segment(start=0.0, end=1.0, text="Hi.", words=_words((" Hi.", 0.0, 1.0)))
    assert split_at_sentences(segment) == [segment]
    bare = Segment(start=0.0, end=1.0, text="Hi.")
    assert split_at_sentences(bare) == [bare]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_batched_chunks_match_one_chunk_per_call():
    import numpy as np

    from deployments.asr import WhisperASR
    from eval.speech import speech, wer
    from serve_app.config import load_config

    config = load_config(
        {"config": "configs/local-cpu.yaml", "asr": {"cpu_threads": 2, "deployment": NOT_NICE}}
    )
    chunks = [
        speech(["The budget was approved by finance.", "We meet again on Monday."]),
        speech(["Please send the report before Friday."]),
        np.zeros(16000 * 3, dtype=np.float32),  # silence: no segments, no decoding
    ]
    asr = WhisperASR(config.asr, config.models)
    model = asr._default
    single = [model.transcribe(c, "en", DecodeOptions()) for c in chunks]
    batched = model.transcribe_many(chunks, "en", DecodeOptions())

    assert len(batched) == len(chunks)
    assert batched[2].segments == []
    for one, many, chunk in zip(single[:2], batched[:2], chunks[:2], strict=True):
        assert many.duration == pytest.approx(chunk.shape[0] / 16000)
        text_one = " ".join(s.text for s in one.segments)
        text_many = " ".join(s.text for s in many.segments)
        assert wer(text_one, text_many) < 0.2
        # Times are relative to the chunk and inside it; words follow each other.
        for segment in many.segments:
            assert 0 <= segment.start < segment.end <= many.duration + 0.5
            assert segment.words and segment.words[0].start >= segment.start - 1e-6
    # The two sentences of the first chunk come back as two segments.
    assert len(batched[0].segments) == 2


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_a_failed_batch_never_fails_other_chunks():
    import asyncio

    from deployments.asr import WhisperASR
    from eval.speech import speech
    from serve_app.config import load_config

    config = load_config(
        {"config": "configs/local-cpu.yaml", "asr": {"cpu_threads": 2, "deployment": NOT_NICE}}
    )
    asr = WhisperASR(config.asr, config.models)
    good = speech(["Please send the report before Friday."])
    # Three chunks of (say) three jobs; the middle one names a model that does not load.
    results = asyncio.run(
        asr._transcribe_group(
            [(model, good, "en", DecodeOptions()) for model in ("tiny.en", "no-such-model")]
            + [("tiny.en", good, "en", DecodeOptions())]
        )
    )
    assert isinstance(results[1], Exception)
    assert all(not isinstance(r, Exception) and r.segments for r in (results[0], results[2]))

    # A batched pass that fails is decoded again chunk by chunk: every chunk still succeeds.
    def broken(*_args, **_kwargs):
        raise RuntimeError("batched decoder crashed")

    asr._default.transcribe_many = broken  # type: ignore[method-assign]
    again = asyncio.run(asr._transcribe_group([("tiny.en", good, "en", DecodeOptions())] * 2))
    assert all(not isinstance(r, Exception) and r.segments for r in again)
