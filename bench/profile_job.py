"""Where a job's time goes, from the app's own Prometheus metrics.

    .venv/bin/python bench/profile_job.py --synth-minutes 4            # espeak-ng speech
    .venv/bin/python bench/profile_job.py my.mp3 --diarize --jobs 2

Starts the graph of ``configs/local-cpu.yaml`` (LLM off) on a local Ray (loopback), runs the
jobs one after another, scrapes Ray's metrics endpoint and prints, per stage, how many times
it was observed and its total and mean time (docs/architecture.md, "Metrics", says what each
stage covers),
with the job's own wall time and time to first segment beside them; the tables are written to
``bench/results/profile_job.json`` (bench/report.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.graph_common import add_graph_args, bench_audio, graph_config
from bench.report import Table, command_line, table, write_results
from serve_app.client.api import local_headers
from serve_app.launch import free_port, local_app


def scrape(metrics_url: str) -> dict[tuple[str, str], float]:
    """``(series name, stage tag)`` -> value, summed over replicas."""
    from prometheus_client.parser import text_string_to_metric_families

    totals: dict[tuple[str, str], float] = defaultdict(float)
    text = httpx.get(metrics_url, timeout=10).text
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("ray_transcribe_"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                continue
            stage = "/".join(filter(None, (sample.labels.get(k) for k in ("scope", "stage"))))
            totals[(sample.name, stage)] += sample.value
    return totals


def run_job(http: httpx.Client, path: Path, diarize: bool) -> dict:
    started = time.perf_counter()
    job_id = http.post(
        "/api/transcribe/",
        files={"file": (path.name, path.read_bytes())},
        data={"diarize": str(diarize).lower()},
    ).json()["job_id"]
    while (status := http.get(f"/api/transcribe/status/{job_id}").json())["status"] == "processing":
        time.sleep(0.1)
    status["wall_s"] = time.perf_counter() - started
    status["timings"] = http.get(f"/api/transcribe/debug/{job_id}").json()["timings"]
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_graph_args(parser, minutes=4.0)
    parser.add_argument("--diarize", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--name", default="profile_job", help="results name (bench/results/)")
    args = parser.parse_args()
    config = graph_config(args)
    path, _ = bench_audio(args)

    metrics_port = free_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with (
        local_app(config, metrics_port=metrics_port) as url,
        # /debug (timings) needs the local admin key: anonymous callers are not admin
        httpx.Client(base_url=url, timeout=600, headers=local_headers(url)) as http,
    ):
        jobs = [run_job(http, path, args.diarize) for _ in range(args.jobs)]
        # Ray exports application metrics every few seconds: wait for the last job's.
        want = ("ray_transcribe_jobs_finished_total", "")
        deadline = time.monotonic() + 60
        while (totals := scrape(metrics_url)).get(want, 0) < args.jobs:
            if time.monotonic() > deadline:
                raise SystemExit("the job metrics never reached the endpoint")
            time.sleep(2)

    write_results(
        args.name,
        command=command_line(),
        tables=tables(jobs, totals),
        notes=f"{args.jobs} job(s) of {path.name}, diarize={args.diarize}, {args.config}.",
    )


def tables(jobs: list[dict], totals: dict[tuple[str, str], float]) -> list[Table]:
    """The jobs; seconds per stage (the counter, with the histogram's count); other counters."""
    job_rows = []
    for job in jobs:
        timings = job.get("timings") or {}
        job_rows.append(
            [job["job_id"][:8], job["status"], round(job["wall_s"], 2),
             timings.get("first_segment_s")]
        )  # fmt: skip
    stage_rows = []
    for (name, stage), value in sorted(totals.items()):
        if name != "ray_transcribe_stage_seconds_total":
            continue
        scope, _, short = stage.partition("/")
        count = totals.get((f"ray_transcribe_{scope}_stage_seconds_count", short), 0)
        mean = round(value / count, 3) if count else None
        stage_rows.append([stage, int(count), round(value, 2), mean])
    counters = [
        [name, stage, int(value)]
        for (name, stage), value in sorted(totals.items())
        if name.endswith("_total") and name != "ray_transcribe_stage_seconds_total"
    ]
    batches = totals.get(("ray_transcribe_asr_batch_size_count", ""), 0)
    if batches:
        mean_size = totals[("ray_transcribe_asr_batch_size_sum", "")] / batches
        counters.append(["ASR batches (mean size)", f"{mean_size:.2f}", int(batches)])
    return [
        table("Jobs", ["job", "status", "wall s", "first segment s"], job_rows),
        table(
            "Seconds per stage",
            ["stage (scope/stage)", "count", "total s", "mean s"],
            stage_rows,
            caption="From the app's Prometheus metrics, summed over replicas.",
        ),
        table("Counters", ["series", "tag", "value"], counters),
    ]


if __name__ == "__main__":
    main()
