"""Number and date notes read off the transcript: every figure and day as said, the
sentence that says it as the meaning, the speaker and the segment's time."""

from serve_app.llm.context import sentences
from serve_app.llm.figures import dates_in, figure_notes, numbers_in
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
