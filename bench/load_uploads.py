"""Overload: many concurrent uploads at once. Every one is either accepted and then
finishes, or refused with 429 or 503 and ``Retry-After``; nothing answers 500.

    .venv/bin/python bench/load_uploads.py                     # 48 uploads, local graph
    .venv/bin/python bench/load_uploads.py --uploads 96 --base-url http://host:8000 --api-key K

Without ``--base-url`` it starts the graph of configs/local-cpu.yaml (LLM and diarization
off) on a local Ray. Prints the counts by outcome and writes them to
``bench/results/load_uploads.json`` (bench/report.py); exits 1 on any 5xx
other than a 503 with Retry-After, or an accepted job that did not complete.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.report import command_line, table, write_results
from eval.speech import SENTENCES, encode, speech


def one_upload(base_url: str, headers: dict[str, str], audio: bytes) -> tuple[str, str | None]:
    with httpx.Client(base_url=base_url, headers=headers, timeout=600) as http:
        r = http.post(
            "/api/transcribe/", files={"file": ("load.mp3", audio)}, data={"diarize": "false"}
        )
        if r.status_code in (429, 503):
            return (
                f"refused {r.status_code}" if "retry-after" in r.headers else "no retry-after"
            ), None
        if r.status_code != 200:
            return f"error {r.status_code}", None
        job_id = r.json()["job_id"]
        deadline = time.time() + 900
        while time.time() < deadline:
            status = http.get(f"/api/transcribe/status/{job_id}").json()["status"]
            if status != "processing":
                return f"accepted, {status}", job_id
            time.sleep(1.0)
        return "accepted, still processing", job_id


def run(base_url: str, uploads: int, api_key: str | None) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    audio = encode(speech(SENTENCES[:3]), "mp3")
    with ThreadPoolExecutor(max_workers=uploads) as pool:
        outcomes = list(pool.map(lambda _: one_upload(base_url, headers, audio), range(uploads)))
    return dict(collections.Counter(o for o, _ in outcomes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=48)
    parser.add_argument("--base-url")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.base_url
        if url is None:
            from serve_app.config import load_config
            from serve_app.launch import local_app

            config = load_config(
                {
                    "config": "configs/local-cpu.yaml",
                    "diarizer": {"enabled": False},
                    "llm": {"enabled": False},
                    "job_store": {
                        "database_url": "sqlite:///var/load-jobs.sqlite3",
                        "actor_name": "job_store_load",
                    },
                }
            )
            url = stack.enter_context(local_app(config))
        started = time.perf_counter()
        counts = run(url, args.uploads, args.api_key)
        elapsed = time.perf_counter() - started
    write_results(
        "load_uploads",
        command=command_line(),
        tables=[
            table(
                f"{args.uploads} concurrent uploads",
                ["outcome", "uploads"],
                [[outcome, n] for outcome, n in sorted(counts.items())],
                caption=f"All answered in {elapsed:.1f} s; nothing may answer 5xx other than "
                "503 with Retry-After.",
            )
        ],
        notes="local graph, configs/local-cpu.yaml" if args.base_url is None else "remote",
    )
    good = {"accepted, completed", "refused 429", "refused 503"}
    return 0 if set(counts) <= good else 1


if __name__ == "__main__":
    sys.exit(main())
