"""Live speakers of a realtime session: who spoke each utterance, on its ``completed`` event.

While the ASR replicas decode a finished utterance, the diarizer deployment embeds it
(``Diarizer.embed``: the same CAM++ voiceprint file jobs and known speakers use). The
session's embeddings are clustered with the online clustering of file jobs
(:class:`~serve_app.diarization.clustering.OnlineClusters`; each utterance is one window
with one local speaker), and the utterances become the job's speaker turns through the job
store's ``update_speakers``, the path of a file job's live diarization passes: labels
already shown stay stable when the clusters are re-fitted, and a label is named after a
person the owner enrolled (known speakers) once it has ``min_match_speech_s`` of speech.
The utterance's speaker is that name, else its ``SPEAKER_n`` label.

One speaker per utterance (the VAD cuts at pauses, where turns usually change); when the
session ends its whole audio is diarized as before and the job's speakers come from that
pass, mapped onto the labels already shown. Plain Python: handles come from the ingress.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from serve_app.diarization.clustering import OnlineClusters, centroids, normalise

logger = logging.getLogger("ray.serve")
SAMPLE_RATE = 16000
MIN_EMBED_S = 0.8
"""Shorter utterances get no speaker: their embedding is too noisy to cluster (a
voiceprint's pieces are at least this long, ``serve_app/speakers/voiceprint.py``)."""
MAX_EMBED_S = 30.0


@dataclass(frozen=True)
class LiveSpeaker:
    label: str
    """``SPEAKER_n`` in the job."""
    name: str | None = None
    """The enrolled person's name when known speakers named the label."""
    speaker_id: str | None = None

    @property
    def shown(self) -> str:
        return self.name or self.label


class LiveSpeakers:
    """Clusters a session's utterances as they finish (``recording``: the session's job)."""

    def __init__(self, diarizer: Any, recording: Any, wait_s: float) -> None:
        self.diarizer, self.recording, self.wait_s = diarizer, recording, wait_s
        self.clusters = OnlineClusters()
        self.spans: list[tuple[float, float]] = []

    def embed(self, audio: np.ndarray) -> asyncio.Task[list[float]] | None:
        """Start embedding an utterance (None: too short)."""
        if audio.shape[0] < MIN_EMBED_S * SAMPLE_RATE:
            return None
        return asyncio.create_task(self._embed(audio))

    async def _embed(self, audio: np.ndarray) -> list[float]:
        span = [(0.0, audio.shape[0] / SAMPLE_RATE)]
        vector, _ = await self.diarizer.embed.remote(audio, span, MAX_EMBED_S)
        return list(vector)

    async def assign(
        self, embedding: asyncio.Task[list[float]] | None, start_s: float, end_s: float
    ) -> LiveSpeaker | None:
        """The utterance's speaker, waiting at most ``wait_s`` more for its embedding (None:
        no speaker in time, or the diarizer failed; the session's final pass still runs)."""
        if embedding is None:
            return None
        try:
            vector = await asyncio.wait_for(embedding, self.wait_s)
        except Exception as exc:  # a late or failed embedding costs one label, not the text
            logger.info("realtime speaker of %.1f-%.1f s: %r", start_s, end_s, exc)
            return None
        if not vector:
            return None
        try:
            return await self._label(np.asarray(vector, dtype=np.float64), start_s, end_s)
        except Exception:
            logger.warning("realtime speaker of %.1f-%.1f s failed", start_s, end_s, exc_info=True)
            return None

    async def _label(self, vector: np.ndarray, start_s: float, end_s: float) -> LiveSpeaker:
        labels = self.clusters.add(vector[None, None, :])[:, 0]
        self.spans.append((start_s, end_s))
        names = [f"SPEAKER_{int(k):02d}" for k in labels]
        turns = [
            {"start": a, "end": b, "speaker": name}
            for (a, b), name in zip(self.spans, names, strict=True)
        ]
        members = normalise(np.stack([e[0] for e in self.clusters.embeddings]))
        dense = np.unique(labels, return_inverse=True)[1]
        prints = {
            names[int(np.flatnonzero(dense == k)[0])]: [round(float(x), 6) for x in c]
            for k, c in enumerate(centroids(members, dense))
        }
        job = await self.recording.update_speakers(turns, prints)
        return shown_speaker(job, start_s, end_s) or LiveSpeaker(names[-1])


def shown_speaker(job: Any, start_s: float, end_s: float) -> LiveSpeaker | None:
    """The label the job shows over ``start_s``-``end_s`` (its longest overlap), named when
    known speakers matched it."""
    if job is None:
        return None
    best, overlap = None, 0.0
    for turn in job.speaker_turns:
        shared = min(end_s, float(turn["end"])) - max(start_s, float(turn["start"]))
        if shared > overlap:
            best, overlap = str(turn["speaker"]), shared
    if best is None:
        return None
    match = job.speaker_matches.get(best) or {}
    return LiveSpeaker(best, match.get("name"), match.get("speaker_id"))


def cancel(embedding: asyncio.Task[list[float]] | None) -> None:
    """Drop an embedding that is no longer wanted (its utterance failed)."""
    if embedding is not None and not embedding.done():
        embedding.cancel()
