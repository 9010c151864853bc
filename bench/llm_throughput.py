#!/usr/bin/env python
"""Tokens/s and time to first token: our API vs the bare vLLM engine, same prompt, one run.

1. Starts the app (configs/local-cpu.yaml, diarizer off) and streams ``--repeat`` chat
   completions through our ``/v1/chat/completions`` (ingress -> assistant -> LLM replica),
   then as many through ``/api/chat`` (transcript prompt built by the server).
2. Alternating with those runs, runs vLLM's ``AsyncLLM`` directly in a child process (loaded
   beside the app, idle while the API runs) with the same engine arguments, environment
   and messages.

Every request generates exactly ``--max-tokens`` tokens (``ignore_eos``, greedy), so
tokens/s compare like with like. Prints the medians and the API/bare ratios and writes them to
``bench/results/llm_throughput.json`` (bench/report.py); ``--out`` also writes every run.

    nice -n 10 .venv/bin/python bench/llm_throughput.py --model smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.llm_common import log, running_app
from bench.report import Table, command_line, table, write_results

TRANSCRIPT = [
    ("00:00:00", "SPEAKER_1", "Morning everyone. Today we decide the release date for 2.0."),
    ("00:00:07", "SPEAKER_2", "QA found three blocking bugs, two in upload and one in export."),
    ("00:00:15", "SPEAKER_1", "Can they be fixed by Friday?"),
    ("00:00:18", "SPEAKER_2", "Upload yes. Export needs a rewrite, not before Wednesday."),
    ("00:00:26", "SPEAKER_3", "Then we ship Thursday next week, and Dan helps Bob's team."),
    ("00:00:33", "SPEAKER_1", "Agreed. Release Thursday next week; Bob owns the export fix."),
]
MESSAGES = [
    {"role": "system", "content": "You summarise meeting transcripts. Be factual."},
    {
        "role": "user",
        "content": "Summarise this meeting:\n"
        + "\n".join(f"[{t}] {s}: {x}" for t, s, x in TRANSCRIPT),
    },
]


def _stream_openai(url: str, model: str, max_tokens: int) -> dict[str, float]:
    import httpx

    body = {
        "model": model,
        "messages": MESSAGES,
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    t0 = time.perf_counter()
    first = None
    usage: dict[str, Any] = {}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            if first is None and any(
                (c.get("delta") or {}).get("content") for c in chunk["choices"]
            ):
                first = time.perf_counter()
    end = time.perf_counter()
    n = int(usage.get("completion_tokens") or 0)
    return _timing(t0, first or end, end, n)


def _stream_api_chat(url: str, model: str, max_tokens: int) -> dict[str, float]:
    import httpx

    body = {
        "transcript": [
            {"start": i * 7.0, "end": i * 7.0 + 6, "speaker": s, "text": x}
            for i, (_, s, x) in enumerate(TRANSCRIPT)
        ],
        "messages": [{"role": "user", "content": "Summarise this meeting."}],
        "model_name": model,
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": True,
    }
    t0 = time.perf_counter()
    first = None
    n = 0
    with httpx.stream("POST", f"{url}/api/chat/", json=body, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if "delta" in event and first is None:
                first = time.perf_counter()
            if event.get("done"):
                n = event["usage"]["completion"]
    end = time.perf_counter()
    return _timing(t0, first or end, end, n)


def _timing(t0: float, first: float, end: float, n: int) -> dict[str, float]:
    decode = end - first
    return {
        "ttft_s": round(first - t0, 3),
        "total_s": round(end - t0, 3),
        "completion_tokens": n,
        "tok_per_s": round(n / (end - t0), 2),
        "decode_tok_per_s": round((n - 1) / decode, 2) if decode > 0 and n > 1 else 0.0,
    }


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run: on a shared machine, the closest to the engine's real speed."""
    return max(runs, key=lambda r: r["tok_per_s"])


async def _bare_server(model: str, max_tokens: int) -> None:
    """vLLM's AsyncLLM with the engine arguments our LLMConfig gives the replica; one timed
    generation per ``run`` line on stdin (so the parent can alternate it with API runs)."""
    from transformers import AutoTokenizer
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    from serve_app.config import load_config

    settings = load_config(
        {"config": "configs/local-cpu.yaml", "llm": {"default_model": model}}
    ).llm
    spec = settings.get_model()
    source = spec.model_source()
    t0 = time.perf_counter()
    engine = AsyncLLM.from_engine_args(
        AsyncEngineArgs(
            model=source, served_model_name=[spec.name], **settings.engine_kwargs_for(spec)
        )
    )
    print("READY " + json.dumps({"load_s": round(time.perf_counter() - t0, 1)}), flush=True)
    prompt = AutoTokenizer.from_pretrained(source).apply_chat_template(
        MESSAGES, tokenize=False, add_generation_prompt=True
    )
    params = SamplingParams(temperature=0, max_tokens=max_tokens, ignore_eos=True)
    i = 0
    while sys.stdin.readline().strip() == "run":
        i += 1
        t0 = time.perf_counter()
        first = None
        n = 0
        async for out in engine.generate(prompt, params, request_id=f"bench-{i}"):
            if first is None and out.outputs[0].token_ids:
                first = time.perf_counter()
            n = len(out.outputs[0].token_ids)
        end = time.perf_counter()
        print("RESULT " + json.dumps(_timing(t0, first or end, end, n)), flush=True)
    engine.shutdown()


