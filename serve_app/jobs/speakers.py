"""Live speakers of a running job: its speaker view, the revision events that change it,
and what a late subscriber gets instead of the history of revisions.

A job holds its ASR segments (``JobEntry.segments``, with ids) and the latest exclusive
speaker turns under the names clients were shown (``Job.speaker_turns``); the view is a
pure function of both (``serve_app.diarization.revisions``), so a restarted store rebuilds it.
When the job ends, the view becomes its transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from serve_app.diarization.alignment import rename_turns, speaker_names
from serve_app.diarization.revisions import revision, speaker_order, speaker_view
from serve_app.jobs.entries import JobEntry
from serve_app.jobs.model import Job
from serve_app.transcript.segments import Segment


def current_view(entry: JobEntry) -> list[Segment]:
    """The transcript clients hold now (cached on the entry)."""
    if entry.view is None:
        job = entry.job
        entry.view = speaker_view(entry.segments, job.speaker_turns, job.speaker_matches)
    return entry.view


def extend_view(entry: JobEntry, segments: list[Segment]) -> list[Segment]:
    """Add newly published ASR segments; returns their pieces as clients get them."""
    view = current_view(entry)
    pieces = speaker_view(segments, entry.job.speaker_turns, entry.job.speaker_matches)
    view.extend(pieces)
    return pieces


def revise(
    entry: JobEntry,
    turns: list[dict[str, Any]],
    final: bool,
    overlap_turns: list[dict[str, Any]] | None = None,
    centroids: dict[str, list[float]] | None = None,
    matcher: Callable[[Job], dict[str, dict[str, Any]]] | None = None,
) -> dict[str, Any] | None:
    """Take a new diarization pass (``turns``: its exclusive turns under the diarizer's
    labels): names mapped onto the ones shown, the view rebuilt; the pass's
    ``overlap_turns`` kept under the same names (``Job.diarization_turns``); returns the
    revision event (None: no change). ``centroids``: the pass's voiceprint of each label,
    kept under the shown names; ``matcher`` names them after enrolled people (known
    speakers, ``serve_app.jobs.voiceprints``)."""
    job = entry.job
    old = current_view(entry)
    overlap_turns = overlap_turns or []
    extra = [str(t["speaker"]) for t in overlap_turns]
    names = speaker_names(turns, job.speaker_turns, extra)
    job.speaker_turns = rename_turns(turns, names)
    job.diarization_turns = rename_turns(overlap_turns, names)
    job.speakers_final = job.speakers_final or final
    if centroids:
        shown = {names[label]: vector for label, vector in centroids.items() if label in names}
        job.speaker_voiceprints = shown if final else {**job.speaker_voiceprints, **shown}
    if matcher is not None:
        job.speaker_matches = matcher(job)
    entry.view = speaker_view(entry.segments, job.speaker_turns, job.speaker_matches)
    return revision(old, entry.view, final)


def settle(entry: JobEntry) -> bool:
    """The job ended: its view becomes its transcript; whether the segments changed."""
    job = entry.job
    if not job.speaker_turns:
        return False
    entry.segments = current_view(entry)
    job.speaker_turns = []
    job.speaker_display = {label: str(m["name"]) for label, m in job.speaker_matches.items()}
    if job.speaker_display:
        job.diarization_turns = rename_turns(job.diarization_turns, job.speaker_display)
    return True


def snapshot(entry: JobEntry) -> list[dict[str, Any]] | None:
    """For a subscriber starting from the beginning of a job whose speakers were revised:
    the current transcript as segment events and the latest status, numbered with the last
    ``seq`` (None: replay the log, nothing was revised)."""
    log = entry.events
    if not any(e.get("type") == "revision" for e in log.events):
        return None
    seq = log.last_seq
    segments = entry.segments if entry.job.finished else current_view(entry)
    events: list[dict[str, Any]] = [
        {"type": "segment", **s.to_public(), "seq": seq} for s in segments
    ]
    speakers = sorted({s.speaker for s in segments if s.speaker}, key=speaker_order)
    events.append(
        {
            "type": "revision",
            "final": entry.job.speakers_final,
            "segments": [],
            "removed": [],
            "speakers": speakers,
            "seq": seq,
        }
    )
    events.append({**entry.job.status_event(), "seq": seq})
    return events
