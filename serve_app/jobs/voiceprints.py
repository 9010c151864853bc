"""Known speakers in the job store (``JobStore``'s part): each owner's enrolled people and
voiceprints, the match of a job's diarized speakers against them, and relabelling the
owner's finished jobs.

The registry of an owner is read from the database the first time it is needed and kept in
memory; the store is its only writer, so the copy stays true. A job's speakers carry their
voiceprints (``Job.speaker_voiceprints``, by ``SPEAKER_n`` label) from the diarizer, so a
finished job can be matched again, or enrolled from, without its audio.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from serve_app.errors import InvalidRequestError, JobNotFoundError
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.edits import TranscriptEdit
from serve_app.jobs.entries import JobEntry
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.speakers.matching import VoiceprintIndex, match_speakers
from serve_app.speakers.models import (
    Speaker,
    SpeakerInfo,
    SpeakerNotFoundError,
    Voiceprint,
    speaker_info,
)
from serve_app.speakers.relabel import relabelled, speech_seconds
from serve_app.speakers.settings import SpeakerSettings
from serve_app.transcript.segments import Segment

logger = logging.getLogger(__name__)


class OwnerRegistry:
    """One owner's people and voiceprints, and the index matching searches."""

    def __init__(self, speakers: list[Speaker], prints: list[Voiceprint]) -> None:
        self.speakers = {s.speaker_id: s for s in speakers}
        self.prints: dict[str, list[Voiceprint]] = {s.speaker_id: [] for s in speakers}
        for p in prints:
            self.prints.setdefault(p.speaker_id, []).append(p)
        self._index: VoiceprintIndex | None = None

    def changed(self) -> None:
        self._index = None

    @property
    def index(self) -> VoiceprintIndex:
        if self._index is None:
            people = list(self.speakers.values())
            self._index = VoiceprintIndex(
                people, (p for s in people for p in self.prints[s.speaker_id])
            )
        return self._index

    def info(self, speaker_id: str) -> SpeakerInfo:
        return speaker_info(self.speakers[speaker_id], self.prints.get(speaker_id, []))


def wanted(job: Job, registry: OwnerRegistry) -> set[str] | Literal[False] | None:
    """The ids a job may be matched with (None: all), False: none."""
    choice = job.options.known_speakers
    if choice is False or not registry.speakers:
        return False
    if isinstance(choice, list):
        return set(choice)
    return None


