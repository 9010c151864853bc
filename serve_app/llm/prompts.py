"""Prompts for summaries and chat over a transcript (pure functions, no Ray, no vllm).

Transcript lines carry their time and speaker (``[00:01:05] SPEAKER_1: ...``) so the model
can answer "who said what, when"; the prompts tell it to use only the transcript.
"""

from __future__ import annotations

from collections.abc import Sequence

from serve_app.llm.schemas import SummaryFormat, TranscriptLine


def format_timestamp(seconds: float) -> str:
    """``HH:MM:SS`` (whole seconds): short, and what people quote back."""
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_line(line: TranscriptLine) -> str:
    speaker = f" {line.speaker}:" if line.speaker else ""
    return f"[{format_timestamp(line.start)}]{speaker} {line.text.strip()}"


def transcript_lines(
    transcript: Sequence[TranscriptLine], full_text: str | None = None
) -> list[str]:
    """One formatted line per segment; ``full_text`` (no timestamps) when there are none."""
    lines = [format_line(s) for s in transcript if s.text.strip()]
    if lines:
        return lines
    text = (full_text or "").strip()
    return [p.strip() for p in text.splitlines() if p.strip()] if text else []


_FORMAT_INSTRUCTIONS: dict[str, str] = {
    "paragraph": "Write one plain paragraph of prose. No lists, no headings.",
    "bullet_points": (
        "Write a bullet list: one line per point, each line starting with '- '. "
        "No introduction, no headings."
    ),
    "key_points": (
        "Write a numbered list of the key points: decisions, action items with their "
        "owners, and open questions. Each line starts with '1.', '2.', ... No introduction."
    ),
}

SUMMARY_SYSTEM = (
    "You summarise meeting and conversation transcripts. Use only facts stated in the "
    "transcript. Name who decided or proposed what, using the speaker labels. "
    "Never invent names, dates, numbers or decisions."
)

CHAT_SYSTEM = (
    "You answer questions about a transcript. Each transcript line starts with its time "
    "[HH:MM:SS] and, when known, the speaker. Answer only from the transcript; cite the "
    "speaker and time when useful. If the transcript does not contain the answer, say so."
)


def summary_messages(
    lines: Sequence[str], fmt: SummaryFormat, max_words: int
) -> list[dict[str, str]]:
    """The prompt that summarises a whole transcript (or the reduce step over partial
    summaries, which are passed as ``lines`` too)."""
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {
            "role": "user",
            "content": (
                f"Transcript:\n{chr(10).join(lines)}\n\n"
                f"Summarise the transcript above in at most {max_words} words. "
                f"{_FORMAT_INSTRUCTIONS[fmt]}"
            ),
        },
    ]


def map_messages(
    lines: Sequence[str], part: int, parts: int, max_words: int
) -> list[dict[str, str]]:
    """Map step of a long transcript: notes on one chunk, times and speakers kept."""
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {
            "role": "user",
            "content": (
                f"Part {part} of {parts} of a transcript:\n{chr(10).join(lines)}\n\n"
                f"Write at most {max_words} words of notes on this part: what was said, "
                "decided and by whom. Start each note with its [HH:MM:SS] time."
            ),
        },
    ]


def reduce_messages(
    partials: Sequence[str], fmt: SummaryFormat, max_words: int
) -> list[dict[str, str]]:
    """Reduce step: one summary from the notes of every chunk, in time order."""
    notes = "\n\n".join(f"Notes on part {i + 1}:\n{p}" for i, p in enumerate(partials))
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {
            "role": "user",
            "content": (
                f"{notes}\n\nThese are notes on consecutive parts of one transcript. "
                f"Summarise the whole transcript in at most {max_words} words. "
                f"{_FORMAT_INSTRUCTIONS[fmt]}"
            ),
        },
    ]


def chat_messages(
    lines: Sequence[str], conversation: Sequence[dict[str, str]], note: str | None = None
) -> list[dict[str, str]]:
    """System prompt with the transcript, then the client's conversation unchanged.

    A client ``system`` message is kept, after ours (it may set tone or language).
    """
    context = "Transcript:\n" + "\n".join(lines)
    if note:
        context += f"\n\n({note})"
    return [{"role": "system", "content": f"{CHAT_SYSTEM}\n\n{context}"}, *conversation]
