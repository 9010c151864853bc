"""Summarising a transcript: the model takes notes window by window, code checks them, the
model writes the summary from the checked notes, code checks its sentences.

Map: the transcript's numbered lines (``#12 SPEAKER_1: ...``, no times: code maps the cited
numbers back to the segments' times) in windows that fit the notes budget (one window when
it fits: a 20-minute meeting does in an 8k context); one structured call per window (in
parallel) gives its notes (:mod:`serve_app.llm.notes`), each item citing its lines; items
whose lines do not support them are dropped and counted. The windows' notes are merged,
a point said twice kept once.
Reduce: one structured call writes the summary's sentences from the merged notes and the
transcript's outline (each window's time and topics; a one-window transcript is given
itself too, as the same prompt prefix as its notes call, which vLLM's prefix cache reuses),
each sentence prose (the schema's pattern) citing lines; a sentence its lines do not
support is dropped and counted. When the kept sentences are short of the requested length,
checked notes they do not already say are added in the meeting's order; when no sentence
is left, the checked notes are the summary; when there are none either, the summary is
empty (``notes.summary_source`` says which).

Pure: the LLM is reached through :class:`LLMCalls`, which the assistant deployment
implements over the LLM replica's handle (and a test can implement in-process).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from serve_app.llm import notes as notes_
from serve_app.llm.checks import Checked, Verifier
from serve_app.llm.context import chunk_by_budget, split_long_line
from serve_app.llm.evidence import same_point
from serve_app.llm.prompts import (
    format_timestamp,
    notes_messages,
    numbered_line,
    summary_notes_messages,
)
from serve_app.llm.schemas import ActionItem, ContextInfo, SummaryRequest, TranscriptLine

# Tokens of prompt text around the transcript (instructions, chat template), counted
# generously so that a prompt we build never overflows the window (the chat prompt's; the
# notes prompt's instructions take NOTES_OVERHEAD_TOKENS more).
PROMPT_OVERHEAD_TOKENS = 200
NOTES_OVERHEAD_TOKENS = 160


class Progress(Protocol):
    """``progress(percent, message, notes)``: reports how far the summary is; ``notes``:
    the checked notes of the windows done so far (merged, in the transcript's order),
    given as each window's notes are ready."""

    async def __call__(
        self, percent: float, message: str, notes: dict[str, Any] | None = None
    ) -> None: ...


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
    """Room for the summary's answer (its JSON sentences)."""
    notes_tokens: int
    """Room for one window's notes JSON."""
    chunk_tokens: int
    """Most transcript tokens one window holds (a small model misses more in a long one)."""
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
        # ~1.6 tokens a word, and the JSON around each sentence; capped at a quarter of
        # the window.
        return cls(
            window=window,
            final_tokens=min(int(max_length_words * 2.2) + 96, window // 4),
            notes_tokens=min(notes_tokens, window // 4),
            chunk_tokens=chunk_tokens,
            margin=PROMPT_OVERHEAD_TOKENS + NOTES_OVERHEAD_TOKENS + margin_tokens,
        )

    @property
    def full(self) -> int:
        """Transcript tokens a one-call prompt (with its answer) may hold."""
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
    notes: notes_.WindowNotes = field(default_factory=notes_.WindowNotes)
    sentences: list[notes_.SummarySentence] = field(default_factory=list)
    checks: Checked = field(default_factory=Checked)
    calls: int = 0
    source: str = "notes"
    """Where the summary's text comes from: ``model`` (the summary call), ``notes`` (the
    checked notes), ``none`` (nothing the transcript supports)."""
    filled: int = 0
    """Checked notes added after the model's sentences to reach the requested length."""

    def debug(self) -> dict[str, Any]:
        """The notes as the API shows them, with the summary's sentences and the checks."""
        return {
            **self.notes.model_dump(),
            "summary": [s.model_dump() for s in self.sentences],
            "summary_source": self.source,
            "summary_from_notes": self.filled,
            "checks": self.checks.as_dict(),
            "rejected": self.checks.rejected,
            "calls": self.calls,
        }


@dataclass
class _Window:
    lines: list[str]
    ids: list[int]
    """Indices of the segments it shows, in order."""
    tokens: int = 0


class Summariser:
    """One summary request: ``await Summariser(...).run(segments)``."""

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
        self.calls = 0

    async def _generate(
        self, messages: list[dict[str, str]], max_tokens: int, schema: dict[str, Any] | None
    ) -> str:
        async with self.limiter:
            self.calls += 1
            return await self.llm.generate(messages, max_tokens, json_schema=schema)

    async def run(self, segments: Sequence[TranscriptLine]) -> Draft:
        """``segments``: the transcript's segments with text (their indices are the line
        numbers the notes cite)."""
        lines = [numbered_line(i, s) for i, s in enumerate(segments)]
        await self.progress(5, "Counting transcript tokens")
        counts = await self.llm.count(lines)
        pieces = [
            (piece, n, i)
            for i, (line, count) in enumerate(zip(lines, counts, strict=True))
            for piece, n in split_long_line(line, count + 1, self.budget.chunk)
        ]
        groups = chunk_by_budget([n for _, n, _ in pieces], self.budget.chunk)
        windows = [
            _Window(
                [pieces[k][0] for k in g],
                [*dict.fromkeys(pieces[k][2] for k in g)],
                sum(pieces[k][1] for k in g),
            )
            for g in groups
        ]
        info = ContextInfo(
            strategy="full" if len(windows) == 1 else "map_reduce",
            total_segments=len(lines),
            used_segments=len(lines),
            chunks=len(windows),
            transcript_tokens=sum(counts),
            context_window=self.budget.window,
        )
        verifier = Verifier(segments, lexical=not self.req.language)
        owners = notes_.owner_candidates(segments)
        checks = Checked()
        done: dict[int, notes_.WindowNotes] = {}

        async def take(index: int, window: _Window) -> notes_.WindowNotes:
            in_window = [segments[i] for i in window.ids]
            labels = [*dict.fromkeys(s.speaker for s in in_window if s.speaker)]
            window_owners = [o for o in owners if o in labels or _said(o, in_window)]
            raw = await self._generate(
                notes_messages(window.lines, index + 1, len(windows), self.req.language),
                self.budget.notes_tokens,
                notes_.window_schema(
                    window.ids, labels, window_owners, notes_.points_for(window.tokens)
                ),
            )
            found, checked = verifier.verify(
                notes_.parse(notes_.WindowNotes, raw), set(window.ids), window_owners
            )
            checks.add(checked)
            done[index] = found
            partial = notes_.merge([done[i] for i in sorted(done)])
            await self.progress(
                10 + 75 * len(done) / len(windows),
                f"Took notes on part {len(done)} of {len(windows)}",
                partial.model_dump(),
            )
            return found

        found = await asyncio.gather(*(take(i, w) for i, w in enumerate(windows)))
        merged = notes_.merge(found)
        items = notes_.action_items(merged, segments)
        draft = Draft("", items, info, merged, checks=checks)
        if self.req.format == "action_items":
            draft.text, draft.source = notes_.action_items_text(items), "notes"
        else:
            await self.progress(88, "Writing the summary from the notes")
            await self._summary(draft, windows, verifier, counts)
        draft.calls = self.calls
        return draft

    async def _summary(
        self,
        draft: Draft,
        windows: list[_Window],
        verifier: Verifier,
        counts: list[int],
    ) -> None:
        merged = draft.notes
        noted = notes_.notes_lines(merged)
        outline = [_outline(w, merged, verifier) for w in windows] if len(windows) > 1 else []
        outline = [o for o in outline if o]
        noted_tokens = sum(await self.llm.count(["\n".join(noted)])) if noted else 0
        # One window: the summary prompt holds the transcript too (the notes call's prefix).
        one = len(windows) == 1 and sum(counts) + len(counts) + noted_tokens <= self.budget.full
        ids = (
            windows[0].ids
            if one
            else sorted(
                {i for kind in _KINDS for item in getattr(merged, kind) for i in item.evidence}
            )
        )
        sentences: list[notes_.SummarySentence] = []
        if ids:
            # ~18 words a sentence; at least half of them, so the summary has the length
            # asked for (a small model left free stops after a few).
            most = max(2, min(12, self.req.max_length // 18))
            raw = await self._generate(
                summary_notes_messages(
                    noted, outline, self.req.max_length, windows[0].lines if one else (),
                    self.req.language,
                ),
                self.budget.final_tokens,
                notes_.summary_schema(ids, most, most // 2),
            )  # fmt: skip
            parsed = notes_.parse(notes_.SummaryNotes, raw).sentences
            sentences = verifier.check("summary", parsed, lambda s: s.text, set(ids), draft.checks)
        if sentences:
            draft.sentences, draft.source = sentences, "model"
            added = _fill(sentences, _from_notes(merged), self.req.max_length)
            draft.filled = len(added) - len(sentences)
            draft.sentences = added
        elif noted:
            draft.sentences, draft.source = _from_notes(merged), "notes"
        else:
            draft.source = "none"
        draft.text = "\n".join(f"- {_bare(s.text)}" for s in draft.sentences)


_KINDS = notes_.KINDS


def _bare(text: str) -> str:
    """A sentence without the list or quote marks a model may put before it ("> ", "- ")."""
    return _LEAD.sub("", text.strip())


_LEAD = re.compile(r"^(?:(?:[>*•‣·#]+|-+(?=\s))\s*)+")


def _said(name: str, segments: Sequence[TranscriptLine]) -> bool:
    return any(name in s.text for s in segments)


def _from_notes(merged: notes_.WindowNotes) -> list[notes_.SummarySentence]:
    """The checked notes as the summary's sentences, in the order they were said."""
    names = notes_.speaker_names(merged)
    items: list[tuple[notes_.Noted, str]] = [(p, p.text) for p in merged.points]
    items += [(d, d.text) for d in merged.decisions]
    for a in merged.action_items:
        owner = names.get(a.owner, a.owner)
        due = f" ({a.due})" if a.due else ""
        items.append((a, f"{owner}: {a.task}{due}" if owner else f"{a.task}{due}"))
    items += [(q, q.text) for q in merged.open_questions]
    items.sort(key=lambda pair: pair[0].evidence[:1])
    return [
        notes_.SummarySentence(text=text, evidence=item.evidence, time=item.time)
        for item, text in items
    ]


def _fill(
    sentences: list[notes_.SummarySentence],
    extra: list[notes_.SummarySentence],
    max_words: int,
) -> list[notes_.SummarySentence]:
    """``sentences``, then, while they are short of ``max_words``, the ``extra`` (checked
    notes) that neither cite a line a sentence cites nor say the same, all in the order of
    their first line."""
    out = list(sentences)
    used = sum(len(s.text.split()) for s in out)
    for item in extra:
        n = len(item.text.split())
        if used + n > max_words:
            break
        if any(set(item.evidence) & set(s.evidence) or same_point(item.text, s.text) for s in out):
            continue
        out.append(item)
        used += n
    return sorted(out, key=lambda s: s.evidence[:1])


def _outline(window: _Window, merged: notes_.WindowNotes, verifier: Verifier) -> str:
    """``00:00:00-00:04:10: topic; topic``: a window's time (when known) and topics, in
    words only (no line numbers a summary sentence could copy)."""
    ids = set(window.ids)
    topics = [t for t in merged.topics if ids & set(t.evidence)]
    if not topics:
        return ""
    first, last = verifier.segments[window.ids[0]], verifier.segments[window.ids[-1]]
    when = (
        f"{format_timestamp(first.start)}-{format_timestamp(last.end)}: " if verifier.timed else ""
    )
    return when + "; ".join(t.title for t in topics)
