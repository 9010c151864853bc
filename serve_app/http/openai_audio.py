"""OpenAI-compatible audio API: ``/v1/audio/transcriptions``, ``/v1/audio/translations``
and ``/v1/models``. Synchronous, but run through the same graph as ``/api/transcribe``
(the job shows up in the job list, chunks fan out to the ASR replicas)."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from serve_app.errors import AppError, JobNotFoundError
from serve_app.http.deps import BackendDep, PrincipalDep, RegistryDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.speakers import KNOWN_SPEAKERS_HELP, parse_known_speakers
from serve_app.http.submission import start_job, wait_finished
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.transcript.exports import render
from serve_app.transcript.segments import Segment, join_text

router = APIRouter(prefix="/v1", tags=["openai"])

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json", "diarized_json"]
Granularity = Literal["segment", "word"]


class TranscriptionFailedError(AppError):
    status_code = 500
    code = "transcription_failed"


def _verbose(job: Job, segments: list[Segment], task: str, words: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": task,
        "language": job.language,
        "duration": job.audio_duration,
        "text": join_text(segments),
        "segments": [
            {
                "id": i,
                "seek": int(s.start * 100),
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": s.tokens,
                "temperature": s.temperature or 0.0,
                "avg_logprob": s.avg_logprob or 0.0,
                "compression_ratio": s.compression_ratio or 0.0,
                "no_speech_prob": s.no_speech_prob or 0.0,
                **(_speaker(s) if s.speaker else {}),
            }
            for i, s in enumerate(segments)
        ],
    }
    if words:
        body["words"] = [
            {"word": w.word.strip(), "start": w.start, "end": w.end}
            for s in segments
            for w in s.words
        ]
    body["usage"] = {"type": "duration", "seconds": math.ceil(job.audio_duration or 0)}
    return body


def _speaker(s: Segment) -> dict[str, Any]:
    """The segment's speaker: the enrolled person's name (with its id and match score) or
    ``SPEAKER_n``."""
    return {"speaker": s.speaker, "speaker_id": s.speaker_id, "speaker_match": s.speaker_match}


def _diarized(job: Job, segments: list[Segment], task: str) -> dict[str, Any]:
    """``diarized_json``: OpenAI's diarized transcript shape, speakers named."""
    return {
        "task": task,
        "duration": job.audio_duration,
        "text": join_text(segments),
        "segments": [
            {
                "type": "transcript.text.segment",
                "id": f"seg_{i}",
                "start": s.start,
                "end": s.end,
                "text": s.text,
                **_speaker(s),
            }
            for i, s in enumerate(segments)
        ],
        "usage": {"type": "duration", "seconds": math.ceil(job.audio_duration or 0)},
    }


async def _run(
    backend: BackendDep,
    registry: RegistryDep,
    settings: SettingsDep,
    file: UploadFile,
    options: JobOptions,
    response_format: ResponseFormat,
    granularities: list[Granularity] | None,
    owner: str | None = None,
) -> Response:
    job = await start_job(backend, registry, file, options, owner=owner)
    finished = await wait_finished(backend, job.job_id, settings.ws_poll_timeout_s)
    if finished is None:
        raise JobNotFoundError()
    if finished.status != JobStatus.COMPLETED:
        raise TranscriptionFailedError(finished.message)
    segments = await backend.get_segments(job.job_id) or []
    if response_format == "json":
        return JSONResponse(
            {
                "text": join_text(segments),
                "usage": {"type": "duration", "seconds": math.ceil(finished.audio_duration or 0)},
            }
        )
    if response_format == "verbose_json":
        words = "word" in (granularities or [])
        return JSONResponse(_verbose(finished, segments, options.task, words))
    if response_format == "diarized_json":
        return JSONResponse(_diarized(finished, segments, options.task))
    if response_format == "text":
        return PlainTextResponse(join_text(segments) + "\n")
    return PlainTextResponse(render(segments, response_format))


# The OpenAI form fields, shared by both endpoints.
FileField = Annotated[UploadFile, File(description="Audio file")]
ModelField = Annotated[str, Form(description="whisper-1 (the default model) or a model name")]
PromptField = Annotated[str | None, Form()]
FormatField = Annotated[ResponseFormat, Form()]
TemperatureField = Annotated[float, Form(ge=0, le=1)]


@router.post("/audio/transcriptions", responses=ERROR_RESPONSES)
async def transcriptions(
    principal: PrincipalDep,
    backend: BackendDep,
    registry: RegistryDep,
    settings: SettingsDep,
    file: FileField,
    model: ModelField = "whisper-1",
    language: Annotated[str | None, Form()] = None,
    prompt: PromptField = None,
    response_format: FormatField = "json",
    temperature: TemperatureField = 0.0,
    timestamp_granularities: Annotated[
        list[Granularity] | None, Form(alias="timestamp_granularities[]")
    ] = None,
    diarize: Annotated[bool, Form(description="Extension: label speakers")] = False,
    known_speakers: Annotated[str | None, Form(description=KNOWN_SPEAKERS_HELP)] = None,
) -> Response:
    options = JobOptions(
        filename=file.filename,
        model_name=model,
        language=language,
        diarize=diarize or response_format == "diarized_json",
        known_speakers=parse_known_speakers(known_speakers),
        prompt=prompt,
        temperature=temperature,
    )
    return await _run(
        backend,
        registry,
        settings,
        file,
        options,
        response_format,
        timestamp_granularities,
        owner=principal.name,
    )


@router.post("/audio/translations", responses=ERROR_RESPONSES)
async def translations(
    principal: PrincipalDep,
    backend: BackendDep,
    registry: RegistryDep,
    settings: SettingsDep,
    file: FileField,
    model: ModelField = "whisper-1",
    prompt: PromptField = None,
    response_format: FormatField = "json",
    temperature: TemperatureField = 0.0,
) -> Response:
    if model == "whisper-1":
        model = registry.translation_model
    options = JobOptions(
        filename=file.filename,
        model_name=model,
        diarize=False,
        task="translate",
        prompt=prompt,
        temperature=temperature,
    )
    return await _run(
        backend, registry, settings, file, options, response_format, None, owner=principal.name
    )


@router.get("/models")
async def models(registry: RegistryDep, request: Request) -> dict[str, Any]:
    """ASR models present on this server (OpenAI list format), ``whisper-1`` included,
    and the served chat LLMs."""
    created = int(time.time())
    ids = ["whisper-1", *registry.available()]
    # ASR entries name the engine and the Serve deployment that serve them.
    backends = {
        i: {"backend": registry.spec(i).backend, "deployment": registry.spec(i).deployment}
        for i in ids
    }
    assistant = getattr(request.app.state, "assistant", None)
    if assistant is not None:
        ids.extend(m.id for m in assistant.list_models())
    return {
        "object": "list",
        "data": [
            {"id": i, "object": "model", "created": created, "owned_by": "serve-transcribe"}
            | backends.get(i, {})
            for i in ids
        ],
    }
