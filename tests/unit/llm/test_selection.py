"""Choosing a summary's points: those their line backs first, then figures, then the
rest; specific first within a kind, kinds in turn, the word budget, then time order."""

from serve_app.llm.output import count_words
from serve_app.llm.selection import (
    FIGURE,
    KIND_CUE,
    Point,
    keepers,
    ranked,
    repeats,
    select,
    specificity,
)


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


def test_a_long_point_is_skipped_for_shorter_supported_ones_that_fit():
    long = ("00:00:01", "One two three four five six 7.")
    tiny = Point("00:00:02", "Tiny 8.", support=FIGURE)
    aside = Point("00:00:03", "Thanks, Nicola.")  # the model's only
    assert select([[long], [tiny]], 4) == ["Tiny 8."]
    # Once a point has not fitted, only a supported one may fill the gap.
    assert select([[long], [aside]], 4) == ["One two three four five six 7."]  # cut later
    assert select([[aside], [long]], 4) == ["Thanks, Nicola."]


def test_points_their_line_backs_come_first_then_figures_then_the_rest():
    decisions = [
        Point("00:00:10", "Keep Atlas and Bob on the June plan.", support=0),
        Point("00:00:20", "Decided: ship it.", support=KIND_CUE),
    ]
    numbers = [Point("00:00:30", "Bugs: 7.", support=FIGURE)]
    actions = [Point("00:00:40", "Dana: email Bob by Monday.", support=KIND_CUE)]
    order = [p.text for p in ranked([decisions, actions, numbers])]
    assert order == [
        "Decided: ship it.",
        "Dana: email Bob by Monday.",
        "Bugs: 7.",
        "Keep Atlas and Bob on the June plan.",
    ]


def test_the_point_kept_of_two_that_say_the_same_has_the_support_of_both():
    said = "Fine, book Keith. Gemma, confirm with Keith by Thursday."
    asked = Point("00:01:00", "Gemma: confirm with Keith.", "confirm with Keith", KIND_CUE)
    decided = Point("00:01:00", f"Nicola: {said}", said)  # the model's, unsupported
    order = ranked([[decided], [asked]])
    assert [(p.body, p.support) for p in order] == [(said, KIND_CUE)]
    # Of two equal ones, the better supported stays whatever its kind.
    same = [Point("t", "Ship Atlas."), Point("t", "Ship Atlas.", support=FIGURE)]
    assert keepers(same) == {0: 1}


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
