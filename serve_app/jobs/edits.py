"""Edits to a finished transcript under its version (``JobStore``'s part).

Every edit names the version it was made against; the store applies it only to that version
and moves the job to the next one, so two people editing at once never overwrite each
other unseen: the second gets a conflict and reloads. A re-transcribed span applied to the
transcript (``replace_segments``) is a change of the same kind, checked the same way.

Each change appends a ``revision`` event (the segments changed, the ids removed), so a
client following the job, or replaying it from the start, ends with the corrected
transcript, the one ``/result`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from serve_app.diarization.revisions import revision, with_ids
from serve_app.errors import (
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
    SegmentNotFoundError,
    VersionConflictError,
)
from serve_app.jobs.entries import JobEntry
from serve_app.jobs.model import JobStatus
from serve_app.transcript import edits
from serve_app.transcript.segments import Segment


class TranscriptEdit(BaseModel):
    """The transcript after an edit, and its new version."""

    version: int
    segments: list[Segment]


class TranscriptEdits:
    """Segment and speaker edits; mixed into ``JobStore``, whose state it uses."""

    _jobs: dict[str, JobEntry]

    if TYPE_CHECKING:

        async def _save(self, entry: JobEntry, *events: dict[str, Any]) -> None: ...

        async def _entry(self, job_id: str, fence: int | None = None) -> JobEntry | None: ...

        def _publish_all(self, entry: JobEntry, segments: list[Segment]) -> None: ...

    async def edit_segment(
        self,
        job_id: str,
        version: int,
        segment_id: str,
        text: str | None = None,
        speaker: str | None = None,
    ) -> TranscriptEdit:
        """Replace one segment's text and/or speaker."""
        return await self._edit(
            job_id, version, lambda s: edits.edit_segment(s, segment_id, text, speaker)
        )

    async def rename_speakers(
        self, job_id: str, version: int, names: Mapping[str, str]
    ) -> TranscriptEdit:
        """Rename speakers; two mapped onto one name are merged."""
        return await self._edit(job_id, version, lambda s: edits.rename_speakers(s, names))

    async def _edit(
        self, job_id: str, version: int, change: Callable[[list[Segment]], list[Segment]]
    ) -> TranscriptEdit:
        entry = await self._completed(job_id, "only a completed transcript can be edited")
        job = entry.job
        current = job.transcript_version
        if version == current - 1 and _same(change, entry.segments):
            # The same edit again (a retried call whose first try was stored): it is there.
            return TranscriptEdit(version=current, segments=entry.segments)
        if version != current:
            raise VersionConflictError(
                f"The transcript is at version {current}, and this edit was "
                f"made against version {version}: reload it and make the edit again"
            )
        try:
            segments = change(entry.segments)
        except edits.UnknownSegmentError as exc:
            raise SegmentNotFoundError(str(exc)) from exc
        except edits.EditError as exc:
            raise InvalidRequestError(str(exc)) from exc
        await self._correct(entry, segments)
        return TranscriptEdit(version=job.transcript_version, segments=entry.segments)

    async def replace_segments(
        self, job_id: str, segments: list[Segment], expected_version: int | None = None
    ) -> TranscriptEdit:
        """Make ``segments`` a completed job's transcript (a re-transcribed span applied
        to it), if it is still at ``expected_version`` (None: whatever version it is at).
        Segments without an id get ids no other segment has (``_new_ids``)."""
        entry = await self._completed(
            job_id, "a span can be applied to a completed transcript only"
        )
        job = entry.job
        if expected_version is not None and expected_version != job.transcript_version:
            raise VersionConflictError(
                f"The transcript is at version {job.transcript_version}, and this change "
                f"was made against version {expected_version}: reload it and try again"
            )
        await self._correct(entry, _new_ids(entry.segments, segments))
        return TranscriptEdit(version=job.transcript_version, segments=entry.segments)

    async def _completed(self, job_id: str, why: str) -> JobEntry:
        """A completed transcription job's entry; otherwise not found, or not finished
        (``why`` says what needs a completed transcript)."""
        entry = await self._entry(job_id)
        if entry is None or entry.job.kind != "transcription":
            raise JobNotFoundError()
        if entry.job.status != JobStatus.COMPLETED:
            raise JobNotFinishedError(
                f"Transcription job {job_id} is {entry.job.status.value}: {why}"
            )
        return entry

    async def _correct(self, entry: JobEntry, segments: list[Segment]) -> None:
        """The transcript's next version, and the revision event that leads to it."""
        old, job = entry.segments, entry.job
        self._publish_all(entry, segments)
        job.transcript_version += 1
        job.updated_at = time.time()
        event = revision(old, entry.segments, job.speakers_final)
        await self._save(entry, *([entry.events.append(event)] if event else []))


def _position(segment_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in segment_id.split("."))


def _new_ids(old: list[Segment], segments: list[Segment]) -> list[Segment]:
    """``segments`` with an id for each that has none: the ids of the segments they
    replaced, in order (a span re-transcribed in place keeps its id); when those do not go
    round, or would put the transcript out of id order (clients sort by id), every segment
    is numbered again from 0. Either way no two segments share an id."""
    if all(s.id for s in segments):
        return segments
    kept = {s.id for s in segments if s.id}
    free = iter([s.id for s in old if s.id not in kept])
    out = [s if s.id else s.model_copy(update={"id": next(free, "")}) for s in segments]
    ids = [s.id or "" for s in out]
    try:
        positions = [_position(i) for i in ids]
    except ValueError:  # an id without its number: none was free
        positions = []
    if len(positions) == len(ids) == len(set(ids)) and positions == sorted(positions):
        return out
    return with_ids(segments, 0)


def _same(change: Callable[[list[Segment]], list[Segment]], segments: list[Segment]) -> bool:
    """Whether ``change`` leaves ``segments`` as they are (an edit already applied)."""
    try:
        return change(segments) == segments
    except edits.EditError:
        return False
