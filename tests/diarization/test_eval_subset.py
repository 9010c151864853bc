"""The fixed subset of the diarization evaluation set (``eval.corpus.test_subset``: three
short tune-split files, espeak + flite + festival voices, clean, noise and telephone), with
bounds. The held-out report split runs in ``bench/bench_diarization.py``, not here."""

from __future__ import annotations

import shutil

import pytest

from eval import corpus
from eval.diarization_eval import attribution
from serve_app.diarization.pipeline import PyannoteDiarizer

pytestmark = pytest.mark.diarization

_MISSING = [t for t in ("espeak-ng", "flite", "text2wave", "sox") if shutil.which(t) is None]


@pytest.fixture(scope="module")
def diarizer() -> PyannoteDiarizer:
    return PyannoteDiarizer()


@pytest.mark.skipif(
    bool(_MISSING), reason=f"voices not installed: {', '.join(_MISSING)} (make system-deps)"
)
def test_subset_attribution_and_speaker_counts(diarizer: PyannoteDiarizer) -> None:
    counts_right = 0
    for spec in corpus.test_subset():
        conversation = corpus.load(spec)
        result = diarizer.diarize(conversation.audio)
        hyp = [(t.start, t.end, t.speaker) for t in result.exclusive_turns]
        strict, _ = attribution(conversation.ref_tuples(), hyp, conversation.duration)
        expected = len(spec.voices)
        assert strict > 0.9, (spec.name, strict)
        assert abs(result.num_speakers - expected) <= 1, (spec.name, result.speakers)
        counts_right += result.num_speakers == expected
    assert counts_right >= 2
