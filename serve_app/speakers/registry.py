"""The speaker registry as the API uses it: CRUD over the job-store actor (which keeps the
rows, ``serve_app.jobs.voiceprints``), voiceprints from the diarizer replica's embedding
model (clips), or from a job's own diarized speaker.

:class:`SpeakerRegistry` is what the ingress hands the ``/api/speakers`` routes; it calls
handles only through ``.remote`` and imports no Ray, so tests can drive it in-process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, Protocol

from serve_app.errors import AppError, InvalidRequestError
from serve_app.speakers.models import SpeakerInfo, Voiceprint, VoiceprintSource
from serve_app.speakers.settings import SpeakerSettings


class DiarizerUnavailableError(AppError):
    """Enrolling from a clip needs the diarizer's embedding model, and none is deployed."""

    status_code = 503
    code = "diarizer_unavailable"


class SpeakerBackend(Protocol):
    """What the ``/api/speakers`` routes call. ``owner``: the caller's key name."""

    async def create(
        self, owner: str | None, name: str, prints: list[Voiceprint]
    ) -> SpeakerInfo: ...

    async def list_speakers(self, owner: str | None) -> list[SpeakerInfo]: ...

    async def get(self, owner: str | None, speaker_id: str) -> SpeakerInfo: ...

    async def update(
        self, owner: str | None, speaker_id: str, name: str | None, prints: list[Voiceprint]
    ) -> SpeakerInfo: ...

    async def delete(self, owner: str | None, speaker_id: str) -> None: ...

    async def find(self, owner: str | None, name: str) -> SpeakerInfo | None: ...

    async def from_clip(self, data: bytes, filename: str | None) -> Voiceprint:
        """A voiceprint of the speech in an uploaded clip (400 without speech)."""
        ...

    async def from_job(self, job_id: str, speaker: str) -> Voiceprint:
        """A voiceprint of one speaker of a job (404 unknown job or speaker)."""
        ...

    async def relabel(self, owner: str | None, job_ids: list[str] | None) -> Any:
        """Start a background ``relabel`` job; returns the ``Job``."""
        ...


class SpeakerRegistry:
    """``SpeakerBackend`` over the job-store client and the diarizer handle (None: no
    diarizer deployed; enrolling from a clip then answers 503)."""

    def __init__(
        self,
        store: Any,
        diarizer: Any | None,
        settings: SpeakerSettings,
        open_audio: Callable[[str], Awaitable[BinaryIO | None]] | None = None,
    ) -> None:
        self._store, self._diarizer, self._settings = store, diarizer, settings
        self._open_audio = open_audio

    async def create(self, owner: str | None, name: str, prints: list[Voiceprint]) -> SpeakerInfo:
        info: SpeakerInfo = await self._store.create_speaker.remote(owner, name, prints)
        return info

    async def list_speakers(self, owner: str | None) -> list[SpeakerInfo]:
        found: list[SpeakerInfo] = await self._store.list_speakers.remote(owner)
        return found

    async def get(self, owner: str | None, speaker_id: str) -> SpeakerInfo:
        info: SpeakerInfo = await self._store.get_speaker.remote(owner, speaker_id)
        return info

    async def update(
        self, owner: str | None, speaker_id: str, name: str | None, prints: list[Voiceprint]
    ) -> SpeakerInfo:
        info: SpeakerInfo = await self._store.update_speaker.remote(owner, speaker_id, name, prints)
        return info

    async def delete(self, owner: str | None, speaker_id: str) -> None:
        await self._store.delete_speaker.remote(owner, speaker_id)

    async def find(self, owner: str | None, name: str) -> SpeakerInfo | None:
        info: SpeakerInfo | None = await self._store.find_speaker.remote(owner, name)
        return info

    async def _embed(
        self, audio: bytes, spans: list[tuple[float, float]] | None
    ) -> tuple[list[float], list[tuple[float, float]]]:
        if self._diarizer is None:
            raise DiarizerUnavailableError(
                "speaker diarization is disabled on this server: no voiceprint can be made"
            )
        result: tuple[list[float], list[tuple[float, float]]] = await self._diarizer.embed.remote(
            audio, spans, self._settings.max_enrol_s
        )
        return result

    async def from_clip(self, data: bytes, filename: str | None) -> Voiceprint:
        vector, used = await self._embed(data, None)
        if not vector:
            raise InvalidRequestError(f"no speech found in {filename or 'the clip'}")
        source = VoiceprintSource(
            kind="clip",
            filename=filename,
            spans=[(round(a, 3), round(b, 3)) for a, b in used],
            speech_s=round(sum(b - a for a, b in used), 3),
        )
        return Voiceprint(speaker_id="", embedding=vector, source=source)

    async def from_job(self, job_id: str, speaker: str) -> Voiceprint:
        kept = await self._store.job_voiceprint.remote(job_id, speaker)
        if kept is not None:
            vector, label = kept
            source = VoiceprintSource(kind="job", job_id=job_id, speaker=label)
            return Voiceprint(speaker_id="", embedding=vector, source=source)
        # A job diarized before voiceprints were kept: embed its speech from the audio.
        segments = await self._store.get_segments.remote(job_id) or []
        spans = [(s.start, s.end) for s in segments if s.speaker == speaker and s.end > s.start]
        if not spans:
            raise InvalidRequestError(f"job {job_id} has no speaker {speaker!r}")
        file = await self._open_audio(job_id) if self._open_audio else None
        if file is None:
            raise InvalidRequestError(
                f"job {job_id} kept no voiceprint of {speaker!r} and its audio has expired"
            )
        with file:
            data = file.read()
        vector, used = await self._embed(data, spans)
        if not vector:
            raise InvalidRequestError(f"no usable speech of {speaker!r} in job {job_id}")
        source = VoiceprintSource(
            kind="job",
            job_id=job_id,
            speaker=speaker,
            spans=[(round(a, 3), round(b, 3)) for a, b in used],
            speech_s=round(sum(b - a for a, b in used), 3),
        )
        return Voiceprint(speaker_id="", embedding=vector, source=source)

    async def relabel(self, owner: str | None, job_ids: list[str] | None) -> Any:
        return await self._store.start_relabel.remote(owner, job_ids)


class InProcessHandle:
    """An object's async methods called the way a Ray handle's are
    (``handle.method.remote(...)``): the registry over an in-process ``JobStore``."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        class _Call:
            @staticmethod
            def remote(*args: Any, **kwargs: Any) -> Any:
                return method(*args, **kwargs)

        return _Call()
