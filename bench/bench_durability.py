"""What durable jobs cost: pipeline wall time on SQLite and on PostgreSQL, and how long a job
stands still after its chunker replica is killed.

    .venv/bin/python bench/bench_durability.py                  # 4 minutes of espeak speech
    .venv/bin/python bench/bench_durability.py --minutes 4 --repeat 3 --kills 3

For each job database (SQLite file; a throw-away PostgreSQL 15 on loopback from
tests/services.py) the graph of configs/local-cpu.yaml (tiny.en, diarization and the LLM
off) runs on a local Ray, and the same upload is transcribed ``--repeat`` times: upload to
completed, medians. Then, on SQLite, the chunker replica is SIGKILLed mid-job ``--kills``
times: the time from the kill to the first chunk started again (by the resumed job) and to
completion. Prints the tables and writes them to ``bench/results/durability.json``
(bench/report.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.report import command_line, table, write_results
from eval.speech import encode, long_speech
from serve_app.client.api import local_headers
from serve_app.config import load_config
from serve_app.launch import local_app
from tests.faults.cluster import (
    chunks_in_flight,
    pid_of,
    replica_actors,
    sigkill,
    wait_finished,
    wait_for,
)
from tests.services import postgres_server


def _config(database_url: str, tmp: Path) -> Any:
    return load_config(
        {
            "config": "configs/local-cpu.yaml",
            "diarizer": {"enabled": False},
            "llm": {"enabled": False},
            "job_store": {"database_url": database_url, "actor_name": "job_store_bench"},
            "audio_store": {"url": str(tmp / "audio")},
        }
    )


def _run(http: httpx.Client, audio: bytes) -> tuple[str, float]:
    started = time.perf_counter()
    job_id = http.post(
        "/api/transcribe/", files={"file": ("bench.mp3", audio)}, data={"diarize": "false"}
    ).json()["job_id"]
    status = wait_finished(http, job_id, timeout=900)
    assert status["status"] == "completed", status
    return job_id, time.perf_counter() - started


def wall_times(database_url: str, audio: bytes, repeat: int, tmp: Path) -> list[float]:
    with (
        local_app(_config(database_url, tmp)) as url,
        httpx.Client(base_url=url, timeout=120) as http,
    ):
        _run(http, audio)  # warm-up: first-call costs are not what we compare
        return [_run(http, audio)[1] for _ in range(repeat)]


def kill_to_running(audio: bytes, kills: int, tmp: Path) -> list[dict[str, float]]:
    out = []
    config = _config(f"sqlite:///{tmp / 'kills.sqlite3'}", tmp)
    # /debug needs the local admin key (auth off: anonymous callers are not admin)
    with (
        local_app(config) as url,
        httpx.Client(base_url=url, timeout=120, headers=local_headers(url)) as http,
    ):
        for _ in range(kills):
            job_id = http.post(
                "/api/transcribe/", files={"file": ("k.mp3", audio)}, data={"diarize": "false"}
            ).json()["job_id"]
            wait_for(lambda: chunks_in_flight(http, job_id), timeout=300)  # noqa: B023
            (chunker,) = replica_actors("Chunker")
            sigkill(pid_of(chunker))
            killed = time.time()

            def restarted() -> float | None:
                chunks = http.get(f"/api/transcribe/debug/{job_id}").json()["chunks"]  # noqa: B023
                times = [c["started_at"] for c in chunks if (c["started_at"] or 0) > killed]  # noqa: B023
                return min(times) if times else None

            running_again = wait_for(restarted, timeout=300, interval=0.05)
            status = wait_finished(http, job_id, timeout=900)
            assert status["status"] == "completed", status
            out.append(
                {"to_running_s": running_again - killed, "to_completed_s": time.time() - killed}
            )
            wait_for(lambda: len(replica_actors("Chunker")) == 1, timeout=120)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()
    speech, _ = long_speech(args.minutes, seed=4)
    audio = encode(speech, "mp3")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sqlite = wall_times(f"sqlite:///{tmp / 'jobs.sqlite3'}", audio, args.repeat, tmp)
        postgres_url = stack.enter_context(postgres_server())
        postgres = wall_times(postgres_url, audio, args.repeat, tmp)
        kills = kill_to_running(audio, args.kills, tmp)
    med_sqlite, med_pg = statistics.median(sqlite), statistics.median(postgres)
    seconds = len(speech) / 16000
    write_results(
        "durability",
        command=command_line(),
        tables=[
            table(
                f"Job database: upload to completed, median of {args.repeat}",
                ["database", "median s", "runs s", "against SQLite"],
                [
                    ["SQLite", round(med_sqlite, 2), str([round(t, 2) for t in sqlite]), 1.0],
                    ["PostgreSQL", round(med_pg, 2), str([round(t, 2) for t in postgres]),
                     round(med_pg / med_sqlite, 3)],
                ],
                caption=f"{seconds:.0f} s of espeak speech, tiny.en, one warm-up run excluded.",
            ),
            table(
                "Chunker replica SIGKILLed mid-job (SQLite)",
                ["kill", "to running again s", "to completed s"],
                [[i + 1, round(k["to_running_s"], 1), round(k["to_completed_s"], 1)]
                 for i, k in enumerate(kills)],
            ),
        ],
        notes="configs/local-cpu.yaml, diarization and the LLM off; PostgreSQL 15 on loopback.",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
