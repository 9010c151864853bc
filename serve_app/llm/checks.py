"""Checking the model's notes against the transcript lines they cite.

Every item of a window's notes (:mod:`serve_app.llm.notes`) must cite lines of its window
that support it (:mod:`serve_app.llm.evidence`); a speaker's name must be said in its
evidence and be a rare word of the transcript (a name, not "Yeah"); an owner must be a
speaker label or a name said in the window; a due date must be said in the evidence (else
it is cleared); a point said twice is kept once. An item that fails is dropped and
counted by kind and reason (:class:`Checked`). An item whose cited lines do not back it
but the line next to one of them does (in its window, said by the speaker it names) is
anchored to that line and counted as such (:data:`NEIGHBOURS`); it is never moved by time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from serve_app.llm.evidence import SUPPORT_CUTOFF, Vocabulary, occurs, same_point, tokens
from serve_app.llm.notes import Noted, SpeakerName, WindowNotes
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import TranscriptLine


@dataclass
class Checked:
    """What :func:`verify` kept and what it dropped (``"<kind>: <reason>"`` -> count)."""

    kept: Counter[str] = field(default_factory=Counter)
    anchored: Counter[str] = field(default_factory=Counter)
    """Of the kept items, those whose cited lines did not support them but a line next
    to one did (their evidence is that line now), by kind."""
    dropped: Counter[str] = field(default_factory=Counter)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """The dropped items themselves (``kind``, ``reason``, ``text``, ``evidence``), the
    first :data:`MAX_REJECTED`: the debug output shows what the check refused."""

    def drop(self, kind: str, reason: str, text: str = "", evidence: Sequence[int] = ()) -> None:
        self.dropped[f"{kind}: {reason}"] += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append(
                {"kind": kind, "reason": reason, "text": text, "evidence": list(evidence)}
            )

    def add(self, other: Checked) -> None:
        self.kept.update(other.kept)
        self.anchored.update(other.anchored)
        self.dropped.update(other.dropped)
        room = MAX_REJECTED - len(self.rejected)
        self.rejected.extend(other.rejected[: max(0, room)])

    def as_dict(self) -> dict[str, Any]:
        kept, dropped = sum(self.kept.values()), sum(self.dropped.values())
        return {
            "kept": dict(self.kept),
            "anchored": dict(self.anchored),
            "dropped": dict(self.dropped),
            "unsupported_share": round(dropped / (kept + dropped), 3) if kept + dropped else 0.0,
        }


N = TypeVar("N", bound=Noted)
MAX_REJECTED = 200
NEIGHBOURS = 1
"""Lines either side of a cited line (in the window) that may back an item its cited
lines do not: the item is then anchored to the one line that backs it best (and, when it
names a speaker, is said by that speaker). A small model often cites the line before or
after the one that says its note."""


class Verifier:
    """Checks items against the transcript they cite (one per transcript)."""

    def __init__(self, segments: Sequence[TranscriptLine], lexical: bool = True) -> None:
        self.segments = segments
        self.vocab = Vocabulary([s.text for s in segments])
        self.lexical = lexical
        """False when the notes are in another language than the transcript (a requested
        ``language``): the evidence must still exist, but its wording is not compared."""
        self.timed = any(s.end > 0 for s in segments)
        self.labels = {s.speaker: tokens(s.speaker) for s in segments if s.speaker}
        self.label_words = {w for parts in self.labels.values() for w in parts if not w.isdigit()}
        """Words of the speaker labels ("project", "manager", "speaker"): a note names
        who said it, which the segment's text does not; they neither back nor sink it."""

    def rare(self, name: str) -> bool:
        """Every word of ``name`` is said in at most 1 in 20 segments (at least 2): a
        name, not "Yeah" or "But", which a small model takes for one."""
        most = max(2, len(self.segments) // 20)
        return all(self.vocab.df.get(w, 0) <= most for w in tokens(name))

    def texts(self, evidence: Iterable[int]) -> list[str]:
        return [self.segments[i].text for i in evidence]

    def check(
        self, kind: str, items: Sequence[N], text_of: Any, allowed: set[int], checked: Checked
    ) -> list[N]:
        """The items whose evidence is among ``allowed`` and supports ``text_of(item)``,
        each with its evidence in order and ``time`` set; one item per point."""
        out: list[N] = []
        for item in items:
            moved: list[int] | None = None
            evidence = sorted(set(item.evidence))
            text = text_of(item).strip()
            if not text:
                checked.drop(kind, "empty", text, evidence)
            elif not evidence or not set(evidence) <= allowed:
                checked.drop(kind, "evidence not in the window", text, evidence)
            elif (
                self.lexical
                and not self.vocab.supports(text, self.texts(evidence), self.label_words)
                and not (moved := self.anchor(text, evidence, allowed))
            ):
                checked.drop(kind, "evidence does not support it", text, evidence)
            elif self.lexical and not self.said_by_named(text, moved or evidence):
                checked.drop(kind, "the speaker it names said none of it", text, evidence)
            elif any(same_point(text, text_of(o)) for o in out):
                checked.drop(kind, "repeated", text, evidence)
            else:
                if moved:
                    evidence = moved
                    checked.anchored[kind] += 1
                checked.kept[kind] += 1
                out.append(
                    item.model_copy(update={"evidence": evidence, "time": self.time(evidence)})
                )
        return out

    def anchor(self, text: str, evidence: Sequence[int], allowed: set[int]) -> list[int] | None:
        """The one line within :data:`NEIGHBOURS` of a cited line (and in ``allowed``)
        that backs ``text`` best, said by the speaker it names if it names one; None when
        no line there backs it."""
        near = sorted(
            {j for i in evidence for j in range(i - NEIGHBOURS, i + NEIGHBOURS + 1)} & allowed
        )
        best: tuple[float, int] | None = None
        for j in near:
            share, rare = self.vocab.support(text, self.texts([j]), self.label_words)
            ok = rare and share >= SUPPORT_CUTOFF and self.said_by_named(text, [j])
            if ok and (best is None or share > best[0]):
                best = (share, j)
        return [best[1]] if best else None

    def said_by_named(self, text: str, evidence: Sequence[int]) -> bool:
        """When ``text`` names speakers by their labels ("The Project Manager proposed
        ..."), one of them says one of its evidence lines (a small model often credits
        a line to the wrong person); True when it names none."""
        words = tokens(text)
        named = {
            label
            for label, parts in self.labels.items()
            if parts
            and any(words[i : i + len(parts)] == parts for i in range(len(words) - len(parts) + 1))
        }
        return not named or any(self.segments[i].speaker in named for i in evidence)

    def time(self, evidence: Sequence[int]) -> str:
        return format_timestamp(self.segments[evidence[0]].start) if self.timed and evidence else ""

    def verify(
        self, notes: WindowNotes, window: set[int], owners: Sequence[str]
    ) -> tuple[WindowNotes, Checked]:
        """``notes`` of the window of segments ``window`` without the items that fail."""
        checked = Checked()
        speakers: list[SpeakerName] = []
        for s in notes.speakers:
            ok_ids = bool(s.evidence) and set(s.evidence) <= window
            said = {self.segments[i].speaker for i in window}
            named = f"{s.label}={s.name}"
            if not ok_ids or s.label not in said:
                checked.drop("speakers", "evidence not in the window", named, s.evidence)
            elif not s.name.strip() or s.name.strip() == s.label:
                checked.drop("speakers", "no name", named, s.evidence)
            elif not occurs(s.name, self.texts(s.evidence)):
                checked.drop("speakers", "name not said in its evidence", named, s.evidence)
            elif not self.rare(s.name):
                checked.drop("speakers", "name is a common word", named, s.evidence)
            elif any(p.label == s.label for p in speakers):
                checked.drop("speakers", "repeated", named, s.evidence)
            else:
                checked.kept["speakers"] += 1
                speakers.append(s.model_copy(update={"evidence": sorted(set(s.evidence))}))
        actions = []
        for a in notes.action_items:
            if a.owner and a.owner not in owners:
                checked.drop("action_items", "owner not in the transcript", a.task, a.evidence)
                continue
            due = a.due.strip()
            if (
                due
                and self.lexical
                and not occurs(due, self.texts(a.evidence if set(a.evidence) <= window else []))
            ):
                checked.drop("action_items.due", "not in its evidence", due, a.evidence)
                due = ""
            actions.append(a.model_copy(update={"due": due, "owner": a.owner.strip()}))
        out = WindowNotes(
            speakers=speakers,
            topics=self.check("topics", notes.topics, lambda t: t.title, window, checked),
            points=self.check("points", notes.points, lambda p: p.text, window, checked),
            decisions=self.check("decisions", notes.decisions, lambda d: d.text, window, checked),
            action_items=self.check(
                "action_items", actions, lambda a: f"{a.task} {a.due}", window, checked
            ),
            open_questions=self.check(
                "open_questions", notes.open_questions, lambda q: q.text, window, checked
            ),
        )
        return out, checked
