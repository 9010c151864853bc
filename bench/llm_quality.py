#!/usr/bin/env python
"""Does the summary / chat mention the facts? A synthesised meeting with known decisions.

Starts the app (configs/local-cpu.yaml, diarizer off, ``--model`` as the LLM), asks for a
summary in each format and a set of questions through the HTTP API, and checks each answer
for the facts it must contain (who decided what, owners, dates, numbers). Prints the
share of facts found, per format and for chat, as JSON.

    nice -n 10 .venv/bin/python bench/llm_quality.py                       # Qwen 0.5B
    nice -n 10 .venv/bin/python bench/llm_quality.py --model smollm2-135m-instruct
    nice -n 10 .venv/bin/python bench/llm_quality.py --long 8   # 8x padded: map-reduce path
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from llm_common import log, running_app  # type: ignore[import-not-found]

# (speaker, text); speakers introduce themselves so names are in the transcript.
MEETING = [
    ("SPEAKER_1", "Good morning, this is Alice. Today we decide the release date for version 2."),
    ("SPEAKER_2", "Bob here. QA found three blocking bugs: two in upload, one in the PDF export."),
    ("SPEAKER_1", "Can all three be fixed by Friday?"),
    ("SPEAKER_2", "The upload bugs yes. The export needs a rewrite, not before Wednesday."),
    ("SPEAKER_3", "Carol speaking. I propose we drop the PDF export from version 2."),
    ("SPEAKER_1", "No, dropping the export is rejected; enterprise customers need it."),
    ("SPEAKER_3", "Then let's release on Thursday next week, with the export."),
    ("SPEAKER_1", "Decided: the release is on Thursday next week. Bob owns the export fix."),
    ("SPEAKER_4", "Dan here. I will help Bob with the export rewrite."),
    ("SPEAKER_1", "Also, the marketing budget of 40,000 euros is approved by Erin's team."),
    ("SPEAKER_3", "I will write the release notes by Tuesday."),
]
FILLER = [
    ("SPEAKER_2", "We also looked at the dashboard colours, nothing to decide there."),
    ("SPEAKER_3", "The office coffee machine is broken again, facilities know about it."),
    ("SPEAKER_4", "The staging server was slow this week but it recovered on its own."),
]

# fact -> every group must match (a group matches when any of its words occurs)
FACTS: dict[str, list[list[str]]] = {
    "release on Thursday": [["thursday"], ["release"]],
    "Bob owns the export fix": [["bob"], ["export"]],
    "Dan helps with export": [["dan"]],
    "dropping the export rejected": [["drop", "dropping", "remov"], ["reject", "not", "keep"]],
    "budget 40,000 approved": [["40,000", "40000", "40 000", "40k"]],
    "Carol writes release notes": [["carol"], ["notes"]],
}
QUESTIONS: list[tuple[str, list[list[str]]]] = [
    ("When is the release?", [["thursday"]]),
    ("Who owns the export fix?", [["bob"]]),
    ("Who will help with the export rewrite?", [["dan"]]),
    ("How large is the approved marketing budget?", [["40,000", "40000", "40 000", "40k"]]),
    ("Was dropping the PDF export accepted or rejected?", [["reject", "not accept", "no"]]),
    ("Who writes the release notes, and by when?", [["carol"], ["tuesday"]]),
]


def found(text: str, groups: list[list[str]]) -> bool:
    low = text.lower()
    return all(any(w in low for w in group) for group in groups)


def transcript(long: int) -> list[dict[str, Any]]:
    turns: list[tuple[str, str]] = []
    for i, turn in enumerate(MEETING):
        turns.append(turn)
        turns.extend(FILLER * (long - 1) if i % 3 == 2 else [])
    return [
        {"start": i * 8.0, "end": i * 8.0 + 7, "speaker": s, "text": t}
        for i, (s, t) in enumerate(turns)
    ]


def summarise(http: Any, body: dict[str, Any]) -> dict[str, Any]:
    job = http.post("/api/summary/", json=body).json()
    while True:
        status = http.get(f"/api/summary/status/{job['job_id']}").json()
        if status["status"] != "processing":
            break
        time.sleep(0.5)
    if status["status"] != "completed":
        raise RuntimeError(status["message"])
    return dict(http.get(f"/api/summary/{job['job_id']}").json())


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--long", type=int, default=1, help="pad with filler turns (x N)")
    parser.add_argument("--max-length", type=int, default=120)
    args = parser.parse_args()
    segments = transcript(args.long)
    report: dict[str, Any] = {"model": args.model, "segments": len(segments), "summaries": {}}
    with running_app(args.model) as app, httpx.Client(base_url=app["url"], timeout=900) as http:
        report["startup_s"] = app["startup_s"]
        base = {"transcript": segments, "model_name": args.model}
        hits = total = 0
        for fmt in ("paragraph", "bullet_points", "key_points"):
            t0 = time.perf_counter()
            res = summarise(http, {**base, "format": fmt, "max_length": args.max_length})
            ok = {fact: found(res["summary"], groups) for fact, groups in FACTS.items()}
            hits += sum(ok.values())
            total += len(ok)
            report["summaries"][fmt] = {
                "seconds": round(time.perf_counter() - t0, 1),
                "found": round(sum(ok.values()) / len(ok), 2),
                "missing": [f for f, v in ok.items() if not v],
                "strategy": res["context"]["strategy"],
                "chunks": res["context"]["chunks"],
                "length": res["length"],
                "topics": res["topics"],
                "summary": res["summary"],
            }
            log(f"summary {fmt}: {sum(ok.values())}/{len(ok)} facts")
        report["summary_share_found"] = round(hits / total, 2)
        answers = []
        chat_hits = 0
        for question, groups in QUESTIONS:
            r = http.post(
                "/api/chat/",
                json={**base, "messages": [{"role": "user", "content": question}],
                      "temperature": 0, "max_tokens": 96},
            )  # fmt: skip
            r.raise_for_status()
            answer = r.json()["message"]["content"]
            ok = found(answer, groups)
            chat_hits += ok
            answers.append({"question": question, "found": ok, "answer": answer[:300],
                            "strategy": r.json()["context"]["strategy"]})  # fmt: skip
        report["chat"] = answers
        report["chat_share_found"] = round(chat_hits / len(QUESTIONS), 2)
    print(json.dumps(report, indent=2))
    print(
        f"summary facts found: {report['summary_share_found']:.0%}   "
        f"chat answers with the fact: {report['chat_share_found']:.0%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
