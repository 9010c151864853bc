"""How fast the light endpoints answer, idle and while a diarized job runs.

    .venv/bin/python bench/bench_responsiveness.py                   # 4 min of espeak speech
    .venv/bin/python bench/bench_responsiveness.py my.mp3 --llm      # with the LLM deployed

Starts the graph of ``configs/local-cpu.yaml`` (LLM off unless ``--llm``) on a local Ray
(loopback). Polls ``/health``, ``/api/transcribe/status/{id}`` and ``/api/transcribe/jobs``
in turn, one request every ``--interval`` seconds over one keep-alive connection: first
idle, then while a ``diarize=true`` job on the file runs (``--jobs`` of them at once).
Prints p50, p99 and max per endpoint for both phases and writes them to
``bench/results/responsiveness.json`` (bench/report.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.graph_common import add_graph_args, bench_audio, graph_config
from bench.report import command_line, table, write_results
from serve_app.launch import local_app


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def poll(http: httpx.Client, paths: list[str], interval: float, until) -> dict[str, list[float]]:
    """Round-robin GETs until ``until()``; latency in ms per path."""
    times: dict[str, list[float]] = {p: [] for p in paths}
    i = 0
    while not until():
        path = paths[i % len(paths)]
        started = time.perf_counter()
        response = http.get(path)
        times[path].append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        i += 1
        time.sleep(interval)
    return times


def rows(phase: str, times: dict[str, list[float]]) -> list[list[object]]:
    """One row per endpoint: phase, endpoint, requests, p50, p99 and max in ms."""
    out: list[list[object]] = []
    for path, values in times.items():
        name = path.split("?")[0]
        if "/status/" in name:
            name = "/api/transcribe/status/{id}"
        out.append(
            [phase, name, len(values), round(statistics.median(values), 1),
             round(percentile(values, 0.99), 1), round(max(values), 1)]
        )  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_graph_args(parser, minutes=4.0)
    parser.add_argument("--llm", action="store_true", help="deploy the LLM too (as make run)")
    parser.add_argument("--jobs", type=int, default=1, help="diarized jobs at once")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between requests")
    parser.add_argument("--idle-s", type=float, default=15.0)
    parser.add_argument("--settle-s", type=float, default=20.0)
    parser.add_argument("--name", default="responsiveness", help="results name (bench/results/)")
    args = parser.parse_args()
    config = graph_config(args, {"llm": {"enabled": True}} if args.llm else None)
    path, _ = bench_audio(args)
    data = path.read_bytes()

    with local_app(config) as url, httpx.Client(base_url=url, timeout=60) as http:

        def submit(diarize: bool = True) -> str:
            response = http.post(
                "/api/transcribe/",
                files={"file": (path.name, data)},
                data={"diarize": str(diarize).lower()},
            )
            response.raise_for_status()
            return str(response.json()["job_id"])

        def running(job_ids: list[str]) -> bool:
            return any(
                http.get(f"/api/transcribe/status/{j}").json()["status"] == "processing"
                for j in job_ids
            )

        # A finished job to ask the status of, and a warm graph; then let Serve's controller
        # settle (it is busy for a while after a deploy).
        warm = submit(diarize=False)
        while running([warm]):
            time.sleep(0.5)
        time.sleep(args.settle_s)
        paths = ["/health", f"/api/transcribe/status/{warm}", "/api/transcribe/jobs?limit=20"]

        deadline = time.monotonic() + args.idle_s
        idle = poll(http, paths, args.interval, lambda: time.monotonic() > deadline)
        jobs = [submit() for _ in range(args.jobs)]
        started = time.perf_counter()
        checked = [0.0]

        def done() -> bool:  # ask the jobs' state every half second, not every request
            if time.perf_counter() - checked[0] < 0.5:
                return False
            checked[0] = time.perf_counter()
            return not running(jobs)

        loaded = poll(http, paths, args.interval, done)
        elapsed = time.perf_counter() - started

    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                "Light endpoints, idle and under load",
                ["phase", "endpoint", "requests", "p50 ms", "p99 ms", "max ms"],
                rows("idle", idle) + rows("load", loaded),
                caption=f"Load: {args.jobs} diarized job(s) on {path.name}, {elapsed:.1f} s; "
                f"LLM {'deployed' if args.llm else 'off'}.",
            )
        ],
        notes=f"{args.config}, one request every {args.interval} s on one connection.",
    )


if __name__ == "__main__":
    main()
