"""The notes read off a transcript by their wording (pure, no model): its numbers and
dates, the sentences that state a decision or leave a question open, and the tasks asked
of someone by name with a deadline; which lines only take on a task already asked; and
the chat prompt's list of these notes (:func:`key_notes`).

Asked for "every number said" in a chunk, the 1.5B model returned nothing; asked what
each number of the lines that hold one means, it pasted the prompt's example figures
(88,000, "3 June") onto lines that never said them. A figure and the sentence that says it
can be found exactly, so they are found here: each note is a figure as said and, for its
meaning, the sentence it is said in, with the speaker.

On a long chunk that is mostly small talk, the model's decisions and open questions were
mostly small talk too, and it missed lines as plain as "Decided: the library closure
leads". So a sentence that states a decision or leaves one open in so many words
(:mod:`serve_app.llm.cues`) is a note as well, beside the model's; the summary's
selection drops the repeats and ranks such backed notes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from serve_app.llm.context import content_words, sentences
from serve_app.llm.cues import dates_in, decides, due_in, leaves_open, numbers_in, request
from serve_app.llm.notes import (
    ActionNote,
    ChunkNotes,
    DateNote,
    Decision,
    NumberNote,
    OpenQuestion,
    Quote,
)
from serve_app.llm.prompts import format_timestamp
from serve_app.llm.schemas import TranscriptLine


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


_REFERS_BACK = re.compile(r"^(?:that|this|it|it's|which|so)\b", re.IGNORECASE)


def _runs(text: str, cue: Callable[[str], bool]) -> list[str]:
    """The runs of consecutive sentences of ``text`` that ``cue`` holds for, each joined;
    a run that opens by referring back ("That proposal is rejected") starts one sentence
    earlier, at what it refers to, and one that says nothing but the cue ("Agreed.")
    takes the sentence after it."""
    said = sentences(text)
    runs: list[list[str]] = []
    previous = False
    for i, sentence in enumerate(said):
        held = cue(sentence)
        if held and previous:
            runs[-1].append(sentence)
        elif held:
            refers = i > 0 and _REFERS_BACK.match(sentence)
            runs.append([said[i - 1], sentence] if refers else [sentence])
        elif previous and len(content_words(" ".join(runs[-1]))) <= 1:
            runs[-1].append(sentence)  # "Agreed." says what with the sentence after it
        previous = held
    return [" ".join(run) for run in runs]


def cue_notes(segments: Sequence[TranscriptLine]) -> tuple[list[Decision], list[OpenQuestion]]:
    """A decision note for each run of sentences of a segment that state a decision, and
    an open question for each run that leaves one open: the sentences as the note and as
    its quote, by the segment's speaker, at the segment's time."""
    decisions: list[Decision] = []
    questions: list[OpenQuestion] = []
    for segment in segments:
        time, speaker = format_timestamp(segment.start), segment.speaker or ""
        for said in _runs(segment.text, decides):
            quote = Quote(speaker=speaker, text=said)
            decisions.append(Decision(time=time, decision=said, by=speaker, quote=quote))
        for said in _runs(segment.text, leaves_open):
            quote = Quote(speaker=speaker, text=said)
            questions.append(OpenQuestion(time=time, question=said, quote=quote))
    return decisions, questions


def asked_tasks(segments: Sequence[TranscriptLine]) -> list[ActionNote]:
    """An action item for each sentence that asks someone by name to do something by a
    deadline ("Angela, can you send the rate card by Monday?"): that person as the owner,
    what they are asked as the task, the deadline as said (without its "by")."""
    out: list[ActionNote] = []
    for segment in segments:
        for sentence in sentences(segment.text):
            (owner, task), due = request(sentence), due_in(sentence)
            if not (owner and due):
                continue
            out.append(
                ActionNote(
                    time=format_timestamp(segment.start),
                    owner=owner,
                    task=task,
                    due=due.split(" ", 1)[1] if " " in due else due,
                    quote=Quote(speaker=segment.speaker or "", text=sentence),
                )
            )
    return out


def _day(due: str) -> str:
    """The day of a deadline as said ("by next Wednesday" -> "wednesday")."""
    return due.rsplit(" ", 1)[-1].lower() if due else ""


def acceptances(segments: Sequence[TranscriptLine], names: Mapping[str, str]) -> set[str]:
    """The times of the segments in which someone takes on a task asked of them earlier
    (:func:`asked_tasks`) with the same deadline ("Yes, I'll file it by Wednesday." after
    "Lewis, can you file the library story by Wednesday?"): the task asked says it all.
    ``names`` maps speaker labels to names."""
    asked: dict[tuple[str, str], str] = {}  # (owner, day) -> when first asked
    for task in asked_tasks(segments):
        asked.setdefault((task.owner.lower(), _day(task.due)), task.time)
    out: set[str] = set()
    for segment in segments:
        time = format_timestamp(segment.start)  # HH:MM:SS, so it sorts as text
        speaker = names.get(segment.speaker or "", "").lower()
        days = {_day(due_in(sentence)) for sentence in sentences(segment.text)} - {""}
        if any(asked.get((speaker, day), time) < time for day in days):
            out.add(time)
    return out


def without_acceptances(
    notes: ChunkNotes, segments: Sequence[TranscriptLine], names: Mapping[str, str]
) -> ChunkNotes:
    """The notes without those of the segments that take on a task already asked
    (:func:`acceptances`): one task, shown once."""
    times = acceptances(segments, names)
    kinds = ("decisions", "action_items", "numbers", "dates", "open_questions")
    return notes.model_copy(
        update={k: [n for n in getattr(notes, k) if n.time not in times] for k in kinds}
    )


def key_notes(segments: Sequence[TranscriptLine], names: Mapping[str, str]) -> list[str]:
    """The decisions, open questions and tasks with a deadline read off the transcript,
    for the chat prompt: under a heading for each kind, one line each in time order
    (``[00:10:56] (Nicola): Decided: ...``; ``[00:12:16] Lewis, due Wednesday, asked by
    Nicola: file the library story``). ``names`` maps speaker labels to names.

    Listed one kind after another with the kind in each line, the 1.5B model answered a
    question about a task by pasting the whole list; under headings, by the one line."""

    def who(label: str) -> str:
        return names.get(label, label) or "unknown speaker"

    decisions, questions = cue_notes(segments)
    taken = acceptances(segments, names)
    groups = {
        "Decisions made:": [(d.time, f"({who(d.by)}): {d.decision}") for d in decisions],
        "Questions left open (not decided):": [
            (q.time, f"({who(q.quote.speaker if q.quote else '')}): {q.question}")
            for q in questions
        ],
        "Tasks given (who, due, asked by whom: what):": [
            (a.time, f"{a.owner}, due {a.due}, asked by "
                     f"{who(a.quote.speaker if a.quote else '')}: {a.task}")
            for a in asked_tasks(segments)
            if a.time not in taken
        ],
    }  # fmt: skip
    timed = any(s.end > 0 for s in segments)  # a full_text transcript has no times
    out: list[str] = []
    for heading, lines in groups.items():
        if lines:
            out += [heading, *(f"[{t}] {text}" if timed else text for t, text in sorted(lines))]
    return out
