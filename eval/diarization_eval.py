"""Evaluate the diarizer on synthesised conversations (and optionally on a wav + RTTM).

Usage::

    python -m eval.diarization_eval                       # 2, 3, 4 speakers, 60 s each
    python -m eval.diarization_eval --speakers 2 3 4 --duration 120 --seeds 1 2
    python -m eval.diarization_eval --long 600            # adds a ~10 minute 4-speaker file
    python -m eval.diarization_eval --wav a.wav --rttm a.rttm
    python -m eval.diarization_eval --tune embedding_max_s=4 segmentation_step=0.1

Metrics per file:

* ``attribution``: share of reference speech (10 ms frames) whose exclusive hypothesis label,
  after the optimal one-to-one speaker mapping (Hungarian on co-occurrence), is the right
  speaker. Missed speech counts as wrong. ``attr_detected`` is the same over the reference
  speech the diarizer detected.
* ``DER`` (pyannote.metrics, no collar, overlap scored) and its parts.
* ``RTF``: diarize() wall time / audio duration (also process CPU time / duration).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.conversations import RefTurn, make_conversation, read_wav, write_rttm, write_wav

FPS = 100


@dataclass
class FileScore:
    name: str
    duration: float
    ref_speakers: int
    hyp_speakers: int
    attribution: float
    attr_detected: float
    der: float
    miss: float
    false_alarm: float
    confusion: float
    rtf: float
    cpu_rtf: float


def _frames(turns: Sequence[tuple[float, float, str]], n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for start, end, spk in turns:
        arr = out.setdefault(spk, np.zeros(n, dtype=bool))
        arr[round(start * FPS) : round(end * FPS)] = True
    return out


def attribution(
    ref: Sequence[tuple[float, float, str]],
    hyp: Sequence[tuple[float, float, str]],
    duration: float,
) -> tuple[float, float]:
    """(strict, detected-only) share of reference speech given to the right speaker."""
    from scipy.optimize import linear_sum_assignment

    n = int(np.ceil(duration * FPS)) + 1
    rf, hf = _frames(ref, n), _frames(hyp, n)
    rl, hl = sorted(rf), sorted(hf)
    # single-speaker reference frames only (synthesised references do not overlap)
    ref_count = np.sum([rf[r] for r in rl], axis=0) if rl else np.zeros(n)
    scored = ref_count == 1
    total = int(scored.sum())
    if total == 0:
        return 1.0, 1.0
    if not hl:
        return 0.0, 0.0
    co = np.array([[np.sum(rf[r] & hf[h] & scored) for h in hl] for r in rl])
    rows, cols = linear_sum_assignment(-co)
    correct = int(co[rows, cols].sum())
    detected = int((np.any([hf[h] for h in hl], axis=0) & scored).sum())
    return correct / total, (correct / detected if detected else 0.0)


def der(
    ref: Sequence[tuple[float, float, str]], hyp: Sequence[tuple[float, float, str]]
) -> dict[str, float]:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    r, h = Annotation(), Annotation()
    for i, (s, e, spk) in enumerate(ref):
        r[Segment(s, e), i] = spk
    for i, (s, e, spk) in enumerate(hyp):
        h[Segment(s, e), i] = spk
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    comp = metric(r, h, detailed=True)
    total = comp["total"] or 1.0
    return {
        "der": comp["diarization error rate"],
        "miss": comp["missed detection"] / total,
        "false_alarm": comp["false alarm"] / total,
        "confusion": comp["confusion"] / total,
    }


def score_file(
    diarizer: object,
    name: str,
    audio: np.ndarray,
    ref: Sequence[tuple[float, float, str]],
    num_speakers: int | None = None,
) -> FileScore:
    duration = len(audio) / 16000
    c0, t0 = time.process_time(), time.perf_counter()
    result = diarizer.diarize(audio, num_speakers=num_speakers)  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hyp_excl = [(t.start, t.end, t.speaker) for t in result.exclusive_turns]
    hyp = [(t.start, t.end, t.speaker) for t in result.turns]
    strict, detected = attribution(ref, hyp_excl, duration)
    d = der(ref, hyp)
    return FileScore(
        name=name,
        duration=duration,
        ref_speakers=len({r[2] for r in ref}),
        hyp_speakers=len(result.speakers),
        attribution=strict,
        attr_detected=detected,
        rtf=wall / duration,
        cpu_rtf=cpu / duration,
        **d,
    )


def _ref_tuples(turns: Sequence[RefTurn]) -> list[tuple[float, float, str]]:
    return [(t.start, t.end, t.speaker) for t in turns]


def read_rttm(path: str) -> list[tuple[float, float, str]]:
    out = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[0] == "SPEAKER":
                start, dur = float(parts[3]), float(parts[4])
                out.append((start, start + dur, parts[7]))
    return out


def _parse_tuning(items: Sequence[str]) -> dict[str, object]:
    tuning: dict[str, object] = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            tuning[key] = json.loads(value)
        except json.JSONDecodeError:
            tuning[key] = value
    return tuning


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--speakers", type=int, nargs="*", default=[2, 3, 4])
    p.add_argument("--duration", type=float, default=60.0, help="seconds per conversation")
    p.add_argument("--seeds", type=int, nargs="*", default=[1])
    p.add_argument("--long", type=float, default=0.0, help="add one N-second 4-speaker file")
    p.add_argument("--short-turn-prob", type=float, default=0.3)
    p.add_argument("--oracle-count", action="store_true", help="pass num_speakers")
    p.add_argument("--wav", help="evaluate this 16-bit wav too (needs --rttm)")
    p.add_argument("--rttm", help="reference RTTM for --wav")
    p.add_argument("--save", help="directory to write the synthesised wav + rttm files")
    p.add_argument("--tune", nargs="*", default=[], help="tuning overrides key=value")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = p.parse_args(argv)

    from serve_app.diarization.pipeline import PyannoteDiarizer

    t0 = time.perf_counter()
    diarizer = PyannoteDiarizer(**_parse_tuning(args.tune))  # type: ignore[arg-type]
    load = time.perf_counter() - t0
    print(f"model load {load:.1f}s backend={diarizer.backend} tuning={diarizer.tuning}")

    jobs: list[tuple[str, np.ndarray, list[tuple[float, float, str]]]] = []
    for n in args.speakers:
        for seed in args.seeds:
            audio, turns = make_conversation(
                n, args.duration, seed=seed, short_turn_prob=args.short_turn_prob
            )
            jobs.append((f"synth-{n}spk-s{seed}", audio, _ref_tuples(turns)))
    if args.long:
        audio, turns = make_conversation(4, args.long, seed=100, short_turn_prob=0.35)
        jobs.append((f"synth-4spk-long{int(args.long)}", audio, _ref_tuples(turns)))
    if args.save:
        from pathlib import Path

        Path(args.save).mkdir(parents=True, exist_ok=True)
        for name, audio, ref in jobs:
            write_wav(audio, f"{args.save}/{name}.wav")
            write_rttm([RefTurn(s, e, spk, "") for s, e, spk in ref], f"{args.save}/{name}.rttm")
    if args.wav:
        if not args.rttm:
            p.error("--wav needs --rttm")
        audio, sr = read_wav(args.wav)
        if sr != 16000:
            from serve_app.diarization.pipeline import prepare_audio

            audio = prepare_audio(audio, sr)
        jobs.append((args.wav, audio, read_rttm(args.rttm)))

    scores = []
    header = (
        f"{'file':28} {'dur':>6} {'ref':>3} {'hyp':>3} {'attrib':>7} {'attr_det':>8} "
        f"{'DER':>6} {'miss':>6} {'FA':>6} {'conf':>6} {'RTF':>6} {'cpuRTF':>6}"
    )
    if not args.json:
        print(header)
    for name, audio, ref in jobs:
        n = len({r[2] for r in ref}) if args.oracle_count else None
        s = score_file(diarizer, name, audio, ref, num_speakers=n)
        scores.append(s)
        if args.json:
            print(json.dumps(s.__dict__))
        else:
            print(
                f"{s.name:28} {s.duration:6.1f} {s.ref_speakers:3d} {s.hyp_speakers:3d} "
                f"{s.attribution:7.3f} {s.attr_detected:8.3f} {s.der:6.3f} {s.miss:6.3f} "
                f"{s.false_alarm:6.3f} {s.confusion:6.3f} {s.rtf:6.3f} {s.cpu_rtf:6.3f}"
            )
        sys.stdout.flush()
    total = sum(s.duration for s in scores)
    if scores and not args.json:
        att = sum(s.attribution * s.duration for s in scores) / total
        rtf = sum(s.rtf * s.duration for s in scores) / total
        cnt = sum(s.ref_speakers == s.hyp_speakers for s in scores)
        print(
            f"TOTAL {total:.0f}s  attribution={att:.3f}  speaker count right {cnt}/{len(scores)}"
            f"  RTF={rtf:.3f}  load={load:.1f}s  peak RSS="
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
