"""What the graph benchmarks share: config overrides from the command line, and the audio."""

from __future__ import annotations

import argparse
import functools
import tempfile
from pathlib import Path
from typing import Any

import yaml

from serve_app.config import AppConfig, deep_merge, load_config


def add_graph_args(parser: argparse.ArgumentParser, minutes: float) -> None:
    parser.add_argument("audio", nargs="?", type=Path, help="default: synthesised speech")
    parser.add_argument("--synth-minutes", type=float, default=minutes)
    parser.add_argument("--config", default="configs/local-cpu.yaml")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="YAML",
        help="config override, e.g. --set 'asr: {batch_size: 4}' (repeatable)",
    )


def graph_config(args: argparse.Namespace, base: dict[str, Any] | None = None) -> AppConfig:
    """``args.config`` with ``base`` and then every ``--set`` on top; the LLM off unless
    ``base`` turns it on (it plays no part in transcription)."""
    merged = deep_merge(
        {"config": args.config, "ingress": {"max_upload_mb": 2000}, "llm": {"enabled": False}},
        base or {},
    )
    overrides = [yaml.safe_load(text) for text in args.set]
    return load_config(functools.reduce(deep_merge, overrides, merged))


def bench_audio(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The file to send, and the synthesised script when there is one (for WER)."""
    if args.audio is not None:
        return args.audio, None
    from eval.speech import encode, long_speech

    audio, script = long_speech(args.synth_minutes)
    path = Path(tempfile.gettempdir()) / f"bench_speech_{args.synth_minutes:g}min.mp3"
    path.write_bytes(encode(audio, "mp3"))
    return path, script
