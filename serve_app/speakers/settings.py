"""Settings of speaker recognition (``job_store.speakers`` in the config)."""

from __future__ import annotations

from pydantic import Field

from serve_app.deployment_options import StrictModel

SPEAKER_MATCH_THRESHOLD = 0.73
"""Cosine similarity (CAM++ voiceprints, mean of 3 s pieces) above which a diarized speaker
is named after an enrolled person; below it the speaker stays ``SPEAKER_n`` ("unknown" is
an answer). Calibrated by ``bench/``; ``job_store.speakers.match_threshold`` overrides it."""

MIN_MATCH_SPEECH_S = 4.0
"""A live speaker is matched once this much of its speech is known (fewer seconds give
embeddings too noisy to name anyone with)."""


class SpeakerSettings(StrictModel):
    """Speaker recognition: the open-set threshold and what a voiceprint may be made of."""

    match_threshold: float = Field(SPEAKER_MATCH_THRESHOLD, ge=-1.0, le=1.0)
    """Cosine similarity a diarized speaker needs with an enrolled person to take the name."""
    min_match_speech_s: float = Field(MIN_MATCH_SPEECH_S, ge=0.0)
    """Speech a diarized speaker needs before it is matched (live passes and final)."""
    max_enrol_s: float = Field(120.0, gt=0.0)
    """At most this much speech of a clip or a job's speaker goes into one voiceprint."""
    max_speakers_per_owner: int = Field(1000, ge=1)
    """Enrolled people one owner may hold."""
    max_voiceprints_per_speaker: int = Field(50, ge=1)
    """Voiceprints (samples) one person may hold; the oldest go first past it."""
