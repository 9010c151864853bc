"""A seeded sample of what the notes pipeline showed, each item beside the lines it cites,
for a person to mark supported or not (the checked sample of ``docs/evaluation.md``).

    .venv/bin/python bench/llm_checked_sample.py var/qmsum-final --per-meeting 8 --chat

Reads the rows ``bench/qmsum.py`` cached in its ``--cache`` directory; samples, per
meeting, among the kept notes (points, decisions, action items, open questions, topics) and
the summary's sentences; and, with ``--chat``, prints every chat answer with its reference
answer and cited lines.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval import qmsum

KINDS = ("points", "decisions", "action_items", "open_questions", "topics")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache", type=Path, help="bench/qmsum.py's --cache directory")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument("--per-meeting", type=int, default=8)
    parser.add_argument("--seed", type=int, default=27)
    parser.add_argument("--chat", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for path in sorted(args.cache.glob(f"*-{args.split}-*.json")):
        row = json.loads(path.read_text())
        result, _ = json.loads(path.with_suffix(".pipeline").read_text())
        notes = result.get("notes") or {}
        meeting = qmsum.load(args.split, row["meeting"], args.max_minutes)
        items = []
        for kind in KINDS:
            for item in notes.get(kind) or []:
                text = item.get("text") or item.get("title") or item.get("task") or ""
                items.append((kind, text, item["evidence"]))
        for s in notes.get("summary") or []:
            items.append(("summary", s["text"], s["evidence"]))
        picked = rng.sample(items, min(args.per_meeting, len(items)))
        print(f"=== {row['meeting']}: {len(picked)} of {len(items)} shown items")
        for n, (kind, text, evidence) in enumerate(picked, 1):
            print(f"[{n}] {kind}: {text}")
            for i in evidence:
                s = meeting.segments[i]
                print(f"      #{i + 1} {s['speaker']}: {s['text'][:300]}")
        if args.chat:
            for a in row.get("chat") or []:
                print(f"--- Q: {a['query']}\n    A: {a['answer']}\n    REF: {a['reference']}")
                for c in a["citations"]:
                    print(f"      cited: {c[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
