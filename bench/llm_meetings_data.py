"""The meetings of ``llm_meetings``: data only. Import them through ``llm_meetings``.

Every fact and question is stated in ``turns``; ``filler`` holds chatter without facts,
numbers or names. First names are never reused across meetings.
"""

from __future__ import annotations

from llm_meetings import Fact, Meeting, Question  # type: ignore[import-not-found]

S1, S2, S3, S4, S5 = (f"SPEAKER_{i}" for i in range(1, 6))

# A summary says a proposal was turned down / leaves a point open with one of these.
REJECTED = ("reject", "declin", "turned down", "turn down", "not accepted", "not approved")
REJECTED += ("not adopted", "refused", "dismissed", "vetoed", "ruled out")
OPEN = ("open", "unresolved", "undecided", "not decided", "not yet decided", "to be decided")
OPEN += ("tbd", "pending", "no decision", "not settled", "unclear", "unknown", "revisit")
# A chat answer to "was X accepted?" says no with one of these.
NO = (*REJECTED, "no,", "no.", "no;", "not ", "wasn't", "didn't", "won't")

SEP12 = ("12 sep", "12th sep", "12th of sep", "sep 12", "sept 12", "september 12")
JUN3 = ("3 june", "3rd june", "3rd of june", "june 3")
JUL19 = ("19 july", "19th july", "19th of july", "july 19")
JUN30 = ("30 june", "30th june", "30th of june", "june 30")
OCT31 = ("31 oct", "31st oct", "31st of oct", "oct 31", "october 31", "end of october")
YEAR = ("12 month", "12-month", "twelve month", "one year", "1 year", "one-year", "1-year")
PCT18 = ("18%", "18 %", "18 percent", "eighteen")
GBP28 = ("£28", "28 pound", "28 an hour", "28 per hour", "28/h", "28 gbp", "gbp 28")

# fmt: off
RELEASE = Meeting(
    name="release-planning",
    split="tune",
    minutes=5,
    turns=(
        (S1, "Hi everyone, Priya here. Let's settle the plan for the 3.2 release of the app."),
        (S2, "Marcus here, from QA. The regression run found 7 bugs we still have to fix, and 2 "
             "of them are blockers in the offline sync."),
        (S3, "Helen speaking, from product. Can the two blockers be fixed without moving "
             "the date?"),
        (S1, "The sync fix is small. Both blockers will be closed by Wednesday."),
        (S3, "Then I'd ship 3.2 on Thursday, the 12th of September."),
        (S2, "Could we put dark mode into 3.2 as well? It's nearly done."),
        (S1, "No, dark mode stays out of 3.2. That proposal is rejected, it hasn't been "
             "through design review. It goes into 3.3."),
        (S3, "Agreed. Decided then: 3.2 ships on Thursday the 12th of September, without "
             "dark mode."),
        (S1, "We still need the security sign-off from Oliver on the new login flow. Marcus, "
             "can you chase Oliver for it by Tuesday?"),
        (S2, "Sure, I'll have Oliver's sign-off by Tuesday."),
        (S3, "For the rollout we start with a staged rollout to 10% of users on day one, "
             "then everyone if the crash rate stays low."),
        (S3, "Priya, could you write the release notes by Monday?"),
        (S1, "Yes, the release notes will be with you by Monday."),
        (S2, "What we haven't decided is whether the Android and iOS builds go out on the "
             "same day. The App Store review can take a while."),
        (S1, "True. That stays open for now, nobody knows how long the review will take. "
             "Thanks, everyone."),
    ),
    filler=(
        (S2, "Sorry, my connection dropped for a second. Can you hear me now?"),
        (S3, "Is anyone else getting that echo? I think it's my headset."),
        (S1, "The build dashboard looks a bit odd today, probably just the new theme."),
        (S2, "Somebody left the staging logs on debug again, they're enormous."),
        (S3, "I need a coffee after this, it's been a long morning."),
        (S1, "Let me share my screen. Hang on, wrong window."),
        (S2, "The office wifi is terrible again this afternoon."),
        (S3, "Sorry, there's a delivery at the door, carry on."),
    ),
    facts=(
        Fact("release on Thursday", (("release", "ship"), ("thursday",))),
        Fact("release on 12 September", (SEP12,)),
        Fact("7 bugs found", (("7 bug", "seven"),)),
        Fact("2 blockers in offline sync", (("blocker", "blocking"), ("sync",))),
        Fact("blockers fixed by Wednesday", (("wednesday",),)),
        Fact("dark mode rejected", (("dark mode",), (*REJECTED, "stays out", "3.3", "defer"))),
        Fact("Oliver does the security sign-off", (("oliver",), ("security", "sign"))),
        Fact("Marcus gets sign-off by Tuesday", (("marcus",), ("tuesday",))),
        Fact("staged rollout to 10%", (("10%", "10 %", "10 percent", "ten percent"),)),
        Fact("Priya writes release notes by Monday", (("priya",), ("notes",), ("monday",))),
        Fact("open: Android and iOS same day", (("android", "ios", "app store"), OPEN)),
    ),
    questions=(
        Question("When does version 3.2 ship?", (("thursday", *SEP12),)),
        Question("Who will get the security sign-off, and by when?", (("marcus",), ("tuesday",))),
        Question("Was adding dark mode to 3.2 accepted?", (NO,)),
        Question("What share of users gets 3.2 on day one?", (("10%", "10 %", "10 percent"),)),
        Question("What was left undecided?", (("android", "ios", "app store", "same day"),)),
    ),
    names=("Priya", "Marcus", "Helen", "Oliver"),
)

