"""Edits a person makes to a finished transcript: a segment's text or speaker, and speaker
renames (two names mapped onto one merge those speakers). Pure functions over segments; the
job store applies them under the job's transcript version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from serve_app.transcript.segments import Segment

MAX_SPEAKER_CHARS = 100
MAX_TEXT_CHARS = 5000


class EditError(ValueError):
    """An edit that cannot apply to this transcript (bad name, empty text)."""


class UnknownSegmentError(EditError):
    """The transcript has no segment with that id."""


def _speaker_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise EditError("a speaker name must not be empty")
    if len(cleaned) > MAX_SPEAKER_CHARS:
        raise EditError(f"a speaker name may be at most {MAX_SPEAKER_CHARS} characters")
    return cleaned


def edit_segment(
    segments: Sequence[Segment], segment_id: str, text: str | None, speaker: str | None
) -> list[Segment]:
    """The transcript with one segment's text and/or speaker replaced. New text drops the
    segment's word timings (they belonged to the old words)."""
    if text is None and speaker is None:
        raise EditError("send text, speaker or both")
    update: dict[str, object] = {}
    if text is not None:
        cleaned = " ".join(text.split())
        if not cleaned:
            raise EditError("a segment's text must not be empty")
        if len(cleaned) > MAX_TEXT_CHARS:
            raise EditError(f"a segment's text may be at most {MAX_TEXT_CHARS} characters")
        update |= {"text": cleaned, "words": [], "tokens": []}
    if speaker is not None:
        update |= {"speaker": _speaker_name(speaker), "speaker_confidence": None}
    result, found = [], False
    for seg in segments:
        if seg.id == segment_id:
            found = True
            seg = seg.model_copy(update=update)
            if speaker is not None:
                seg.words = [w.model_copy(update={"speaker": seg.speaker}) for w in seg.words]
        result.append(seg)
    if not found:
        raise UnknownSegmentError(f"The transcript has no segment {segment_id!r}")
    return result


def rename_speakers(segments: Sequence[Segment], names: Mapping[str, str]) -> list[Segment]:
    """Every segment (and word) of speaker ``old`` given ``names[old]``; mapping two speakers
    onto one name merges them. Every ``old`` must be a speaker of the transcript."""
    if not names:
        raise EditError("the name map is empty")
    known = {s.speaker for s in segments if s.speaker}
    unknown = sorted(set(names) - known)
    if unknown:
        raise EditError(
            f"not a speaker of this transcript: {', '.join(unknown)} "
            f"(its speakers: {', '.join(sorted(known)) or 'none'})"
        )
    mapping = {old: _speaker_name(new) for old, new in names.items()}

    def renamed(name: str | None) -> str | None:
        return mapping.get(name, name) if name else name

    return [
        seg.model_copy(
            update={
                "speaker": renamed(seg.speaker),
                "words": [w.model_copy(update={"speaker": renamed(w.speaker)}) for w in seg.words],
            }
        )
        for seg in segments
    ]


def speakers_of(segments: Sequence[Segment]) -> list[str]:
    """The transcript's speakers in order of first appearance."""
    return list(dict.fromkeys(s.speaker for s in segments if s.speaker))
