"""``/api/retranslate``: re-run one segment with another model (reference API names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from serve_app.asr.languages import normalize_language
from serve_app.errors import InvalidRequestError, JobNotFoundError
from serve_app.http.deps import BackendDep, PrincipalDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.transcript.spans import SpanTranscript

router = APIRouter(prefix="/api/retranslate", tags=["retranscribe"])


class RetranscribeResponse(BaseModel):
    segment_id: str
    text: str
    confidence: float = Field(description="exp of the mean token log-probability, 0..1")
    speaker: str | None
    model_used: str


class SpanRequest(BaseModel):
    segment_id: str | int
    start_time: float = Field(ge=0)
    end_time: float = Field(gt=0)
    model_name: str | None = None
    """Default: the server's ``asr.retranscribe_model``."""
    language: str | None = None
    apply: bool = False
    """Replace the segment in the job's stored result (a completed job's only)."""
    version: int | None = Field(default=None, ge=0)
    """With ``apply``: the transcript version the client holds; if the transcript has moved
    on since, nothing is applied and the answer is 409 (unset: the version it is at)."""


def _response(segment_id: str | int, result: SpanTranscript) -> RetranscribeResponse:
    return RetranscribeResponse(segment_id=str(segment_id), **result.model_dump())


@router.post("/segment", response_model=RetranscribeResponse, responses=ERROR_RESPONSES)
async def retranscribe_clip(
    backend: BackendDep,
    file: Annotated[UploadFile, File(description="The clipped audio of the segment")],
    segment_id: Annotated[str, Form()],
    start_time: Annotated[float, Form(ge=0)],
    end_time: Annotated[float, Form(gt=0)],
    model_name: Annotated[str | None, Form()] = None,
    language: Annotated[str | None, Form()] = None,
) -> RetranscribeResponse:
    """Transcribe an uploaded clip whole. ``start_time``/``end_time`` say where the clip sits
    in its recording: they are checked (``end_time`` > ``start_time`` >= 0) but change
    nothing, as the response carries no timestamps."""
    if end_time <= start_time:
        raise InvalidRequestError("end_time must be greater than start_time")
    data = await file.read()  # bounded by BodySizeLimitMiddleware
    result = await backend.retranscribe_clip(data, model_name, normalize_language(language))
    return _response(segment_id, result)


@router.post(
    "/segment-from-full",
    response_model=RetranscribeResponse,
    responses={
        **ERROR_RESPONSES,
        404: {"description": "Unknown job"},
        409: {"description": "apply: the job is not completed, or its transcript moved on"},
        410: {"description": "The job's audio has expired"},
    },
)
async def retranscribe_span(
    backend: BackendDep,
    principal: PrincipalDep,
    body: SpanRequest,
    job_id: Annotated[str, Query(min_length=1, max_length=64)],
    apply: Annotated[bool, Query(description="Same as the body field")] = False,
) -> RetranscribeResponse:
    if body.end_time <= body.start_time:
        raise InvalidRequestError("end_time must be greater than start_time")
    if not principal.sees_transcription(await backend.get_job(job_id)):
        raise JobNotFoundError()  # another key's job, its audio and result are not found
    result = await backend.retranscribe_span(
        job_id,
        body.start_time,
        body.end_time,
        body.model_name,
        normalize_language(body.language),
        body.apply or apply,
        version=body.version,
    )
    return _response(body.segment_id, result)