HIRING = Meeting(
    name="hiring-sync",
    split="tune",
    minutes=15,
    turns=(
        (S1, "Morning all, Natalie here. This is the weekly hiring sync, mostly about the "
             "backend engineer roles."),
        (S2, "Hi, Jason from recruiting. Numbers first: we have 46 applicants for the backend "
             "role this month, and 13 passed the phone screen."),
        (S3, "Fiona here. I ran most of the technical interviews last week, and the take-home "
             "exercise is taking candidates far too long."),
        (S4, "And Derek, from people ops. I'm mainly here for the offer budget."),
        (S1, "Let's start with the pipeline. Jason, who is furthest along?"),
        (S2, "Rachel is in the final round. She did the system design interview on Monday "
             "and the feedback was strong."),
        (S3, "Her design interview was the best I've seen this quarter. I'd make her an offer."),
        (S1, "Decided then: we make Rachel an offer for the senior backend position."),
        (S4, "The approved salary band for senior backend goes up to 95,000. I'd suggest we "
             "offer 88,000."),
        (S1, "Fine, we offer 88,000. Derek, can you prepare the offer letter by Friday?"),
        (S4, "Yes, the offer letter will be ready by Friday."),
        (S2, "Bad news on the other finalist: Gavin withdrew yesterday, he accepted another "
             "offer."),
        (S3, "About the take-home: I propose we replace it with a paid one-day trial project."),
        (S1, "I don't want that. The paid trial is rejected, it's too expensive and legal "
             "hasn't approved it. We cut the take-home down to two hours instead."),
        (S1, "Fiona, can you rewrite the take-home as a two-hour version by next Wednesday?"),
        (S3, "Yes, I'll have the shorter version by Wednesday."),
        (S1, "Jason, please post the data analyst role on the job boards by Tuesday."),
        (S2, "Will do, it'll be up by Tuesday."),
        (S4, "One thing we haven't settled: can the new hires be fully remote, or do they "
             "need to be in the office three days a week?"),
        (S1, "That stays open until I've talked to the director. We'll come back to it "
             "next week."),
    ),
    filler=(
        (S2, "Sorry, I was on mute. Can you all hear me?"),
        (S4, "My calendar is a disaster this week, back-to-back calls."),
        (S3, "The interview room upstairs smells of fresh paint."),
        (S1, "Let me just pull up the tracker, it's loading slowly."),
        (S2, "The careers page looks much nicer since the redesign, by the way."),
        (S4, "Did anyone else get that survey from facilities about the kitchen?"),
        (S3, "Sorry, someone is drilling next door, it's very loud here."),
        (S1, "Can everyone see the shared document, or is it just me?"),
        (S2, "My laptop fan is going like a jet engine, apologies for the noise."),
    ),
    facts=(
        Fact("46 applicants", (("46", "forty-six", "forty six"),)),
        Fact("13 passed the phone screen", (("13", "thirteen"),)),
        Fact("offer to Rachel", (("rachel",), ("offer",))),
        Fact("offer of 88,000", (("88,000", "88000", "88k", "88 000", "88 thousand"),)),
        Fact("band up to 95,000", (("95,000", "95000", "95k", "95 000", "95 thousand"),)),
        Fact("Derek prepares the offer letter by Friday", (("derek",), ("friday",))),
        Fact("Gavin withdrew", (("gavin",), ("withdr", "another offer", "dropped out"))),
        Fact("paid trial rejected", (("trial",), REJECTED)),
        Fact("take-home cut to two hours", (("two hour", "two-hour", "2 hour", "2-hour"),)),
        Fact("Fiona rewrites the take-home by Wednesday", (("fiona",), ("wednesday",))),
        Fact("Jason posts the analyst role by Tuesday", (("jason",), ("analyst",), ("tuesday",))),
        Fact("open: remote or office", (("remote", "office"), OPEN)),
    ),
    questions=(
        Question("Who is getting an offer?", (("rachel",),)),
        Question("What salary will Rachel be offered?", (("88,000", "88000", "88k", "88 000"),)),
        Question("Who prepares the offer letter, and by when?", (("derek",), ("friday",))),
        Question("Was the paid one-day trial project accepted?", (NO,)),
        Question("How many applicants are there for the backend role?", (("46", "forty"),)),
        Question("Which question is still unresolved?", (("remote", "office"),)),
    ),
    names=("Natalie", "Jason", "Fiona", "Derek", "Rachel", "Gavin"),
)

