"""Realtime transcription (``/v1/realtime``) on real speech streamed at real time.

    .venv/bin/python bench/realtime.py                       # make bench-realtime
    .venv/bin/python bench/realtime.py --seconds 90 --sessions 1,2,4

English Debian asterisk prompts of the *report* split (eval/real_data.py; tuning used the
other split), joined into one file, are streamed through the CLI's client code
(serve_app/client/realtime.py: pcm16 at 24 kHz, 100 ms frames, paced at real time) into the
graph of ``configs/local-cpu.yaml`` (``tiny.en``, LLM off) on a local Ray. Measured:

* latency from the end of each utterance (``speech_stopped``'s ``audio_end_ms``, at the
  moment that audio was sent) to its ``completed`` event, p50 and p95; beside it the floor a
  bare engine would have: the VAD's silence wait plus bare faster-whisper decoding that
  utterance's audio in this process;
* time from the start of speech (``speech_started``'s ``audio_start_ms``) to the utterance's
  first ``delta``;
* WER (jiwer on Whisper's normaliser, eval/real_speech.py) of the realtime transcript, of the
  same file as a file job, and of bare faster-whisper on it, against the prompts' text;
* concurrent sessions (1, 2, 4, ... each on its own stretch of the audio) until the p50
  latency is more than twice the one-session figure, or a session is refused.

Writes bench/results/realtime.json (bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from bench.graph_common import graph_config
from bench.report import command_line, table, write_results
from eval import real_data, real_pipeline
from eval.real_speech import wer
from serve_app.client.api import local_key
from serve_app.client.realtime import RATE, SessionRun, decode_pcm16, stream_pcm
from serve_app.launch import local_app

SR = real_data.SR
DOUBLING = 2.0
"""A session count holds real time while its p50 latency stays within this factor of one
session's."""


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def latencies(run: SessionRun) -> tuple[list[float], list[float]]:
    """(end of speech -> completed, start of speech -> first delta), seconds, per utterance."""
    done, first = [], []
    for u in run.transcript.utterances.values():
        if u.completed_at is not None and u.speech_end_s is not None and u.text:
            done.append(u.completed_at - run.sent_at(u.speech_end_s))
        if u.first_delta_at is not None and u.speech_start_s is not None:
            first.append(u.first_delta_at - run.sent_at(u.speech_start_s))
    return done, first


async def sessions(url: str, key: str | None, pcms: list[bytes]) -> list[SessionRun]:
    return list(await asyncio.gather(*(stream_pcm(url, key, pcm, language="en") for pcm in pcms)))


def file_job(url: str, key: str | None, wav: Path) -> str:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url, timeout=600, headers=headers) as http:
        job = http.post(
            "/api/transcribe/",
            files={"file": (wav.name, wav.read_bytes())},
            data={"diarize": "false", "language": "en"},
        ).json()
        while (status := http.get(f"/api/transcribe/status/{job['job_id']}").json())[
            "status"
        ] == "processing":
            time.sleep(0.2)
        if status["status"] != "completed":
            raise SystemExit(f"file job failed: {status['message']}")
        return str(http.get(f"/api/transcribe/result/{job['job_id']}").json()["text"])


