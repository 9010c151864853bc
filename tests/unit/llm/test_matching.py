"""Matching a text's words to transcript lines (rapidfuzz), in any script."""

from __future__ import annotations

from serve_app.llm.citations import citations
from serve_app.llm.context import words
from serve_app.llm.matching import WordMatcher
from serve_app.llm.schemas import TranscriptLine


def test_words_are_read_in_any_script():
    assert words("Релиз в четверг, café Müller: don't e-mail") == [
        "Релиз",
        "в",
        "четверг",
        "café",
        "Müller",
        "don't",
        "e-mail",
    ]


def test_each_word_counts_once_and_a_word_one_letter_off_matches():
    matcher = WordMatcher("We released the export on Thursday")
    assert matcher.shared("the export export export") == 1
    assert matcher.shared("Release the export Thursday") == 3  # release ~ released
    assert matcher.shared("Imports on Friday") == 0
    assert WordMatcher("yes, okay").shared("yes okay") == 0  # no content words


def test_an_answer_in_another_script_is_cited_by_its_words():
    transcript = [
        TranscriptLine(start=3.0, end=7.0, speaker="SPEAKER_1", text="Привет всем."),
        TranscriptLine(
            start=65.0, end=70.0, speaker="SPEAKER_2", text="Релиз переносим на четверг."
        ),
    ]
    cited = citations("Релиз будет в четверг.", transcript)
    assert [c.start for c in cited] == [65.0]
