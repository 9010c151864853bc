"""Editing a finished transcript, and the job's audio for the player.

``PATCH /api/transcribe/result/{job_id}/segments/{segment_id}`` and
``PUT /api/transcribe/result/{job_id}/speakers`` carry the ``version`` of the transcript
they were made against (the result's ``version``); a stale one gets 409 and changes
nothing. Exports, the result and whatever a client sends the LLM read the edited transcript.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from serve_app.errors import AudioExpiredError, JobNotFoundError
from serve_app.http.deps import BackendDep, PrincipalDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.schemas import SegmentResponse
from serve_app.http.speakers import enrol_from_job, get_speakers
from serve_app.jobs.edits import TranscriptEdit
from serve_app.transcript.edits import MAX_SPEAKER_CHARS, MAX_TEXT_CHARS, speakers_of

router = APIRouter(prefix="/api/transcribe", tags=["edit"])

EDIT_RESPONSES = {
    **ERROR_RESPONSES,
    404: {"description": "Unknown job or segment"},
    409: {"description": "Stale version, or the job has not completed"},
}
AUDIO_BLOCK_BYTES = 1 << 20
# What the kept audio is, by the codec the chunker probed (flac: PCM uploads re-kept).
AUDIO_MEDIA_TYPES = {
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "vorbis": "audio/ogg",
    "opus": "audio/ogg",
    "aac": "audio/mp4",
    "alac": "audio/mp4",
}


class SegmentEdit(BaseModel):
    version: int = Field(ge=0, description="The result's ``version`` this edit was made on")
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    speaker: str | None = Field(None, max_length=MAX_SPEAKER_CHARS)


class SpeakerNames(BaseModel):
    version: int = Field(ge=0, description="The result's ``version`` this edit was made on")
    names: dict[str, str] = Field(
        description='Old name to new name, e.g. {"SPEAKER_1": "Alice"}; two speakers given '
        "one name are merged",
        max_length=100,
    )
    enroll: bool = Field(
        False,
        description="Also enrol each renamed voice as a known speaker under its new name "
        "(added to your speaker of that name if you have one)",
    )


class EditResponse(BaseModel):
    version: int
    """The transcript's version now: send it with the next edit."""
    speakers: list[str]
    segments: list[SegmentResponse]
    """The whole edited transcript."""
    enrolled: dict[str, str] = Field(default_factory=dict)
    """With ``enroll``: new name -> the known speaker's id it was enrolled as."""


def _response(edit: TranscriptEdit) -> EditResponse:
    return EditResponse(
        version=edit.version,
        speakers=speakers_of(edit.segments),
        segments=[SegmentResponse.model_validate(s.to_public()) for s in edit.segments],
    )


async def _check_visible(backend: BackendDep, principal: PrincipalDep, job_id: str) -> None:
    if not principal.sees_transcription(await backend.get_job(job_id)):
        raise JobNotFoundError()


@router.patch(
    "/result/{job_id}/segments/{segment_id}",
    response_model=EditResponse,
    responses=EDIT_RESPONSES,
)
async def edit_segment(
    job_id: str, segment_id: str, body: SegmentEdit, backend: BackendDep, principal: PrincipalDep
) -> EditResponse:
    """Change one segment's text and/or speaker."""
    await _check_visible(backend, principal, job_id)
    edit = await backend.edit_segment(job_id, body.version, segment_id, body.text, body.speaker)
    return _response(edit)


@router.put("/result/{job_id}/speakers", response_model=EditResponse, responses=EDIT_RESPONSES)
async def rename_speakers(
    job_id: str,
    body: SpeakerNames,
    backend: BackendDep,
    principal: PrincipalDep,
    request: Request,
) -> EditResponse:
    """Rename speakers (``SPEAKER_1`` to ``Alice``); mapping two onto one name merges them.
    ``enroll``: teach the voices their new names (known speakers)."""
    await _check_visible(backend, principal, job_id)
    registry = get_speakers(request) if body.enroll else None
    edit = await backend.rename_speakers(job_id, body.version, body.names)
    response = _response(edit)
    if registry is not None:
        for name in dict.fromkeys(body.names.values()):
            response.enrolled[name] = await enrol_from_job(registry, principal.name, job_id, name)
    return response


@router.get(
    "/audio/{job_id}",
    response_class=StreamingResponse,
    responses={
        **ERROR_RESPONSES,
        200: {"description": "The job's kept audio", "content": {"audio/*": {}}},
        410: {"description": "The job's audio has expired"},
    },
)
async def job_audio(job_id: str, backend: BackendDep, principal: PrincipalDep) -> StreamingResponse:
    """The audio the job was transcribed from, as kept (the upload, or FLAC for PCM)."""
    job = await backend.get_job(job_id)
    if job is None or not principal.sees_transcription(job):
        raise JobNotFoundError()
    file = await backend.open_audio(job_id)
    if file is None:
        raise AudioExpiredError(f"The audio of job {job_id} is no longer kept (audio_store.ttl_s)")
    media_type = AUDIO_MEDIA_TYPES.get(job.audio_codec or "")
    if media_type is None:
        media_type = "audio/wav" if (job.audio_codec or "").startswith("pcm_") else None
    return StreamingResponse(
        _blocks(file),
        media_type=media_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=3600"},
    )


def _blocks(file: BinaryIO) -> Iterator[bytes]:
    """Read in blocks (Starlette runs a plain iterator on its thread pool)."""
    with file:
        while block := file.read(AUDIO_BLOCK_BYTES):
            yield block
