"""A held-out report meeting for ``llm_meetings``: data only.

Written separately from the tuning of the prompts, so the report numbers are not measured on
text the prompts were shaped against. Same conventions as ``llm_meetings_data``: every fact
and question is stated in ``turns``; ``filler`` holds chatter without facts, numbers or
names; no first name is shared with another meeting.
"""

from __future__ import annotations

from llm_meetings import Fact, Meeting, Question  # type: ignore[import-not-found]
from llm_meetings_data import (  # type: ignore[import-not-found]
    NO,
    OPEN,
    REJECTED,
    S1,
    S2,
    S3,
    S4,
)

GBP6400 = ("6,400", "6400", "6.4k", "6 400")
GBP18500 = ("18,500", "18500", "18.5k", "18 500")
PCT10 = ("10%", "10 %", "10 percent", "ten percent", "10 per cent", "ten per cent")
APR7 = ("7 apr", "7th apr", "7th of apr", "april 7", "apr 7", "apr. 7")
MAR28 = ("28 mar", "28th mar", "28th of mar", "march 28", "mar 28", "mar. 28")
FOURTEEN = ("14", "fourteen")
HEAT_PUMP = ("heat pump", "heat-pump", "boiler")

# fmt: off
MEETING = Meeting(
    name="coop-repairs",
    split="report",
    minutes=35,
    turns=(
        (S1, "Evening, everyone. For anybody who hasn't met me, I'm Caroline, I chair the "
             "repairs committee. Tonight it's mainly the roof, the damp survey and the bike "
             "store."),
        (S2, "Hi, it's Rhys. I do the maintenance side, so most of the roof stuff is on me, "
             "I'm afraid."),
        (S3, "Deborah, treasurer. I've got the reserve fund figures with me, printed this "
             "time."),
        (S4, "And my name's Stuart, I'm the member rep for the east block, so I've brought "
             "a list of complaints as long as my arm."),
        (S1, "Let's start with the roof. Rhys, where are we with the leak over the top flats "
             "in the east block?"),
        (S2, "So, the roofer, Nathan, came out last Tuesday. He says the felt is basically "
             "finished. He's quoted 6,400 pounds to strip and re-felt the whole east roof, or "
             "1,150 to patch the worst section."),
        (S4, "How long would a patch actually last? Because the top floor have had buckets "
             "out since November."),
        (S2, "Honestly? He reckoned two winters, maybe. It's a sticking plaster, really."),
        (S1, "I'm inclined to go for the patch for now. Six and a half thousand is a big "
             "chunk, and we've got the damp to deal with as well. So, provisionally, we "
             "do the patch and-"),
        (S3, "Sorry, can I just come in there, Caroline, before we settle it? The reserve "
             "fund is healthier than people think. We're at 18,500 pounds as of the end of "
             "February. And if we patch now and re-felt in a couple of years, we pay for the "
             "scaffolding twice."),
        (S1, "Right. Okay, that does change things. I'm going back on what I said, then: we "
             "do the full re-felt of the east roof at 6,400, not the patch. Does anybody "
             "object?"),
        (S4, "No, thank goodness. The people up there will be thrilled."),
        (S3, "One condition from me. We budget the quote plus a 10 percent contingency, in "
             "case he finds rotten timber under the felt."),
        (S1, "Fine, the quote plus ten percent contingency. Rhys, can you ring Nathan and "
             "book him in by Friday?"),
        (S2, "Yes, I'll have him booked by Friday. He said he could start on the 7th of "
             "April if we confirm this week."),
        (S1, "Good, so the roof work starts on the 7th of April, weather permitting. Next, "
             "the damp survey. Stuart?"),
        (S4, "So, we've got 32 flats, and 14 of them reported damp or mould in the survey. "
             "That's nearly half. Mostly bathrooms and the north-facing bedrooms."),
        (S2, "To be fair, a lot of that is ventilation. The extractor fans in the older "
             "flats are pretty feeble."),
        (S4, "Sure, but people need something now, not next year. Could we lend out "
             "dehumidifiers to the worst ones?"),
        (S3, "There are four in the store from last time. I'd rather use those before we "
             "buy any more."),
        (S1, "Let's do that. Stuart, can you write to the fourteen households by Monday and "
             "offer them a dehumidifier loan, with the ventilation leaflet?"),
        (S4, "Yep, the letters will go out by Monday."),
        (S2, "Right, the bike store. Three bikes have been nicked since January. I'd like to "
             "put CCTV in there, a camera over the door. It's about 650 pounds installed."),
        (S3, "I'm not keen, to be honest. Members voted against cameras in the communal "
             "areas at the last general meeting, on privacy grounds."),
        (S1, "I'm with Deborah on this one. The CCTV proposal is turned down, sorry, Rhys. "
             "We'll swap the bike store lock for a keypad lock instead."),
        (S1, "Deborah, can you send the revised repairs budget to all members by the 28th "
             "of March, so they have it well before the AGM?"),
        (S3, "Yes, the 28th of March is fine."),
        (S4, "What about the communal boiler, though? Are we getting the heat pump or not? "
             "People keep stopping me on the stairs about it."),
        (S3, "It depends on the council grant. If we get it, the heat pump works out about "
             "40 percent cheaper for us, but we won't hear until the summer."),
        (S1, "Then we can't decide it tonight. Whether the boiler is replaced with a heat "
             "pump stays open until we hear about the grant. Thanks, everyone, that's us "
             "done."),
    ),
    filler=(
        (S4, "Sorry I'm late, the bus just sat at the lights for ages."),
        (S2, "I'll grab a tea. Does anybody want anything while I'm up?"),
        (S3, "Could we open a window? It's really stuffy in here tonight."),
        (S1, "Let's keep things moving, we've got a packed agenda."),
        (S4, "It's absolutely pouring out there, I got soaked just crossing the courtyard."),
        (S2, "Whoever brought the lemon cake, thank you, it's lovely."),
        (S3, "Sorry, my phone keeps buzzing, it's the school group chat again."),
        (S1, "Can everybody at the back hear me all right?"),
        (S4, "The dog upstairs has been barking all evening, sorry if you can hear it."),
        (S2, "Hang on, I've lost my place in the agenda. Right, found it."),
        (S3, "Somebody's car alarm has been going off in the street for ages."),
        (S1, "Let's not get sidetracked, we can catch up over biscuits afterwards."),
    ),
    facts=(
        Fact("Nathan is the roofer", (("nathan",), ("roof",))),
        Fact("full re-felt quoted 6,400", (GBP6400,)),
        Fact("patch first, then revised to a full re-felt",
             (("patch",), ("full", "re-felt", "refelt", "whole", "entire", "complete"))),
        Fact("reserve fund at 18,500", (GBP18500,)),
        Fact("10 percent contingency", (("contingen",), PCT10)),
        Fact("Rhys books Nathan by Friday", (("rhys",), ("friday",))),
        Fact("roof work starts 7 April", (APR7,)),
        Fact("14 of 32 flats report damp", (FOURTEEN, ("32", "thirty-two", "thirty two"))),
        Fact("Stuart writes to damp households by Monday",
             (("stuart",), ("dehumid", "letter", "write", "wrote"), ("monday",))),
        Fact("CCTV rejected", (("cctv", "camera"), REJECTED)),
        Fact("keypad lock instead", (("keypad",),)),
        Fact("Deborah sends the revised budget by 28 March", (("deborah",), MAR28)),
        Fact("open: boiler or heat pump", (HEAT_PUMP, OPEN)),
    ),
    questions=(
        Question("Who is going to redo the roof?", (("nathan",),)),
        Question("How much is in the reserve fund?", (GBP18500,)),
        Question("Was the proposal to put CCTV in the bike store accepted?", (NO,)),
        Question("When does the roof work start?", (APR7,)),
        Question("How many flats reported damp in the survey?", (FOURTEEN,)),
        Question("What was left undecided?", (HEAT_PUMP,)),
    ),
    names=("Caroline", "Rhys", "Deborah", "Stuart", "Nathan"),
)
# fmt: on
