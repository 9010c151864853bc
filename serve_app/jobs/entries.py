"""What the store holds of one job in memory, and loading every job from the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serve_app.jobs.commits import CommitQueue
from serve_app.jobs.db import JobDatabase
from serve_app.jobs.events import EventLog
from serve_app.jobs.model import Job
from serve_app.transcript.segments import Segment


class JobEntry:
    """A job, its published transcript, its event log and its chunk results."""

    __slots__ = ("commits", "events", "job", "results", "segments", "unsaved", "view")

    def __init__(
        self,
        job: Job,
        segments: list[Segment] | None = None,
        events: EventLog | None = None,
        results: dict[int, list[Segment]] | None = None,
    ) -> None:
        self.job = job
        self.segments: list[Segment] = segments or []
        self.events = events or EventLog()
        self.results: dict[int, list[Segment]] = results or {}
        self.view: list[Segment] | None = None
        """The segments with live speakers (``serve_app.jobs.speakers``), built on demand."""
        self.unsaved: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        """Database writes of the change being made, committed with the job's row."""
        self.commits = CommitQueue()
        """Changes made and not yet committed (``serve_app.jobs.commits``)."""


def load_entries(db: JobDatabase) -> dict[str, JobEntry]:
    """Every job with its segments, events (with their ``seq``) and chunk results."""
    entries = {}
    for job in db.load_jobs():
        results = {
            index: [Segment.model_validate(s) for s in data["segments"]]
            for index, data in db.load_chunk_results(job.job_id).items()
        }
        entries[job.job_id] = JobEntry(
            job, db.load_segments(job.job_id), EventLog(db.load_events(job.job_id)), results
        )
    return entries
