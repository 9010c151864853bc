"""The number and date notes of a chunk, read off the transcript (pure, no model).

Asked for "every number said" in a chunk, the 1.5B model returned nothing; asked what
each number of the lines that hold one means, it pasted the prompt's example figures
(88,000, "3 June") onto lines that never said them. A figure and the sentence that says it
can be found exactly, so they are found here: each note is a figure as said and, for its
meaning, the sentence it is said in, with the speaker. The summary's selection then weighs
them against the model's decisions and action items.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from serve_app.llm.context import sentences
from serve_app.llm.notes import DateNote, NumberNote
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import TranscriptLine
from serve_app.llm.selection import MONTHS, WEEKDAYS

_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand million billion dozen half percent quarter"
).split()
_RELATIVE_DAYS = "today tomorrow tonight yesterday weekend".split()

_NUMBER = re.compile(r"\d[\d,.:]*\d%?|\d%?|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_DATE = re.compile(
    r"\b(?:"
    + "|".join(WEEKDAYS + _RELATIVE_DAYS)
    + r"|next (?:week|month|year)|end of the (?:week|month|year)"
    + r"|\d{1,2}(?:st|nd|rd|th))\b",
    re.IGNORECASE,
)
# Month names are capitalised in a transcript; "may" and "march" are also plain words.
_MONTH = re.compile(r"\b(?:" + "|".join(MONTHS) + r")\b")


def numbers_in(text: str) -> list[str]:
    """The figures a text says: digits (88,000, 10:30, 3.2, 10%) and number words."""
    return [m.group(0) for m in _NUMBER.finditer(text)]


def dates_in(text: str) -> list[str]:
    """The days and dates a text names: weekdays, months, today/tomorrow, next week, an
    ordinal such as 12th."""
    found = [(m.start(), m.group(0)) for m in _DATE.finditer(text)]
    found += [(m.start(), m.group(0)) for m in _MONTH.finditer(text)]
    return [word for _, word in sorted(found)]


def figure_notes(segments: Sequence[TranscriptLine]) -> tuple[list[NumberNote], list[DateNote]]:
    """One number note per sentence that says a figure, one date note per sentence that
    names a day or date: the figures as said, the sentence as their meaning, the speaker
    as ``by`` and the segment's time."""
    numbers: list[NumberNote] = []
    dates: list[DateNote] = []
    for segment in segments:
        time = format_timestamp(segment.start)
        for sentence in sentences(segment.text):
            if figures := numbers_in(sentence):
                numbers.append(
                    NumberNote(
                        time=time,
                        value=", ".join(figures),
                        meaning=sentence,
                        by=segment.speaker or "",
                    )
                )
            if days := dates_in(sentence):
                dates.append(
                    DateNote(
                        time=time, date=", ".join(days), meaning=sentence, by=segment.speaker or ""
                    )
                )
    return numbers, dates
