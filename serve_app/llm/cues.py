"""What a sentence says, read by its wording (pure, no model): the figures and dates it
names, the deadline it sets, whom it asks to do something, whether it states a decision,
whether it leaves a question open.

These are the surface cues people use in meetings ("decided", "rejected", "we agreed";
"we haven't decided", "that stays open"), not a classifier: the 1.5B model could not tell
meeting business from small talk line by line (see the README), but a sentence that says
"the paywall is rejected" states a decision whoever reads it. A sentence that asks
("Do we all agree?") decides nothing, and a sentence that says something is not decided
leaves it open rather than deciding it.
"""

from __future__ import annotations

import re

WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
MONTHS = (
    "January February March April May June July August September October November December"
).split()

NOT_NAMES = frozenset(
    [d.capitalize() for d in WEEKDAYS]
    + MONTHS
    + "Everyone All Team Folks Guys Here Back Done Sorry Fine Ready Good Great Just Not Also "
    "Still Only Really Today Tomorrow Tonight Yes No Okay Right Well So Thanks Anyone Someone "
    "Somebody Nobody Everybody Please Then Now Sure Oh".split()
)
"""Capitalised words that open a sentence or a phrase like a name does and are not names."""

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

_DUE = re.compile(
    r"\b(?:by|before|until|till|due|no later than) (?:the )?(?:end of (?:the )?)?"
    r"(?:(?:next|this) )?(?:"
    + "|".join([*WEEKDAYS, "today", "tomorrow", "tonight", "week", "month", "year"])
    + r"|\d{1,2}(?:st|nd|rd|th)|(?-i:"
    + "|".join(MONTHS)
    + r"))\b",
    re.IGNORECASE,
)
_ASKS = re.compile(r"\b([A-Z][a-z]+(?:-[A-Z][a-z]+)?), (?:(?:can|could|would|will) you|please)\b")
_NOT = r"(?:not|never|haven't|hasn't|hadn't|didn't|isn't|wasn't|aren't|weren't|yet to)"
_LEAVES_OPEN = re.compile(
    r"\b(?:"
    rf"{_NOT}(?: yet| been| quite| really)* (?:decided|settled|agreed|resolved|sure)"
    r"|(?:can't|cannot|couldn't|won't) (?:settle|decide|agree|resolve)"
    r"|undecided|unresolved|open question|to be decided"
    r"|(?:stays|staying|left|leave it|leave that|remains|still|keep it|keep that) open"
    r"|(?:nobody|no one|we don't|we do not) knows?(?: yet)?"
    r"|come back to (?:it|this|that)|revisit"
    r")\b",
    re.IGNORECASE,
)
# Said of a decision made: "we decide" and "we need a decision" open an agenda item.
_DECIDES = re.compile(
    r"\b(?:decided|agreed|approved|rejected|turned down|settled|signed off|going ahead"
    r"|go with|going with)\b",
    re.IGNORECASE,
)


def numbers_in(text: str) -> list[str]:
    """The figures a text says: digits (88,000, 10:30, 3.2, 10%) and number words."""
    return [m.group(0) for m in _NUMBER.finditer(text)]


def dates_in(text: str) -> list[str]:
    """The days and dates a text names: weekdays, months, today/tomorrow, next week, an
    ordinal such as 12th."""
    found = [(m.start(), m.group(0)) for m in _DATE.finditer(text)]
    found += [(m.start(), m.group(0)) for m in _MONTH.finditer(text)]
    return [word for _, word in sorted(found)]


def due_in(text: str) -> str:
    """The deadline a text sets ("by Wednesday", "before the 12th", "by the end of the
    month"), as said; empty when it sets none."""
    match = _DUE.search(text)
    return match.group(0) if match else ""


def asks(text: str) -> str:
    """The person a text asks to do something by name ("Angela, can you send...",
    "Jason, please post..."), or empty."""
    return request(text)[0]


def request(text: str) -> tuple[str, str]:
    """Whom a text asks to do something by name, and what it asks (the words after the
    asking: "Angela, can you send the rate card?" -> ("Angela", "send the rate card")),
    or two empty strings."""
    for match in _ASKS.finditer(text):
        if match.group(1) not in NOT_NAMES:
            what = text[match.end() :].strip().removeprefix("please ").rstrip("?.! ")
            return match.group(1), what
    return "", ""


def leaves_open(sentence: str) -> bool:
    """The sentence says something is not decided ("we haven't decided whether...",
    "that stays open", "we can't settle that today")."""
    return bool(_LEAVES_OPEN.search(sentence))


def decides(sentence: str) -> bool:
    """The sentence states a decision ("Decided: ...", "the paywall is rejected", "we
    agreed to..."): a word of a decision made, not in a question, not said to be
    undecided."""
    text = sentence.strip()
    return bool(_DECIDES.search(text)) and not text.endswith("?") and not leaves_open(text)
