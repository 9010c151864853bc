"""From a transcription job's chunk plan: which segments can be published (in time order),
and the job's progress, chunk counts and message."""

from __future__ import annotations

from serve_app.jobs.model import ChunkState, Job
from serve_app.transcript.segments import Segment, finalize_chunk_segments

# Progress budget (percent): decoding is quick; the rest follows the transcript.
DECODED_AT, DONE_AT = 4.0, 99.0


def refresh_progress(job: Job) -> None:
    """Progress follows the published transcript through the audio (and diarization, when
    the job diarizes); ``chunk_info`` counts finished chunks of the plan known so far."""
    chunks = job.chunks
    done = sum(c.state == ChunkState.DONE for c in chunks)
    info = job.chunk_info
    info.current_chunk, info.total_chunks = done, len(chunks)
    info.chunk_progress = round(100.0 * done / len(chunks), 1) if chunks else 0.0
    until = chunks[job.published_chunks - 1].end if job.published_chunks else 0.0
    duration = job.audio_duration or 0.0
    fraction = min(1.0, until / duration) if duration else 0.0
    if job.planning_done and job.published_chunks == len(chunks):
        fraction = 1.0
    diarizing = info.diarization_progress
    if diarizing is not None:
        fraction = (fraction + diarizing / 100.0) / 2
    job.progress = min(DONE_AT, max(job.progress, DECODED_AT + (DONE_AT - DECODED_AT) * fraction))
    if done:
        job.message = f"Transcribed chunk {done} of {len(chunks)}"
        if diarizing is not None:
            job.message += f"; diarizing speakers {diarizing:.0f}%"


def publishable(job: Job, results: dict[int, list[Segment]]) -> list[Segment]:
    """The segments of every chunk that is now final (it and all chunks before it are done),
    in absolute time and clamped after what was published before; advances the job's
    ``published_chunks`` and ``published_until``."""
    out: list[Segment] = []
    while job.published_chunks in results and job.published_chunks < len(job.chunks):
        chunk = job.chunks[job.published_chunks]
        final = finalize_chunk_segments(
            results[job.published_chunks], chunk.start, chunk.end, job.published_until
        )
        chunk.segments = len(final)
        if final:
            job.published_until = final[-1].end
        out.extend(final)
        job.published_chunks += 1
    return out
