"""Notes read off the transcript: every figure and day as said, the sentence that says it
as the meaning, the speaker and the segment's time; the sentences that state a decision or
leave a question open; tasks asked of someone by name with a deadline."""

from serve_app.llm.context import sentences
from serve_app.llm.cues import dates_in, numbers_in
from serve_app.llm.notes import ActionNote, ChunkNotes, DateNote
from serve_app.llm.pattern_notes import (
    acceptances,
    asked_tasks,
    cue_notes,
    figure_notes,
    without_acceptances,
)
from serve_app.llm.schemas import TranscriptLine


def test_figures_as_said():
    assert numbers_in("We offer 88,000, that is 10% under the band of 95,000.") == [
        "88,000",
        "10%",
        "95,000",
    ]
    assert numbers_in("Version 3.2, bar shuts at 10:30, seven bugs.") == ["3.2", "10:30", "seven"]
    assert numbers_in("Hi, Alice here, lovely weather.") == []


def test_days_and_dates_as_said():
    assert dates_in("Ship on Thursday, the 12th of September.") == ["Thursday", "12th", "September"]
    assert dates_in("By next week, or tomorrow at the latest.") == ["next week", "tomorrow"]
    # "may" and "march" are plain words unless capitalised.
    assert dates_in("We may march on.") == []


def test_sentences_keep_decimal_points_and_times():
    assert sentences("Ship 3.2 at 10:30. Then rest! Ok?") == [
        "Ship 3.2 at 10:30.",
        "Then rest!",
        "Ok?",
    ]


def test_one_note_per_sentence_that_says_a_figure_with_its_speaker_and_time():
    segments = [
        TranscriptLine(start=0, end=5, speaker="SPEAKER_1", text="Hi all. Lovely weather."),
        TranscriptLine(
            start=65.4,
            end=72,
            speaker="SPEAKER_2",
            text="QA found 7 bugs. We fix them by Wednesday. Two are blockers.",
        ),
        TranscriptLine(start=80, end=84, text="See you on Friday."),
    ]
    numbers, dates = figure_notes(segments)
    assert [(n.time, n.value, n.meaning, n.by) for n in numbers] == [
        ("00:01:05", "7", "QA found 7 bugs.", "SPEAKER_2"),
        ("00:01:05", "Two", "Two are blockers.", "SPEAKER_2"),
    ]
    assert [(d.time, d.date, d.meaning, d.by) for d in dates] == [
        ("00:01:05", "Wednesday", "We fix them by Wednesday.", "SPEAKER_2"),
        ("00:01:20", "Friday", "See you on Friday.", ""),
    ]


def _line(start: float, speaker: str, text: str) -> TranscriptLine:
    """A seven-second segment."""
    return TranscriptLine(start=start, end=start + 7, speaker=speaker, text=text)


def test_sentences_that_decide_or_leave_open_are_notes_by_their_speaker():
    segments = [
        _line(
            656,
            "SPEAKER_1",
            "That's our front page. Decided: the library closure leads. Agreed, all?",
        ),
        _line(
            1560,
            "SPEAKER_1",
            "I agree with Lewis. No paywall. That proposal is rejected. Next, print.",
        ),
        _line(1568, "SPEAKER_2", "Agreed. The print run drops to 8,000. Thanks."),
        _line(2392, "SPEAKER_3", "We can't settle that today. It stays open until the survey."),
        _line(2400, "SPEAKER_2", "Shall I open a window?"),
    ]
    decisions, questions = cue_notes(segments)
    # Consecutive sentences that decide make one note; a question decides nothing.
    assert [(d.time, d.decision, d.by) for d in decisions] == [
        ("00:10:56", "Decided: the library closure leads.", "SPEAKER_1"),
        # A run that refers back starts at what it refers to.
        ("00:26:00", "No paywall. That proposal is rejected.", "SPEAKER_1"),
        # One that says nothing but the cue takes the sentence after it.
        ("00:26:08", "Agreed. The print run drops to 8,000.", "SPEAKER_2"),
    ]
    assert all(d.quote and d.quote.text == d.decision for d in decisions)
    assert [(q.time, q.question) for q in questions] == [
        ("00:39:52", "We can't settle that today. It stays open until the survey.")
    ]


def test_a_task_asked_of_someone_by_name_with_a_deadline_is_an_action_item():
    segments = [
        _line(
            736, "SPEAKER_1", "Good. Lewis, can you file the library story by Wednesday lunchtime?"
        ),
        _line(744, "SPEAKER_2", "Angela, can you hear me?"),
        _line(752, "SPEAKER_3", "I'll grab coffee by noon."),
    ]
    assert [(a.time, a.owner, a.task, a.due) for a in asked_tasks(segments)] == [
        ("00:12:16", "Lewis", "file the library story by Wednesday lunchtime", "Wednesday")
    ]


def test_taking_on_a_task_already_asked_is_not_a_second_note():
    segments = [
        _line(736, "SPEAKER_1", "Lewis, can you file it by Wednesday?"),
        _line(824, "SPEAKER_2", "Yes, I'll file it by Wednesday."),
        # Another day, or someone else: new.
        _line(832, "SPEAKER_2", "And the court list by Friday."),
        _line(840, "SPEAKER_3", "Mine's due by Wednesday."),
    ]
    names = {"SPEAKER_1": "Nicola", "SPEAKER_2": "Lewis", "SPEAKER_3": "Gemma"}
    assert acceptances(segments, names) == {"00:13:44"}
    notes = ChunkNotes(
        action_items=[
            ActionNote(time="00:12:16", owner="Lewis", task="file it"),
            ActionNote(time="00:13:44", owner="Lewis", task="file it"),
        ],
        dates=[DateNote(time="00:13:44", date="Wednesday", meaning="I'll file it by Wednesday.")],
    )
    kept = without_acceptances(notes, segments, names)
    assert [a.time for a in kept.action_items] == ["00:12:16"] and kept.dates == []
