"""Scoring for the LLM quality bench (bench/llm_quality.py): one meeting's summary and chat
answers, asked through the HTTP API of a running app, measured against the meeting's facts
(bench/llm_meetings.py)."""

from __future__ import annotations

import time
from typing import Any

from bench import llm_meetings as mt


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
