"""``/api/transcribe``: submit, status, result, job list, debug and live WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import (
    APIRouter,
    File,
    Form,
    Header,
    Query,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import JSONResponse, Response

from serve_app.config import IngressConfig
from serve_app.errors import (
    ForbiddenError,
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
)
from serve_app.http.auth import Principal, caller_identity, ws_subprotocol
from serve_app.http.backends import TranscriptionBackend
from serve_app.http.deps import BackendDep, PrincipalDep, RegistryDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.schemas import (
    ChunkDebug,
    JobCreatedResponse,
    JobDebugResponse,
    JobListResponse,
    JobStatusResponse,
    JobSummary,
    ModelsResponse,
    SegmentResponse,
    SpeakerTurnResponse,
    TranscriptionResult,
)
from serve_app.http.speakers import KNOWN_SPEAKERS_HELP, parse_known_speakers
from serve_app.http.streams import CLOSE_TRY_AGAIN_LATER, LiveStreams
from serve_app.http.submission import start_job
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.transcript.exports import MEDIA_TYPES, ExportFormat, render, to_rttm, turns_of
from serve_app.transcript.segments import join_text

router = APIRouter(prefix="/api/transcribe", tags=["transcribe"])

NOT_FOUND_MESSAGE = "Transcription job not found or expired"
MAX_PAGE_SIZE = 500


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def _transcription_job(
    backend: TranscriptionBackend, job_id: str, principal: Principal
) -> Job | None:
    """The job if it is a transcription the caller may see, else ``None``."""
    job = await backend.get_job(job_id)
    return job if principal.sees_transcription(job) else None


def _status(job: Job) -> JobStatusResponse:
    return JobStatusResponse(
        job_id=job.job_id,
        status=job.status.value,
        message=job.message,
        progress=round(job.progress, 1),
        updated_at=_iso(job.updated_at),
    )


@router.get("/models", response_model=ModelsResponse)
async def list_models(registry: RegistryDep) -> ModelsResponse:
    return ModelsResponse(models=registry.list_models())


@router.post(
    "/",
    response_model=JobCreatedResponse,
    responses={**ERROR_RESPONSES, 413: ERROR_RESPONSES[400] | {"description": "Too large"}},
)
async def submit(
    backend: BackendDep,
    registry: RegistryDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="Audio file (mp3, wav, m4a, ogg, flac, webm)")],
    model_name: Annotated[str, Form(min_length=1, max_length=200)] = "tiny.en",
    language: Annotated[str | None, Form(description="ISO 639-1 code; detected if unset")] = None,
    diarize: Annotated[bool, Form()] = True,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Sending the same key again returns the job it created",
        ),
    ] = None,
    num_speakers: Annotated[
        int | None, Form(ge=1, le=50, description="Exact speaker count")
    ] = None,
    min_speakers: Annotated[int | None, Form(ge=1, le=50)] = None,
    max_speakers: Annotated[int | None, Form(ge=1, le=50)] = None,
    known_speakers: Annotated[str | None, Form(description=KNOWN_SPEAKERS_HELP)] = None,
) -> JobCreatedResponse:
    if min_speakers and max_speakers and min_speakers > max_speakers:
        raise InvalidRequestError("min_speakers must not exceed max_speakers")
    if num_speakers and (min_speakers or max_speakers):
        raise InvalidRequestError("give num_speakers, or min_speakers/max_speakers, not both")
    job = await start_job(
        backend,
        registry,
        file,
        JobOptions(
            filename=file.filename,
            model_name=model_name,
            language=language,
            diarize=diarize,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            known_speakers=parse_known_speakers(known_speakers),
        ),
        idempotency_key,
        principal.name,
    )
    return JobCreatedResponse(
        job_id=job.job_id,
        status=JobStatus.PROCESSING.value,
        message=f"Transcription started for {file.filename or 'upload'} "
        f"with model {job.options.model_name}",
    )


@router.get("/jobs", response_model=JobListResponse)
async def list_jobs(
    backend: BackendDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> JobListResponse:
    """The caller's transcription jobs (an admin key: everyone's), newest first, one page:
    ``count`` on the page, ``total`` in all."""
    owner = None if principal.admin else principal.name
    page = await backend.list_jobs(owner, offset, limit or settings.limits.jobs_page_size)
    jobs = [
        JobSummary(
            job_id=j.job_id,
            status=j.status.value,
            progress=round(j.progress, 1),
            updated_at=_iso(j.updated_at),
            message=j.message,
            filename=j.options.filename,
        )
        for j in page.jobs
    ]
    return JobListResponse(
        jobs=jobs, count=len(jobs), total=page.total, offset=offset, limit=limit or len(jobs)
    )


@router.get(
    "/status/{job_id}",
    response_model=JobStatusResponse,
    responses={404: {"model": JobStatusResponse, "description": "Unknown or expired job"}},
)
async def job_status(
    job_id: str, backend: BackendDep, principal: PrincipalDep
) -> JobStatusResponse | JSONResponse:
    job = await _transcription_job(backend, job_id, principal)
    if job is None:
        body = JobStatusResponse(
            job_id=job_id,
            status="not_found",
            message=NOT_FOUND_MESSAGE,
            progress=0,
            updated_at=None,
        )
        return JSONResponse(body.model_dump(), status_code=404)
    return _status(job)


@router.get(
    "/result/{job_id}",
    response_model=TranscriptionResult,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "JSON by default; text/plain, SRT or WebVTT with ``format``",
            "content": {"text/plain": {}, "application/x-subrip": {}, "text/vtt": {}},
        },
    },
)
async def job_result(
    job_id: str,
    backend: BackendDep,
    principal: PrincipalDep,
    format: Annotated[ExportFormat, Query(description="json, txt, srt, vtt or rttm")] = "json",
) -> TranscriptionResult | Response:
    job = await _transcription_job(backend, job_id, principal)
    if job is None:
        raise JobNotFoundError()
    if job.status == JobStatus.PROCESSING:
        raise JobNotFinishedError(
            f"Transcription job {job_id} is still processing ({job.progress:.0f}%); "
            "poll /api/transcribe/status or follow the WebSocket"
        )
    if job.status == JobStatus.FAILED:
        raise JobNotFinishedError(f"Transcription job {job_id} failed: {job.message}")
    segments = await backend.get_segments(job_id) or []
    if format != "json":
        # The client's filename, reduced to safe characters (never a path, never a header).
        raw = (job.options.filename or job_id).rsplit(".", 1)[0]
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", raw).strip("_")[:100] or job_id
        body = (
            to_rttm(job.diarization_turns or turns_of(segments), stem)
            if format == "rttm"
            else render(segments, format)
        )
        return Response(
            body,
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{stem}.{format}"'},
        )
    return TranscriptionResult(
        segments=[SegmentResponse.model_validate(s.to_public()) for s in segments],
        text=join_text(segments),
        language=job.language,
        audio_duration=job.audio_duration,
        version=job.transcript_version,
        speaker_turns=[SpeakerTurnResponse.model_validate(t) for t in job.diarization_turns],
    )


@router.get(
    "/debug/{job_id}",
    response_model=JobDebugResponse,
    responses={**ERROR_RESPONSES, 403: {"description": "Not an admin key (auth on)"}},
)
async def job_debug(job_id: str, backend: BackendDep, principal: PrincipalDep) -> JobDebugResponse:
    """A job's internals (chunk states, timings, options): admin keys only."""
    if not principal.admin:
        raise ForbiddenError("/debug is for admin keys only")
    job = await _transcription_job(backend, job_id, principal)
    if job is None:
        raise JobNotFoundError()
    segments = await backend.get_segments(job_id) or []
    return JobDebugResponse(
        job_id=job.job_id,
        status=job.status.value,
        cached_segments=len(segments),
        latest_segment_time=segments[-1].end if segments else None,
        chunks=[ChunkDebug(**c.model_dump()) for c in job.chunks],
        timings=job.timings,
        options=job.options.model_dump(),
        created_at=_iso(job.created_at),
        updated_at=_iso(job.updated_at),
    )


