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

Prints the tables and writes them to ``bench/results/llm_quality_<split>.json`` (bench/report.py);
``--out`` also writes the full report (summaries, answers, citations) as JSON.

    nice -n 10 .venv/bin/python bench/llm_quality.py --split report
    nice -n 10 .venv/bin/python bench/llm_quality.py --split tune --meetings release-planning
    nice -n 10 .venv/bin/python bench/llm_quality.py --model smollm2-135m-instruct --split tune
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import llm_meetings as mt
from bench.llm_common import log, running_app
from bench.llm_scoring import measure, totals
from bench.report import Table, command_line, table, write_results


def tables(report: dict[str, Any]) -> list[Table]:
    """Per meeting, then the split's totals (weighted by facts and questions)."""
    rows = report["meetings"]
    per_meeting = table(
        f"LLM quality per meeting ({report['split']} split, {report['model']})",
        ["meeting", "minutes", "fact recall", "recall with items", "answers right",
         "citations hold the fact", "summary s", "invented names"],
        [[r["meeting"], r["minutes"], r["recall"], r["recall_with_items"], r["answers_found"],
          r["citations_with_fact"], r["summary_s"],
          ", ".join((*r["invented_names"], *r["answers_invented_names"])) or "none"]
         for r in rows],
        caption="Shares from 0 to 1: facts found in the summary text (and with its action "
        "items), questions whose answer holds the fact, answers citing a segment that holds it.",
    )  # fmt: skip
    t = report["total"]
    total = table(
        f"LLM quality, {report['split']} split total",
        ["model", "meetings", "fact recall", "recall with items", "answers right",
         "citations hold the fact", "citations real", "item spans real", "invented names",
         "failed"],
        [[report["model"], len(rows), t.get("recall"), t.get("recall_with_items"),
          t.get("answers_found"), t.get("citations_with_fact"),
          str(t.get("citations_real", "-")), str(t.get("spans_real", "-")),
          ", ".join(t.get("invented_names", ())) or "none", len(report["failed"])]],
    )  # fmt: skip
    return [per_meeting, total]


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--split", choices=mt.SPLITS, default="report")
    parser.add_argument("--meetings", default="", help="comma-separated names (default: all)")
    parser.add_argument("--format", default="bullet_points")
    parser.add_argument("--max-length", type=int, default=200)
    parser.add_argument("--dtype", default="auto", help="llm.dtype (auto, bfloat16, float32)")
    parser.add_argument("--name", help="results name (default: llm_quality_<split>)")
    parser.add_argument("--out", type=Path, help="also write the full JSON report here")
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
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    notes = (
        f"model {args.model}, dtype {args.dtype}, format {args.format}, "
        f"max_length {args.max_length}; app startup {report['startup_s']} s."
    )
    if failed:
        notes += " Failed: " + "; ".join(f"{f['meeting']}: {f['error']}" for f in failed)
    write_results(
        args.name or f"llm_quality_{args.split}",
        command=command_line(),
        tables=tables(report),
        notes=notes,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
