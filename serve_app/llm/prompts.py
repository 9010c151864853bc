"""Prompts for summaries and chat over a transcript (pure functions, no Ray, no vllm).

Chat lines carry their time and speaker (``[00:01:05] SPEAKER_1: ...``) so the model can
answer "who said what, when". The notes and summary prompts show a line as its number and
speaker only (``#12 SPEAKER_1: ...``: the numbers the notes cite as evidence): a time on
every line nearly doubled the prompt's tokens, and code maps the cited numbers back to
the segments' times. The prompts hold no example content a model could copy (the JSON
schema gives the shape); they tell the model to use only the transcript, and to write in
the transcript's language (or the one requested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    """The segments with text, and one formatted line for each; ``full_text`` (untimed
    segments, lines without timestamps) when there are none."""
    segments = [s for s in transcript if s.text.strip()]
    if segments:
        return segments, [format_line(s) for s in segments]
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


def summary_messages(
    lines: Sequence[str], fmt: SummaryFormat, max_words: int, language: str | None = None
) -> list[dict[str, str]]:
    """The prompt that summarises a whole transcript in one call, as prose (the direct
    summary: the evaluation's baseline, and the fallback when no checked note is left)."""
    return [
        {"role": "system", "content": SUMMARY_SYSTEM},
        {
            "role": "user",
            "content": (
                f"Transcript:\n{chr(10).join(lines)}\n\n"
                f"Summarise the transcript above in at most {max_words} words. "
                f"{_FORMAT_INSTRUCTIONS[fmt]} Write in {_language(language)}."
            ),
        },
    ]


def line_number(index: int) -> int:
    """The number a prompt shows for segment ``index``: counted from 1, as people (and
    small models, which cite the first line as #1) count."""
    return index + 1


def numbered_line(index: int, line: TranscriptLine) -> str:
    """``#13 SPEAKER_1: text`` for segment 12: the number the notes cite and the speaker;
    no time (code keeps each segment's times and maps cited numbers back to them)."""
    speaker = f" {line.speaker}:" if line.speaker else ""
    return f"#{line_number(index)}{speaker} {line.text.strip()}"


def _language(language: str | None) -> str:
    return language.strip() if language and language.strip() else "the language of the transcript"


NOTES_SYSTEM = (
    "You take notes on meeting transcripts. Use only what the transcript says; never "
    "invent names, dates, numbers or decisions."
)


def notes_messages(
    lines: Sequence[str], part: int, parts: int, language: str | None = None
) -> list[dict[str, str]]:
    """Map step: the notes of one window of numbered lines, as JSON decoded against
    :func:`serve_app.llm.notes.window_schema`. The transcript comes first, so the summary
    prompt of a one-window transcript shares its prefix in vLLM's cache."""
    where = (
        f"Part {part} of {parts} of a meeting transcript" if parts > 1 else "A meeting transcript"
    )
    return [
        {"role": "system", "content": NOTES_SYSTEM},
        {
            "role": "user",
            "content": (
                f"{where}, one numbered line per turn:\n{chr(10).join(lines)}\n\n"
                "Take notes on the transcript above, from its first line to its last, as "
                'JSON. Every note cites in "evidence" the numbers of the one to three lines '
                "that say it.\n"
                "- topics: the subjects discussed, a few words each;\n"
                "- points: what was said, proposed, reported or argued, one full sentence "
                "each in your own words, naming who said it by speaker label;\n"
                "- decisions: what the meeting decided or agreed;\n"
                "- action_items: tasks someone will do: the owner (a speaker label or a "
                "name from the transcript, empty if nobody), the task, and the deadline as "
                "said (empty if none);\n"
                "- open_questions: questions raised and not settled;\n"
                "- speakers: a speaker label and that person's name, only when a line says "
                "the name of that speaker.\n"
                f"Write every note in {_language(language)}. Leave out greetings and small "
                "talk; decisions, action items, open questions and speakers stay empty "
                "when the transcript has none."
            ),
        },
    ]


def summary_notes_messages(
    notes: Sequence[str],
    outline: Sequence[str],
    max_words: int,
    lines: Sequence[str] = (),
    language: str | None = None,
) -> list[dict[str, str]]:
    """Reduce step: the summary written from the checked ``notes`` and the transcript's
    ``outline`` (and, for a one-window transcript, its numbered ``lines``, first, as in
    :func:`notes_messages`), as JSON sentences that cite line numbers."""
    parts = []
    if lines:
        parts.append(f"A meeting transcript, one numbered line per turn:\n{chr(10).join(lines)}")
    if notes:
        parts.append("Notes taken on it (each with the lines it comes from):\n" + "\n".join(notes))
    if outline:
        parts.append("The meeting's parts and their topics:\n" + "\n".join(outline))
    task = (
        f"Summarise the whole meeting in about {max_words} words, as JSON: a list of "
        "sentences of plain prose that together read as one paragraph: the meeting's "
        "purpose, what each participant presented, proposed or argued, what was decided "
        "and left open, and who will do what. Each sentence says something the others "
        "do not, names people by their speaker labels, and cites in "
        '"evidence" the numbers of the one to three transcript lines that say it; the '
        "sentence itself holds no line numbers, times or list marks. Write in "
        f"{_language(language)}. Use only what the transcript says."
    )
    return [
        {"role": "system", "content": NOTES_SYSTEM},
        {"role": "user", "content": "\n\n".join([*parts, task])},
    ]


def chat_messages(
    lines: Sequence[str],
    conversation: Sequence[dict[str, str]],
    note: str | None = None,
) -> list[dict[str, str]]:
    """System prompt with the transcript, then the client's conversation unchanged.

    A client ``system`` message is kept, after ours (it may set tone or language).
    """
    context = "Transcript:\n" + "\n".join(lines)
    if note:
        context += f"\n\n({note})"
    return [{"role": "system", "content": f"{CHAT_SYSTEM}\n\n{context}"}, *conversation]