@router.websocket("/live/{job_id}")
async def live(
    websocket: WebSocket,
    job_id: str,
    backend: BackendDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    after: Annotated[int, Query(ge=0, description="Resume after this event seq")] = 0,
) -> None:
    """Everything produced so far, in order, then the live rest; closes after the final status.

    Every event carries ``seq``; a client that reconnects with ``?after=<last seq>`` gets the
    rest with no gap and no duplicate. Past the live-stream budget (``ingress.live``) the
    socket is closed at once with code 1013 and a reason."""
    offered = websocket.headers.get("sec-websocket-protocol", "").split(",")
    await websocket.accept(subprotocol=ws_subprotocol([p.strip() for p in offered]))
    streams: LiveStreams = websocket.app.state.live_streams
    caller = caller_identity(websocket)
    refused = streams.acquire(caller)
    if refused is not None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=refused)
        return
    try:
        await _stream(websocket, job_id, backend, settings, principal, after)
    finally:
        streams.release(caller)


async def _stream(
    websocket: WebSocket,
    job_id: str,
    backend: TranscriptionBackend,
    settings: IngressConfig,
    principal: Principal,
    after: int,
) -> None:
    if await _transcription_job(backend, job_id, principal) is None:
        await _send_not_found(websocket)
        return
    # Reading in the background is how a vanished client is noticed between events.
    disconnected = asyncio.create_task(_wait_disconnect(websocket))
    cursor = after
    try:
        while not disconnected.done():
            poll = asyncio.create_task(
                backend.wait_events(job_id, cursor, settings.ws_poll_timeout_s)
            )
            await asyncio.wait({poll, disconnected}, return_when=asyncio.FIRST_COMPLETED)
            if not poll.done():
                poll.cancel()
                break
            batch = poll.result()
            if batch is None:
                await _send_not_found(websocket)
                break
            for event in batch.events:
                await websocket.send_json(event)
            cursor = batch.cursor
            if batch.finished:
                break
    except WebSocketDisconnect:
        return
    finally:
        disconnected.cancel()
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close()


async def _send_not_found(websocket: WebSocket) -> None:
    """One ``not_found`` status (unknown, expired or another key's job), then close."""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.send_json(
            {
                "type": "status",
                "status": "not_found",
                "message": NOT_FOUND_MESSAGE,
                "progress": 0,
                "chunk_info": None,
            }
        )
        await websocket.close()


async def _wait_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(Exception):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