def bare_floor(
    config: Any, audio: np.ndarray, run: SessionRun
) -> tuple[str, list[float], list[float]]:
    """Bare faster-whisper: its text of the whole file; per utterance the silence wait plus
    its time to decode that utterance's audio (the least a VAD-cut stream can take); and per
    utterance the end of its first word (from the utterance's padded start, as the first
    delta is timed) plus the time to decode the audio up to there (the earliest that word
    can be printed by a decoder on this machine, if it was started exactly then)."""
    model = real_pipeline.load_whisper(config, config.asr.default_model)
    options = {
        "language": "en",
        "beam_size": config.asr.beam_size,
        "condition_on_previous_text": config.asr.condition_on_previous_text,
    }
    segments, _ = model.transcribe(audio, vad_filter=True, **options)
    text = " ".join(s.text.strip() for s in segments)
    wait = config.ingress.realtime.silence_duration_ms / 1000
    floors, first = [], []
    for u in run.transcript.utterances.values():
        if u.speech_start_s is None or u.speech_end_s is None or not u.text:
            continue
        piece = audio[int(u.speech_start_s * SR) : int(u.speech_end_s * SR)]
        started = time.perf_counter()
        found = list(model.transcribe(piece, vad_filter=False, word_timestamps=True, **options)[0])
        floors.append(wait + time.perf_counter() - started)
        words = [w for s in found for w in (s.words or []) if w.word.strip()]
        if words:
            started = time.perf_counter()
            list(model.transcribe(piece[: int(words[0].end * SR)], **options)[0])
            first.append(words[0].end + time.perf_counter() - started)
    return text, floors, first


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="audio of the one session")
    parser.add_argument("--sweep-seconds", type=float, default=40.0, help="audio per session")
    parser.add_argument("--sessions", default="2,4,8", help="concurrent sessions to try")
    parser.add_argument("--split", choices=["report", "tune"], default="report")
    parser.add_argument("--config", default="configs/local-cpu.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="YAML")
    parser.add_argument("--name", default="realtime")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    config = graph_config(
        args,
        {"ingress": {"realtime": {"max_sessions_per_caller": 64, "max_sessions": 64}}},
    )
    longest = max(args.seconds, args.sweep_seconds * 2)
    speech = real_data.asterisk_file("en", args.split, seconds=longest)
    tmp = Path(tempfile.mkdtemp(prefix="bench_realtime_"))
    # whole prompts of at least --seconds, and their text
    one_file = real_data.asterisk_file("en", args.split, seconds=args.seconds)
    one_audio, reference = one_file.audio, one_file.text
    one_wav = write_wav(tmp / "one.wav", one_audio)
    one_pcm = decode_pcm16(one_wav, RATE)  # as `transcribe stream --realtime` sends it
    full_pcm = decode_pcm16(write_wav(tmp / "all.wav", speech.audio), RATE)
    window = int(args.sweep_seconds * RATE) * 2
    span = max(1, len(full_pcm) - window)

    sweep: list[list[Any]] = []
    started = time.monotonic()
    with local_app(config) as url:
        key = local_key(url)
        print(f"one session: {len(one_pcm) / 2 / RATE:.0f} s of {speech.name}", flush=True)
        (one,) = asyncio.run(sessions(url, key, [one_pcm]))
        print("file job of the same audio", flush=True)
        file_text = file_job(url, key, one_wav)
        base_p50 = None
        for n in counts:
            # each session on its own stretch (whole samples: offsets on even bytes)
            offsets = [(i * span // max(n, 1)) // 2 * 2 for i in range(n)]
            pcms = [full_pcm[o : o + window] for o in offsets]
            print(f"{n} concurrent sessions of {args.sweep_seconds:.0f} s", flush=True)
            try:
                runs = asyncio.run(sessions(url, key, pcms))
            except Exception as exc:  # refused or failed: the count does not hold
                sweep.append([n, 0, None, None, None, f"failed: {exc}"[:80], "no"])
                break
            done = [x for run in runs for x in latencies(run)[0]]
            first = [x for run in runs for x in latencies(run)[1]]
            errors = sum(len(run.transcript.errors) for run in runs)
            p50 = percentile(done, 0.5)
            if base_p50 is None:
                base_p50 = percentile(latencies(one)[0], 0.5)
            holds = p50 is not None and base_p50 is not None and p50 <= DOUBLING * base_p50
            holds = holds and errors == 0
            sweep.append(
                [
                    n,
                    len(done),
                    r(p50),
                    r(percentile(done, 0.95)),
                    r(percentile(first, 0.5)),
                    errors,
                    "yes" if holds else "no",
                ]
            )
            if not holds:
                break
    bench_s = time.monotonic() - started
    print("bare faster-whisper on the same audio", flush=True)
    bare_text, floors, first_floors = bare_floor(config, one_audio, one)

    done, first = latencies(one)
    utterances = len(one.transcript.completed)
    no_delta = sum(1 for u in one.transcript.completed if u.first_delta_at is None)
    spoken = [u for u in one.transcript.completed if u.text]
    with_speaker = sum(1 for u in spoken if u.speaker)
    rt_text = one.transcript.text()
    scores = {
        "realtime session": wer(reference, rt_text, "en"),
        "file job (same audio)": wer(reference, file_text, "en"),
        "bare faster-whisper": wer(reference, bare_text, "en"),
    }
    gap = 100 * (scores["realtime session"].wer - scores["file job (same audio)"].wer)

    def ratio(ours: float | None, bare: float | None) -> float | None:
        return None if ours is None or not bare else round(ours / bare, 2)

    p50, p95 = percentile(done, 0.5), percentile(done, 0.95)
    f50, f95 = percentile(floors, 0.5), percentile(floors, 0.95)
    d50, d95 = percentile(first, 0.5), percentile(first, 0.95)
    g50, g95 = percentile(first_floors, 0.5), percentile(first_floors, 0.95)
    sweep_rows = [
        [
            1,
            len(done),
            r(p50),
            r(p95),
            r(percentile(first, 0.5)),
            len(one.transcript.errors),
            "yes",
        ],
        *sweep,
    ]
    held = max((row[0] for row in sweep_rows if row[-1] == "yes"), default=0)
    write_results(
        args.name,
        command=command_line(),
        tables=[
            table(
                "One realtime session at real time",
                ["measure", "ours s", "bare floor s", "ours / floor"],
                [
                    ["end of speech -> completed, p50", r(p50), r(f50), ratio(p50, f50)],
                    ["end of speech -> completed, p95", r(p95), r(f95), ratio(p95, f95)],
                    ["speech start -> first delta, p50", r(d50), r(g50), ratio(d50, g50)],
                    ["speech start -> first delta, p95", r(d95), r(g95), ratio(d95, g95)],
                ],
                caption=f"{len(one_pcm) / 2 / RATE:.0f} s of {speech.name} "
                f"({speech.source}), {config.asr.default_model}; {utterances} utterances, "
                f"{no_delta} too short for a delta, {with_speaker} of {len(spoken)} with text "
                "had a live speaker on their completed event (a speaker found later comes in "
                "its own event, not counted). Bare floor of completed: the VAD's silence wait "
                f"({config.ingress.realtime.silence_duration_ms} ms) plus bare faster-whisper "
                "decoding the utterance in this process, one after the other; a speculative "
                f"final (after {config.ingress.realtime.speculative_final_ms} ms of silence) "
                "overlaps the two, so ours can be below it. Bare floor of the first delta: the end "
                "of the utterance's first word (bare faster-whisper's word times, from the "
                "padded speech start) plus decoding the audio up to it. Targets: completed "
                "p50 <= 1.0 s, first delta <= 1.5 s.",
            ),
            table(
                "WER against the prompts' text",
                ["system", "WER %", "words", "sub", "del", "ins"],
                [
                    [
                        name,
                        round(100 * s.wer, 1),
                        s.words,
                        s.substitutions,
                        s.deletions,
                        s.insertions,
                    ]
                    for name, s in scores.items()
                ],
                caption=f"Realtime minus file job: {gap:+.1f} points (target: within 2).",
            ),
            table(
                "Concurrent realtime sessions",
                [
                    "sessions",
                    "utterances",
                    "completed p50 s",
                    "completed p95 s",
                    "first delta p50 s",
                    "errors",
                    "holds real time",
                ],
                sweep_rows,
                caption=f"Holds: p50 within {DOUBLING:g}x one session's and no error. The "
                f"first row is the one session above ({len(one_pcm) / 2 / RATE:.0f} s); the others "
                f"stream {args.sweep_seconds:.0f} s each, started together. Held up to "
                f"{held} sessions on this machine.",
            ),
        ],
        notes=f"{args.config}, LLM off, realtime defaults (ingress.realtime) but the session "
        f"caps raised for the sweep; graph part {bench_s:.0f} s.",
    )


if __name__ == "__main__":
    main()
