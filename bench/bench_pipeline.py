"""End-to-end speed of the Serve pipeline against faster-whisper run directly, on the same file.

    .venv/bin/python bench/bench_pipeline.py path/to/audio.mp3
    .venv/bin/python bench/bench_pipeline.py --synth-minutes 10     # espeak-ng speech

Runs, in one process, alternating run by run: (1) a plain ``WhisperModel.transcribe()``
with the model, compute type, VAD and decoding options the ASR deployment uses (all cores
to the engine); (2) faster-whisper's own batched mode (``BatchedInferencePipeline``,
``--batch-size`` 8), the fastest thing a user would run instead; (3) the graph from
``configs/local-cpu.yaml`` on a local Ray (loopback), timing upload -> final result and the
time to the first segment on the WebSocket. Model loading and ``--warmup`` runs are
excluded. Prints medians, both ratios, and the WER of each against the script when the
speech is synthesised, and writes them to ``bench/results/pipeline.json`` (bench/report.py;
``--name`` changes the name). ``--device cuda`` is the GPU mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.graph_common import add_graph_args, bench_audio, graph_config
from bench.report import command_line, table, write_results
from serve_app.asr.registry import ModelRegistry
from serve_app.client.api import local_headers
from serve_app.launch import local_app
from serve_app.paths import resolve_path


def load_plain_engine(config, threads: int):
    from faster_whisper import WhisperModel

    _, model_dir = ModelRegistry(resolve_path(config.models.models_dir)).resolve(
        config.asr.default_model
    )
    device = config.asr.device
    return WhisperModel(
        str(model_dir),
        device=device,
        compute_type=config.asr.resolved_compute_type(device),
        cpu_threads=threads,
        local_files_only=True,
    )


def plain_engine(model, path: Path, config) -> tuple[float, str, float]:
    started = time.perf_counter()
    segments, info = model.transcribe(
        str(path),
        beam_size=config.asr.beam_size,
        vad_filter=config.asr.vad_filter,
        condition_on_previous_text=config.asr.condition_on_previous_text,
        word_timestamps=config.asr.word_timestamps,
    )
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - started, text, info.duration


def batched_engine(model, path: Path, config, batch_size: int) -> tuple[float, str]:
    """faster-whisper's own batched mode (``BatchedInferencePipeline``, its VAD on), the
    fastest thing a user would run instead of the graph; same model and compute type."""
    from faster_whisper import BatchedInferencePipeline

    started = time.perf_counter()
    segments, _ = BatchedInferencePipeline(model).transcribe(
        str(path),
        batch_size=batch_size,
        beam_size=config.asr.beam_size,
        word_timestamps=config.asr.word_timestamps,
    )
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - started, text


def pipeline(path: Path, url: str, diarize: bool) -> tuple[float, float | None, str]:
    from websockets.sync.client import connect

    # make run's anonymous mode: the local admin key, so the live stream sees the job
    headers = local_headers(url)
    with httpx.Client(base_url=url, timeout=600, headers=headers) as http:
        data = path.read_bytes()
        first_segment: list[float] = []
        started = time.perf_counter()
        job_id = http.post(
            "/api/transcribe/",
            files={"file": (path.name, data)},
            data={"diarize": str(diarize).lower()},
        ).json()["job_id"]

        def watch() -> None:
            ws_url = url.replace("http", "ws") + f"/api/transcribe/live/{job_id}"
            with connect(ws_url, additional_headers=headers) as ws:
                for raw in ws:
                    if json.loads(raw).get("type") == "segment":
                        first_segment.append(time.perf_counter() - started)
                        return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        while True:
            status = http.get(f"/api/transcribe/status/{job_id}").json()
            if status["status"] != "processing":
                break
            time.sleep(0.1)
        result = http.get(f"/api/transcribe/result/{job_id}")
        elapsed = time.perf_counter() - started
        if status["status"] != "completed":
            raise SystemExit(f"pipeline job failed: {status['message']}")
        watcher.join(timeout=5)
        return elapsed, (first_segment[0] if first_segment else None), result.json()["text"]


def agreement(a: str, b: str) -> float:
    from eval.speech import wer

    return 1 - wer(a, b)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add_graph_args(parser, minutes=10.0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cuda: the GPU mode (asr.device cuda, float16, batch_size = --batch-size, in the "
        "graph and in both engines)",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="uncounted runs of each first (default 1)"
    )
    parser.add_argument(
        "--diarize", action="store_true", help="diarize too (the plain engine does not)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--batch-size", type=int, default=8, help="for the batched engine")
    parser.add_argument("--name", default="pipeline", help="results name (bench/results/)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CTranslate2 threads for the plain engine (default: all cores)",
    )
    args = parser.parse_args()
    base: dict = {}
    if args.device == "cuda":
        batch = args.batch_size
        base["asr"] = {
            "device": "cuda",
            "compute_type": "float16",
            "batch_size": batch,
            "deployment": {
                "max_ongoing_requests": 2 * batch,
                "ray_actor_options": {"num_gpus": 0.4},
            },
        }
        base["chunker"] = {"max_inflight_chunks": 4 * batch}
        base["diarizer"] = {"device": "cuda"}
    config = graph_config(args, base)
    path, reference = bench_audio(args)
    print(f"audio: {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)

    # Alternate the two so machine noise hits both alike; report medians.
    model = load_plain_engine(config, args.threads)
    plain_runs, batched_runs, pipe_runs, ttfs_runs = [], [], [], []
    with local_app(config, args.port) as url:
        for _ in range(args.warmup):  # models warm, and Serve's controller settled
            plain_engine(model, path, config)
            batched_engine(model, path, config, args.batch_size)
            pipeline(path, url, args.diarize)
        for i in range(args.repeat):
            plain_s, plain_text, duration = plain_engine(model, path, config)
            batched_s, batched_text = batched_engine(model, path, config, args.batch_size)
            pipe_s, ttfs, pipe_text = pipeline(path, url, args.diarize)
            plain_runs.append(plain_s)
            batched_runs.append(batched_s)
            pipe_runs.append(pipe_s)
            if ttfs is not None:
                ttfs_runs.append(ttfs)
            print(
                f"run {i + 1}: plain {plain_s:.1f} s, batched {batched_s:.1f} s, "
                f"pipeline {pipe_s:.1f} s, "
                f"first segment {ttfs if ttfs is not None else float('nan'):.2f} s",
                flush=True,
            )
    plain_s, pipe_s = statistics.median(plain_runs), statistics.median(pipe_runs)
    batched_s = statistics.median(batched_runs)
    ttfs = statistics.median(ttfs_runs) if ttfs_runs else None

    compute = config.asr.resolved_compute_type(args.device)
    wers: dict[str, float | None] = {"plain": None, "batched": None, "pipeline": None}
    if reference is not None:
        from eval.speech import wer

        texts = {"plain": plain_text, "batched": batched_text, "pipeline": pipe_text}
        wers = {name: round(wer(reference, text), 3) for name, text in texts.items()}
    engines = [
        ["plain faster-whisper", f"{args.threads} threads", plain_s, wers["plain"]],
        ["batched faster-whisper", f"batch {args.batch_size}", batched_s, wers["batched"]],
        ["serve pipeline, end to end", "diarized" if args.diarize else "not diarized",
         pipe_s, wers["pipeline"]],
    ]  # fmt: skip
    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                f"One file through each engine, median of {args.repeat}",
                ["engine", "setting", "seconds", "RTF", "WER"],
                [
                    [e, how, round(sec, 1), round(sec / duration, 3), w]
                    for e, how, sec, w in engines
                ],
                caption=f"{duration:.0f} s of audio ({path.name}), {config.asr.default_model} / "
                f"{compute} on {args.device}; WER against the script (synthesised speech only).",
            ),
            table(
                "Pipeline against the engines",
                [
                    "pipeline / plain",
                    "pipeline / batched",
                    "first segment s",
                    "text agreement with plain (1 - WER)",
                ],
                [
                    [
                        round(pipe_s / plain_s, 2),
                        round(pipe_s / batched_s, 2),
                        round(ttfs, 2) if ttfs is not None else None,
                        round(agreement(plain_text, pipe_text), 3),
                    ]
                ],
            ),
        ],
        notes=f"{args.config}; {args.warmup} warm-up run(s) of each excluded.",
    )


if __name__ == "__main__":
    main()