class KnownSpeakers:
    """Speaker registry and recognition; mixed into ``JobStore``, whose state it uses."""

    _db: JobDatabase | None
    _jobs: dict[str, JobEntry]
    _speaker_settings: SpeakerSettings
    _registries: dict[str, OwnerRegistry]
    _relabels: set[asyncio.Task[None]]
    _io: ThreadPoolExecutor

    if TYPE_CHECKING:

        async def _write(self, fn: Callable[..., Any], *args: Any) -> None: ...

        async def _save(self, entry: JobEntry, *events: dict[str, Any]) -> None: ...

        async def _entry(self, job_id: str, fence: int | None = None) -> JobEntry | None: ...

        async def _correct(self, entry: JobEntry, segments: list[Segment]) -> None: ...

        async def create_job(self, job: Job) -> Job: ...

        update_job: Callable[..., Awaitable[Job | None]]

    async def _registry(self, owner: str | None) -> OwnerRegistry:
        key = owner or ""
        registry = self._registries.get(key)
        if registry is None:
            speakers: list[Speaker] = []
            prints: list[Voiceprint] = []
            if self._db is not None:
                loop = asyncio.get_running_loop()
                speakers, prints = await loop.run_in_executor(
                    self._io,
                    self._db.load_speakers,
                    key,
                )
            registry = self._registries.setdefault(key, OwnerRegistry(speakers, prints))
        return registry

    async def _speaker(self, owner: str | None, speaker_id: str) -> tuple[OwnerRegistry, Speaker]:
        registry = await self._registry(owner)
        speaker = registry.speakers.get(speaker_id)
        if speaker is None:
            raise SpeakerNotFoundError()
        return registry, speaker

    # ---- CRUD ------------------------------------------------------------------------------

    async def create_speaker(
        self, owner: str | None, name: str, prints: list[Voiceprint]
    ) -> SpeakerInfo:
        """Enrol a person from one or more voiceprints (their ``speaker_id`` is replaced)."""
        registry = await self._registry(owner)
        if len(registry.speakers) >= self._speaker_settings.max_speakers_per_owner:
            raise InvalidRequestError(
                f"at most {self._speaker_settings.max_speakers_per_owner} speakers per key"
            )
        speaker = Speaker(owner=owner or "", name=name)
        kept = [p.model_copy(update={"speaker_id": speaker.speaker_id}) for p in prints]
        if self._db is not None:
            await self._write(self._db.save_speaker, speaker)
            await self._write(self._db.add_voiceprints, kept, speaker.owner)
        registry.speakers[speaker.speaker_id] = speaker
        registry.prints[speaker.speaker_id] = kept
        registry.changed()
        return registry.info(speaker.speaker_id)

    async def list_speakers(self, owner: str | None) -> list[SpeakerInfo]:
        registry = await self._registry(owner)
        return [registry.info(i) for i in registry.speakers]

    async def get_speaker(self, owner: str | None, speaker_id: str) -> SpeakerInfo:
        registry, _ = await self._speaker(owner, speaker_id)
        return registry.info(speaker_id)

    async def find_speaker(self, owner: str | None, name: str) -> SpeakerInfo | None:
        """The owner's person with exactly this name (the oldest), if any."""
        registry = await self._registry(owner)
        for speaker in registry.speakers.values():
            if speaker.name == name:
                return registry.info(speaker.speaker_id)
        return None

    async def update_speaker(
        self,
        owner: str | None,
        speaker_id: str,
        name: str | None = None,
        prints: list[Voiceprint] | None = None,
    ) -> SpeakerInfo:
        """Rename a person and/or add voiceprints (past the limit the oldest go)."""
        registry, speaker = await self._speaker(owner, speaker_id)
        now = time.time()
        if name is not None and name != speaker.name:
            if self._db is not None:
                await self._write(self._db.rename_speaker, speaker_id, name, now)
            speaker.name, speaker.updated_at = name, now
        if prints:
            added = [p.model_copy(update={"speaker_id": speaker_id}) for p in prints]
            held = registry.prints.setdefault(speaker_id, [])
            known = {p.voiceprint_id for p in held}
            added = [p for p in added if p.voiceprint_id not in known]
            limit = self._speaker_settings.max_voiceprints_per_speaker
            dropped = (held + added)[: max(0, len(held) + len(added) - limit)]
            if self._db is not None:
                await self._write(self._db.add_voiceprints, added, speaker.owner)
                await self._write(self._db.delete_voiceprints, [p.voiceprint_id for p in dropped])
            gone = {p.voiceprint_id for p in dropped}
            registry.prints[speaker_id] = [p for p in held + added if p.voiceprint_id not in gone]
            speaker.updated_at = now
            if self._db is not None:
                await self._write(self._db.save_speaker, speaker)
        registry.changed()
        return registry.info(speaker_id)

    async def delete_speaker(self, owner: str | None, speaker_id: str) -> None:
        """Erase a person and every voiceprint of them (database rows included)."""
        registry, _ = await self._speaker(owner, speaker_id)
        if self._db is not None:
            await self._write(self._db.delete_speaker, speaker_id)
        registry.speakers.pop(speaker_id, None)
        registry.prints.pop(speaker_id, None)
        registry.changed()

    async def job_voiceprint(self, job_id: str, speaker: str) -> tuple[list[float], str] | None:
        """The voiceprint of the speaker shown as ``speaker`` (a ``SPEAKER_n`` label or the
        name it shows now) in a job, and its label; None if the job kept none for it."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.kind != "transcription":
            raise JobNotFoundError()
        job = entry.job
        labels = [speaker] + [
            label for label, shown in job.speaker_display.items() if shown == speaker
        ]
        if not job.finished:
            labels += [k for k, m in job.speaker_matches.items() if m.get("name") == speaker]
        for label in labels:
            vector = job.speaker_voiceprints.get(label)
            if vector:
                return vector, label
        return None

    async def rename_speakers(
        self, job_id: str, version: int, names: Mapping[str, str]
    ) -> TranscriptEdit:
        """``TranscriptEdits.rename_speakers``, and the labels shown under a renamed name
        show the new one (what enrolling and relabelling that speaker look up)."""
        edit: TranscriptEdit = await super().rename_speakers(job_id, version, names)  # type: ignore[misc]
        entry = self._jobs.get(job_id)
        if entry is not None:
            job = entry.job
            labels = {*job.speaker_voiceprints, *job.speaker_display}
            display = {label: job.speaker_display.get(label, label) for label in labels}
            renamed = {label: names.get(shown, shown) for label, shown in display.items()}
            shown = {label: name for label, name in renamed.items() if name != label}
            if shown != job.speaker_display:
                job.speaker_display = shown
                await self._save(entry)
        return edit

    # ---- recognition -----------------------------------------------------------------------

    async def _matcher(self, job: Job) -> Callable[[Job], dict[str, dict[str, Any]]] | None:
        """What names a job's speakers (None: the job does not use known speakers)."""
        registry = await self._registry(job.owner)
        allowed = wanted(job, registry)
        if allowed is False:
            return None
        only: set[str] | None = allowed
        settings = self._speaker_settings

        def match(job: Job) -> dict[str, dict[str, Any]]:
            seconds = speech_seconds(job.speaker_turns)
            ready = {
                label: vector
                for label, vector in job.speaker_voiceprints.items()
                if seconds.get(label, 0.0) >= settings.min_match_speech_s
            }
            found = match_speakers(
                ready,
                registry.index,
                settings.match_threshold,
                only,
            )
            return {label: m.model_dump() for label, m in found.items()}

        return match

    async def verify_voice(
        self, job_id: str, speaker_id: str, embedding: list[float]
    ) -> float | None:
        """One voiceprint (a realtime utterance's) scored against a person the job may be
        matched with: the score when it reaches the match threshold, else None (a live
        label's name is given to an utterance only when the utterance's own voice passes)."""
        entry = self._jobs.get(job_id)
        if entry is None or not embedding:
            return None
        registry = await self._registry(entry.job.owner)
        allowed = wanted(entry.job, registry)
        people = [s.speaker_id for s in registry.index.speakers]
        if allowed is False or speaker_id not in people or speaker_id not in (allowed or people):
            return None
        query = np.asarray([embedding], dtype=np.float32)
        score = float(registry.index.scores(query)[0, people.index(speaker_id)])
        return round(score, 4) if score >= self._speaker_settings.match_threshold else None

    async def uses_known_speakers(self, job_id: str) -> bool:
        """Whether a job's speakers are matched live (the chunker asks for voiceprints)."""
        entry = self._jobs.get(job_id)
        return entry is not None and await self._matcher(entry.job) is not None

    # ---- relabelling -----------------------------------------------------------------------

    async def start_relabel(self, owner: str | None, job_ids: list[str] | None = None) -> Job:
        """A background ``relabel`` job: match every finished transcription job of
        ``owner`` (or those of ``job_ids``) again and rename its speakers; progress in the
        job. Idempotent: a job already labelled so is left at its version."""
        job = Job(
            job_id=uuid.uuid4().hex,
            kind="relabel",
            owner=owner,
            message="Relabelling speakers",
            options=JobOptions(model_name=""),
        )
        job = await self.create_job(job)
        task = asyncio.get_running_loop().create_task(self._relabel(job.job_id, owner, job_ids))
        self._relabels.add(task)
        task.add_done_callback(self._relabels.discard)
        return job

    async def _relabel(self, relabel_id: str, owner: str | None, job_ids: list[str] | None) -> None:
        targets = [
            e.job.job_id
            for e in self._jobs.values()
            if e.job.kind == "transcription"
            and e.job.owner == owner
            and e.job.status == JobStatus.COMPLETED
            and (job_ids is None or e.job.job_id in job_ids)
        ]
        changed = 0
        try:
            for n, job_id in enumerate(targets, start=1):
                changed += await self.relabel_job(job_id)
                await self.update_job(
                    relabel_id,
                    progress=100.0 * n / len(targets),
                    message=f"Relabelled {n} of {len(targets)} jobs",
                )
            await self.update_job(
                relabel_id,
                status=JobStatus.COMPLETED,
                message=f"{changed} of {len(targets)} jobs relabelled",
                result={"jobs": len(targets), "relabelled": changed},
            )
        except Exception as exc:
            logger.exception("relabel %s failed", relabel_id)
            await self.update_job(
                relabel_id, status=JobStatus.FAILED, message=f"Relabelling failed: {exc}"[:300]
            )

    async def relabel_job(self, job_id: str) -> bool:
        """Match one completed job's speakers again; a new transcript version if a name
        changed (texts kept). Whether it changed."""
        entry = await self._entry(job_id)
        if entry is None or entry.job.status != JobStatus.COMPLETED:
            return False
        job = entry.job
        registry = await self._registry(job.owner)
        allowed = wanted(job, registry)
        matches = {}
        if allowed is not False and job.speaker_voiceprints:
            found = match_speakers(
                job.speaker_voiceprints,
                registry.index,
                self._speaker_settings.match_threshold,
                allowed,
            )
            matches = {label: m.model_dump() for label, m in found.items()}
        result = relabelled(entry.segments, job.speaker_display, job.speaker_matches, matches)
        if result is None:
            return False
        segments, display = result
        job.speaker_matches, job.speaker_display = matches, display
        await self._correct(entry, segments)
        return True
