"""Variants of the notes pipeline on one QMSum tuning meeting, in one app session.

    flock /tmp/heavy.lock nice -n 5 .venv/bin/python bench/llm_tune.py \\
        --split val --meeting ES2006b --max-minutes 10 --variants base,evidence_first

Tuning only (``train``/``val``; never ``test``). The app (and its LLM) starts once; each
variant sets module knobs of :mod:`serve_app.llm.notes` / :mod:`serve_app.llm.checks`
(:data:`VARIANTS`) and runs :class:`serve_app.llm.summary.Summariser` in this process over
``/v1/chat/completions`` (structured outputs), token counts from the model's tokenizer.
Per variant it keeps every window's notes as the model wrote them (before the check), the
checked notes, the summary and each call's time in ``--out``/<variant>.json, so that the
evidence check can be tuned offline on what the model wrote (:func:`recheck`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.llm_common import REPO_ROOT, log, running_app
from eval import qmsum
from serve_app.llm import checks, notes, summary
from serve_app.llm.schemas import SummaryRequest, TranscriptLine

TASKS_FIRST = ("action_items", "decisions", "open_questions", "speakers", "topics", "points")
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "evidence_first": {"notes.EVIDENCE_FIRST": True},
    "tasks_first": {"notes.ORDER": TASKS_FIRST},
    "evidence_tasks_first": {"notes.EVIDENCE_FIRST": True, "notes.ORDER": TASKS_FIRST},
}
_MODULES = {"notes": notes, "checks": checks, "summary": summary}


class HttpLLM:
    """:class:`serve_app.llm.summary.LLMCalls` over the app's OpenAI chat API."""

    def __init__(self, http: Any, model: str) -> None:
        from transformers import AutoTokenizer

        self.http, self.model = http, model
        self.tok = AutoTokenizer.from_pretrained(REPO_ROOT / "models/llm" / model)
        self.calls: list[dict[str, Any]] = []

    async def count(self, texts: list[str]) -> list[int]:
        return [len(self.tok.encode(t)) for t in texts]

    async def generate(
        self, messages: list[dict[str, str]], max_tokens: int, json_schema: Any = None
    ) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages,
                                "max_tokens": max_tokens, "temperature": 0.0}  # fmt: skip
        if json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "notes", "schema": json_schema},
            }
        t0 = time.perf_counter()
        r = await self.http.post("/v1/chat/completions", json=body)
        r.raise_for_status()
        out = r.json()
        kind = "summary" if "sentences" in (json_schema or {}).get("properties", {}) else "notes"
        self.calls.append({"kind": kind, "s": round(time.perf_counter() - t0, 1), **out["usage"]})
        return str(out["choices"][0]["message"]["content"])


async def _run(
    http: Any, model: str, meeting: qmsum.Meeting, name: str, minutes: float
) -> dict[str, Any]:
    saved = {}
    for key, value in VARIANTS[name].items():
        mod, attr = key.split(".")
        saved[key] = getattr(_MODULES[mod], attr)
        setattr(_MODULES[mod], attr, value)
    raw_windows: list[dict[str, Any]] = []

    class Recording(checks.Verifier):
        def verify(self, found: Any, window: set[int], owners: Any) -> Any:
            raw_windows.append(
                {"notes": found.model_dump(), "window": sorted(window), "owners": list(owners)}
            )
            return super().verify(found, window, owners)

    summary.Verifier = Recording  # type: ignore[misc]
    llm = HttpLLM(http, model)
    try:
        req = SummaryRequest(transcript=[TranscriptLine(**s) for s in meeting.segments],
                             format="bullet_points", max_length=200)  # fmt: skip
        budget = summary.SummaryBudget.for_request(8192, 200, 768, 1024, 64)

        async def progress(*_: Any) -> None:
            return None

        t0 = time.perf_counter()
        draft = await summary.Summariser(llm, req, budget, 8, progress).run(req.transcript)
        seconds = round(time.perf_counter() - t0, 1)
    finally:
        summary.Verifier = checks.Verifier  # type: ignore[misc]
        for key, value in saved.items():
            mod, attr = key.split(".")
            setattr(_MODULES[mod], attr, value)
    return {
        "variant": name,
        "meeting": meeting.name,
        "split": meeting.split,
        "minutes": minutes,
        "seconds": seconds,
        "calls": llm.calls,
        "raw_windows": raw_windows,
        "debug": draft.debug(),
        "summary": draft.text,
        "rouge": qmsum.rouge(draft.text, meeting.reference),
    }


def recheck(path: Path, neighbours: int) -> dict[str, Any]:
    """The evidence check, with ``neighbours`` lines either side, over what the model wrote
    in a saved variant (no LLM): kept, anchored and dropped by kind."""
    r = json.loads(path.read_text())
    meeting = qmsum.load(r.get("split", "val"), r["meeting"], r.get("minutes", 10.0))
    segments = [TranscriptLine(**s) for s in meeting.segments]
    verifier = checks.Verifier(segments)
    saved, checks.NEIGHBOURS = checks.NEIGHBOURS, neighbours
    total = checks.Checked()
    try:
        for w in r["raw_windows"]:
            found = notes.WindowNotes.model_validate(w["notes"])
            _, checked = verifier.verify(found, set(w["window"]), w["owners"])
            total.add(checked)
    finally:
        checks.NEIGHBOURS = saved
    return total.as_dict()


def main() -> int:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--split", choices=("train", "val"), default="val")
    parser.add_argument("--meeting", default="ES2006b")
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--variants", default="base")
    parser.add_argument("--out", type=Path, default=Path("var/qmsum-tune"))
    parser.add_argument("--recheck", type=Path, nargs="*", help="saved variants: check again")
    args = parser.parse_args()
    if args.recheck:
        for path in args.recheck:
            for n in (0, 1, 2):
                print(path.name, n, json.dumps(recheck(path, n)))
        return 0
    meeting = qmsum.load(args.split, args.meeting, args.max_minutes)
    args.out.mkdir(parents=True, exist_ok=True)

    async def run_all(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=3600) as http:
            for name in args.variants.split(","):
                r = await _run(http, args.model, meeting, name, args.max_minutes)
                path = args.out / f"{args.meeting}-{args.max_minutes:g}min-{name}.json"
                path.write_text(json.dumps(r, indent=1, ensure_ascii=False))
                log(f"{name}: {r['rouge']} {r['seconds']} s checks {r['debug']['checks']}")

    with running_app(args.model) as app:
        asyncio.run(run_all(app["url"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
