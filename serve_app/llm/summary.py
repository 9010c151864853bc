"""Summarising a transcript, notes first and prose second.

Map: the transcript in chunks that fit the notes budget (one chunk when it is short), and
structured notes on each chunk in parallel, decoded against the notes' JSON schema
(:mod:`serve_app.llm.notes`), each note tied to the segment it comes from; numbers, dates,
and the sentences that state a decision, leave a question open or ask someone by name to
do something by a deadline are read off the chunk (:mod:`serve_app.llm.pattern_notes`).
Reduce: the notes of every chunk merged, and the summary written from them: one point per
note, speakers called by name, chosen by :mod:`serve_app.llm.selection`
(``serve_app.llm.output`` then shapes the points into the requested format and length).
Letting the model write prose from the notes was tried and lost facts (see the README);
``action_items`` is the notes' action items.

Pure: the LLM is reached through :class:`LLMCalls`, which the assistant deployment
implements over the LLM replica's handle (and a test can implement in-process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from serve_app.llm import introductions, pattern_notes, selection
from serve_app.llm import notes as notes_
from serve_app.llm.context import chunk_by_budget, split_long_line
from serve_app.llm.prompts import notes_messages, summary_messages
from serve_app.llm.schemas import ActionItem, ContextInfo, SummaryRequest, TranscriptLine

# Tokens of prompt text around the transcript (instructions, chat template), counted
# generously so that a prompt we build never overflows the window.
PROMPT_OVERHEAD_TOKENS = 200

Progress = Callable[[float, str], Awaitable[None]]
"""``progress(percent, message)``: reports how far the summary is."""


class LLMCalls(Protocol):
    """What summarising needs of the LLM."""

    async def count(self, texts: list[str]) -> list[int]:
        """Token counts of ``texts`` with the model's own tokenizer."""
        ...

    async def generate(
        self,
        messages: list[dict[str, str]],
        max_tokens: int,
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        """One completion of a chat prompt; with ``json_schema``, decoded against it."""
        ...


@dataclass(frozen=True)
class SummaryBudget:
    """Token budgets of one summary, from the context window and the request."""

    window: int
    final_tokens: int
    """Room for the direct summary's answer (used when no notes are found)."""
    notes_tokens: int
    """Room for one kind of note's JSON on one chunk."""
    chunk_tokens: int
    """Most transcript tokens one chunk holds (a small model misses more in a long one)."""
    margin: int
    """Tokens kept free besides prompt text and answer (instructions, chat template)."""

    @classmethod
    def for_request(
        cls,
        window: int,
        max_length_words: int,
        notes_tokens: int,
        chunk_tokens: int,
        margin_tokens: int,
    ) -> SummaryBudget:
        # ~1.6 tokens a word; each answer capped at a quarter of the window.
        return cls(
            window=window,
            final_tokens=min(int(max_length_words * 1.6) + 48, window // 4),
            notes_tokens=min(notes_tokens, window // 4),
            chunk_tokens=chunk_tokens,
            margin=PROMPT_OVERHEAD_TOKENS + margin_tokens,
        )

    @property
    def full(self) -> int:
        """Transcript tokens the direct summary (no notes found) may hold."""
        return self.window - self.final_tokens - self.margin

    @property
    def chunk(self) -> int:
        """Transcript tokens one map step may hold."""
        return max(1, min(self.chunk_tokens, self.window - self.notes_tokens - self.margin))


@dataclass
class Draft:
    """What a summary run produced, before the text is shaped into its format."""

    text: str
    action_items: list[ActionItem]
    info: ContextInfo
    notes: notes_.ChunkNotes = field(default_factory=notes_.ChunkNotes)


class Summariser:
    """One summary request: ``await Summariser(...).run(segments, lines)``."""

    def __init__(
        self,
        llm: LLMCalls,
        req: SummaryRequest,
        budget: SummaryBudget,
        max_parallel_calls: int,
        progress: Progress,
    ) -> None:
        self.llm, self.req, self.budget = llm, req, budget
        self.limiter = asyncio.Semaphore(max_parallel_calls)
        self.progress = progress

    async def run(self, segments: Sequence[TranscriptLine], lines: list[str]) -> Draft:
        """``lines[i]`` is ``segments[i]`` as the prompts show it."""
        await self.progress(5, "Counting transcript tokens")
        counts = await self.llm.count(lines)
        pieces = [
            (piece, n, i)
            for i, (line, count) in enumerate(zip(lines, counts, strict=True))
            for piece, n in split_long_line(line, count + 1, self.budget.chunk)
        ]
        groups = chunk_by_budget([n for _, n, _ in pieces], self.budget.chunk)
        info = ContextInfo(
            strategy="full" if len(groups) == 1 else "map_reduce",
            total_segments=len(lines),
            used_segments=len(lines),
            chunks=len(groups),
            transcript_tokens=sum(counts),
            context_window=self.budget.window,
        )
        chunks = [
            ([pieces[k][0] for k in group], [segments[pieces[k][2]] for k in group])
            for group in groups
        ]
        speakers = [
            notes_.Person(name=name, speaker=label)
            for label, name in introductions.speakers(segments).items()
        ]
        merged = notes_.merge(await self._notes(chunks, speakers))
        merged = pattern_notes.without_acceptances(
            merged, segments, notes_.speaker_names(merged.people)
        )
        items = notes_.action_items(merged, segments)
        if self.req.format == "action_items":
            return Draft(notes_.action_items_text(items), items, info, merged)
        said = merged.decisions or merged.action_items or merged.open_questions
        if not said and sum(counts) + len(lines) <= self.budget.full:
            # The model found no decision, task or question (small talk, or a model too
            # weak for the notes): summarise the transcript itself.
            await self.progress(90, "No notes: summarising the transcript")
            messages = summary_messages(lines, self.req.format, self.req.max_length)
            text = await self.llm.generate(messages, self.budget.final_tokens)
            return Draft(text, items, info, merged)
        chosen = selection.points(merged, self.req.max_length)
        return Draft("\n".join(f"- {p}" for p in chosen), items, info, merged)

    async def _notes(
        self,
        chunks: list[tuple[list[str], list[TranscriptLine]]],
        speakers: list[notes_.Person],
    ) -> list[notes_.ChunkNotes]:
        """Notes on every chunk: one model call per kind the model takes
        (``max_parallel_calls`` at a time), the notes read off the chunk
        (:mod:`serve_app.llm.pattern_notes`), the ``speakers`` who introduced themselves
        anywhere in the transcript first among the people; in chunk order."""
        calls = [(c, kind) for c in range(len(chunks)) for kind in notes_.MODEL_KINDS]
        done = 0

        async def take(index: int, kind: str) -> list[Any]:
            nonlocal done
            async with self.limiter:
                raw = await self.llm.generate(
                    notes_messages(chunks[index][0], index + 1, len(chunks), kind),
                    self.budget.notes_tokens,
                    json_schema=notes_.kind_schema(kind),
                )
            done += 1
            await self.progress(
                10 + 85 * done / len(calls),
                f"Took notes on part {index + 1} of {len(chunks)} ({kind.replace('_', ' ')})",
            )
            return notes_.parse_items(kind, raw)

        items = await asyncio.gather(*(take(c, kind) for c, kind in calls))
        per_chunk: list[dict[str, list[Any]]] = [{} for _ in chunks]
        for (c, kind), found in zip(calls, items, strict=True):
            per_chunk[c][kind] = found
        out = []
        for fields, (_, segments) in zip(per_chunk, chunks, strict=True):
            numbers, dates = pattern_notes.figure_notes(segments)
            fields["people"] = [*speakers, *fields.get("people", [])]
            notes = notes_.ground(
                notes_.ChunkNotes(**fields, numbers=numbers, dates=dates), segments
            )
            decisions, questions = pattern_notes.cue_notes(segments)
            update = {
                "decisions": [*notes.decisions, *decisions],
                "open_questions": [*notes.open_questions, *questions],
                # first, so that a task read off its line wins over the model's there
                "action_items": [*pattern_notes.asked_tasks(segments), *notes.action_items],
            }
            out.append(notes.model_copy(update=update))
        return out
