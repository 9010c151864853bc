"""Starting a job from an upload: shared by ``/api/transcribe`` and ``/v1/audio``."""

from __future__ import annotations

import uuid

from fastapi import UploadFile

from serve_app.backend import TranscriptionBackend
from serve_app.errors import InvalidRequestError
from serve_app.job_store import EventBatch
from serve_app.jobs import Job, JobOptions
from serve_app.languages import WHISPER_LANGUAGES
from serve_app.models import ModelRegistry


def validate_options(registry: ModelRegistry, options: JobOptions) -> JobOptions:
    """Canonical model name and language, or a 400 saying what is wrong."""
    language = (options.language or "").strip().lower() or None
    if language is not None and language not in WHISPER_LANGUAGES:
        raise InvalidRequestError(f"Unsupported language '{language}': use an ISO 639-1 code")
    spec = registry.spec(options.model_name)
    if not spec.multilingual and language not in (None, "en"):
        raise InvalidRequestError(
            f"Model '{spec.name}' is English-only; choose a multilingual model for '{language}'"
        )
    if not spec.multilingual and options.task == "translate":
        raise InvalidRequestError(
            f"Model '{spec.name}' is English-only and cannot translate; "
            f"choose a multilingual model such as '{registry.translation_model}'"
        )
    registry.resolve(spec.name)
    return options.model_copy(update={"model_name": spec.name, "language": language})


async def start_job(
    backend: TranscriptionBackend, registry: ModelRegistry, file: UploadFile, options: JobOptions
) -> Job:
    options = validate_options(registry, options)
    data = await file.read()  # bounded by BodySizeLimitMiddleware
    return await backend.submit(uuid.uuid4().hex, data, options)


async def wait_finished(backend: TranscriptionBackend, job_id: str, poll_s: float) -> Job | None:
    """Block until the job ends (for synchronous APIs); ``None`` if it disappeared."""
    cursor = 0
    while True:
        batch: EventBatch | None = await backend.wait_events(job_id, cursor, poll_s)
        if batch is None:
            return None
        cursor = batch.cursor
        if batch.finished:
            return await backend.get_job(job_id)