CLINIC = Meeting(
    name="clinic-rota",
    split="report",
    minutes=10,
    turns=(
        (S1, "Right, Margaret here. Owen, have you got a minute? I want to sort out next "
             "month's rota and the ultrasound."),
        (S2, "Owen here, yes, go ahead."),
        (S1, "So, Lucy starts her maternity leave on the 3rd of June, which leaves us short "
             "on the early shifts."),
        (S2, "Can we get a locum nurse in to cover her?"),
        (S1, "The agency quoted 28 pounds an hour for a locum nurse. I'd book one for "
             "Mondays and Tuesdays, those are our busiest mornings."),
        (S2, "Fine by me, book the locum for Mondays and Tuesdays. Margaret, can you ring "
             "the agency and confirm the locum by Friday?"),
        (S1, "Yes, I'll ring them and confirm by Friday."),
        (S2, "While we're on the rota, I'd like us to close at one o'clock on Saturdays "
             "instead of four. We hardly see anyone after lunch."),
        (S1, "No, I'm turning that down. Saturday afternoons are when the working owners "
             "come in, so closing early is rejected. Saturday hours stay as they are."),
        (S2, "Fair enough. Now the ultrasound, what did the quotes come back at?"),
        (S1, "A new machine is 14,200 pounds. The refurbished one is 8,900, with a two-year "
             "warranty."),
        (S2, "The two-year warranty is plenty for us. Let's go with the refurbished one."),
        (S1, "Agreed, we buy the refurbished ultrasound for 8,900. Owen, can you check with "
             "the supplier that it comes with the cardiac probe, by Wednesday?"),
        (S2, "Yes, I'll call them about the cardiac probe by Wednesday."),
        (S1, "What I still don't know is whether we can afford new kennel heaters this year "
             "as well. That stays open until the accounts come in."),
        (S2, "Agreed, we leave the heaters for now. Thanks, Margaret."),
    ),
    filler=(
        (S2, "Sorry, that's the phone in reception again. Carry on."),
        (S1, "The coffee machine in the staff room is making that noise again."),
        (S2, "The cat in the end kennel keeps howling, just ignore it."),
        (S1, "Hang on, let me find a pen. Right, got it."),
        (S2, "It's been a mad morning, we had a spaniel that swallowed a sock."),
        (S1, "The car park has flooded again after last night's rain."),
        (S2, "We're nearly out of biscuits for the waiting room again."),
        (S1, "Sorry, I'm just signing for a delivery, give me a moment."),
    ),
    facts=(
        Fact("Lucy goes on maternity leave", (("lucy",), ("maternity", "leave"))),
        Fact("leave starts 3 June", (JUN3,)),
        Fact("locum on Mondays and Tuesdays", (("locum",), ("monday",), ("tuesday",))),
        Fact("locum costs 28 pounds an hour", (GBP28,)),
        Fact("Margaret confirms the locum by Friday", (("margaret",), ("friday",))),
        Fact("early Saturday closing rejected", (("saturday",), (*REJECTED, "as they are"))),
        Fact("refurbished ultrasound for 8,900", (("refurb",), ("8,900", "8900", "8.9k"))),
        Fact("new machine quoted 14,200", (("14,200", "14200", "14.2k", "14 200"),)),
        Fact("Owen checks the cardiac probe by Wednesday", (("owen",), ("probe",), ("wednes",))),
        Fact("open: kennel heaters", (("heater",), OPEN)),
    ),
    questions=(
        Question("When does Lucy's maternity leave start?", (JUN3,)),
        Question("How much does the locum nurse cost per hour?", (GBP28,)),
        Question("Was closing early on Saturdays accepted?", (NO,)),
        Question("Which ultrasound are they buying, and for how much?",
                 (("refurb",), ("8,900", "8900", "8.9k", "8 900"))),
        Question("Who checks the cardiac probe with the supplier, and by when?",
                 (("owen",), ("wednesday",))),
    ),
    names=("Margaret", "Owen", "Lucy"),
)

