"""Starting a job from an upload: shared by ``/api/transcribe`` and ``/v1/audio``."""

from __future__ import annotations

import uuid

from fastapi import UploadFile

from serve_app.asr.languages import normalize_language
from serve_app.asr.registry import ModelRegistry
from serve_app.http.backends import TranscriptionBackend
from serve_app.jobs.events import EventBatch
from serve_app.jobs.model import Job, JobOptions


def validate_options(registry: ModelRegistry, options: JobOptions) -> JobOptions:
    """Canonical model name and language, or a 400 saying what is wrong."""
    language = normalize_language(options.language)
    spec = registry.validate(options.model_name, language, options.task)
    return options.model_copy(update={"model_name": spec.name, "language": language})


async def start_job(
    backend: TranscriptionBackend,
    registry: ModelRegistry,
    file: UploadFile,
    options: JobOptions,
    idempotency_key: str | None = None,
    owner: str | None = None,
) -> Job:
    options = validate_options(registry, options)
    # The upload is already spooled by Starlette (bounded by BodySizeLimitMiddleware); the
    # backend streams it into the audio store from there.
    await file.seek(0)
    return await backend.submit(uuid.uuid4().hex, file.file, options, idempotency_key, owner)


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
