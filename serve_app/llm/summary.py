"""Summarising a transcript that may not fit the context window: one prompt when it fits,
map-reduce otherwise (notes per chunk in parallel, then notes of notes until they fit).

Pure: the LLM is reached through :class:`LLMCalls`, which the assistant deployment
implements over the LLM replica's handle (and a test can implement in-process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from serve_app.llm.context import chunk_by_budget, split_long_line
from serve_app.llm.prompts import map_messages, reduce_messages, summary_messages
from serve_app.llm.schemas import ContextInfo, SummaryRequest

# Tokens of prompt text around the transcript (instructions, chat template), counted
# generously so that a prompt we build never overflows the window.
PROMPT_OVERHEAD_TOKENS = 160
# Tokens each note adds in a reduce prompt besides its text (numbering, separators).
NOTE_OVERHEAD_TOKENS = 24

Progress = Callable[[float, str], Awaitable[None]]
"""``progress(percent, message)``: reports how far the summary is."""


class LLMCalls(Protocol):
    """What summarising needs of the LLM."""

    async def count(self, texts: list[str]) -> list[int]:
        """Token counts of ``texts`` with the model's own tokenizer."""
        ...

    async def generate(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        """One completion of a chat prompt."""
        ...


@dataclass(frozen=True)
class SummaryBudget:
    """Token budgets of one summary, from the context window and the request."""

    window: int
    final_tokens: int
    """Room for the summary itself (the one-prompt answer and the last reduce step)."""
    map_tokens: int
    """Room for the notes written on one chunk."""
    margin: int
    """Tokens kept free besides prompt text and answer (instructions, chat template)."""

    @classmethod
    def for_request(
        cls, window: int, max_length_words: int, map_max_words: int, margin_tokens: int
    ) -> SummaryBudget:
        # ~1.6 tokens a word, each answer capped at a quarter of the window.
        return cls(
            window=window,
            final_tokens=min(int(max_length_words * 1.6) + 48, window // 4),
            map_tokens=min(int(map_max_words * 1.6) + 32, window // 4),
            margin=PROMPT_OVERHEAD_TOKENS + margin_tokens,
        )

    @property
    def full(self) -> int:
        """Transcript tokens a one-prompt summary (or a reduce step) may hold."""
        return self.window - self.final_tokens - self.margin

    @property
    def chunk(self) -> int:
        """Transcript tokens one map step may hold."""
        return self.window - self.map_tokens - self.margin


class Summariser:
    """One summary request: ``await Summariser(...).run(lines)`` gives the raw summary text
    and what was done to fit the transcript (``ContextInfo``)."""

    def __init__(
        self,
        llm: LLMCalls,
        req: SummaryRequest,
        budget: SummaryBudget,
        map_max_words: int,
        max_parallel_calls: int,
        progress: Progress,
    ) -> None:
        self.llm, self.req, self.budget = llm, req, budget
        self.map_max_words = map_max_words
        self.limiter = asyncio.Semaphore(max_parallel_calls)
        self.progress = progress

    async def run(self, lines: list[str]) -> tuple[str, ContextInfo]:
        await self.progress(5, "Counting transcript tokens")
        counts = await self.llm.count(lines)
        info = ContextInfo(
            strategy="full",
            total_segments=len(lines),
            used_segments=len(lines),
            transcript_tokens=sum(counts),
            context_window=self.budget.window,
        )
        if sum(counts) + len(lines) <= self.budget.full:  # +1 per line for its newline
            await self.progress(15, "Summarising the transcript")
            messages = summary_messages(lines, self.req.format, self.req.max_length)
            return await self.llm.generate(messages, self.budget.final_tokens), info
        notes = await self._map(lines, counts, info)
        notes = await self._reduce_until_fits(notes)
        await self.progress(90, f"Combining {len(notes)} chunk summaries")
        messages = reduce_messages(notes, self.req.format, self.req.max_length)
        return await self.llm.generate(messages, self.budget.final_tokens), info

    async def _notes(self, texts: list[list[str]]) -> list[str]:
        """Notes on each group of texts, written in parallel (``max_parallel_calls``)."""
        done = 0

        async def note(index: int, group: list[str]) -> str:
            nonlocal done
            async with self.limiter:
                messages = map_messages(group, index + 1, len(texts), self.map_max_words)
                text = await self.llm.generate(messages, self.budget.map_tokens)
            done += 1
            await self.progress(
                10 + 75 * done / len(texts), f"Summarised chunk {done} of {len(texts)}"
            )
            return text

        return list(await asyncio.gather(*(note(i, g) for i, g in enumerate(texts))))

    async def _map(self, lines: list[str], counts: list[int], info: ContextInfo) -> list[str]:
        """Every line read once: lines packed into chunks that fit, one note per chunk."""
        pieces = [
            piece
            for line, n in zip(lines, counts, strict=True)
            for piece in split_long_line(line, n + 1, self.budget.chunk)
        ]
        groups = chunk_by_budget([n for _, n in pieces], self.budget.chunk)
        info.strategy = "map_reduce"
        info.chunks = len(groups)
        return await self._notes([[pieces[i][0] for i in group] for group in groups])

    async def _reduce_until_fits(self, notes: list[str]) -> list[str]:
        """Notes of notes, level by level, until all of them fit one reduce prompt."""
        while len(notes) > 1:
            counts = [n + NOTE_OVERHEAD_TOKENS for n in await self.llm.count(notes)]
            if sum(counts) <= self.budget.full:
                break
            groups = chunk_by_budget(counts, self.budget.chunk)
            if len(groups) == len(notes):  # each note alone fills a chunk: no progress possible
                break
            notes = await self._notes([[notes[i] for i in group] for group in groups])
        return notes