FESTIVAL = Meeting(
    name="festival-logistics",
    split="report",
    minutes=30,
    turns=(
        (S1, "Okay, let's get going. Gregory here, I'm chairing tonight. The festival is on "
             "Saturday the 19th of July, so this is the logistics meeting."),
        (S2, "Hi all, Bethany. I'm coordinating the volunteers."),
        (S3, "Harriet, stage and sound."),
        (S4, "Colin here. I'm the link with the council, and I look after safety."),
        (S5, "And Yasmin, sponsorship and the bar."),
        (S1, "First item, the main stage. Harriet, you said the south field floods."),
        (S3, "It does, it was a swamp last year. I want to move the main stage to the north "
             "end of the park, by the bandstand."),
        (S4, "For safety the north end is better anyway, the exits are wider there."),
        (S1, "Any objections? No. So that's decided: the main stage moves to the north end."),
        (S3, "Power is the next problem. Duncan, the electrician, can bring two generators, "
             "and his quote is 2,350 euros for the weekend."),
        (S5, "The brewery has pledged 3,000 euros in sponsorship, so we can cover that."),
        (S1, "Good, we accept Duncan's quote. Harriet, can you confirm the booking with "
             "Duncan by Wednesday?"),
        (S3, "Yes, I'll confirm with Duncan by Wednesday."),
        (S2, "Volunteers. We need 120 people across the day, and so far 85 have signed up."),
        (S1, "Bethany, can you send the shift rota to everyone who's signed up by Friday?"),
        (S2, "Yes, the rota goes out by Friday, and I'll put a call out for more people."),
        (S5, "Can I raise ticketing? I propose we charge a 5 euro entry fee this year. It "
             "would pay for the toilets and the security."),
        (S4, "The council grant says entry has to be free. If we charge, we lose the grant."),
        (S1, "Then the entry fee is rejected. Entry stays free, and we ask for donations at "
             "the gate instead."),
        (S1, "Colin, the traffic management plan is due with the council on the 30th of "
             "June. Can you get it in by then?"),
        (S4, "Yes, I'll submit the traffic plan by the 30th of June."),
        (S5, "For the bar, the licence says we close at 10:30 pm, so that's when we stop."),
        (S3, "What do we do if it pours? Do we have a wet weather plan?"),
        (S1, "We don't, and we can't decide it tonight. The wet weather plan stays open, "
             "we'll come back to it at the next meeting. Thanks, everyone."),
    ),
    filler=(
        (S4, "Sorry I'm late, the bridge was gridlocked."),
        (S5, "Is there any more tea in that pot?"),
        (S2, "Last year's posters are up in the library window, they look lovely."),
        (S3, "Could someone prop the door? It's boiling in here."),
        (S1, "Let's try to keep this moving, we've got a lot to get through."),
        (S4, "My neighbour asked me again who's playing, I told her to wait for the news."),
        (S5, "The hall heating is on full blast, as usual."),
        (S2, "Sorry, my phone keeps buzzing, it's the school group chat."),
        (S3, "Can everyone hear me at the back?"),
        (S1, "Let's not go down that rabbit hole tonight."),
    ),
    facts=(
        Fact("festival on 19 July", (JUL19,)),
        Fact("main stage moves north", (("stage",), ("north",))),
        Fact("Duncan brings the generators", (("duncan",), ("generator", "power", "electric"))),
        Fact("generators cost 2,350", (("2,350", "2350", "2.35k", "2 350"),)),
        Fact("brewery pledged 3,000", (("brewery",), ("3,000", "3000", "3k", "3 000"))),
        Fact("Harriet confirms Duncan by Wednesday", (("harriet",), ("wednesday",))),
        Fact("120 volunteers needed, 85 signed up", (("120",), ("85",))),
        Fact("Bethany sends the rota by Friday", (("bethany",), ("rota", "shift"), ("friday",))),
        Fact("entry fee rejected", (("fee", "charg", "ticket"), (*REJECTED, "stays free"))),
        Fact("Colin submits the traffic plan by 30 June", (("colin",), ("traffic",), JUN30)),
        Fact("bar closes at 10:30 pm", (("10:30", "10.30", "22:30", "half past ten"),)),
        Fact("open: wet weather plan", (("wet weather", "rain"), OPEN)),
    ),
    questions=(
        Question("Who is supplying the generators?", (("duncan",),)),
        Question("Where will the main stage be?", (("north",),)),
        Question("Was the 5 euro entry fee accepted?", (NO,)),
        Question("How many volunteers have signed up so far?", (("85",),)),
        Question("What does Colin have to submit, and by when?", (("traffic",), JUN30)),
        Question("What was left open for the next meeting?", (("wet weather", "rain"),)),
    ),
    names=("Gregory", "Bethany", "Harriet", "Colin", "Yasmin", "Duncan"),
)

