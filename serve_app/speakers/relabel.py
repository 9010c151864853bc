"""Renaming a finished transcript's speakers after a new match (pure functions).

A finished job keeps, per diarized label (``SPEAKER_n``), its voiceprint, the person it was
matched with and the name its transcript shows (``Job.speaker_display``). A new match
changes only the speaker fields of the segments (``speaker``, ``speaker_id``,
``speaker_match``), never their text, so edited text is kept. A name a user gave by hand
(shown name is neither the label nor the old match) stays unless a person now matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from serve_app.transcript.segments import Segment

Match = Mapping[str, Any]


def speech_seconds(turns: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Seconds of (exclusive) turns per speaker label."""
    seconds: dict[str, float] = {}
    for t in turns:
        label = str(t["speaker"])
        seconds[label] = seconds.get(label, 0.0) + max(0.0, float(t["end"]) - float(t["start"]))
    return seconds


def new_names(
    display: Mapping[str, str], old: Mapping[str, Match], new: Mapping[str, Match]
) -> dict[str, str]:
    """The name each label shows after the new match."""
    names = {}
    for label in {*display, *old, *new}:
        shown = display.get(label, label)
        if label in new:
            names[label] = str(new[label]["name"])
        elif label in old and shown == old[label]["name"]:
            names[label] = label  # the person no longer matches: unknown again
        else:
            names[label] = shown
    return names


def relabelled(
    segments: list[Segment],
    display: Mapping[str, str],
    old: Mapping[str, Match],
    new: Mapping[str, Match],
) -> tuple[list[Segment], dict[str, str]] | None:
    """``segments`` with their speakers renamed by the new match, and the new display
    names; None when nothing a client sees would change (idempotent)."""
    names = new_names(display, old, new)
    # The segments show names, not labels: map each shown name to its label (a name two
    # labels were merged into keeps the first label's).
    by_shown: dict[str, str] = {}
    for label in sorted(names):
        by_shown.setdefault(display.get(label, label), label)
    out, changed = [], False
    for seg in segments:
        found = by_shown.get(seg.speaker or "")
        if found is None:
            out.append(seg)
            continue
        label = found
        match = new.get(label)
        update = {
            "speaker": names[label],
            "speaker_id": match["speaker_id"] if match else None,
            "speaker_match": match["score"] if match else None,
        }
        if any(getattr(seg, k) != v for k, v in update.items()):
            changed = True
            words = [
                w.model_copy(update={"speaker": names[label]}) if w.speaker == seg.speaker else w
                for w in seg.words
            ]
            seg = seg.model_copy(update={**update, "words": words})
        out.append(seg)
    shown = {label: name for label, name in names.items() if name != label}
    if not changed and shown == dict(display):
        return None
    return out, shown
