"""Written meetings with known facts for the LLM quality bench: the schema, the loader and the
matching (no model runs here).

The meetings are data files, one per meeting, in ``bench/data/meetings/<name>.yaml``. Each holds
the substantive turns of a meeting (``SPEAKER_N`` labels; speakers introduce themselves by
first name early on), off-topic filler turns by the same speakers, the facts a correct
summary must contain, questions whose answer is one fact, and every person name that occurs
in the turns. ``transcript`` interleaves filler evenly between the turns until the segments
span ``meeting.minutes``, so the same meeting can be measured short or long; the filler holds
no facts, numbers or names.

Splits: prompts are tuned on ``split("tune")`` and the numbers are reported on
``split("report")``. The two differ in topic, speakers' names (no first name occurs in two
meetings), number of speakers and style, so a prompt that overfits the tune meetings does not
carry over:

- tune: ``release-planning`` (software release, 3 speakers, 5 min) and ``hiring-sync``
  (hiring pipeline, 4 speakers, 15 min), terse tech-team speech; ``newsroom-planning`` (a
  local paper's planning meeting, 5 speakers, 40 min, with small talk that sounds like
  tasks), for tuning on a long meeting.
- report: ``clinic-rota`` (veterinary clinic rota and an equipment purchase, 2 speakers,
  10 min), ``festival-logistics`` (town music festival committee, 5 speakers, 30 min) and
  ``lab-budget`` (research lab budget review, 3 speakers, 60 min); and ``coop-repairs``,
  written by someone else after the prompts were last tuned and not read by whoever tunes
  them (4 speakers, 35 min).

Matching (``found``): a fact or question carries groups of lower-case substrings; the text
matches when every group matches, and a group matches when any of its substrings occurs in
the lower-cased text. Groups use stems and variants (``"reject"``, ``"4,500"``/``"4500"``).
In a file, an item ``"$NAME"`` in a group stands for every word of the word group ``NAME``:
the meeting's own ``words:`` first, then ``bench/data/meeting_words.yaml`` (``REJECTED``,
``OPEN``, ``NO``). ``invented_names`` lists the names of ``COMMON_FIRST_NAMES``
(``bench/data/first_names.txt``) that occur as whole capitalised words in a text but not in
the meeting: names the model made up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
MEETINGS_DIR = DATA_DIR / "meetings"
SPLITS = ("tune", "report")


@dataclass(frozen=True)
class Fact:
    name: str  # short label, e.g. "release on Thursday"
    groups: tuple[tuple[str, ...], ...]  # every group must match (see ``found``)


@dataclass(frozen=True)
class Question:
    text: str
    groups: tuple[tuple[str, ...], ...]  # what the answer must contain (see ``found``)


@dataclass(frozen=True)
class Meeting:
    name: str
    split: str  # "tune" or "report"
    turns: tuple[tuple[str, str], ...]  # (speaker label, text) of the substantive meeting
    filler: tuple[tuple[str, str], ...]  # chit-chat by the same speakers: no facts or names
    minutes: float  # filler is interleaved until the transcript spans this long
    facts: tuple[Fact, ...]
    questions: tuple[Question, ...]
    names: tuple[str, ...]  # every person name in the turns (speakers and people mentioned)


def _read_first_names(path: Path) -> tuple[str, ...]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


COMMON_FIRST_NAMES: tuple[str, ...] = _read_first_names(DATA_DIR / "first_names.txt")
_FIRST_NAMES = frozenset(COMMON_FIRST_NAMES)
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_KEYS = {"name", "split", "minutes", "about", "names", "words", "turns", "filler", "facts"}
_KEYS |= {"questions"}


def _expand(
    items: Sequence[str], words: Mapping[str, Sequence[str]], where: str, seen: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """A group's words with every "$NAME" replaced by the words of NAME (recursively)."""
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{where}: {item!r} is not a string")
        if not item.startswith("$"):
            out.append(item)
            continue
        key = item[1:]
        if key not in words:
            raise ValueError(f"{where}: unknown word group {item!r}")
        if key in seen:
            raise ValueError(f"{where}: word group {item!r} refers to itself")
        out.extend(_expand(words[key], words, where, (*seen, key)))
    return tuple(out)


def _groups(
    raw: Any, words: Mapping[str, Sequence[str]], where: str
) -> tuple[tuple[str, ...], ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(g, list) and g for g in raw):
        raise ValueError(f"{where}: groups must be a non-empty list of non-empty lists")
    return tuple(_expand(g, words, where) for g in raw)


