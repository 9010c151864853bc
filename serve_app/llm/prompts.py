"""Prompts for summaries and chat over a transcript (pure functions, no Ray, no vllm).

Transcript lines carry their time and speaker (``[00:01:05] SPEAKER_1: ...``, the
speaker's name instead once they have introduced themselves: ``Priya:``) so the model can
answer "who said what, when"; the prompts tell it to use only the transcript.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from serve_app.llm import introductions
from serve_app.llm.schemas import SummaryFormat, TranscriptLine


def format_timestamp(seconds: float) -> str:
    """``HH:MM:SS`` (whole seconds): short, and what people quote back."""
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_line(line: TranscriptLine, names: Mapping[str, str] | None = None) -> str:
    """``[HH:MM:SS] SPEAKER_1: text``, or ``[HH:MM:SS] Priya: text`` when ``names``
    (label -> name) knows the speaker."""
    speaker = (names or {}).get(line.speaker or "", line.speaker)
    speaker = f" {speaker}:" if speaker else ""
    return f"[{format_timestamp(line.start)}]{speaker} {line.text.strip()}"


def timed_lines(
    transcript: Sequence[TranscriptLine], full_text: str | None = None
) -> tuple[list[TranscriptLine], list[str]]:
    """The segments with text, and one formatted line for each, speakers named where
    they introduce themselves (:mod:`serve_app.llm.introductions`); ``full_text``
    (untimed segments, lines without timestamps) when there are none."""
    segments = [s for s in transcript if s.text.strip()]
    if segments:
        names = introductions.speakers(segments)
        return segments, [format_line(s, names) for s in segments]
    paragraphs = [p.strip() for p in (full_text or "").splitlines() if p.strip()]
    return [TranscriptLine(text=p) for p in paragraphs], paragraphs


def transcript_lines(
    transcript: Sequence[TranscriptLine], full_text: str | None = None
) -> list[str]:
    """One formatted line per segment; ``full_text`` (no timestamps) when there are none."""
    return timed_lines(transcript, full_text)[1]


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
    "action_items": "Write one line per action item: '- owner: task (due date)'.",
}

SUMMARY_SYSTEM = (
    "You summarise meeting and conversation transcripts. Use only facts stated in the "
    "transcript. Name who decided or proposed what, using the speaker labels. "
    "Never invent names, dates, numbers or decisions."
)

CHAT_SYSTEM = (
    "You answer questions about a transcript. Each transcript line starts with its time "
    "[HH:MM:SS] and, when known, the speaker. Answer only from the transcript, in one or "
    "two sentences, naming people by their names. End the answer with the times of the "
    "lines that support it, like [00:01:05]. If the transcript does not contain the "
    "answer, say so."
)

NOTE_KINDS: dict[str, str] = {
    "people": (
        "every person named, with their speaker label (SPEAKER_1, ...) when they speak: a "
        'speaker who says "Hi, <name> here" is <name>'
    ),
    "decisions": (
        "every decision made, and every proposal that was turned down (write "
        '"rejected: <proposal>"), with who decided'
    ),
    "action_items": (
        "every task someone agreed to do: owner (the person's name), task (what they will "
        'do, in a few words), due (the deadline as said, or "")'
    ),
    "open_questions": "every question left undecided or unknown",
}


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


def notes_messages(lines: Sequence[str], part: int, parts: int, kind: str) -> list[dict[str, str]]:
    """Map step: one kind of note on one chunk (decoded against that kind's JSON schema).
    The transcript comes first, so a chunk's prompts share their prefix."""
    where = f"Part {part} of {parts} of a transcript" if parts > 1 else "A transcript"
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {
            "role": "user",
            "content": (
                f"{where}:\n{chr(10).join(lines)}\n\nList {NOTE_KINDS[kind]}. Each item's "
                '"time" is the [HH:MM:SS] of the line it comes from. Short phrases in the '
                "transcript's words; leave out small talk; never add anything the "
                'transcript does not say. Answer as JSON {"items": [...]}, with [] if '
                "there is none."
            ),
        },
    ]


def chat_messages(
    lines: Sequence[str],
    conversation: Sequence[dict[str, str]],
    note: str | None = None,
    key_lines: Sequence[str] = (),
) -> list[dict[str, str]]:
    """System prompt with the transcript (and its ``key_lines``: the decisions, open
    questions and tasks read off it), then the client's conversation unchanged.

    A client ``system`` message is kept, after ours (it may set tone or language).
    """
    context = "Transcript:\n" + "\n".join(lines)
    if key_lines:
        context += (
            "\n\nDecisions, open questions and tasks with a deadline, as said in the "
            "transcript:\n" + "\n".join(key_lines)
        )
    if note:
        context += f"\n\n({note})"
    return [{"role": "system", "content": f"{CHAT_SYSTEM}\n\n{context}"}, *conversation]
