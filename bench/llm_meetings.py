"""Written meeting transcripts with known facts, for the LLM quality bench (no model runs here).

Each ``Meeting`` holds the substantive turns of a meeting (``SPEAKER_N`` labels; speakers
introduce themselves by first name early on), off-topic filler turns by the same speakers,
the facts a correct summary must contain, questions whose answer is one fact, and every
person name that occurs in the turns. ``transcript`` interleaves filler evenly between the
turns until the segments span ``meeting.minutes``, so the same meeting can be measured short
or long; the filler holds no facts, numbers or names.

Splits: prompts are tuned on ``split("tune")`` and the numbers are reported on
``split("report")``. The two differ in topic, speakers' names (no first name occurs in two
meetings), number of speakers and style, so a prompt that overfits the tune meetings does not
carry over:

- tune: ``release-planning`` (software release, 3 speakers, 5 min) and ``hiring-sync``
  (hiring pipeline, 4 speakers, 15 min), terse tech-team speech; ``newsroom-planning``
  (``llm_meetings_tune_long``: a local paper's planning meeting, 5 speakers, 40 min, with
  small talk that sounds like tasks), for tuning on a long meeting.
- report: ``clinic-rota`` (veterinary clinic rota and an equipment purchase, 2 speakers,
  10 min), ``festival-logistics`` (town music festival committee, 5 speakers, 30 min) and
  ``lab-budget`` (research lab budget review, 3 speakers, 60 min); and one meeting in
  ``llm_meetings_heldout``, written by someone else after the prompts were last tuned and
  not read by whoever tunes them (4 speakers, 35 min).

Matching (``found``): a fact or question carries groups of lower-case substrings; the text
matches when every group matches, and a group matches when any of its substrings occurs in
the lower-cased text. Groups use stems and variants (``"reject"``, ``"4,500"``/``"4500"``).
``invented_names`` lists the names of ``COMMON_FIRST_NAMES`` that occur as whole capitalised
words in a text but not in the meeting: names the model made up.

The meetings themselves live in ``llm_meetings_data`` (imported below); import this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


# Common first names (English, plus every name used in a meeting). Names that are also
# ordinary words at the start of a sentence (Will, May, Mark, Grace, Ray...) are left out.
COMMON_FIRST_NAMES: tuple[str, ...] = (
    "Aaron", "Abigail", "Adam", "Alan", "Alex", "Alexander", "Alice", "Alison", "Amanda", "Amy",
    "Andrew", "Angela", "Anna", "Anne", "Anthony", "Ashley", "Barbara", "Ben", "Benjamin",
    "Bethany", "Betty", "Bob", "Brandon", "Brenda", "Brian", "Callum", "Carol", "Caroline",
    "Charles", "Charlotte", "Chloe", "Chris", "Christopher", "Claire", "Colin", "Connor",
    "Cynthia", "Dan", "Daniel", "Dave", "David", "Deborah", "Derek", "Diana", "Donald", "Donna",
    "Dorothy", "Duncan", "Dylan", "Edward", "Eleanor", "Elizabeth", "Ella", "Emily", "Emma",
    "Eric", "Erin", "Ethan", "Eva", "Fiona", "Gary", "Gavin", "Gemma", "George", "Graham",
    "Gregory", "Hannah", "Harriet", "Harry", "Helen", "Henry", "Holly", "Ian", "Isabella", "Jack",
    "Jacob", "James", "Jane", "Jason", "Jeffrey", "Jennifer", "Jenny", "Jessica", "Jim", "Joanne",
    "Joe", "John", "Jonathan", "Joseph", "Joshua", "Julia", "Justin", "Karen", "Kate", "Katie",
    "Keith", "Kenneth", "Kevin", "Kimberly", "Larry", "Laura", "Lauren", "Lewis", "Liam", "Linda",
    "Lisa", "Louise", "Lucas", "Lucy", "Lydia", "Marcus", "Margaret", "Maria", "Martin", "Mary",
    "Matthew", "Megan", "Melissa", "Mia", "Michael", "Michelle", "Mike", "Nancy", "Natalie",
    "Nathan", "Neil", "Nicholas", "Nick", "Nicola", "Noah", "Oliver", "Olivia", "Oscar", "Owen",
    "Patricia", "Patrick", "Paul", "Peter", "Philip", "Priya", "Rachel", "Rebecca", "Rhys",
    "Richard", "Robert", "Ronald", "Ruth", "Ryan", "Sam", "Samantha", "Samuel", "Sandra", "Sarah",
    "Scott", "Sharon", "Simon", "Sophie", "Stephanie", "Stephen", "Steve", "Steven", "Stuart",
    "Susan", "Thomas", "Timothy", "Tom", "Tyler", "Victor", "Wendy", "William", "Yasmin", "Zoe",
)  # fmt: skip
_FIRST_NAMES = frozenset(COMMON_FIRST_NAMES)
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")


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
    return [m for m in MEETINGS if m.split == name]


# The data modules import the dataclasses above, so they are imported last.
from llm_meetings_data import MEETINGS as _WRITTEN  # type: ignore[import-not-found]  # noqa: E402
from llm_meetings_heldout import MEETING as _HELDOUT  # type: ignore[import-not-found]  # noqa: E402
from llm_meetings_tune_long import MEETING as _TUNE_LONG  # type: ignore[import-not-found]  # noqa: E402

MEETINGS: tuple[Meeting, ...] = (*_WRITTEN, _TUNE_LONG, _HELDOUT)

__all__ = [
    "COMMON_FIRST_NAMES",
    "MEETINGS",
    "SPLITS",
    "Fact",
    "Meeting",
    "Question",
    "found",
    "invented_names",
    "split",
    "transcript",
]