def _turns(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(raw or ()):
        if not (isinstance(turn, dict) and len(turn) == 1):
            raise ValueError(f"{where}[{i}]: expected one 'SPEAKER_N: text' pair")
        ((speaker, text),) = turn.items()
        turns.append((str(speaker), str(text)))
    return tuple(turns)


def parse_meeting(
    raw: Mapping[str, Any], shared_words: Mapping[str, Sequence[str]], where: str
) -> Meeting:
    """One meeting from the mapping of its YAML file; raises ValueError naming ``where``."""
    unknown = set(raw) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    missing = {"name", "split", "minutes", "names", "turns", "facts", "questions"} - set(raw)
    if missing:
        raise ValueError(f"{where}: missing keys {sorted(missing)}")
    if raw["split"] not in SPLITS:
        raise ValueError(f"{where}: split {raw['split']!r} is not one of {SPLITS}")
    words = {**shared_words, **(raw.get("words") or {})}
    if not all(isinstance(key, str) for key in words):  # e.g. a bare NO reads as False
        raise ValueError(f"{where}: word group names must be strings: {sorted(map(repr, words))}")
    return Meeting(
        name=str(raw["name"]),
        split=str(raw["split"]),
        turns=_turns(raw["turns"], f"{where}: turns"),
        filler=_turns(raw.get("filler"), f"{where}: filler"),
        minutes=float(raw["minutes"]),
        facts=tuple(
            Fact(str(f["name"]), _groups(f["groups"], words, f"{where}: fact {f['name']!r}"))
            for f in raw["facts"]
        ),
        questions=tuple(
            Question(str(q["text"]), _groups(q["groups"], words, f"{where}: {q['text']!r}"))
            for q in raw["questions"]
        ),
        names=tuple(str(n) for n in raw["names"]),
    )


def load_meetings(directory: Path = MEETINGS_DIR) -> tuple[Meeting, ...]:
    """Every ``*.yaml`` meeting in ``directory``, by split (tune first), then length;
    the file's stem must be the meeting's name, and names are unique."""
    shared = yaml.safe_load((DATA_DIR / "meeting_words.yaml").read_text()) or {}
    meetings = []
    for path in sorted(directory.glob("*.yaml")):
        meeting = parse_meeting(yaml.safe_load(path.read_text()), shared, str(path))
        if meeting.name != path.stem:
            raise ValueError(f"{path}: name {meeting.name!r} differs from the file name")
        meetings.append(meeting)
    return tuple(sorted(meetings, key=lambda m: (SPLITS.index(m.split), m.minutes)))


@functools.cache
def all_meetings() -> tuple[Meeting, ...]:
    """The meetings of bench/data/meetings, loaded once."""
    return load_meetings()


def transcript(meeting: Meeting, seconds_per_turn: float = 8.0) -> list[dict[str, Any]]:
    """Segments {"start","end","speaker","text"}: the turns in order with filler turns
    interleaved evenly (cycling the filler list) so the last segment ends near
    meeting.minutes*60 s; each segment lasts seconds_per_turn - 1 s, consecutive segments
    start seconds_per_turn apart. The first and the last segment are substantive turns and
    the others are spread evenly between them."""
    turns, filler = meeting.turns, meeting.filler
    # n segments end at n * seconds_per_turn - 1
    target = round((meeting.minutes * 60 + 1) / seconds_per_turn)
    total = max(len(turns), target) if filler else len(turns)
    last = max(len(turns) - 1, 1)
    at = {i * (total - 1) // last: turn for i, turn in enumerate(turns)}
    segments: list[dict[str, Any]] = []
    used = 0
    for pos in range(total):
        if pos in at:
            speaker, text = at[pos]
        else:
            speaker, text = filler[used % len(filler)]
            used += 1
        start = round(pos * seconds_per_turn, 3)
        end = round(start + seconds_per_turn - 1, 3)
        segments.append({"start": start, "end": end, "speaker": speaker, "text": text})
    return segments


def found(text: str, groups: Sequence[Sequence[str]]) -> bool:
    """Every group matches: one of its lower-case substrings occurs in the lower-cased text."""
    low = text.lower()
    return all(any(word.lower() in low for word in group) for group in groups)


def invented_names(text: str, meeting: Meeting) -> list[str]:
    """Names of COMMON_FIRST_NAMES that occur in text as whole capitalised words but not in
    meeting.names, each once, in order of first occurrence."""
    known = {name.lower() for name in meeting.names}
    out: list[str] = []
    for word in _CAPITALISED.findall(text):
        if word in _FIRST_NAMES and word.lower() not in known and word not in out:
            out.append(word)
    return out


def split(name: str) -> list[Meeting]:
    """The meetings of one split, "tune" or "report"."""
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}: expected one of {SPLITS}")
    return [m for m in all_meetings() if m.split == name]


def by_name(name: str) -> Meeting:
    """One meeting by name."""
    for meeting in all_meetings():
        if meeting.name == name:
            return meeting
    raise KeyError(f"no meeting {name!r} in {MEETINGS_DIR}")
