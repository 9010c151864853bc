"""The autoscaler's reaction on a two-node local Ray cluster, and the cost of a cold start.

Runs the drill of ``tests/faults/test_autoscaling.py`` (two ``ray start`` nodes on loopback,
one logical GPU each; ASR at half a GPU per replica, 1-3 replicas on the queued-audio
policy, target 60 audio-seconds per replica; a burst of two ~7-minute uploads and a
~38-minute one; the re-transcriber scaled to zero) and reports, from the burst: the second
ASR replica running, the third (on the other node), the first scale-down, every job done, back to
one replica; and the re-transcriber's cold start from zero as a client sees it (503
"starting", then the answer). The bare baseline from the same run: loading the same
Whisper model (tiny.en, int8, 1 thread) in this process, which is the floor of any
replica start.

    make bench-autoscaling
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for key, value in {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}.items():
    os.environ.setdefault(key, value)

from bench.report import command_line, table, write_results  # noqa: E402
from tests.faults.test_autoscaling import (  # noqa: E402
    BURST_JOBS,
    MAX_ASR,
    TARGET_AUDIO_S,
    run_drill,
)


def bare_model_load_s() -> float:
    """Loading tiny.en with faster-whisper in this process (what a replica must at least do)."""
    from faster_whisper import WhisperModel

    from serve_app.asr.registry import build_registry
    from serve_app.config import load_config

    config = load_config({"config": "configs/local-cpu.yaml"})
    _, path = build_registry(config.models, config.asr).resolve("tiny.en")
    started = time.perf_counter()
    WhisperModel(
        str(path),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
        local_files_only=True,
    )
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-autoscaling-") as tmp:
        found = run_drill(Path(tmp))
    bare = bare_model_load_s()
    r = lambda v: round(float(v), 1)  # noqa: E731
    reaction = table(
        "ASR scaling on queued audio (two nodes, logical GPUs)",
        ["event", "seconds after the burst"],
        [
            ["2nd replica running", r(found["second_replica_s"])],
            [f"{MAX_ASR}rd replica running (other node)", r(found["peak_replicas_s"])],
            ["first scale-down", r(found["scale_down_started_s"])],
            ["every job done", r(found["jobs_done_s"])],
            ["back to 1 replica", r(found["back_to_min_s"])],
        ],
        caption=(
            f"{BURST_JOBS} uploads at once ({', '.join(map(str, found['upload_audio_s']))} s of "
            f"audio); target "
            f"{TARGET_AUDIO_S:g} audio-s per replica, upscale delay 1 s, downscale delay 6 s, "
            "metrics pushed every 0.5 s. Jobs still running at the first scale-down: "
            f"{len(found['jobs_running_at_scale_down'])}; "
            f"{found['statuses'].count('completed')} of {BURST_JOBS} completed."
        ),
    )
    cold = table(
        "Cold start from zero (re-transcriber) against the bare model load",
        ["measure", "seconds", "x bare"],
        [
            ["bare: tiny.en loaded in-process", r(bare), 1.0],
            [
                "re-transcriber: first request to answer",
                r(found["cold_start_s"]),
                round(found["cold_start_s"] / bare, 1),
            ],
            [
                "2nd ASR replica: burst to running",
                r(found["second_replica_s"]),
                round(found["second_replica_s"] / bare, 1),
            ],
            ["re-transcriber idle again at zero", r(found["back_to_zero_s"]), None],
        ],
        caption=(
            f"The first request got {found['starting_status']} "
            f"({found['starting_body'].get('code')}, Retry-After "
            f"{found['starting_retry_after']}); the client retried until the answer."
        ),
    )
    print(f"cold start / bare model load: {found['cold_start_s'] / bare:.1f}x")
    write_results(
        "autoscaling",
        command=command_line(),
        tables=[reaction, cold],
        notes=(
            "A two-node Ray cluster on one 2-core CPU machine, with logical GPUs: placement "
            "and reaction times, not GPU speed. On GPU nodes a replica start also loads the "
            "model onto the card (expected 10-20 s for large-v3; not measured here)."
        ),
    )


if __name__ == "__main__":
    main()
