"""Summary and chat over transcripts: calls the LLM replicas through handles.

No vllm here: the LLM replicas run ``serve_app.llm_server.TranscriptLLMServer``, whose
methods take and return plain dicts. This deployment builds the prompts, fits the
transcript into the context window (map-reduce for summaries, relevant segments for chat),
runs summary jobs in the background with status in the job store, and forwards the
OpenAI-compatible chat API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from deployments.job_store import connect_job_store
from serve_app.config import AppConfig
from serve_app.errors import (
    AppError,
    InvalidRequestError,
    JobNotFinishedError,
    JobNotFoundError,
    LLMUnavailableError,
)
from serve_app.jobs import Job, JobOptions, JobStatus
from serve_app.llm_config import LLMModel
from serve_app.llm_context import chunk_by_budget, select_relevant, split_long_line
from serve_app.llm_output import count_words, extract_topics, shape_summary
from serve_app.llm_prompts import (
    chat_messages,
    map_messages,
    reduce_messages,
    summary_messages,
    transcript_lines,
)
from serve_app.llm_schemas import (
    ChatMessage,
    ChatModel,
    ChatRequest,
    ChatResponse,
    ContextInfo,
    SummaryJobStatus,
    SummaryRequest,
    SummaryResult,
    TranscriptInput,
    usage_from_engine,
)

# Tokens of prompt text around the transcript (instructions, chat template), counted
# generously so that a prompt we build never overflows the window.
PROMPT_OVERHEAD_TOKENS = 160


class TranscriptAssistant:
    """Summary jobs, transcript chat and the OpenAI chat API over the served LLM(s)."""

    def __init__(self, llms: dict[str, Any], config: AppConfig) -> None:
        self._llms = llms  # served model name -> TranscriptLLMServer handle
        self._settings = config.llm
        self._cfg = config.assistant
        self._store = connect_job_store(config.job_store)
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- models ------------------------------------------------------------------------

    def list_models(self) -> list[ChatModel]:
        return [
            ChatModel(id=m.name, name=m.name, description=m.description)
            for m in self._settings.served_models()
        ]

    def _resolve(self, name: str | None) -> tuple[LLMModel, Any]:
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
        return model, handle

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await asyncio.wait_for(awaitable, self._cfg.request_timeout_s)
        except TimeoutError as exc:
            raise LLMUnavailableError(
                f"LLM did not answer within {self._cfg.request_timeout_s:.0f} s"
            ) from exc

    async def _count(self, handle: Any, texts: list[str]) -> list[int]:
        if not texts:
            return []
        counts: list[int] = await self._call(handle.count_tokens.remote(texts))
        return counts

    async def _lines(self, req: TranscriptInput) -> list[str]:
        lines = transcript_lines(req.transcript, req.full_text)
        if not lines:
            raise InvalidRequestError("The transcript is empty: send segments or full_text")
        return lines

    # ---- chat --------------------------------------------------------------------------

    async def _chat_prompt(
        self, req: ChatRequest, model: LLMModel, handle: Any
    ) -> tuple[list[dict[str, str]], ContextInfo]:
        lines = await self._lines(req)
        conversation = [m.model_dump() for m in req.messages]
        counts = await self._count(handle, [*lines, "\n".join(m.content for m in req.messages)])
        conversation_tokens = counts.pop()
        window = model.max_model_len
        budget = (
            window
            - req.max_tokens
            - conversation_tokens
            - PROMPT_OVERHEAD_TOKENS
            - self._cfg.context_margin_tokens
        )
        if budget < 32:
            raise InvalidRequestError(
                f"max_tokens {req.max_tokens} plus the conversation leave no room for the "
                f"transcript in {model.name}'s {window}-token context"
            )
        total = sum(counts) + len(counts)  # +1 per line for its newline
        info = ContextInfo(
            strategy="full",
            total_segments=len(lines),
            used_segments=len(lines),
            transcript_tokens=sum(counts),
            context_window=window,
        )
        note = None
        if total > budget:
            question = next((m.content for m in reversed(req.messages) if m.role == "user"), "")
            keep = select_relevant(lines, [c + 1 for c in counts], question, budget)
            lines = [lines[i] for i in keep]
            info.strategy = "selected"
            info.used_segments = len(lines)
            note = (
                f"The transcript is too long for the context window: only the {len(lines)} "
                f"of {info.total_segments} segments most relevant to the question are shown."
            )
        return chat_messages(lines, conversation, note), info

    async def chat(self, req: ChatRequest) -> ChatResponse:
        model, handle = self._resolve(req.model_name)
        messages, info = await self._chat_prompt(req, model, handle)
        out = await self._call(
            handle.chat_text.remote(
                messages, max_tokens=req.max_tokens, temperature=req.temperature
            )
        )
        return ChatResponse(
            message=ChatMessage(role="assistant", content=out["text"]),
            model_used=model.name,
            usage=usage_from_engine(out["usage"]),
            context=info,
            finish_reason=out.get("finish_reason"),
        )

    async def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        """``{"delta": str}`` events, then ``{"done": true, usage, model_used, context}``.

        Errors before the first token raise (the HTTP layer answers with the envelope);
        later ones end the stream with ``{"error": ...}``.
        """
        model, handle = self._resolve(req.model_name)
        messages, info = await self._chat_prompt(req, model, handle)
        stream = handle.options(stream=True).chat_text_stream.remote(
            messages, max_tokens=req.max_tokens, temperature=req.temperature
        )
        async for event in stream:
            if "delta" in event:
                yield event
            else:
                yield {
                    "done": True,
                    "model_used": model.name,
                    "finish_reason": event.get("finish_reason"),
                    "usage": usage_from_engine(event.get("usage") or {}).model_dump(),
                    "context": info.model_dump(),
                }

    # ---- OpenAI-compatible chat ----------------------------------------------------------

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        model, handle = self._resolve(body.get("model"))
        result: dict[str, Any] = await self._call(
            handle.openai_chat.remote({**body, "model": model.name})
        )
        return result

    async def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        model, handle = self._resolve(body.get("model"))
        stream = handle.options(stream=True).openai_chat_stream.remote(
            {**body, "model": model.name}
        )
        async for line in stream:
            yield line

    # ---- summary jobs --------------------------------------------------------------------

    async def submit_summary(self, req: SummaryRequest) -> Job:
        """Validate (400 before any job exists), create the job, run it in the background."""
        model, handle = self._resolve(req.model_name)
        lines = await self._lines(req)
        job = Job(
            job_id=str(uuid.uuid4()),
            kind="summary",
            options=JobOptions(model_name=model.name),
            message=f"Summary started with model {model.name}",
        )
        await self._store.create_job.remote(job)
        task = asyncio.create_task(self._run_summary(job.job_id, req, lines, model, handle))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def summary_job(self, job_id: str) -> Job:
        job: Job | None = await self._store.get_job.remote(job_id)
        if job is None or job.kind != "summary":
            raise JobNotFoundError("Summary job not found or expired")
        return job

    async def summary_status(self, job_id: str) -> SummaryJobStatus:
        job = await self.summary_job(job_id)
        return SummaryJobStatus(
            job_id=job.job_id,
            status=job.status.value,
            message=job.message,
            progress=round(job.progress, 1),
        )

    async def summary_result(self, job_id: str) -> SummaryResult:
        job = await self.summary_job(job_id)
        if job.status == JobStatus.FAILED:
            raise JobNotFinishedError(f"Summary failed: {job.message}")
        if job.status != JobStatus.COMPLETED or job.result is None:
            raise JobNotFinishedError(f"Summary is still processing ({job.progress:.0f}%)")
        return SummaryResult.model_validate(job.result)

    async def _progress(self, job_id: str, progress: float, message: str) -> None:
        await self._store.update_job.remote(job_id, progress=progress, message=message)

    async def _run_summary(
        self, job_id: str, req: SummaryRequest, lines: list[str], model: LLMModel, handle: Any
    ) -> None:
        started = time.perf_counter()
        try:
            result = await self._summarise(job_id, req, lines, model, handle)
            await self._store.update_job.remote(
                job_id,
                status=JobStatus.COMPLETED,
                message=(
                    f"Summary completed ({result.context.strategy}, "
                    f"{result.context.chunks} chunk(s)) in {time.perf_counter() - started:.1f} s"
                ),
                progress=100.0,
                result=result.model_dump(mode="json"),
                timings={"summary_s": round(time.perf_counter() - started, 3)},
            )
        except Exception as exc:  # every failure ends the job, with the reason
            reason = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            await self._store.update_job.remote(
                job_id, status=JobStatus.FAILED, message=f"Summary failed: {reason}"
            )

    async def _generate(
        self, handle: Any, messages: list[dict[str, str]], max_tokens: int, usage: dict[str, int]
    ) -> str:
        out = await self._call(
            handle.chat_text.remote(messages, max_tokens=max_tokens, temperature=0.2)
        )
        for key, value in (out.get("usage") or {}).items():
            if isinstance(value, int):
                usage[key] = usage.get(key, 0) + value
        text: str = out["text"]
        return text

    async def _summarise(
        self, job_id: str, req: SummaryRequest, lines: list[str], model: LLMModel, handle: Any
    ) -> SummaryResult:
        window = model.max_model_len
        margin = PROMPT_OVERHEAD_TOKENS + self._cfg.context_margin_tokens
        # Room for the answer: ~1.6 tokens a word, capped at a quarter of the window.
        final_tokens = min(int(req.max_length * 1.6) + 48, window // 4)
        map_tokens = min(int(self._cfg.map_max_words * 1.6) + 32, window // 4)
        await self._progress(job_id, 5, "Counting transcript tokens")
        counts = await self._count(handle, lines)
        transcript_tokens = sum(counts)
        usage: dict[str, int] = {}
        full_budget = window - final_tokens - margin
        info = ContextInfo(
            strategy="full",
            total_segments=len(lines),
            used_segments=len(lines),
            transcript_tokens=transcript_tokens,
            context_window=window,
        )
        if transcript_tokens + len(lines) <= full_budget:
            await self._progress(job_id, 15, "Summarising the transcript")
            raw = await self._generate(
                handle, summary_messages(lines, req.format, req.max_length), final_tokens, usage
            )
        else:
            raw = await self._map_reduce(
                job_id,
                req,
                lines,
                counts,
                window - map_tokens - margin,
                map_tokens,
                final_tokens,
                full_budget,
                handle,
                usage,
                info,
            )
        summary = shape_summary(raw, req.format, req.max_length)
        transcript_text = "\n".join(s.text for s in req.transcript) or (req.full_text or "")
        return SummaryResult(
            summary=summary,
            topics=extract_topics(transcript_text, summary),
            length=count_words(summary),
            model_used=model.name,
            format=req.format,
            context=info,
            usage=usage,
        )

    async def _map_reduce(
        self,
        job_id: str,
        req: SummaryRequest,
        lines: list[str],
        counts: list[int],
        chunk_budget: int,
        map_tokens: int,
        final_tokens: int,
        reduce_budget: int,
        handle: Any,
        usage: dict[str, int],
        info: ContextInfo,
    ) -> str:
        """Summarise chunks (map, in parallel), then their notes (reduce); notes that still
        do not fit are reduced again, level by level. Every line is read once."""
        pieces = [
            p
            for line, n in zip(lines, counts, strict=True)
            for p in split_long_line(line, n + 1, chunk_budget)
        ]
        groups = chunk_by_budget([n for _, n in pieces], chunk_budget)
        info.strategy = "map_reduce"
        info.chunks = len(groups)
        limiter = asyncio.Semaphore(self._cfg.max_parallel_calls)
        done = 0

        async def summarise_group(index: int, group: list[int], total: int, level: int) -> str:
            nonlocal done
            async with limiter:
                texts = [pieces[i][0] for i in group] if level == 0 else [notes[i] for i in group]
                text = await self._generate(
                    handle,
                    map_messages(texts, index + 1, total, self._cfg.map_max_words),
                    map_tokens,
                    usage,
                )
            done += 1
            await self._progress(
                job_id,
                10 + 75 * min(1.0, done / max(1, len(groups))),
                f"Summarised chunk {done} of {len(groups)}",
            )
            return text

        notes: list[str] = []
        notes = list(
            await asyncio.gather(
                *(summarise_group(i, g, len(groups), 0) for i, g in enumerate(groups))
            )
        )
        level = 1
        while True:
            note_counts = await self._count(handle, notes)
            if sum(note_counts) + 24 * len(notes) <= reduce_budget or len(notes) == 1:
                break
            groups = chunk_by_budget([n + 24 for n in note_counts], chunk_budget)
            if len(groups) == len(notes):  # each note alone fills a chunk: no progress possible
                groups = [list(range(len(notes)))]
                break
            done = 0
            notes = list(
                await asyncio.gather(
                    *(summarise_group(i, g, len(groups), level) for i, g in enumerate(groups))
                )
            )
            level += 1
        await self._progress(job_id, 90, f"Combining {len(notes)} chunk summaries")
        return await self._generate(
            handle, reduce_messages(notes, req.format, req.max_length), final_tokens, usage
        )


class ServeAssistantBackend:
    """What the ingress's routes call: the assistant deployment through its handle."""

    def __init__(self, handle: Any, models: list[ChatModel]) -> None:
        self._handle = handle
        self._models = models

    def list_models(self) -> list[ChatModel]:
        return self._models

    async def chat(self, req: ChatRequest) -> ChatResponse:
        res: ChatResponse = await self._handle.chat.remote(req)
        return res

    def chat_stream(self, req: ChatRequest) -> AsyncIterator[dict[str, Any]]:
        gen: AsyncIterator[dict[str, Any]] = self._handle.options(stream=True).chat_stream.remote(
            req
        )
        return gen

    async def openai_chat(self, body: dict[str, Any]) -> dict[str, Any]:
        res: dict[str, Any] = await self._handle.openai_chat.remote(body)
        return res

    def openai_chat_stream(self, body: dict[str, Any]) -> AsyncIterator[str]:
        gen: AsyncIterator[str] = self._handle.options(stream=True).openai_chat_stream.remote(body)
        return gen

    async def submit_summary(self, req: SummaryRequest) -> Job:
        job: Job = await self._handle.submit_summary.remote(req)
        return job

    async def summary_status(self, job_id: str) -> SummaryJobStatus:
        res: SummaryJobStatus = await self._handle.summary_status.remote(job_id)
        return res

    async def summary_result(self, job_id: str) -> SummaryResult:
        res: SummaryResult = await self._handle.summary_result.remote(job_id)
        return res
