"""Batched (``asr.batch_size`` > 1) against one-chunk-per-pass Whisper ASR.

    .venv/bin/python bench/bench_asr_batching.py                  # 10 min of espeak-ng speech
    .venv/bin/python bench/bench_asr_batching.py --variants 1x2:1,1x2:4 --repeat 3

Cuts the same file into chunks the way the chunker does (silero VAD, cuts in silence), then
for each variant deploys the ``WhisperASR`` deployment alone on a local Ray (loopback) and
sends every chunk through its handle with ``--inflight`` chunks in flight, as the chunker
does. A variant is ``REPLICASxTHREADS:BATCH``: ``1x2:1`` is one replica with 2 CTranslate2
threads decoding one chunk at a time, ``1x2:4`` the same replica batching up to 4 chunks.
Variants alternate ``--repeat`` times; prints medians of the total wall time, per-chunk
latency (dispatch -> result: queueing included) and the word error rate against the text
that was synthesised, and writes the table to ``bench/results/asr_batching.json``
(bench/report.py). Model loading is excluded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.report import command_line, table, write_results
from serve_app.config import AppConfig, load_config

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Variant:
    replicas: int
    threads: int
    batch_size: int

    @classmethod
    def parse(cls, text: str) -> Variant:
        shape, _, batch = text.partition(":")
        replicas, _, threads = shape.partition("x")
        return cls(int(replicas), int(threads), int(batch or 1))

    def __str__(self) -> str:
        return f"{self.replicas}x{self.threads}:{self.batch_size}"


@dataclass
class Run:
    total_s: float
    latencies_s: list[float]
    text: str


def make_chunks(audio: np.ndarray, config: AppConfig) -> list[np.ndarray]:
    from serve_app.audio.chunking import plan_chunks
    from serve_app.audio.vad import detect_speech

    max_samples = int(config.chunker.chunk_length_s * SAMPLE_RATE)
    speech = detect_speech(audio, config.chunker.vad, config.chunker.chunk_length_s)
    return [audio[c.start : c.end] for c in plan_chunks(speech, audio.shape[0], max_samples)]


def deploy(config: AppConfig, variant: Variant) -> Any:
    from ray import serve

    from deployments.asr import WhisperASR

    asr = config.asr.model_copy(
        update={"cpu_threads": variant.threads, "batch_size": variant.batch_size}
    )
    options = asr.deployment.model_copy(
        update={
            "autoscaling_config": None,
            "num_replicas": variant.replicas,
            "max_ongoing_requests": 2 * variant.batch_size,  # the next batch queues
        }
    ).to_serve_options()
    options["ray_actor_options"]["num_cpus"] = 0  # placement is not what is measured
    app = serve.deployment(name="WhisperASR", **options)(WhisperASR).bind(asr, config.models)
    return serve.run(app, name="asr_bench", route_prefix=None)


async def run_once(handle: Any, chunks: list[np.ndarray], inflight: int) -> Run:
    from serve_app.asr.decoding import DecodeOptions

    gate = asyncio.Semaphore(inflight)
    latencies = [0.0] * len(chunks)
    texts = [""] * len(chunks)

    async def one(i: int, chunk: np.ndarray) -> None:
        async with gate:
            sent = time.perf_counter()
            result = await handle.transcribe_chunk.remote(chunk, "en", DecodeOptions())
            latencies[i] = time.perf_counter() - sent
            texts[i] = " ".join(s.text for s in result.segments)

    started = time.perf_counter()
    await asyncio.gather(*(one(i, c) for i, c in enumerate(chunks)))
    return Run(time.perf_counter() - started, latencies, " ".join(texts))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--synth-minutes", type=float, default=10.0)
    parser.add_argument("--config", default="configs/local-cpu.yaml")
    parser.add_argument("--variants", default="2x1:1,2x1:2,1x2:1,1x2:4")
    parser.add_argument("--inflight", type=int, default=8, help="chunks in flight at once")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--name", default="asr_batching", help="results name (bench/results/)")
    args = parser.parse_args()
    config = load_config({"config": args.config})
    variants = [Variant.parse(v) for v in args.variants.split(",")]

    from eval.speech import long_speech, wer

    audio, reference = long_speech(args.synth_minutes)
    chunks = make_chunks(audio, config)
    duration = audio.shape[0] / SAMPLE_RATE
    print(f"audio {duration:.0f} s, {len(chunks)} chunks, model {config.asr.default_model}")

    from ray import serve

    from serve_app.launch import start_local_ray

    start_local_ray()
    runs: dict[Variant, list[Run]] = {v: [] for v in variants}
    try:
        for i in range(args.repeat):
            for variant in variants:
                handle = deploy(config, variant)
                asyncio.run(run_once(handle, chunks[:2], args.inflight))  # warm-up
                run = asyncio.run(run_once(handle, chunks, args.inflight))
                runs[variant].append(run)
                print(f"run {i + 1} {variant}: {run.total_s:.1f} s", flush=True)
                serve.delete("asr_bench")
    finally:
        serve.shutdown()
        import ray

        ray.shutdown()

    rows = []
    for variant, done in runs.items():
        total = statistics.median(r.total_s for r in done)
        latencies = sorted(x for r in done for x in r.latencies_s)
        p50 = latencies[len(latencies) // 2]
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        error = wer(reference, done[-1].text)
        rows.append(
            [str(variant), round(total, 1), round(total / duration, 3), round(p50, 2),
             round(p95, 2), round(error, 3)]
        )  # fmt: skip
    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                "ASR deployment alone: batched against one chunk per pass",
                [
                    "variant (replicas x threads : batch)",
                    "total s",
                    "RTF",
                    "chunk p50 s",
                    "chunk p95 s",
                    "WER",
                ],
                rows,
                caption=f"{duration:.0f} s of espeak speech in {len(chunks)} chunks, "
                f"{args.inflight} in flight, {config.asr.default_model}; median of "
                f"{args.repeat}.",
            )
        ],
        notes=f"{args.config}; model loading and one 2-chunk warm-up per variant excluded.",
    )


if __name__ == "__main__":
    main()