def _read(proc: subprocess.Popen[str], prefix: str) -> dict[str, Any]:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix + " "):
            result: dict[str, Any] = json.loads(line[len(prefix) + 1 :])
            return result
    raise RuntimeError(f"bare engine exited (rc={proc.wait()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write every run as JSON here")
    parser.add_argument("--bare-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.bare_child:
        asyncio.run(_bare_server(args.model, args.max_tokens))
        return 0

    from serve_app.config import load_config

    settings = load_config(
        {"config": "configs/local-cpu.yaml", "llm": {"default_model": args.model}}
    ).llm
    out: dict[str, Any] = {"model": args.model, "max_tokens": args.max_tokens}
    api: list[dict[str, float]] = []
    chat: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    with running_app(args.model) as app:
        out["startup_s"] = app["startup_s"]
        out["rss_mb_app_with_llm"] = app["rss_mb"]
        # The bare engine loads next to the app (same env as the replica); it is idle
        # while the API runs and vice versa: runs alternate, so load changes hit both.
        proc = subprocess.Popen(
            [sys.executable, __file__, "--bare-child", "--model", args.model,
             "--max-tokens", str(args.max_tokens)],
            env={**os.environ, **settings.engine_env_vars(settings.get_model())},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdin is not None
        try:
            out["bare_load_s"] = _read(proc, "READY")["load_s"]
            log(f"bare engine loaded in {out['bare_load_s']} s; alternating runs")
            _stream_openai(app["url"], args.model, 8)  # warm-ups
            proc.stdin.write("run\n")
            proc.stdin.flush()
            _read(proc, "RESULT")
            for _ in range(args.repeat):
                api.append(_stream_openai(app["url"], args.model, args.max_tokens))
                proc.stdin.write("run\n")
                proc.stdin.flush()
                bare.append(_read(proc, "RESULT"))
                chat.append(_stream_api_chat(app["url"], args.model, args.max_tokens))
        finally:
            proc.stdin.close()
            proc.wait(timeout=120)
    for key, runs in (("api_v1_chat", api), ("api_chat_transcript", chat), ("bare", bare)):
        out[key] = {"runs": runs, "median": _median(runs), "best": _best(runs)}
    api_m, bare_m = out["api_v1_chat"]["median"], out["bare"]["median"]
    out["ratio_api_over_bare_tok_per_s"] = round(api_m["tok_per_s"] / bare_m["tok_per_s"], 3)
    out["ratio_api_over_bare_decode"] = round(
        api_m["decode_tok_per_s"] / bare_m["decode_tok_per_s"], 3
    )
    out["ttft_extra_s"] = round(api_m["ttft_s"] - bare_m["ttft_s"], 3)
    out["ratio_best_api_over_best_bare_tok_per_s"] = round(
        out["api_v1_chat"]["best"]["tok_per_s"] / out["bare"]["best"]["tok_per_s"], 3
    )
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    write_results(
        "llm_throughput",
        command=command_line(),
        tables=tables(out),
        notes=f"{args.repeat} runs each, alternating; load average after: {out['loadavg']}.",
    )
    return 0


def tables(out: dict[str, Any]) -> list[Table]:
    """Median timings per path, then the API/bare ratios."""
    paths = (
        ("api_v1_chat", "our /v1/chat/completions"),
        ("api_chat_transcript", "our /api/chat (transcript prompt)"),
        ("bare", "bare vLLM AsyncLLM"),
    )
    timings = table(
        f"LLM throughput, {out['model']}, {out['max_tokens']} tokens per request",
        ["path", "median tok/s", "median decode tok/s", "median TTFT s", "best tok/s"],
        [
            [label, out[key]["median"]["tok_per_s"], out[key]["median"]["decode_tok_per_s"],
             out[key]["median"]["ttft_s"], out[key]["best"]["tok_per_s"]]
            for key, label in paths
        ],
        caption=f"App startup {out['startup_s']} s (process tree {out['rss_mb_app_with_llm']} "
        f"MB RSS with the LLM); bare engine load {out['bare_load_s']} s.",
    )  # fmt: skip
    ratios = table(
        "LLM throughput, API over bare engine",
        ["tok/s ratio (median)", "decode ratio (median)", "extra TTFT s", "tok/s ratio (best)"],
        [[out["ratio_api_over_bare_tok_per_s"], out["ratio_api_over_bare_decode"],
          out["ttft_extra_s"], out["ratio_best_api_over_best_bare_tok_per_s"]]],
    )  # fmt: skip
    return [timings, ratios]


if __name__ == "__main__":
    sys.exit(main())
