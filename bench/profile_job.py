"""Where a job's time goes, from the app's own Prometheus metrics.

    .venv/bin/python bench/profile_job.py --synth-minutes 4            # espeak-ng speech
    .venv/bin/python bench/profile_job.py my.mp3 --diarize --jobs 2

Starts the graph of ``configs/local-cpu.yaml`` (LLM off) on a local Ray (loopback), runs the
jobs one after another, scrapes Ray's metrics endpoint and prints, per stage, how many times
it was observed and its total and mean time (README "Metrics" says what each stage covers),
with the job's own wall time and time to first segment beside them.
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
    args = parser.parse_args()
    config = graph_config(args)
    path, _ = bench_audio(args)

    metrics_port = free_port()
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    with (
        local_app(config, metrics_port=metrics_port) as url,
        httpx.Client(base_url=url, timeout=600) as http,
    ):
        jobs = [run_job(http, path, args.diarize) for _ in range(args.jobs)]
        # Ray exports application metrics every few seconds: wait for the last job's.
        want = ("ray_transcribe_jobs_finished_total", "")
        deadline = time.monotonic() + 60
        while (totals := scrape(metrics_url)).get(want, 0) < args.jobs:
            if time.monotonic() > deadline:
                raise SystemExit("the job metrics never reached the endpoint")
            time.sleep(2)

    for job in jobs:
        timings = job.get("timings") or {}
        print(
            f"job {job['job_id'][:8]}: {job['status']}, wall {job['wall_s']:.2f} s, "
            f"first segment {timings.get('first_segment_s', float('nan')):.2f} s, "
            f"timings {timings}"
        )
    # Exact seconds per stage (the counter), with the histogram's count beside them.
    print(f"\n{'stage (scope/stage)':<22} {'count':>6} {'total s':>9} {'mean s':>8}")
    for (name, stage), value in sorted(totals.items()):
        if name != "ray_transcribe_stage_seconds_total":
            continue
        scope, _, short = stage.partition("/")
        histogram = f"ray_transcribe_{scope}_stage_seconds_count"
        count = totals.get((histogram, short), 0)
        mean = value / count if count else float("nan")
        print(f"{stage:<22} {count:>6.0f} {value:>9.2f} {mean:>8.3f}")
    for (name, stage), value in sorted(totals.items()):
        if name.endswith("_total") and name != "ray_transcribe_stage_seconds_total":
            print(f"{name + (' ' + stage if stage else ''):<48} {value:>8.0f}")
    batches = totals.get(("ray_transcribe_asr_batch_size_count", ""), 0)
    if batches:
        chunks = totals[("ray_transcribe_asr_batch_size_sum", "")]
        print(f"ASR batches {batches:.0f}, mean size {chunks / batches:.2f}")


if __name__ == "__main__":
    main()
