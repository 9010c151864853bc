"""Diarization quality and speed on the evaluation set of ``eval/corpus.py``.

    .venv/bin/python bench/bench_diarization.py --split tune --quick
    .venv/bin/python bench/bench_diarization.py --split tune --tune embedding_max_s=4
    .venv/bin/python bench/bench_diarization.py --split report --long --json report.json

**Tune on ``--split tune`` only**; ``--split report`` holds voices the tuning never heard and
is for the numbers that get reported. ``--quick`` is 5 files of 40-60 s per split, the
default about 25-30 minutes, ``--long`` adds a 12-minute (tune) or 20-minute (report) file.
Audio comes from the cache (``var/eval-cache``), generated on the first run.

One ``PyannoteDiarizer(**tuning)`` is built (``--tune key=value``, values parsed as JSON),
then every file is scored with ``eval.diarization_eval.score_file``: ``attrib`` is the share
of single-speaker reference speech whose exclusive hypothesis label is the right speaker
after the optimal one-to-one mapping (missed speech counts as wrong), ``attr_det`` the same
over the detected speech, ``DER`` pyannote's (no collar, overlap scored), ``RTF`` wall time
/ audio duration. Aggregates are weighted by reference speech; breakdowns by condition and
by number of speakers follow. The tables are written to
``bench/results/diarization_<split>[_quick|_long].json`` (bench/report.py); ``--json`` also
writes every file's scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Table, command_line, table, write_results
from eval.corpus import FileSpec, load, select
from eval.diarization_eval import FileScore, _parse_tuning, score_file


def speech_seconds(ref: Sequence[tuple[float, float, str]]) -> float:
    """Length of the union of the reference turns."""
    total, end = 0.0, float("-inf")
    for s, e, _ in sorted(ref):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def summarise(rows: list[tuple[FileSpec, FileScore, float]]) -> dict[str, float]:
    """Speech-weighted attribution, share of right speaker counts, mean RTF."""
    speech = sum(w for _, _, w in rows) or 1.0
    return {
        "files": len(rows),
        "minutes": sum(s.duration for _, s, _ in rows) / 60,
        "attribution": sum(s.attribution * w for _, s, w in rows) / speech,
        "attr_detected": sum(s.attr_detected * w for _, s, w in rows) / speech,
        "der": sum(s.der * w for _, s, w in rows) / speech,
        "count_right": sum(s.hyp_speakers == s.ref_speakers for _, s, _ in rows) / len(rows),
        "rtf": sum(s.rtf for _, s, _ in rows) / len(rows),
    }


def breakdown(
    rows: list[tuple[FileSpec, FileScore, float]], key: Callable[[FileSpec], str]
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[tuple[FileSpec, FileScore, float]]] = defaultdict(list)
    for row in rows:
        groups[key(row[0])].append(row)
    return {k: summarise(v) for k, v in sorted(groups.items())}


def _agg_row(label: str, a: dict[str, float]) -> list[object]:
    return [
        label, int(a["files"]), round(a["minutes"], 1), round(a["attribution"], 3),
        round(a["attr_detected"], 3), round(a["der"], 3), round(a["count_right"], 3),
        round(a["rtf"], 3),
    ]  # fmt: skip


def tables(
    rows: list[tuple[FileSpec, FileScore, float]],
    total: dict[str, float],
    by_condition: dict[str, dict[str, float]],
    by_speakers: dict[str, dict[str, float]],
    split: str,
) -> list[Table]:
    """The aggregates (total, by condition, by number of speakers), then every file."""
    aggregates = table(
        f"Diarization, {split} split",
        ["files", "count", "minutes", "attribution", "attribution of detected", "DER",
         "speaker count right", "RTF"],
        [_agg_row("total", total)]
        + [_agg_row(k, a) for k, a in by_condition.items()]
        + [_agg_row(k, a) for k, a in by_speakers.items()],
        caption="Weighted by reference speech; speaker count right is the share of files.",
    )  # fmt: skip
    files = table(
        f"Diarization per file, {split} split",
        ["file", "engines", "condition", "seconds", "speakers", "found", "attribution",
         "attribution of detected", "DER", "RTF"],
        [[spec.name, "+".join(spec.engines), spec.condition, round(s.duration, 1),
          s.ref_speakers, s.hyp_speakers, round(s.attribution, 3), round(s.attr_detected, 3),
          round(s.der, 3), round(s.rtf, 3)] for spec, s, _ in rows],
    )  # fmt: skip
    return [aggregates, files]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--split", choices=["tune", "report"], default="tune")
    p.add_argument("--quick", action="store_true", help="the 5-file quick subset")
    p.add_argument("--long", action="store_true", help="add the long file(s)")
    p.add_argument("--only", nargs="*", default=[], help="only these file names")
    p.add_argument("--tune", nargs="*", default=[], help="PyannoteDiarizer tuning key=value")
    p.add_argument("--oracle-count", action="store_true", help="pass num_speakers")
    p.add_argument("--cache", help="cache directory (default var/eval-cache)")
    p.add_argument("--json", help="write per-file scores and aggregates to this file")
    p.add_argument("--name", help="results name (default diarization_<split>[_quick|_long])")
    args = p.parse_args(argv)

    specs = select(args.split, args.quick, args.long)
    if args.only:
        specs = [s for s in specs if s.name in args.only]
    t0 = time.perf_counter()
    convs = [load(s, args.cache) for s in specs]
    print(
        f"{len(convs)} files from the {args.split} split ready in {time.perf_counter() - t0:.1f}s"
    )

    from serve_app.diarization.pipeline import PyannoteDiarizer

    tuning = _parse_tuning(args.tune)
    t0 = time.perf_counter()
    diarizer = PyannoteDiarizer(**tuning)  # type: ignore[arg-type]
    load_s = time.perf_counter() - t0
    print(f"model load {load_s:.1f}s backend={diarizer.backend} tuning={diarizer.tuning}")

    print(
        f"{'file':13} {'engines':24} {'condition':16} {'dur':>6} {'ref':>3} {'hyp':>3} "
        f"{'attrib':>6} {'att_det':>7} {'DER':>6} {'RTF':>6}"
    )
    rows: list[tuple[FileSpec, FileScore, float]] = []
    for spec, conv in zip(specs, convs, strict=True):
        ref = conv.ref_tuples()
        n = spec.speakers if args.oracle_count else None
        s = score_file(diarizer, spec.name, conv.audio, ref, num_speakers=n)
        rows.append((spec, s, speech_seconds(ref)))
        print(
            f"{spec.name:13} {'+'.join(spec.engines):24} {spec.condition:16} {s.duration:6.1f} "
            f"{s.ref_speakers:3d} {s.hyp_speakers:3d} {s.attribution:6.3f} "
            f"{s.attr_detected:7.3f} {s.der:6.3f} {s.rtf:6.3f}",
            flush=True,
        )
    total = summarise(rows)
    by_condition = breakdown(rows, lambda s: s.condition)
    by_speakers = breakdown(rows, lambda s: f"{s.speakers} speakers")
    subset = "_quick" if args.quick else "_long" if args.long else ""
    write_results(
        args.name or f"diarization_{args.split}{subset}",
        command=command_line(),
        tables=tables(rows, total, by_condition, by_speakers, args.split),
        notes=f"backend {diarizer.backend}, tuning {diarizer.tuning}, model load {load_s:.1f} s"
        + (", oracle speaker count" if args.oracle_count else ""),
    )
    if args.json:
        out = {
            "split": args.split,
            "quick": args.quick,
            "long": args.long,
            "oracle_count": args.oracle_count,
            "backend": diarizer.backend,
            "tuning": diarizer.tuning,
            "load_seconds": load_s,
            "files": [
                {
                    **asdict(s),
                    "voices": list(spec.voices),
                    "condition": spec.condition,
                    "engines": spec.engines,
                    "key": spec.key(),
                    "speech": w,
                }
                for spec, s, w in rows
            ],
            "total": total,
            "by_condition": by_condition,
            "by_speakers": by_speakers,
        }
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
