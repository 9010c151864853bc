"""Edits to a finished transcript under its version (``JobStore``'s part).

Every edit names the version it was made against; the store applies it only to that version
and moves the job to the next one, so two people editing at once never overwrite each
other unseen: the second gets a conflict and reloads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

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
        entry = self._jobs.get(job_id)
        if entry is None or entry.job.kind != "transcription":
            raise JobNotFoundError()
        job = entry.job
        if job.status != JobStatus.COMPLETED:
            raise JobNotFinishedError(
                f"Transcription job {job_id} is {job.status.value}: only a completed "
                "transcript can be edited"
            )
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
        self._publish_all(entry, segments)
        job.transcript_version += 1
        job.updated_at = time.time()
        await self._save(entry)
        return TranscriptEdit(version=job.transcript_version, segments=entry.segments)


def _same(change: Callable[[list[Segment]], list[Segment]], segments: list[Segment]) -> bool:
    """Whether ``change`` leaves ``segments`` as they are (an edit already applied)."""
    try:
        return change(segments) == segments
    except edits.EditError:
        return False
