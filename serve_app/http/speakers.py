"""``/api/speakers``: the caller's enrolled people (known speakers) and their voiceprints.

Every speaker belongs to the key that enrolled it (its name, as jobs do); another key gets
404 for it. A speaker is made from one or more audio clips (multipart: ``name`` and
``audio`` files) or from a speaker of one of the caller's jobs (JSON: ``name``, ``job_id``,
``speaker``). ``relabel: true`` also starts a background job that names that person in the
caller's finished jobs (``GET /api/speakers/relabel/{job_id}`` shows its progress).
``DELETE`` erases the person and every voiceprint of them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from serve_app.errors import AppError, InvalidRequestError, JobNotFoundError
from serve_app.http.deps import BackendDep, PrincipalDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.speakers.models import SpeakerInfo, Voiceprint
from serve_app.speakers.registry import SpeakerBackend
from serve_app.transcript.edits import MAX_SPEAKER_CHARS


class SharedPathRoute(APIRoute):
    """A route whose 405 names every method of its path (Starlette names only the first
    route's): ``/api/speakers`` and ``/api/speakers/{id}`` each have several routes."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.methods and scope["method"] not in self.methods:
            methods = {
                m
                for r in router.routes
                if isinstance(r, APIRoute) and r.path == self.path
                for m in r.methods
            }
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})
        await super().handle(scope, receive, send)


router = APIRouter(prefix="/api/speakers", tags=["speakers"], route_class=SharedPathRoute)

MAX_CLIPS = 10
SPEAKER_RESPONSES = {**ERROR_RESPONSES, 404: {"description": "Unknown speaker (or job)"}}
_FORMS = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SpeakerFromJob"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "audio": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "relabel": {"type": "boolean"},
                    },
                }
            },
        }
    }
}


class RegistryUnavailableError(AppError):
    status_code = 503
    code = "speakers_unavailable"


def get_speakers(conn: HTTPConnection) -> SpeakerBackend:
    registry: SpeakerBackend | None = getattr(conn.app.state, "speakers", None)
    if registry is None:
        raise RegistryUnavailableError("The speaker registry is not available on this server")
    return registry


SpeakersDep = Annotated[SpeakerBackend, Depends(get_speakers)]


class SpeakerFromJob(BaseModel):
    """JSON body of ``POST`` (``name`` required) and ``PATCH`` (every field optional)."""

    name: str | None = Field(None, min_length=1, max_length=MAX_SPEAKER_CHARS)
    job_id: str | None = Field(None, max_length=100)
    speaker: str | None = Field(
        None, max_length=MAX_SPEAKER_CHARS, description="The job's speaker (label or name)"
    )
    relabel: bool = Field(False, description="Also name this person in the finished jobs")


class SpeakerResponse(SpeakerInfo):
    relabel_job_id: str | None = None
    """The background relabel job started with ``relabel: true``."""


class SpeakerList(BaseModel):
    speakers: list[SpeakerInfo]


class RelabelRequest(BaseModel):
    job_ids: list[str] | None = Field(None, max_length=10000)
    """Only these jobs (None: every finished job of the caller)."""


class RelabelStatus(BaseModel):
    job_id: str
    status: str
    progress: float
    message: str
    result: dict[str, Any] | None = None


async def _parse(
    request: Request, speakers: SpeakerBackend
) -> tuple[SpeakerFromJob, list[Voiceprint]]:
    """The body (JSON or multipart) and the voiceprints it brings."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form(max_files=MAX_CLIPS)
        clips = [f for f in form.getlist("audio") if isinstance(f, UploadFile)]
        try:
            body = SpeakerFromJob(
                name=_text(form.get("name")),
                relabel=str(form.get("relabel", "false")).lower() in ("1", "true", "yes", "on"),
            )
        except ValidationError as exc:
            raise InvalidRequestError(f"invalid name: {exc.errors()[0]['msg']}") from exc
        prints = [await speakers.from_clip(await c.read(), c.filename) for c in clips]
        return body, prints
    try:
        body = SpeakerFromJob.model_validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid body: {exc.errors()[0]['msg']}") from exc
    return body, []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


async def _from_job(
    body: SpeakerFromJob, backend: BackendDep, principal: PrincipalDep, speakers: SpeakerBackend
) -> list[Voiceprint]:
    if body.job_id is None and body.speaker is None:
        return []
    if body.job_id is None or body.speaker is None:
        raise InvalidRequestError("give both job_id and speaker")
    if not principal.sees_transcription(await backend.get_job(body.job_id)):
        raise JobNotFoundError()
    return [await speakers.from_job(body.job_id, body.speaker)]


async def _respond(
    info: SpeakerInfo, body: SpeakerFromJob, principal: PrincipalDep, speakers: SpeakerBackend
) -> SpeakerResponse:
    relabel = await speakers.relabel(principal.name, None) if body.relabel else None
    return SpeakerResponse(**info.model_dump(), relabel_job_id=relabel.job_id if relabel else None)


@router.post(
    "",
    response_model=SpeakerResponse,
    status_code=201,
    responses=SPEAKER_RESPONSES,
    openapi_extra=_FORMS,
)
async def create_speaker(
    request: Request, backend: BackendDep, principal: PrincipalDep, speakers: SpeakersDep
) -> SpeakerResponse:
    """Enrol a person: ``name`` and one or more ``audio`` clips (multipart), or ``name``,
    ``job_id`` and ``speaker`` (JSON) to use that speaker's speech in that job."""
    body, prints = await _parse(request, speakers)
    if body.name is None:
        raise InvalidRequestError("a speaker needs a name")
    prints += await _from_job(body, backend, principal, speakers)
    if not prints:
        raise InvalidRequestError("give audio clips, or a job_id and speaker")
    info = await speakers.create(principal.name, body.name, prints)
    return await _respond(info, body, principal, speakers)


