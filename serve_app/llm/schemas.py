"""Request and response models of the summary and chat APIs (``/api/summary``, ``/api/chat``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

SummaryFormat = Literal["paragraph", "bullet_points", "key_points", "action_items"]
"""``action_items`` (beyond the reference API): the summary text is one ``- owner: task
(due ...)`` line per action item; the result's ``action_items`` list has them in fields."""


class TranscriptLine(BaseModel):
    """One transcript segment as the client sends it (the transcription result's segments)."""

    start: float = Field(0.0, ge=0)
    end: float = Field(0.0, ge=0)
    text: str
    speaker: str | None = None


class TranscriptInput(BaseModel):
    transcript: list[TranscriptLine] = Field(default_factory=list)
    full_text: str | None = None
    """Used when ``transcript`` is empty (no timestamps then)."""
    model_name: str | None = None
    """A configured LLM name or alias; None: the default model."""


class SummaryRequest(TranscriptInput):
    max_length: int = Field(200, ge=10, le=2000)
    """Upper bound on the summary's length, in words."""
    format: SummaryFormat = "paragraph"
    language: str | None = Field(None, max_length=40)
    """The language of the notes and the summary ("French", "de"...); None: the
    transcript's own."""


class ContextInfo(BaseModel):
    """What was done to fit the transcript into the model's context window."""

    strategy: Literal["full", "map_reduce", "selected"]
    """``full``: the whole transcript in one prompt; ``map_reduce``: summarised chunk by
    chunk, then the chunk summaries combined; ``selected``: (chat) only the segments most
    relevant to the question, in time order."""
    total_segments: int
    used_segments: int
    chunks: int = 1
    transcript_tokens: int
    context_window: int


class SourceSpan(BaseModel):
    """Where in the recording something was said: one transcript segment's times."""

    start: float
    end: float


class ActionItem(BaseModel):
    owner: str
    task: str
    due: str | None = None
    """As said in the meeting ("Friday", "end of May"); None when no date was given."""
    source: SourceSpan | None = None
    """The segment the item comes from; None only for a transcript sent as ``full_text``."""


class Citation(BaseModel):
    """A transcript segment that supports a chat answer (always one the request sent)."""

    start: float
    end: float
    speaker: str | None
    text: str


class SummaryResult(BaseModel):
    summary: str
    topics: list[str]
    length: int
    """Words in ``summary``."""
    model_used: str
    format: SummaryFormat
    action_items: list[ActionItem] = Field(default_factory=list)
    """Every format: the action items of the meeting, each with its source span."""
    notes: dict[str, Any] = Field(default_factory=dict)
    """The checked notes the summary was written from (``serve_app.llm.notes``: speakers,
    topics, decisions, action_items, open_questions; each item with its ``evidence``, the
    indices of the transcript segments that say it, and the ``time`` of the first),
    ``summary``: the summary's sentences with their evidence, and ``checks``: the items
    kept and dropped by the evidence check, by kind and reason."""
    context: ContextInfo
    usage: dict[str, int] = Field(default_factory=dict)
    """Tokens over every LLM call of the summary (map and reduce steps together)."""


class SummaryJobStatus(BaseModel):
    job_id: str
    status: str
    message: str
    progress: float
    partial_notes: dict[str, Any] | None = None
    """While processing: the checked notes of the transcript's parts done so far (the
    shape of ``SummaryResult.notes``' speakers, topics, points, decisions, action_items,
    open_questions), growing as each part's notes are ready; None before the first."""


class SummaryAccepted(BaseModel):
    job_id: str
    status: str = "processing"
    message: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(TranscriptInput):
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(512, ge=1, le=8192)
    stream: bool = False
    """Server-sent events: ``{"delta"}`` per token batch, then ``{"done": true, ...}``
    (with ``citations``)."""


class Usage(BaseModel):
    prompt: int
    completion: int
    total: int


class ChatResponse(BaseModel):
    message: ChatMessage
    model_used: str
    usage: Usage
    context: ContextInfo
    finish_reason: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    """The transcript segments the answer rests on (see ``serve_app.llm.citations``)."""


class ChatModel(BaseModel):
    id: str
    name: str
    description: str


class ChatModelList(BaseModel):
    models: list[ChatModel]


def usage_from_engine(raw: dict[str, Any]) -> Usage:
    """The engine's OpenAI usage (``prompt_tokens``...) in the reference API's names."""
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return Usage(prompt=prompt, completion=completion, total=prompt + completion)
