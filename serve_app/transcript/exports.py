"""Transcript exports: plain text, SubRip (SRT) and WebVTT, with speakers in the cues; and
the speaker turns as RTTM (NIST's diarization format, what DER tools read)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

ExportFormat = Literal["json", "txt", "srt", "vtt", "rttm"]

MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "rttm": "text/plain; charset=utf-8",
}


class Cue(Protocol):
    """What an export needs of a segment."""

    start: float
    end: float
    text: str
    speaker: str | None


def _timestamp(seconds: float, separator: str) -> str:
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _one_line(text: str) -> str:
    # A blank line ends a cue in both formats; "-->" inside text would start a timing line.
    return " ".join(text.split()).replace("-->", "->")


def to_txt(segments: Sequence[Cue]) -> str:
    """One line per segment; ``SPEAKER_1: text`` when speakers are known."""
    lines = [
        f"{s.speaker}: {_one_line(s.text)}" if s.speaker else _one_line(s.text) for s in segments
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def to_srt(segments: Sequence[Cue]) -> str:
    blocks = []
    for i, s in enumerate(segments, start=1):
        text = _one_line(s.text)
        if s.speaker:
            text = f"[{s.speaker}] {text}"
        end = max(s.end, s.start + 0.001)
        blocks.append(f"{i}\n{_timestamp(s.start, ',')} --> {_timestamp(end, ',')}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Cue]) -> str:
    """WebVTT with the speaker as a voice span (``<v SPEAKER_1>``), as players expect."""
    blocks = ["WEBVTT\n"]
    for s in segments:
        text = _one_line(s.text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if s.speaker:
            text = f"<v {s.speaker}>{text}</v>"
        end = max(s.end, s.start + 0.001)
        blocks.append(f"{_timestamp(s.start, '.')} --> {_timestamp(end, '.')}\n{text}\n")
    return "\n".join(blocks)


def render(segments: Sequence[Cue], fmt: ExportFormat) -> str:
    """The transcript in a text format (``json`` is rendered by the API schemas instead)."""
    if fmt == "txt":
        return to_txt(segments)
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    raise ValueError(f"not a text export format: {fmt}")


def to_rttm(turns: Sequence[dict[str, Any]], uri: str) -> str:
    """One ``SPEAKER <uri> 1 <start> <duration> <NA> <NA> <speaker> <NA> <NA>`` line per turn
    (overlapping turns stay as they are); ``uri`` has no whitespace."""
    name = "_".join(uri.split()) or "audio"
    lines = []
    for t in sorted(turns, key=lambda t: (float(t["start"]), float(t["end"]))):
        start, end = float(t["start"]), float(t["end"])
        if end <= start:
            continue
        speaker = "_".join(str(t["speaker"]).split())
        lines.append(
            f"SPEAKER {name} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
        )
    return "".join(lines)


def turns_of(segments: Sequence[Cue]) -> list[dict[str, Any]]:
    """Speaker turns read off a transcript (for a job without kept turns): one per segment
    with a speaker."""
    return [
        {"start": s.start, "end": s.end, "speaker": s.speaker}
        for s in segments
        if s.speaker and s.end > s.start
    ]
