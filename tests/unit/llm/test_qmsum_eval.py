"""The QMSum harness's pieces that need no data and no model (eval/qmsum.py)."""

from eval import qmsum


def test_turns_lose_qmsum_marks_and_the_space_before_punctuation():
    text = "{vocalsound} Um , so {disfmarker} we go with the yellow one ? {gap}"
    assert qmsum.clean(text) == "Um, so we go with the yellow one?"


def test_first_words_stop_at_n():
    segments = [{"text": "one two three"}, {"text": "four five"}, {"text": "six"}]
    assert qmsum.first_words(segments, 4) == "one two three four"


def test_rouge_is_f1_times_100_and_reads_list_lines_as_sentences():
    ref = "The team chose a yellow remote control."
    assert qmsum.rouge("- The team chose a yellow remote control.", ref) == {
        "rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0,
    }  # fmt: skip
    low = qmsum.rouge("Budget talks about servers.", ref)
    assert low["rouge1"] == low["rouge2"] == low["rougeL"] == 0.0


def test_only_queries_about_the_part_kept_count():
    meeting = qmsum.Meeting(
        name="m", split="val", segments=[], reference="",
        queries=[{"query": "early", "answer": "a"}, {"query": "late", "answer": "b"},
                 {"query": "no span", "answer": "c"}],
        spans=[[(0, 9)], [(5, 9), (40, 60)], []],
        turns=10,
    )  # fmt: skip
    assert [q["query"] for q in meeting.queries_in_cut] == ["early"]
