"""Reading a sentence by its wording: decisions, open questions, deadlines, asks."""

from serve_app.llm.cues import asks, decides, due_in, leaves_open


def test_a_decision_is_stated_not_asked_and_not_said_to_be_open():
    for said in [
        "Decided: the library closure leads this week's edition.",
        "The paywall is rejected, the website stays free to read.",
        "We agreed to keep the Friday slot.",
        "Then that's settled, we go with the blue logo.",
    ]:
        assert decides(said), said
    for said in [
        "Do we all agree?",  # a question decides nothing
        "What we haven't decided is whether Android and iOS go out together.",
        "I'll grab us some coffee when we break.",
        "Could someone close that window?",
        "Today we decide the release date.",  # an agenda item, not a decision made
    ]:
        assert not decides(said), said


def test_an_open_question_is_said_to_be_undecided():
    for said in [
        "What we haven't decided is whether Android and iOS go out together.",
        "That stays open for now, nobody knows how long the review will take.",
        "We can't settle that today.",
        "It's still open until we see the survey.",
    ]:
        assert leaves_open(said), said
    for said in ["Decided: we ship Thursday.", "Is the window open?", "Shall I open it?"]:
        assert not leaves_open(said), said


def test_a_deadline_is_a_day_after_by_or_before():
    assert due_in("Lewis, can you file it by Wednesday lunchtime?") == "by Wednesday"
    assert due_in("Send it before the 12th, or by the end of the month.") == "before the 12th"
    assert due_in("Invoices are due Friday.") == "due Friday"
    assert due_in("Done by May.") == "by May"
    # A day named without a deadline sets none.
    assert due_in("I'm still recovering from the weekend.") == ""
    assert due_in("The regatta is on Saturday.") == ""
    assert due_in("We may be done by may.") == ""  # "may" is a month only capitalised


def test_asked_by_name():
    assert asks("Angela, can you send the rate card by Monday?") == "Angela"
    assert asks("Fine. Mary-Jane, could you chase it?") == "Mary-Jane"
    assert asks("Can you all hear me?") == ""
    assert asks("Could someone close that window?") == ""
    # A word that opens a sentence like a name does is not one.
    assert asks("Okay, can you send it by Friday?") == ""
    assert asks("So, please, Dana, can you send it?") == "Dana"
