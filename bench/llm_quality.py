#!/usr/bin/env python
"""Can a person trust the summary and the answers? Written meetings with known facts.

Starts the app (configs/local-cpu.yaml, diarizer off, ``--model`` as the LLM) and, for each
meeting of the chosen split (``bench/llm_meetings.py``: prompts are tuned on ``tune``, the
figures are reported on ``report``), asks for one summary and every question through the
HTTP API. Measures:

- fact recall: the meeting's facts found in the summary text (and in text + action items);
- action items: how many, and whether every source span is a segment of the transcript;
- invented names: person names in the summary or an answer that the meeting never says;
- chat: answers containing the fact, citations that are real segments, and citations whose
  segment holds the fact;
- summary wall time per meeting (its length in minutes is in the report).

Prints one JSON report and a table; ``--out`` also writes the report.

    nice -n 10 .venv/bin/python bench/llm_quality.py --split report
    nice -n 10 .venv/bin/python bench/llm_quality.py --split tune --meetings release-planning
    nice -n 10 .venv/bin/python bench/llm_quality.py --model smollm2-135m-instruct --split tune
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import llm_meetings as mt  # type: ignore[import-not-found]
from llm_common import log, running_app  # type: ignore[import-not-found]


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


def _items_text(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"{i['owner']}: {i['task']} ({i.get('due') or ''})" for i in items)


def measure(http: Any, meeting: mt.Meeting, model: str, fmt: str, max_length: int) -> dict:
    segments = mt.transcript(meeting)
    spans = {(s["start"], s["end"]) for s in segments}
    quoted = {(s["start"], s["end"], s["speaker"], s["text"]) for s in segments}
    base = {"transcript": segments, "model_name": model}
    t0 = time.perf_counter()
    res = summarise(http, {**base, "format": fmt, "max_length": max_length})
    seconds = time.perf_counter() - t0
    summary, items = res["summary"], res["action_items"]
    with_items = f"{summary}\n{_items_text(items)}"
    facts = {f.name: mt.found(summary, f.groups) for f in meeting.facts}
    facts_with_items = {f.name: mt.found(with_items, f.groups) for f in meeting.facts}
    answers = []
    for q in meeting.questions:
        r = http.post(
            "/api/chat/",
            json={**base, "messages": [{"role": "user", "content": q.text}],
                  "temperature": 0, "max_tokens": 96},
        )  # fmt: skip
        r.raise_for_status()
        body = r.json()
        answer, cited = body["message"]["content"], body["citations"]
        answers.append(
            {
                "question": q.text,
                "found": mt.found(answer, q.groups),
                "answer": answer[:300],
                "citations": [f"[{c['start']:.0f}s] {c['text'][:80]}" for c in cited],
                "citations_real": all(
                    (c["start"], c["end"], c["speaker"], c["text"]) in quoted for c in cited
                ),
                "cited_fact": any(mt.found(c["text"], q.groups) for c in cited),
                "invented_names": mt.invented_names(answer, meeting),
                "strategy": body["context"]["strategy"],
            }
        )
    return {
        "meeting": meeting.name,
        "split": meeting.split,
        "minutes": meeting.minutes,
        "segments": len(segments),
        "summary_s": round(seconds, 1),
        "strategy": res["context"]["strategy"],
        "chunks": res["context"]["chunks"],
        "recall": round(sum(facts.values()) / len(facts), 3),
        "recall_with_items": round(sum(facts_with_items.values()) / len(facts), 3),
        "missing": [f for f, ok in facts.items() if not ok],
        "action_items": len(items),
        "spans_real": all(
            i["source"] is not None and (i["source"]["start"], i["source"]["end"]) in spans
            for i in items
        ),
        "invented_names": mt.invented_names(with_items, meeting),
        "answers_found": round(sum(a["found"] for a in answers) / len(answers), 3),
        "citations_real": all(a["citations_real"] for a in answers),
        "answers_cited": round(sum(bool(a["citations"]) for a in answers) / len(answers), 3),
        "citations_with_fact": round(sum(a["cited_fact"] for a in answers) / len(answers), 3),
        "answers_invented_names": sorted({n for a in answers for n in a["invented_names"]}),
        "summary": summary,
        "items": items,
        "notes": res["notes"],  # what the points were chosen from
        "chat": answers,
    }


def totals(rows: list[dict[str, Any]], meetings: list[mt.Meeting]) -> dict[str, Any]:
    if not rows:
        return {}
    by_name = {m.name: m for m in meetings}
    facts = sum(len(by_name[r["meeting"]].facts) for r in rows)
    questions = sum(len(by_name[r["meeting"]].questions) for r in rows)

    def weighted(key: str, weight: str) -> float:
        n = sum(len(getattr(by_name[r["meeting"]], weight)) * r[key] for r in rows)
        return round(n / (facts if weight == "facts" else questions), 3)

    return {
        "recall": weighted("recall", "facts"),
        "recall_with_items": weighted("recall_with_items", "facts"),
        "answers_found": weighted("answers_found", "questions"),
        "citations_with_fact": weighted("citations_with_fact", "questions"),
        "citations_real": all(r["citations_real"] for r in rows),
        "spans_real": all(r["spans_real"] for r in rows),
        "invented_names": sorted(
            {n for r in rows for n in (*r["invented_names"], *r["answers_invented_names"])}
        ),
    }


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--split", choices=mt.SPLITS, default="report")
    parser.add_argument("--meetings", default="", help="comma-separated names (default: all)")
    parser.add_argument("--format", default="bullet_points")
    parser.add_argument("--max-length", type=int, default=200)
    parser.add_argument("--dtype", default="auto", help="llm.dtype (auto, bfloat16, float32)")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    args = parser.parse_args()
    meetings = mt.split(args.split)
    if args.meetings:
        wanted = args.meetings.split(",")
        meetings = [m for m in meetings if m.name in wanted]
    report: dict[str, Any] = {
        "model": args.model,
        "dtype": args.dtype,
        "split": args.split,
        "format": args.format,
    }
    llm = {"llm": {"default_model": args.model, "dtype": args.dtype}}
    with (
        running_app(args.model, llm) as app,
        httpx.Client(base_url=app["url"], timeout=1800) as http,
    ):
        report["startup_s"] = app["startup_s"]
        rows, failed = [], []
        for meeting in meetings:
            try:
                rows.append(measure(http, meeting, args.model, args.format, args.max_length))
            except (RuntimeError, httpx.HTTPError) as exc:  # a failed summary or chat
                failed.append({"meeting": meeting.name, "error": str(exc)})
                log(f"{meeting.name}: FAILED: {exc}")
                continue
            r = rows[-1]
            log(
                f"{meeting.name}: recall {r['recall']:.0%} ({r['recall_with_items']:.0%} with "
                f"items), answers {r['answers_found']:.0%}, summary {r['summary_s']} s"
            )
        report["meetings"] = rows
        report["failed"] = failed  # the totals are of the measured meetings only
        report["total"] = totals(rows, meetings)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(f"\n{'meeting':20s} {'min':>4s} {'recall':>7s} {'+items':>7s} {'answers':>8s} "
          f"{'cites':>6s} {'summary s':>10s}")  # fmt: skip
    for r in rows:
        print(
            f"{r['meeting']:20s} {r['minutes']:4.0f} {r['recall']:7.0%} "
            f"{r['recall_with_items']:7.0%} {r['answers_found']:8.0%} "
            f"{r['citations_with_fact']:6.0%} {r['summary_s']:10.1f}"
        )
    t = report["total"]
    if t:
        print(
            f"{args.split}: recall {t['recall']:.0%}, answers {t['answers_found']:.0%}, "
            f"citations real: {t['citations_real']}, spans real: {t['spans_real']}, "
            f"invented names: {t['invented_names'] or 'none'}"
        )
    for f in failed:
        print(f"FAILED {f['meeting']}: {f['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
