"""The evidence check on a real meeting excerpt (QMSum, AMI ES2002b) and its French,
German, Spanish and Russian translations: notes whose cited turns say them are kept,
the others dropped and counted (no model: the notes are written in the data files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from serve_app.llm import checks
from serve_app.llm.checks import Checked, Verifier
from serve_app.llm.evidence import Vocabulary, occurs, same_point, tokens, word_score
from serve_app.llm.notes import (
    ActionNote,
    Decision,
    OpenQuestion,
    SpeakerName,
    Topic,
    WindowNotes,
    owner_candidates,
)
from serve_app.llm.schemas import TranscriptLine

DATA = Path(__file__).parents[2] / "data" / "meetings"
LANGUAGES = ["en", "fr", "de", "es", "ru"]
MODELS: dict[str, Any] = {
    "speakers": SpeakerName,
    "topics": Topic,
    "decisions": Decision,
    "action_items": ActionNote,
    "open_questions": OpenQuestion,
}


def _meeting(lang: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (DATA / f"es2002b_target_market.{lang}.json").read_text(encoding="utf-8")
    )
    return data


def test_words_are_read_in_any_script():
    assert tokens("Release on Thursday, café Müller: don't") == [
        "release", "on", "thursday", "café", "müller", "don",
    ]  # fmt: skip
    assert tokens("Релиз в четверг") == ["релиз", "четверг"]
    assert tokens("我们决定") == ["我们", "们决", "决定"]  # no spaces: character pairs
    assert tokens("15 to 35") == ["15", "to", "35"]


def test_inflected_words_match():
    assert word_score("молодых", "молодые") >= 80
    assert word_score("décidé", "décider") >= 80
    assert word_score("release", "released") >= 80
    assert word_score("market", "target", score_cutoff=80) == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_supported_notes_are_kept_and_unsupported_ones_dropped(lang, monkeypatch):
    monkeypatch.setattr(checks, "NEIGHBOURS", 0)  # the cited lines only
    meeting = _meeting(lang)
    segments = [TranscriptLine(**s) for s in meeting["segments"]]
    verifier = Verifier(segments)
    notes = WindowNotes(
        **{
            kind: [MODELS[kind](**{k: v for k, v in i.items() if k != "kept"}) for i in items]
            for kind, items in meeting["notes"].items()
        }
    )
    owners = owner_candidates(segments)
    kept, checked = verifier.verify(notes, set(range(len(segments))), owners)
    for kind, items in meeting["notes"].items():
        wanted = [i["evidence"] for i in items if i["kept"]]
        assert [i.evidence for i in getattr(kept, kind)] == wanted, (lang, kind)
    assert sum(checked.dropped.values()) == 5 and sum(checked.kept.values()) == 5
    assert checked.as_dict()["unsupported_share"] == 0.5
    assert kept.decisions[0].time == "00:01:12"  # turn 18's time, as the data gives it


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_filler_word_is_no_name(lang):
    meeting = _meeting(lang)
    segments = [TranscriptLine(**s) for s in meeting["segments"]]
    filler = segments[17].text.strip(".")  # "Yeah." in each language
    notes = WindowNotes(speakers=[SpeakerName(label="Marketing", name=filler, evidence=[17])])
    kept, checked = Verifier(segments).verify(notes, set(range(len(segments))), [])
    assert not kept.speakers
    assert checked.dropped == {"speakers: name is a common word": 1}


def test_evidence_outside_the_window_and_unknown_owners_are_dropped():
    segments = [TranscriptLine(**s) for s in _meeting("en")["segments"]]
    notes = WindowNotes(
        decisions=[Decision(text="Target young professionals", evidence=[18])],
        action_items=[ActionNote(owner="Bob", task="Narrow down the target group",
                                 evidence=[12])],
    )  # fmt: skip
    kept, checked = Verifier(segments).verify(notes, set(range(10)), ["Project Manager"])
    assert kept == WindowNotes()
    assert checked.dropped == {
        "decisions: evidence not in the window": 1,
        "action_items: owner not in the transcript": 1,
    }
    # The debug output shows what was refused, not only how many.
    assert sorted((r["kind"], r["text"], r["evidence"]) for r in checked.rejected) == [
        ("action_items", "Narrow down the target group", [12]),
        ("decisions", "Target young professionals", [18]),
    ]


def test_a_due_date_the_evidence_does_not_say_is_cleared():
    segments = [TranscriptLine(**s) for s in _meeting("en")["segments"]]
    notes = WindowNotes(
        action_items=[ActionNote(owner="", task="Narrow down the target group",
                                 due="Friday", evidence=[12])],
    )  # fmt: skip
    kept, checked = Verifier(segments).verify(notes, set(range(25)), [])
    assert [a.due for a in kept.action_items] == [""]
    assert checked.dropped == {"action_items.due: not in its evidence": 1}


def test_in_another_language_the_evidence_must_exist_but_is_not_compared():
    segments = [TranscriptLine(**s) for s in _meeting("en")["segments"]]
    notes = WindowNotes(
        decisions=[
            Decision(text="Cibler les jeunes actifs", evidence=[18]),
            Decision(text="Cibler les jeunes actifs de 15 à 35 ans", evidence=[40]),
        ]
    )
    kept, _ = Verifier(segments, lexical=False).verify(notes, set(range(25)), [])
    assert [d.evidence for d in kept.decisions] == [[18]]


def test_owners_are_speaker_labels_and_names_said_inside_a_sentence():
    for lang in LANGUAGES:
        segments = [TranscriptLine(**s) for s in _meeting(lang)["segments"]]
        owners = owner_candidates(segments)
        assert owners[:4] == ["Project Manager", "Industrial Designer", "Marketing",
                              "User Interface"]  # fmt: skip
        assert ("Крейг" if lang == "ru" else "Craig") in owners


def test_common_words_weigh_little():
    segments = [s["text"] for s in _meeting("fr")["segments"]]
    vocab = Vocabulary(segments)
    assert vocab.weight("ouais") < vocab.weight("reconnaissance")
    share, rare = vocab.support("Ouais, d'accord, ouais", [segments[17]])
    assert not (rare and share >= 0.34)


def test_names_and_points():
    assert occurs("Craig", ["What do you think, Craig?"])
    assert not occurs("Greg", ["What do you think, Craig?"])
    assert same_point("Target young professionals", "target the young professionals")
    assert not same_point("Target young professionals", "Order the remote parts")


def test_a_note_that_names_a_speaker_must_cite_a_line_that_speaker_said():
    segments = [
        TranscriptLine(speaker="Project Manager", text="Let us look at the budget for the remote."),
        TranscriptLine(speaker="Industrial Designer", text="The budget is twelve euros a remote."),
        TranscriptLine(speaker="Marketing", text="Yeah."),
    ]
    verifier = Verifier(segments)
    ok = "The Industrial Designer said the budget is twelve euros a remote."
    wrong = "The Marketing expert said the budget is twelve euros a remote."
    assert verifier.said_by_named(ok, [1]) and not verifier.said_by_named(wrong, [1])
    assert verifier.said_by_named("The budget is twelve euros.", [1])  # names nobody
    checked = Checked()
    kept = verifier.check(
        "points", [Decision(text=wrong, evidence=[1]), Decision(text=ok, evidence=[1])],
        lambda d: d.text, {0, 1, 2}, checked,
    )  # fmt: skip
    assert [d.text for d in kept] == [ok]
    assert checked.dropped == {"points: the speaker it names said none of it": 1}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_note_that_cites_the_line_next_to_its_own_is_anchored_to_it(lang, monkeypatch):
    monkeypatch.setattr(checks, "NEIGHBOURS", 1)
    meeting = _meeting(lang)
    segments = [TranscriptLine(**s) for s in meeting["segments"]]
    target = meeting["notes"]["decisions"][0]["text"]  # said in turns 18 and 24
    notes = WindowNotes(
        decisions=[
            Decision(text=target, evidence=[19]),  # "Mm-hmm": turn 18 is next to it
            Decision(text=target, evidence=[4]),  # nothing near says it
        ]
    )
    kept, checked = Verifier(segments).verify(notes, set(range(len(segments))), [])
    assert [d.evidence for d in kept.decisions] == [[18]]
    assert checked.anchored == {"decisions": 1}
    assert checked.dropped == {"decisions: evidence does not support it": 1}
    # Not past the window's edge.
    kept, checked = Verifier(segments).verify(notes, {19}, [])
    assert not kept.decisions