LAB = Meeting(
    name="lab-budget",
    split="report",
    minutes=60,
    turns=(
        (S1, "Good afternoon. This is Eleanor. I've booked the full hour because we need to "
             "go through the budget line by line before the faculty review."),
        (S2, "Victor here, lab manager. I've circulated the spreadsheet, everyone should "
             "have the latest version."),
        (S3, "Lydia, postdoc. I've brought the figures for the sequencing work."),
        (S1, "Let's start with the total. Victor?"),
        (S2, "Our annual budget is 412,000 dollars. As of the end of September we have "
             "spent 61 percent of it."),
        (S2, "The problem is consumables. We are 18 percent over on consumables, mostly "
             "antibodies and sequencing kits."),
        (S3, "The sequencing overrun is mine. The outsourced runs cost far more per sample "
             "than we planned."),
        (S1, "So what are the options?"),
        (S3, "We could bring sequencing in-house on the department's machine. It's slower, "
             "but the cost per sample drops a lot."),
        (S1, "Let's do that. From November, sequencing moves in-house to the department's "
             "machine."),
        (S2, "I'd also like to propose hiring a second technician. I'm covering two jobs "
             "at the moment."),
        (S1, "I understand, Victor, but this grant can't carry another salary. The second "
             "technician is rejected for this financial year."),
        (S1, "Victor, please renegotiate the reagent contract with our supplier. Can you "
             "have new terms by the 31st of October?"),
        (S2, "Yes, I'll have the new reagent terms by the 31st of October."),
        (S1, "Next, personnel. Lydia, I've decided to extend your contract by 12 months, "
             "paid from the equipment underspend."),
        (S3, "Thank you, that's a real relief."),
        (S2, "Eleanor, that transfer will need clearing with Sandra in the grants office, "
             "ideally by Thursday."),
        (S1, "Yes, I'm meeting Sandra on Thursday to clear it."),
        (S1, "Lydia, can you draft the progress section of the grant renewal and send it to "
             "me by Monday?"),
        (S3, "Yes, the draft will be with you by Monday."),
        (S2, "One thing nobody can answer yet is the cold room repair. The quote is 7,800 "
             "dollars, but is that our cost or the university's estates budget?"),
        (S1, "I've asked, and there's no answer. The cold room question stays open until "
             "estates reply, we can't plan for it either way. Let's close there."),
    ),
    filler=(
        (S2, "Apologies, the projector has gone to sleep again. Just a moment."),
        (S3, "Sorry, that's the freezer alarm down the corridor, it's a false alarm."),
        (S1, "Could you scroll down a little? I can't read the bottom of the sheet."),
        (S2, "The printer on this floor is jammed again, so I only have the digital copy."),
        (S3, "I'm taking notes in the shared document as we go."),
        (S1, "Let me find the right tab, there are far too many in this file."),
        (S2, "Is the heating on in here? It's freezing."),
        (S3, "The seminar next door is rather loud today."),
        (S1, "Bear with me, my laptop is updating itself at the worst possible moment."),
        (S2, "There's tea in the kitchen if anyone wants some."),
    ),
    facts=(
        Fact("annual budget 412,000", (("412",),)),
        Fact("61 percent spent", (("61%", "61 %", "61 percent", "sixty-one"),)),
        Fact("consumables 18 percent over", (("consumable",), PCT18)),
        Fact("sequencing in-house from November", (("sequenc",), ("in-house", "in house"))),
        Fact("second technician rejected", (("technician",), REJECTED)),
        Fact("Victor renegotiates reagents by 31 October", (("victor",), ("reagent",), OCT31)),
        Fact("Lydia's contract extended 12 months", (("lydia",), YEAR)),
        Fact("Sandra in the grants office", (("sandra",),)),
        Fact("Eleanor meets Sandra on Thursday", (("eleanor",), ("thursday",))),
        Fact("Lydia drafts the progress section by Monday", (("lydia",), ("monday",))),
        Fact("cold room repair quoted 7,800", (("7,800", "7800", "7.8k", "7 800"),)),
        Fact("open: who pays the cold room repair", (("cold room", "cold-room"), OPEN)),
    ),
    questions=(
        Question("What is the lab's annual budget?", (("412",),)),
        Question("By how much are consumables over budget?", (PCT18,)),
        Question("Was hiring a second technician approved?", (NO,)),
        Question("How long is Lydia's contract extended?", (YEAR,)),
        Question("Who renegotiates the reagent contract, and by when?", (("victor",), OCT31)),
        Question("Which cost is still unresolved?", (("cold room", "cold-room"),)),
    ),
    names=("Eleanor", "Victor", "Lydia", "Sandra"),
)
# fmt: on

MEETINGS: tuple[Meeting, ...] = (RELEASE, HIRING, CLINIC, FESTIVAL, LAB)
