"""A long tuning meeting for the LLM quality bench (data only).

``newsroom-planning`` is a local newspaper's weekly planning meeting: 5 speakers, 40 minutes,
with much small talk (some of it sounding like tasks or decisions), so prompts and note
selection can be tuned on a long meeting without touching the report meetings. Its first
names occur in no other meeting. Every fact and question is stated in ``turns``; ``filler``
holds chatter without facts, numbers or names.
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
    S5,
)

MAY14 = ("14 may", "14th may", "14th of may", "may 14")
PCT12 = ("12%", "12 %", "12 percent", "12 per cent", "twelve")
COPIES8K = ("8,000", "8000", "8k", "8 000", "eight thousand")
GBP1450 = ("1,450", "1450", "1.45k", "1 450")

# fmt: off
MEETING = Meeting(
    name="newsroom-planning",
    split="tune",
    minutes=40,
    turns=(
        (S1, "Morning, everyone. Nicola here, I'm chairing as usual. This is the weekly "
             "planning meeting for this week's edition of the Gazette, and there's a lot "
             "to cover."),
        (S2, "It's Lewis, from the news desk. I've got the council story and the court list."),
        (S3, "Gemma here. Features and pictures, as ever."),
        (S4, "Callum, I run the website and the email newsletter."),
        (S1, "And Angela is with us from sales today, because we need to talk about the "
             "print run."),
        (S5, "Thanks, Nicola. Happy to join, I've brought the advertising figures."),
        (S1, "Let's start with the front page. Lewis, what have we got?"),
        (S2, "The council wants to close the Eastgate library to save money. The full "
             "council votes on it on Tuesday the 14th of May, and a petition against the "
             "closure has 2,300 signatures."),
        (S1, "That's our front page. Decided: the library closure leads this week's edition."),
        (S1, "Lewis, can you file the library story by Wednesday lunchtime?"),
        (S2, "Yes, I'll file it by Wednesday. I'm still waiting on a comment from Joanne in "
             "the council press office, I'll chase her today."),
        (S3, "For the picture, I'd like a shot of the library with the petition organisers "
             "outside."),
        (S5, "Now the bad news. Advertising is down 12 percent on the same quarter last "
             "year, mostly because the estate agents have pulled out."),
        (S5, "The good news is that the garden centre has booked a full-page advert for "
             "1,450 pounds in this week's edition."),
        (S1, "With advertising down, we have to look at the print run. We print 9,500 "
             "copies a week at the moment, and the returns are high."),
        (S5, "The distributor says we could go down to 8,000 copies without losing any "
             "shops."),
        (S1, "Then that's decided too: from next week the print run drops to 8,000 copies."),
        (S4, "Can I make a proposal? I'd put the local news on the website behind a "
             "paywall, three pounds a month, to make up for the lost advertising."),
        (S2, "I'm not keen. A lot of our readers only found us online, and a paywall would "
             "lose most of them overnight."),
        (S1, "I agree with Lewis. The paywall is rejected, the website stays free to read."),
        (S4, "Fair enough. Then I'd like to send the newsletter twice a week, on Tuesdays "
             "and Fridays, instead of only on Fridays. About 41 percent of subscribers "
             "read every issue."),
        (S1, "Good idea. Decided: the newsletter goes out twice a week, on Tuesdays and "
             "Fridays, starting next month."),
        (S3, "Pictures for the weekend. The harbour regatta is on Saturday, and I want "
             "Keith, our freelance photographer, to cover it. His fee is 180 pounds for "
             "the day."),
        (S1, "Fine, book Keith for the regatta. Gemma, can you confirm with Keith by "
             "Thursday?"),
        (S3, "Yes, I'll confirm with Keith by Thursday."),
        (S1, "Angela, can you send the new rate card to our advertisers by Monday? We "
             "need to win some of the estate agents back."),
        (S5, "Yes, the new rate card goes out to all our advertisers by Monday."),
        (S2, "One more thing. Readers keep complaining about the TV listings page. Do we "
             "keep printing it, or drop it and use the space for local news?"),
        (S3, "Some of the older readers buy the paper for the listings, though."),
        (S1, "We can't settle that today. Whether we keep the TV listings page stays open "
             "until I've seen the reader survey. Thanks, everyone, same time next week."),
    ),
    filler=(
        (S3, "Could someone close that window? There's a terrible draught."),
        (S4, "I'll grab us some coffee when we break, shout if you want milk."),
        (S2, "Let's not talk about the football, I'm still recovering from the weekend."),
        (S5, "Sorry I'm late, the traffic was awful on the ring road."),
        (S1, "Can everyone mute when not speaking? There's a lot of background noise."),
        (S2, "The kettle in the kitchen has finally given up, by the way."),
        (S3, "Sorry, my dog is barking at the postman, give me a moment."),
        (S4, "Has anyone seen my charger? I'm sure I left it by the sink."),
        (S5, "This room is always freezing in the mornings."),
        (S1, "Let's try to keep this moving, we've got plenty to get through."),
        (S2, "Did anyone else hear the fire alarm test earlier? It nearly deafened me."),
        (S3, "Those biscuits by the door are for everyone, help yourselves."),
        (S4, "Sorry, the screen froze for a moment there. Am I back?"),
        (S5, "Shall I pull up the blinds? It's very gloomy in here."),
        (S1, "Can I remind everyone to put their mugs in the dishwasher afterwards?"),
        (S2, "I'll water the plants on my way out, they look very sad."),
    ),
    facts=(
        Fact("library closure leads the front page",
             (("library",), ("front page", "front-page", "lead", "splash", "page one"))),
        Fact("council votes on 14 May", (MAY14,)),
        Fact("Lewis files the library story by Wednesday",
             (("lewis",), ("library", "council"), ("wednesday",))),
        Fact("advertising down 12 percent", (("advert", "ad revenue", "ads "), PCT12)),
        Fact("garden centre full page for 1,450", (("garden cent",), GBP1450)),
        Fact("print run cut to 8,000 copies", (("print", "copies", "circulation"), COPIES8K)),
        Fact("paywall rejected",
             (("paywall", "pay wall", "pay-wall"), (*REJECTED, "stays free", "remains free"))),
        Fact("newsletter twice a week",
             (("newsletter",), ("twice", "tuesdays and fridays", "tuesday and friday"))),
        Fact("Keith photographs the regatta", (("keith",), ("regatta",))),
        Fact("Gemma confirms Keith by Thursday",
             (("gemma",), ("keith", "photographer"), ("thursday",))),
        Fact("Angela sends the rate card by Monday",
             (("angela",), ("rate card", "rate-card", "rates"), ("monday",))),
        Fact("open: TV listings page", (("listings",), OPEN)),
    ),
    questions=(
        Question("What leads the front page this week?", (("library",),)),
        Question("When does the council vote on the library closure?", (MAY14,)),
        Question("Was putting the website behind a paywall accepted?", (NO,)),
        Question("How many copies will the new print run be?", (COPIES8K,)),
        Question("Who will photograph the regatta?", (("keith",),)),
        Question("What was left undecided?", (("listings",),)),
    ),
    names=("Nicola", "Lewis", "Gemma", "Callum", "Angela", "Keith", "Joanne"),
)
# fmt: on
