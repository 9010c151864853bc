"""Fitting a transcript and a conversation into one chat prompt (pure: token counts in)."""

from __future__ import annotations

from serve_app.errors import InvalidRequestError
from serve_app.llm.context import select_relevant
from serve_app.llm.prompts import chat_messages
from serve_app.llm.schemas import ChatRequest, ContextInfo
from serve_app.llm.summary import PROMPT_OVERHEAD_TOKENS


def fit_chat_prompt(
    req: ChatRequest,
    lines: list[str],
    line_tokens: list[int],
    conversation_tokens: int,
    window: int,
    margin_tokens: int,
    model_name: str,
) -> tuple[list[dict[str, str]], ContextInfo]:
    """The chat prompt, with the whole transcript when it fits and otherwise only the lines
    most relevant to the last question (in time order), and what was done."""
    budget = window - req.max_tokens - conversation_tokens - PROMPT_OVERHEAD_TOKENS
    budget -= margin_tokens
    if budget < 32:
        raise InvalidRequestError(
            f"max_tokens {req.max_tokens} plus the conversation leave no room for the "
            f"transcript in {model_name}'s {window}-token context"
        )
    info = ContextInfo(
        strategy="full",
        total_segments=len(lines),
        used_segments=len(lines),
        transcript_tokens=sum(line_tokens),
        context_window=window,
    )
    note = None
    if sum(line_tokens) + len(line_tokens) > budget:  # +1 per line for its newline
        question = next((m.content for m in reversed(req.messages) if m.role == "user"), "")
        keep = select_relevant(lines, [n + 1 for n in line_tokens], question, budget)
        lines = [lines[i] for i in keep]
        info.strategy = "selected"
        info.used_segments = len(lines)
        note = (
            f"The transcript is too long for the context window: only the {len(lines)} "
            f"of {info.total_segments} segments most relevant to the question are shown."
        )
    conversation = [m.model_dump() for m in req.messages]
    return chat_messages(lines, conversation, note), info
