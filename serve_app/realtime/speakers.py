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

Two checks keep a voice the clustering has too few utterances of from taking another's
label or name (the spectral clean-up folds clusters under ``MIN_CLUSTER_SIZE`` into the
nearest one): a cluster is split where its utterances' voices are further apart than
``new_voice_similarity`` (the known-speaker threshold, calibrated on real voices; on the tune
split's asterisk voices one utterance reached it against the centroid of 2-12 utterances of
another voice 0.2% of the time, and 8% of a voice's own utterances fell below it), so a new
voice gets a live speaker of its own (:func:`separate_new_voices`); and a label's enrolled
name is shown on an utterance only when that utterance's own voiceprint passes the
registry's threshold against the person (``JobStore.verify_voice``).

``completed`` never waits for an embedding still running (``speaker_wait_s`` 0): its
``speaker`` is then null and a ``...transcription.speaker`` event follows (:meth:`follow`).

One speaker per utterance (the VAD cuts at pauses, where turns usually change); when the
session ends its whole audio is diarized as before and the job's speakers come from that
pass, mapped onto the labels already shown. Plain Python: handles come from the ingress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from serve_app.diarization.clustering import OnlineClusters, centroids, normalise
from serve_app.realtime import protocol as p

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

    def __init__(self, diarizer: Any, recording: Any, new_voice_similarity: float) -> None:
        self.diarizer, self.recording = diarizer, recording
        self.threshold = new_voice_similarity
        self.clusters = OnlineClusters()
        self.spans: list[tuple[float, float]] = []
        self._lock = asyncio.Lock()  # one utterance at a time through the clustering
        self._late: set[asyncio.Task[None]] = set()

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
        self,
        embedding: asyncio.Task[list[float]] | None,
        start_s: float,
        end_s: float,
        wait_s: float,
    ) -> LiveSpeaker | None:
        """The utterance's speaker, waiting at most ``wait_s`` for its embedding (None: no
        speaker in time, or the diarizer failed; the session's final pass still runs)."""
        if embedding is None:
            return None
        try:
            vector = await asyncio.wait_for(asyncio.shield(embedding), wait_s)
        except Exception as exc:  # a late or failed embedding costs one label, not the text
            logger.info("realtime speaker of %.1f-%.1f s: %r", start_s, end_s, exc)
            return None
        if not vector:
            return None
        try:
            async with self._lock:
                return await self._label(np.asarray(vector, dtype=np.float64), start_s, end_s)
        except Exception:
            logger.warning("realtime speaker of %.1f-%.1f s failed", start_s, end_s, exc_info=True)
            return None

    def follow(
        self,
        item: str,
        embedding: asyncio.Task[list[float]],
        start_s: float,
        end_s: float,
        wait_s: float,
        emit: Callable[[BaseModel], Awaitable[None]],
    ) -> None:
        """The speaker of an item completed before its voice was embedded, as its own event
        once it is known (the job's speaker turns get it too)."""
        task = asyncio.create_task(self._follow(item, embedding, start_s, end_s, wait_s, emit))
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def _follow(
        self,
        item: str,
        embedding: asyncio.Task[list[float]],
        start_s: float,
        end_s: float,
        wait_s: float,
        emit: Callable[[BaseModel], Awaitable[None]],
    ) -> None:
        try:
            speaker = await self.assign(embedding, start_s, end_s, wait_s)
            if speaker is not None:
                found = p.SpeakerFound(
                    item_id=item,
                    speaker=speaker.shown,
                    speaker_id=speaker.speaker_id,
                    start=start_s,
                    end=end_s,
                )
                with contextlib.suppress(Exception):  # the client may be gone
                    await emit(found)
        finally:
            cancel(embedding)

    async def settle(self) -> None:
        """Wait for the late speakers still being found (the session is ending)."""
        await asyncio.gather(*self._late, return_exceptions=True)

    async def _label(self, vector: np.ndarray, start_s: float, end_s: float) -> LiveSpeaker:
        labels = self.clusters.add(vector[None, None, :])[:, 0]
        self.spans.append((start_s, end_s))
        members = normalise(np.stack([e[0] for e in self.clusters.embeddings]))
        # bottom-up merging grows with the session's utterances: off the event loop
        labels = await asyncio.to_thread(separate_new_voices, members, labels, self.threshold)
        names = [f"SPEAKER_{int(k):02d}" for k in labels]
        turns = [
            {"start": a, "end": b, "speaker": name}
            for (a, b), name in zip(self.spans, names, strict=True)
        ]
        dense = np.unique(labels, return_inverse=True)[1]
        prints = {
            names[int(np.flatnonzero(dense == k)[0])]: [round(float(x), 6) for x in c]
            for k, c in enumerate(centroids(members, dense))
        }
        job = await self.recording.update_speakers(turns, prints)
        shown = shown_speaker(job, start_s, end_s) or LiveSpeaker(names[-1])
        if shown.speaker_id is not None:  # the label is named: is this utterance that person?
            voice = [round(float(x), 6) for x in vector]
            if await self.recording.verify_voice(shown.speaker_id, voice) is None:
                shown = LiveSpeaker(shown.label)
        return shown


def separate_new_voices(x: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """``labels`` of the normalised embeddings ``x``, each cluster split where it holds
    voices further apart than ``threshold``: its utterances are merged bottom-up, closest
    group centroids first, while two groups are within ``threshold``; the largest group
    keeps the label and every other group gets a new one."""
    labels = np.asarray(labels, dtype=int).copy()
    top = int(labels.max()) + 1 if labels.size else 0
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        if members.size < 2:
            continue
        groups = [[int(i)] for i in members]
        while len(groups) > 1:
            cents = normalise(np.stack([x[g].mean(axis=0) for g in groups]))
            sims = cents @ cents.T
            np.fill_diagonal(sims, -np.inf)
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            if sims[i, j] < threshold:
                break
            groups[i] += groups.pop(j)
        groups.sort(key=lambda g: (-len(g), min(g)))
        for group in groups[1:]:
            labels[group] = top
            top += 1
    return labels


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