@router.get("", response_model=SpeakerList, responses=ERROR_RESPONSES)
async def list_speakers(principal: PrincipalDep, speakers: SpeakersDep) -> SpeakerList:
    """The caller's enrolled people (never the voiceprints themselves)."""
    return SpeakerList(speakers=await speakers.list_speakers(principal.name))


@router.post("/relabel", response_model=RelabelStatus, status_code=202, responses=ERROR_RESPONSES)
async def relabel(
    body: RelabelRequest, principal: PrincipalDep, speakers: SpeakersDep
) -> RelabelStatus:
    """Name the caller's enrolled people in their finished jobs again (background job;
    each changed transcript gets a new version, its text kept)."""
    job = await speakers.relabel(principal.name, body.job_ids)
    return _status(job)


@router.get("/relabel/{job_id}", response_model=RelabelStatus, responses=SPEAKER_RESPONSES)
async def relabel_status(
    job_id: str, backend: BackendDep, principal: PrincipalDep
) -> RelabelStatus:
    job = await backend.get_job(job_id)
    if job is None or job.kind != "relabel" or not principal.owns(job.owner):
        raise JobNotFoundError("Relabel job not found or expired")
    return _status(job)


def _status(job: Any) -> RelabelStatus:
    return RelabelStatus(
        job_id=job.job_id,
        status=job.status.value,
        progress=round(job.progress, 1),
        message=job.message,
        result=job.result,
    )


@router.get("/{speaker_id}", response_model=SpeakerInfo, responses=SPEAKER_RESPONSES)
async def get_speaker(
    speaker_id: str, principal: PrincipalDep, speakers: SpeakersDep
) -> SpeakerInfo:
    return await speakers.get(principal.name, speaker_id)


@router.patch(
    "/{speaker_id}",
    response_model=SpeakerResponse,
    responses=SPEAKER_RESPONSES,
    openapi_extra=_FORMS,
)
async def update_speaker(
    speaker_id: str,
    request: Request,
    backend: BackendDep,
    principal: PrincipalDep,
    speakers: SpeakersDep,
) -> SpeakerResponse:
    """Rename a person (``name``) and/or add samples (``audio`` clips, or ``job_id`` and
    ``speaker``)."""
    await speakers.get(principal.name, speaker_id)  # 404 before any audio is embedded
    body, prints = await _parse(request, speakers)
    prints += await _from_job(body, backend, principal, speakers)
    info = await speakers.update(principal.name, speaker_id, body.name, prints)
    return await _respond(info, body, principal, speakers)


@router.delete("/{speaker_id}", status_code=204, responses=SPEAKER_RESPONSES)
async def delete_speaker(
    speaker_id: str, principal: PrincipalDep, speakers: SpeakersDep
) -> Response:
    """Erase the person and every voiceprint of them."""
    await speakers.delete(principal.name, speaker_id)
    return Response(status_code=204)


KNOWN_SPEAKERS_HELP = (
    "Name speakers after your enrolled people: true (the default when you enrolled anyone), "
    "false, or comma-separated speaker ids to allow only those"
)


def parse_known_speakers(value: str | None) -> bool | list[str] | None:
    """The ``known_speakers`` form field: unset, ``true``/``false``, or ids."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if len(ids) > 1000 or any(len(i) > 100 for i in ids):
        raise InvalidRequestError("known_speakers: at most 1000 speaker ids")
    return ids


async def enrol_from_job(
    speakers: SpeakerBackend, owner: str | None, job_id: str, speaker: str
) -> str:
    """Enrol the voice shown as ``speaker`` in a job under that name: a sample added to
    the owner's person of that name, or a new person. Returns the person's id."""
    voiceprint = await speakers.from_job(job_id, speaker)
    known = await speakers.find(owner, speaker)
    if known is not None:
        return (await speakers.update(owner, known.id, None, [voiceprint])).id
    return (await speakers.create(owner, speaker, [voiceprint])).id
