"""Choosing a summary's points: specific first within a kind, kinds in turn, the word
budget, then time order."""

from serve_app.llm.output import count_words
from serve_app.llm.selection import Point, repeats, select, specificity


def test_specific_words_are_figures_dates_and_names():
    assert specificity("Let us keep it short.") == 0
    assert specificity("Ship the Atlas build on Friday for 3 clients.") == 3
    assert specificity("Alice: call the vendor.") == 0  # the first word is not counted
    # Nor a word that starts a sentence or follows a colon; a name inside one is.
    assert specificity("Alice: Call Bob. Then ship it.") == 1


def test_each_kind_gives_its_most_specific_first_and_kinds_take_turns():
    decisions = [
        ("00:00:10", "Keep the meeting short."),
        ("00:05:00", "Move the Atlas launch to June 12."),
    ]
    actions = [("00:01:00", "Bob: check the thing."), ("00:02:00", "Bob: email Dana by Monday.")]
    chosen = select([decisions, actions], max_words=12)
    # The budget holds one of each kind: the specific ones, shown in time order.
    assert chosen == ["Bob: email Dana by Monday.", "Move the Atlas launch to June 12."]
    assert sum(count_words(p) for p in chosen) <= 12


def test_no_budget_keeps_everything_in_time_order():
    kinds = [[("00:00:03", "C 3.")], [("00:00:01", "A."), ("00:00:02", "B.")]]
    assert select(kinds, None) == ["A.", "B.", "C 3."]


def test_a_long_point_is_skipped_for_shorter_ones_that_fit():
    kinds = [[("00:00:01", "One two three four five six 7.")], [("00:00:02", "Tiny 8.")]]
    assert select(kinds, 4) == ["Tiny 8."]


def test_when_nothing_fits_the_first_point_is_kept_for_the_format_step_to_cut():
    kinds = [[("00:00:01", "One two three four five six 7.")]]
    assert select(kinds, 3) == ["One two three four five six 7."]


def test_a_point_that_says_nothing_new_is_left_out_first():
    points = [
        Point("00:13:20", "Will do, it'll be up by Tuesday.", "Will do, it'll be up by Tuesday"),
        Point("00:13:20", "Jason: Will do, it'll be up by Tuesday.", "Will do, up by Tuesday"),
        Point("00:13:20", "Open question: will do by Tuesday?", "will do by Tuesday"),
        Point("00:05:00", "Offer 88,000.", "Offer 88,000"),
        Point(
            "00:05:08",
            "Derek: we offer 88,000, letter by Friday.",
            "we offer 88,000, letter by Friday",
        ),
        Point("00:06:00", "Offer 95,000.", "Offer 95,000"),  # another figure: new
    ]
    # Equal words: the later goes; words all in another's: that one goes.
    assert repeats(points) == {1, 2, 3}
    kinds = [points[:1], points[1:3], points[3:]]
    assert select(kinds, None) == [
        "Derek: we offer 88,000, letter by Friday.",
        "Offer 95,000.",
        "Will do, it'll be up by Tuesday.",
    ]
