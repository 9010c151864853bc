"""QMSum meetings through the summary and chat APIs: ROUGE against the human references,
beside two baselines (the same model asked for a summary in one prompt; the first 200 words).

    flock /tmp/llm.lock .venv/bin/python bench/qmsum.py --split test \\
        --meetings ES2004a,IS1003b,TS3004a --max-minutes 20

Develop on ``train``/``val``; ``test`` is for reporting, never for tuning. Per meeting:
the pipeline's summary (``POST /api/summary/``, ``bullet_points``) and its ROUGE-1/2/L,
the evidence check's kept and dropped items (``notes.checks``, ``notes.rejected``), action
items, topics, speaker names, the LLM time split into prefill and decode with the number
of calls (``notes.timing``); the direct summary (``POST /v1/chat/completions`` with
:func:`serve_app.llm.prompts.summary_messages`, the transcript cut to fit the context) and
its ROUGE and time; the first 200 words' ROUGE; with ``--queries N``, chat answers to the
first N specific queries, ROUGE-L against the reference answers. Each meeting's row is
kept in ``--cache`` (default ``var/qmsum-cache/``) and not measured again, so a long run
can be resumed. With ``--before DIR``, the rows cached there by an earlier version of the
pipeline (same meetings) are shown beside this run's. Writes ``bench/results/qmsum.json``
(``test``) or ``qmsum_<split>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.llm_common import log, running_app
from bench.report import table, write_results
from eval import qmsum
from serve_app.llm.prompts import summary_messages, transcript_lines
from serve_app.llm.schemas import TranscriptLine

WORDS_PER_TOKEN = 0.7


def _summary(http: Any, body: dict[str, Any]) -> dict[str, Any]:
    job = http.post("/api/summary/", json=body)
    job.raise_for_status()
    job_id = job.json()["job_id"]
    while True:
        status = http.get(f"/api/summary/status/{job_id}").json()
        if status["status"] != "processing":
            break
        time.sleep(1.0)
    if status["status"] != "completed":
        raise RuntimeError(status["message"])
    return dict(http.get(f"/api/summary/{job_id}").json())


def _direct(http: Any, model: str, meeting: qmsum.Meeting, max_words: int, window: int) -> str:
    """The same model, one prompt: the transcript (its first lines that fit) and the ask."""
    lines = transcript_lines([TranscriptLine(**s) for s in meeting.segments])
    room = int((window - int(max_words * 1.6) - 400) * WORDS_PER_TOKEN)
    kept, used = [], 0
    for line in lines:
        used += len(line.split()) + 2
        if used > room:
            break
        kept.append(line)
    messages = summary_messages(kept, "bullet_points", max_words)
    r = http.post(
        "/v1/chat/completions",
        json={"model": model, "messages": messages, "temperature": 0.2,
              "max_tokens": int(max_words * 1.6) + 48},
    )  # fmt: skip
    r.raise_for_status()
    return str(r.json()["choices"][0]["message"]["content"])


def _answers(http: Any, model: str, meeting: qmsum.Meeting, n: int) -> list[dict[str, Any]]:
    """Chat answers to the first ``n`` specific queries whose relevant turns lie within the
    cut (:attr:`eval.qmsum.Meeting.queries_in_cut`), each with its ROUGE-L against the
    reference answer, the first 200 words' ROUGE-L against it (the bare baseline), and the
    cited lines (for the checked sample)."""
    out = []
    for q in meeting.queries_in_cut[:n]:
        t0 = time.perf_counter()
        r = http.post(
            "/api/chat/",
            json={"transcript": meeting.segments, "model_name": model, "temperature": 0,
                  "max_tokens": 128, "messages": [{"role": "user", "content": q["query"]}]},
        )  # fmt: skip
        r.raise_for_status()
        body = r.json()
        answer = body["message"]["content"]
        out.append(
            {"query": q["query"], "answer": answer, "reference": q["answer"],
             "rougeL": qmsum.rouge(answer, q["answer"])["rougeL"],
             "first_200_words_rougeL": qmsum.rouge(
                 qmsum.first_words(meeting.segments), q["answer"])["rougeL"],
             "strategy": body["context"]["strategy"],
             "citations": [c["text"] for c in body.get("citations", [])],
             "s": round(time.perf_counter() - t0, 1)}
        )  # fmt: skip
    return out


def measure(http: Any, args: argparse.Namespace, meeting: qmsum.Meeting) -> dict[str, Any]:
    """One meeting: the pipeline, then the direct summary. Each part is cached as soon as it
    is measured (``.pipeline``/``.direct`` beside the row), so a run cut short by a time
    limit loses at most the part it was in."""
    part = _cache_path(args, meeting.name).with_suffix(".pipeline")
    if part.is_file() and not args.fresh:
        result, seconds = json.loads(part.read_text())
    else:
        body = {"transcript": meeting.segments, "model_name": args.model,
                "format": "bullet_points", "max_length": args.max_length}  # fmt: skip
        t0 = time.perf_counter()
        result = _summary(http, body)
        seconds = round(time.perf_counter() - t0, 1)
        part.write_text(json.dumps([result, seconds], ensure_ascii=False))
        log(f"{meeting.name}: pipeline {qmsum.rouge(result['summary'], meeting.reference)}, "
            f"{seconds} s, timing {result.get('notes', {}).get('timing')}")  # fmt: skip
    notes = result.get("notes", {})
    checks = notes.get("checks", {})
    part = part.with_suffix(".direct")
    if part.is_file() and not args.fresh:
        direct, direct_s = json.loads(part.read_text())
    else:
        t0 = time.perf_counter()
        direct = _direct(http, args.model, meeting, args.max_length, args.window)
        direct_s = round(time.perf_counter() - t0, 1)
        part.write_text(json.dumps([direct, direct_s], ensure_ascii=False))
    answers = _answers(http, args.model, meeting, args.queries)
    return {
        "meeting": meeting.name,
        "minutes": round(meeting.minutes, 1),
        "segments": len(meeting.segments),
        "pipeline": qmsum.rouge(result["summary"], meeting.reference),
        "direct": qmsum.rouge(direct, meeting.reference),
        "first_200_words": qmsum.rouge(qmsum.first_words(meeting.segments), meeting.reference),
        "unsupported_share": checks.get("unsupported_share"),
        "dropped": checks.get("dropped", {}),
        "action_items": len(result["action_items"]),
        "topics": result["topics"],
        "summary_source": notes.get("summary_source"),
        "calls": notes.get("calls"),
        "chunks": result["context"]["chunks"],
        "transcript_tokens": result["context"]["transcript_tokens"],
        "summary_words": len(result["summary"].split()),
        "summary_from_notes": notes.get("summary_from_notes"),
        "summary_s": seconds,
        "timing": notes.get("timing", {}),
        "direct_s": direct_s,
        "kept": checks.get("kept", {}),
        "anchored": checks.get("anchored", {}),
        "rejected": notes.get("rejected", []),
        "notes": {
            k: notes.get(k)
            for k in ("speakers", "points", "decisions", "action_items", "open_questions")
        },
        "chat_rougeL": _mean([a["rougeL"] for a in answers]) if answers else None,
        "chat_first_200_rougeL": (
            _mean([a["first_200_words_rougeL"] for a in answers]) if answers else None
        ),
        "chat": answers,
        "summary": result["summary"],
        "direct_summary": direct,
    }


def _cache_path(args: argparse.Namespace, name: str) -> Path:
    return args.cache / f"{args.model}-{args.split}-{name}-{args.max_minutes:g}min.json"


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--split", choices=qmsum.SPLITS, default="val")
    parser.add_argument(
        "--meetings", default="1", help="a count (the split's first N) or comma-separated names"
    )
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument("--max-length", type=int, default=200)
    parser.add_argument("--queries", type=int, default=0, help="specific queries per meeting")
    parser.add_argument("--window", type=int, default=8192, help="the model's context")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("var/qmsum-cache"),
        help="one JSON per meeting measured; a meeting found there is not run again",
    )
    parser.add_argument("--fresh", action="store_true", help="ignore the cache")
    parser.add_argument(
        "--before", type=Path, help="a cache of an earlier pipeline version, shown beside"
    )
    parser.add_argument("--out", type=Path, help="also write the full report (summaries) here")
    args = parser.parse_args()
    names = qmsum.meeting_names(args.split)
    wanted = names[: int(args.meetings)] if args.meetings.isdigit() else args.meetings.split(",")
    args.cache.mkdir(parents=True, exist_ok=True)
    cached = {
        n: json.loads(_cache_path(args, n).read_text())
        for n in wanted
        if not args.fresh and _cache_path(args, n).is_file()
    }
    todo = [qmsum.load(args.split, n, args.max_minutes) for n in wanted if n not in cached]
    if todo:
        with (
            running_app(args.model, {"llm": {"default_model": args.model}}) as app,
            httpx.Client(base_url=app["url"], timeout=3600) as http,
        ):
            for meeting in todo:
                r = measure(http, args, meeting)
                _cache_path(args, meeting.name).write_text(
                    json.dumps(r, indent=2, ensure_ascii=False) + "\n"
                )
                cached[meeting.name] = r
                log(f"{meeting.name}: pipeline {r['pipeline']}, direct {r['direct']}, "
                    f"first 200 words {r['first_200_words']}, {r['summary_s']} s, "
                    f"timing {r['timing']}")  # fmt: skip
    rows = [cached[n] for n in wanted]
    before = []
    if args.before:
        for n in wanted:
            path = args.before / _cache_path(args, n).name
            if path.is_file():
                before.append(json.loads(path.read_text()))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    write_results(
        "qmsum" if args.split == "test" else f"qmsum_{args.split}",
        command=" ".join(["python bench/qmsum.py", *sys.argv[1:]]),
        tables=_tables(args.split, rows) + ([_before(rows, before)] if before else []),
        notes=f"model {args.model}; first {args.max_minutes:g} minutes of each meeting "
        f"(QMSum has no times: 0.4 s a word); max_length {args.max_length}.",
    )
    return 0


def _before(rows: list[dict[str, Any]], before: list[dict[str, Any]]) -> Any:
    """The earlier pipeline's ROUGE-L, summary time and prompt tokens beside this run's
    (with the direct model's ROUGE-L of each run: the bare baseline)."""
    now = {r["meeting"]: r for r in rows}
    out = []
    for b in before:
        r = now[b["meeting"]]
        tb, tr = b.get("timing") or {}, r.get("timing") or {}
        out.append(
            [b["meeting"], b["pipeline"]["rougeL"], r["pipeline"]["rougeL"],
             b["direct"]["rougeL"], r["direct"]["rougeL"], b.get("chunks"), r.get("chunks"),
             tb.get("prompt_tokens"), tr.get("prompt_tokens"), b["summary_s"], r["summary_s"]]
        )  # fmt: skip
    return table(
        "The previous version (--before: its cached rows) and this run, same meetings",
        ["meeting", "ROUGE-L before", "ROUGE-L now", "direct ROUGE-L before",
         "direct ROUGE-L now", "windows before", "windows now", "prompt tokens before",
         "prompt tokens now", "pipeline s before", "pipeline s now"],
        out,
    )  # fmt: skip


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def _tables(split: str, rows: list[dict[str, Any]]) -> list[Any]:
    sides = (("pipeline", "pipeline"), ("direct model summary", "direct"),
             ("first 200 words", "first_200_words"))  # fmt: skip
    scores = []
    for r in rows:
        for label, key in sides:
            s = r[key]
            scores.append(
                [r["meeting"], r["minutes"], label, s["rouge1"], s["rouge2"], s["rougeL"]]
            )
    for label, key in sides:
        scores.append(
            ["mean", _mean([r["minutes"] for r in rows]), label,
             *(_mean([r[key][m] for r in rows]) for m in ("rouge1", "rouge2", "rougeL"))]
        )  # fmt: skip
    notes = []
    for r in rows:
        kept, dropped = sum(r.get("kept", {}).values()), sum(r["dropped"].values())
        named = [f"{s['label']}={s['name']}" for s in (r.get("notes") or {}).get("speakers") or []]
        anchored = sum((r.get("anchored") or {}).values())
        notes.append(
            [r["meeting"], kept, anchored, dropped, r["unsupported_share"], r["action_items"],
             ", ".join(r["topics"]), ", ".join(named), r["summary_source"],
             len(r.get("chat") or []), r["chat_rougeL"], r.get("chat_first_200_rougeL")]
        )  # fmt: skip
    timing = []
    for r in rows:
        t = r.get("timing") or {}
        timing.append(
            [r["meeting"], r["minutes"], r.get("transcript_tokens"), r["chunks"],
             t.get("calls", r["calls"]), t.get("prompt_tokens"), t.get("completion_tokens"),
             t.get("prefill_s"),
             t.get("decode_s"), r["summary_s"], r.get("direct_s")]
        )  # fmt: skip
    return [
        table(f"QMSum {split}: summary ROUGE (F1 x100) against the reference",
              ["meeting", "minutes", "summary", "ROUGE-1", "ROUGE-2", "ROUGE-L"], scores),
        table("Notes: items kept and dropped by the evidence check",
              ["meeting", "kept", "of them anchored to a neighbour line", "dropped",
               "dropped share", "action items", "topics", "speaker names", "summary from",
               "chat queries", "chat ROUGE-L", "chat: first 200 words ROUGE-L"], notes),
        table("Time per meeting (pipeline: notes and summary; direct: one call)",
              ["meeting", "minutes", "transcript tokens", "windows", "LLM calls",
               "prompt tokens",
               "completion tokens", "prefill s", "decode s", "pipeline s", "direct s"],
              timing),
    ]  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
