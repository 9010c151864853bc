"""Typed application errors. Deployments raise these; only ``serve_app.http`` turns them
into HTTP responses (status from the class, message from the instance)."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error that maps to an HTTP response."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[type[AppError], tuple[str]]:
        # Keeps the subclass and message when Ray pickles the error across a handle.
        return (type(self), (self.message,))


class InvalidAudioError(AppError):
    """The upload is not audio, or cannot be decoded."""

    status_code = 400
    code = "invalid_audio"


class UnsupportedAudioFormatError(InvalidAudioError):
    """The upload is in a container that is not on the demuxer allow-list."""

    status_code = 415
    code = "unsupported_media_type"


class InvalidRequestError(AppError):
    """A field is well-formed but not acceptable (e.g. an unknown model)."""

    status_code = 400
    code = "invalid_request"


class JobNotFoundError(AppError):
    status_code = 404
    code = "job_not_found"

    def __init__(self, message: str = "Transcription job not found or expired") -> None:
        super().__init__(message)


class SegmentNotFoundError(AppError):
    status_code = 404
    code = "segment_not_found"


class ForbiddenError(AppError):
    """The caller's key may not do this (e.g. ``/debug`` without an admin key)."""

    status_code = 403
    code = "forbidden"


class JobNotFinishedError(AppError):
    status_code = 409
    code = "job_not_finished"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


class ModelUnavailableError(InvalidRequestError):
    """A known model whose weights are not present locally and cannot be fetched."""

    code = "model_unavailable"


class AudioExpiredError(AppError):
    """The job exists but its audio is no longer kept."""

    status_code = 410
    code = "audio_expired"


class LLMUnavailableError(AppError):
    """The LLM is disabled, still starting, or its engine failed."""

    status_code = 503
    code = "llm_unavailable"


class OverloadedError(AppError):
    """Every replica that could take the request is busy and its queue is full. Its subclass
    ``serve_app.autoscaling.cold_start.StartingError`` (code ``starting``) answers for a
    deployment scaled to zero that is starting (re-transcriber, LLM); both set
    ``Retry-After``."""

    status_code = 503
    code = "overloaded"
    retry_after_s = 5


class VersionConflictError(AppError):
    """An edit was made against an older version of the transcript than the stored one."""

    status_code = 409
    code = "version_conflict"
