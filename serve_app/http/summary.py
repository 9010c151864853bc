"""``/api/summary``: summary jobs over a transcript (asynchronous, with status)."""

from __future__ import annotations

from fastapi import APIRouter

from serve_app.http.deps import AssistantDep, PrincipalDep, SettingsDep
from serve_app.http.errors import ERROR_RESPONSES
from serve_app.http.limits import check_transcript
from serve_app.http.llm_starting import LLMStartingDep
from serve_app.llm.schemas import SummaryAccepted, SummaryJobStatus, SummaryRequest, SummaryResult

router = APIRouter(prefix="/api/summary", tags=["summary"])


@router.post("/", response_model=SummaryAccepted, responses=ERROR_RESPONSES)
async def submit_summary(
    req: SummaryRequest,
    assistant: AssistantDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    starting: LLMStartingDep,
) -> SummaryAccepted:
    """Start a summary job; poll ``/status/{job_id}``, then fetch ``/{job_id}``. While an
    LLM scaled to zero has no running replica: 503 ``starting`` with ``Retry-After`` (its
    start is under way; the retry is accepted)."""
    check_transcript(req, settings.limits)
    await starting.check_ready(req.model_name)
    job = await assistant.submit_summary(req, principal.name)
    return SummaryAccepted(job_id=job.job_id, status=job.status.value, message=job.message)


@router.get("/status/{job_id}", response_model=SummaryJobStatus, responses=ERROR_RESPONSES)
async def summary_status(
    job_id: str, assistant: AssistantDep, principal: PrincipalDep
) -> SummaryJobStatus:
    return await assistant.summary_status(job_id, None if principal.admin else principal.name)


@router.get("/{job_id}", response_model=SummaryResult, responses=ERROR_RESPONSES)
async def summary_result(
    job_id: str, assistant: AssistantDep, principal: PrincipalDep
) -> SummaryResult:
    """The summary; 409 while processing or when the job failed (with the reason)."""
    return await assistant.summary_result(job_id, None if principal.admin else principal.name)
