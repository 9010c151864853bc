"""Summary and chat over transcripts: calls the LLM replicas through handles.

No vllm here: the LLM replicas run ``deployments.llm_server.TranscriptLLMServer``, whose
methods take and return plain dicts. This deployment runs summary jobs in the background
with their status in the job store (the map-reduce itself is ``serve_app.llm.summary``),
answers transcript chat (prompt fitting: ``serve_app.llm.chat``) and forwards the
OpenAI-compatible chat API.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from deployments.job_store import connect_job_store
from deployments.summary_jobs import SummaryJobs
from serve_app.config import AppConfig
from serve_app.errors import (
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
    LLMUnavailableError,
)
from serve_app.jobs.model import Job, JobStatus
from serve_app.llm.chat import fit_chat_prompt
from serve_app.llm.citations import citations
from serve_app.llm.output import count_words, shape_summary
from serve_app.llm.prompts import timed_lines
from serve_app.llm.schemas import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResponse,
    ContextInfo,
    SummaryJobStatus,
    SummaryRequest,
    SummaryResult,
    TranscriptInput,
    TranscriptLine,
    usage_from_engine,
)
from serve_app.llm.settings import LLMModel
from serve_app.llm.summary import Summariser, SummaryBudget
from serve_app.llm.timing import CallTimes
from serve_app.priority import lower_priority


class TranscriptAssistant:
    """Summary jobs, transcript chat and the OpenAI chat API over the served LLM(s)."""

    def __init__(self, llms: dict[str, Any], config: AppConfig) -> None:
        lower_priority(config.assistant.deployment.nice)
        self._llms = llms  # served model name -> TranscriptLLMServer handle
        self._settings = config.llm
        self._cfg = config.assistant
        self._store = connect_job_store(config.job_store)
        # Summary jobs are leased to the replica running them and keep their request, so
        # a replica that stops hands them back (or lets their leases lapse) and another
        # takes them up; a slow LLM call is no sign of a lost job.
        store = config.job_store
        self._summaries = SummaryJobs(self, self._store, store.lease_s, store.sweep_interval_s)
        with contextlib.suppress(RuntimeError):  # Serve builds replicas inside their loop
            self._summaries.start()

    @property
    def _tasks(self) -> set[asyncio.Task[None]]:
        return self._summaries.tasks

    async def __del__(self) -> None:
        # Scale-down or redeploy: hand the running summaries back now, so that another
        # replica takes them up without waiting for their leases to lapse.
        await self._summaries.stop()

    # ---- models ------------------------------------------------------------------------

    def list_models(self) -> list[ChatModel]:
        return [
            ChatModel(id=m.name, name=m.name, description=m.description)
            for m in self._settings.served_models()
        ]

    def _resolve(self, name: str | None) -> tuple[LLMModel, _LLMReplica]:
        served = {m.name for m in self._settings.served_models()}
        try:
            model = self._settings.get_model(name)
        except KeyError:
            model = None
        if model is None or model.name not in served:
            raise InvalidRequestError(
                f"Unknown model {name!r}. Available models: {', '.join(sorted(served))}"
            )
        handle = self._llms.get(model.name)
        if handle is None:
            raise LLMUnavailableError(f"LLM {model.name!r} is not running")
        return model, _LLMReplica(handle, self._cfg.request_timeout_s)

    async def _lines(self, req: TranscriptInput) -> tuple[list[TranscriptLine], list[str]]:
        """The segments with text, and each as the prompts show it."""
        segments, lines = timed_lines(req.transcript, req.full_text)
        if not lines:
            raise InvalidRequestError("The transcript is empty: send segments or full_text")
        return segments, lines

    # ---- chat --------------------------------------------------------------------------

    async def _chat_prompt(
        self, req: ChatRequest, model: LLMModel, llm: _LLMReplica
    ) -> tuple[list[dict[str, str]], ContextInfo]:
        _, lines = await self._lines(req)
        conversation = "\n".join(m.content for m in req.messages)
        counts = await llm.count([*lines, conversation])
        conversation_tokens = counts.pop()
        return fit_chat_prompt(
            req,
            lines,
            counts,
            conversation_tokens,
            model.max_model_len,
            self._cfg.context_margin_tokens,
            model.name,
        )

    async def chat(self, req: ChatRequest) -> ChatResponse:
        model, llm = self._resolve(req.model_name)
        messages, info = await self._chat_prompt(req, model, llm)
        out = await llm.call(
            llm.handle.chat_text.remote(
                messages, max_tokens=req.max_tokens, temperature=req.temperature
            )
        )
        return ChatResponse(
            message=ChatMessage(role="assistant", content=out["text"]),
            model_used=model.name,
            usage=usage_from_engine(out["usage"]),
            context=info,
            finish_reason=out.get("finish_reason"),
            citations=citations(out["text"], req.transcript),
        )

    async def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        """``{"delta": str}`` events, then ``{"done": true, usage, model_used, context,
        citations}``.

        Errors before the first token raise (the HTTP layer answers with the envelope); a
        later one aborts the stream, which then ends without its ``done`` event.
        """
        model, llm = self._resolve(req.model_name)
        messages, info = await self._chat_prompt(req, model, llm)
        stream = llm.handle.options(stream=True).chat_text_stream.remote(
            messages, max_tokens=req.max_tokens, temperature=req.temperature
        )
        answer: list[str] = []
        async for event in stream:
            if "delta" in event:
                answer.append(event["delta"])
                yield event
            else:
                cited = citations("".join(answer), req.transcript)
                yield {
                    "done": True,
                    "model_used": model.name,
                    "finish_reason": event.get("finish_reason"),
                    "usage": usage_from_engine(event.get("usage") or {}).model_dump(),
                    "context": info.model_dump(),
                    "citations": [c.model_dump() for c in cited],
                }

    # ---- OpenAI-compatible chat ----------------------------------------------------------

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        model, llm = self._resolve(body.get("model"))
        result: dict[str, Any] = await llm.call(
            llm.handle.openai_chat.remote({**body, "model": model.name})
        )
        return result

    async def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        model, llm = self._resolve(body.get("model"))
        stream = llm.handle.options(stream=True).openai_chat_stream.remote(
            {**body, "model": model.name}
        )
        async for line in stream:
            yield line

    # ---- summary jobs --------------------------------------------------------------------

    async def submit_summary(self, req: SummaryRequest, owner: str | None = None) -> Job:
        """Validate (400 before any job exists), create the job, run it in the background."""
        self._summaries.start()
        model, llm = self._resolve(req.model_name)
        lines = await self._lines(req)
        return await self._summaries.submit(req, model, llm, lines, owner)

    async def summary_job(self, job_id: str, owner: str | None = None) -> Job:
        """The summary job; ``owner`` set: only if that key created it (404 otherwise)."""
        job: Job | None = await self._store.get_job.remote(job_id)
        if job is None or job.kind != "summary" or (owner is not None and job.owner != owner):
            raise JobNotFoundError("Summary job not found or expired")
        return job

    async def summary_status(self, job_id: str, owner: str | None = None) -> SummaryJobStatus:
        job = await self.summary_job(job_id, owner)
        partial = (
            (job.result or {}).get("partial_notes") if job.status == JobStatus.PROCESSING else None
        )
        return SummaryJobStatus(
            job_id=job.job_id,
            status=job.status.value,
            message=job.message,
            progress=round(job.progress, 1),
            partial_notes=partial,
        )

    async def summary_result(self, job_id: str, owner: str | None = None) -> SummaryResult:
        job = await self.summary_job(job_id, owner)
        if job.status == JobStatus.FAILED:
            raise JobNotFinishedError(f"Summary failed: {job.message}")
        if job.status != JobStatus.COMPLETED or job.result is None:
            raise JobNotFinishedError(f"Summary is still processing ({job.progress:.0f}%)")
        return SummaryResult.model_validate(job.result)

    async def _summarise(
        self,
        job_id: str,
        req: SummaryRequest,
        lines: tuple[list[TranscriptLine], list[str]],
        model: LLMModel,
        llm: _LLMReplica,
        fence: int | None = None,
    ) -> SummaryResult:
        budget = SummaryBudget.for_request(
            model.max_model_len,
            req.max_length,
            self._cfg.notes_max_tokens,
            self._cfg.notes_chunk_tokens,
            self._cfg.context_margin_tokens,
        )

        async def progress(
            percent: float, message: str, notes: dict[str, Any] | None = None
        ) -> None:
            # The result field holds the partial notes while the job runs (the result
            # endpoint answers only once it is completed, and then overwrites them).
            partial = {"partial_notes": notes} if notes is not None else None
            await self._store.update_job.remote(
                job_id, progress=percent, message=message, result=partial, fence=fence
            )

        summariser = Summariser(llm, req, budget, self._cfg.max_parallel_calls, progress)
        draft = await summariser.run(lines[0])
        summary = (
            draft.text
            if req.format == "action_items"
            else shape_summary(draft.text, req.format, req.max_length)
        )
        return SummaryResult(
            summary=summary,
            topics=[t.title.strip() for t in draft.notes.topics][:5],  # checked, like notes
            length=count_words(summary),
            model_used=model.name,
            format=req.format,
            action_items=draft.action_items,
            notes={**draft.debug(), "timing": llm.times.as_dict(llm.usage)},
            context=draft.info,
            usage=llm.usage,
        )


class _LLMReplica:
    """One served model's replica handle: calls with the configured timeout, and the
    ``LLMCalls`` the summariser uses (adding up the engine's token usage)."""

    def __init__(self, handle: Any, timeout_s: float) -> None:
        self.handle = handle
        self._timeout_s = timeout_s
        self.usage: dict[str, int] = {}
        self.times = CallTimes()
        """When each ``generate`` call started, got its first token, and ended."""

    async def call(self, awaitable: Any) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self._timeout_s)
        except TimeoutError as exc:
            raise LLMUnavailableError(f"LLM did not answer within {self._timeout_s:.0f} s") from exc

    async def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        counts: list[int] = await self.call(self.handle.count_tokens.remote(texts))
        return counts

    async def generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        params: dict[str, Any] = {"max_tokens": max_tokens, "temperature": 0.2}
        if json_schema is not None:
            params["temperature"] = 0.0  # notes: extraction, greedy
            # vLLM's structured outputs: the reply is decoded against the schema.
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "notes", "schema": json_schema},
            }
        # Streamed, so that the time to the first token (prefill, and any wait for the
        # engine) and the rest (decode) are timed apart.
        started = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        usage: dict[str, Any] = {}

        async def consume() -> None:
            nonlocal first, usage
            stream = self.handle.options(stream=True).chat_text_stream.remote(messages, **params)
            async for event in stream:
                if "delta" in event:
                    first = first or time.perf_counter()
                    parts.append(event["delta"])
                else:
                    usage = event.get("usage") or {}

        await self.call(consume())
        ended = time.perf_counter()
        for key, value in usage.items():
            if isinstance(value, int):
                self.usage[key] = self.usage.get(key, 0) + value
        self.times.add(started, first, ended)
        return "".join(parts)
