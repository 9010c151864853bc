"""Known speakers: open-set threshold calibration on real voices, and the match cost at scale.

    .venv/bin/python bench/speaker_id.py            # make bench-speakers
    .venv/bin/python bench/speaker_id.py --only scale

Calibration (eval/speaker_id.py has the data and the splits): every voice is enrolled from
its *enrol* recordings (clean); the threshold is chosen on the *tune* part (speaker-in-a-job
samples, all conditions: the lowest threshold whose impostor-pair FAR and unknown-voice
accept rate are both <= --max-far), and FAR, FRR and identification accuracy are reported on
the *report* part, which shares no prompt family or turn with either. The bare baseline is
closed-set matching (every voice gets the nearest enrolled name, no "unknown" answer, as a
per-request reference-clip matcher does), scored on the same samples.

Scale: the cost of matching one job's diarized speakers against N voiceprints of an owner
(exact cosine search, vectorised), against a plain Python loop over the voiceprints.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import RESULTS_DIR, Table, command_line, table, write_results
from eval import real_data
from eval import speaker_id as sid
from serve_app.speakers.matching import VoiceprintIndex, match_speakers
from serve_app.speakers.models import Speaker, Voiceprint, VoiceprintSource
from serve_app.speakers.settings import MIN_MATCH_SPEECH_S

CACHE_DIR = real_data.DEFAULT_CACHE / "speaker_id"
SCALE_TITLE = "Match cost per job"
UNITS = {"speaker-in-a-job": sid.POOL_S, "short speaker": 5.0}
"""Test samples: a job's speaker with about 15 s of speech (the live pass's voiceprint),
and one with about 5 s (just above the server's minimum)."""
MIN_SPEECH_S = MIN_MATCH_SPEECH_S
"""The server matches a diarized speaker once it has this much speech."""


def embed_all(
    utterances: list[sid.Utterance], conditions: tuple[str, ...], threads: int
) -> dict[str, sid.Pieces]:
    embedder = sid.Embedder(CACHE_DIR, threads)
    # Enrolment first, then the tests one condition after the other: a run cut short
    # leaves whole conditions in the cache for the next.
    items = [(sid.key(u, "clean"), u.audio.copy) for u in utterances if u.part == "enrol"]
    for c in conditions:
        for u in utterances:
            if u.part != "enrol":
                items.append((sid.key(u, c), lambda u=u, c=c: sid.in_condition(u, c)))
    t0 = time.perf_counter()
    out = embedder.embed(items)
    print(f"embedded {embedder.computed} new of {len(items)} in {time.perf_counter() - t0:.0f} s")
    return out


def enrol_index(utterances: list[sid.Utterance], emb: dict[str, sid.Pieces]) -> VoiceprintIndex:
    """One person per enrolled voice, one voiceprint from all its enrolment speech (clean),
    in the server's own index (serve_app.speakers.matching)."""
    by_voice: dict[str, list[sid.Pieces]] = {}
    for u in utterances:
        if u.part == "enrol" and u.enrolled:
            by_voice.setdefault(u.speaker, []).append(emb[sid.key(u, "clean")])
    people = [Speaker(speaker_id=name, name=name) for name in sorted(by_voice)]
    prints = [
        Voiceprint(
            speaker_id=p.speaker_id,
            embedding=[float(x) for x in sid.pooled(by_voice[p.name])],
            source=VoiceprintSource(kind="clip"),
        )
        for p in people
    ]
    return VoiceprintIndex(people, prints)


def build_trials(
    utterances: list[sid.Utterance],
    emb: dict[str, sid.Pieces],
    index: VoiceprintIndex,
    part: str,
    conditions: tuple[str, ...],
) -> list[sid.Trial]:
    tests = [u for u in utterances if u.part == part]
    trials = []
    for c in conditions:
        for unit, seconds in UNITS.items():
            for group in sid.pools(tests, seconds):
                vp = sid.pooled(emb[sid.key(u, c)] for u in group)
                if len(vp) and sum(u.seconds for u in group) >= MIN_SPEECH_S:
                    trials.append(sid.Trial(group[0].speaker, c, unit, index.scores(vp)[0]))
    return trials


def calibration(
    conditions: tuple[str, ...], max_far: float, threads: int
) -> tuple[list[Table], float, str]:
    utterances = sid.corpus()
    emb = embed_all(utterances, conditions, threads)
    index = enrol_index(utterances, emb)
    names = [s.name for s in index.speakers]
    tune = build_trials(utterances, emb, index, "tune", conditions)
    report = build_trials(utterances, emb, index, "report", conditions)
    job_tune = [t for t in tune if t.unit == "speaker-in-a-job"]
    threshold = sid.choose_threshold(job_tune, names, max_far)
    print(f"threshold chosen on the tune split: {threshold:.3f}")

    data_rows = []
    for who in sorted({u.speaker for u in utterances}):
        mine = [u for u in utterances if u.speaker == who]
        secs = {p: sum(u.seconds for u in mine if u.part == p) for p in sid.PARTS}
        data_rows.append(
            [who, "yes" if mine[0].enrolled else "no"]
            + [round(secs[p], 1) for p in sid.PARTS]
            + [sum(1 for u in mine if u.part == p) for p in ("tune", "report")]
        )
    cols = ["split", "unit", "condition", "system", "threshold", "FAR", "FRR"]
    cols += ["named correctly", "wrong name", "unknown named", "samples", "impostor pairs"]
    rows = []
    for split, trials in (("tune", tune), ("report", report)):
        for unit in UNITS:
            for c in ("all", *conditions):
                sel = [t for t in trials if t.unit == unit and c in ("all", t.condition)]
                for system, th in (("ours (open set)", threshold), ("bare: closed set", -1.0)):
                    r = sid.rates(sel, names, th)
                    rows.append(
                        [
                            *(split, unit, c, system, round(th, 3)),
                            *(round(r.far, 4), round(r.frr, 4), round(r.accuracy, 4)),
                            *(round(r.wrong_name, 4), round(r.unknown_accepted, 4)),
                            *(r.samples, r.impostor_pairs),
                        ]
                    )
    sweep = []
    job_report = [t for t in report if t.unit == "speaker-in-a-job"]
    for th in np.round(np.arange(threshold - 0.15, threshold + 0.151, 0.05), 3):
        a, b = sid.rates(job_tune, names, float(th)), sid.rates(job_report, names, float(th))
        sweep.append(
            [
                *(float(th), round(a.far, 4), round(a.frr, 4), round(a.accuracy, 4)),
                *(round(b.far, 4), round(b.frr, 4), round(b.accuracy, 4)),
                round(b.unknown_accepted, 4),
            ]
        )
    tables = [
        table(
            "Voices and seconds of speech per part",
            ["voice", "enrolled", "enrol s", "tune s", "report s", "tune utt.", "report utt."],
            data_rows,
            caption="Unknown voices are never enrolled; they and each enrolled voice with its "
            "own voiceprint left out are the open-set impostors.",
        ),
        table(
            "Open-set speaker identification, CAM++ (the diarizer's embedding), cosine score",
            cols,
            rows,
            caption=f"Threshold {threshold:.3f} chosen on the tune split (speaker-in-a-job, all "
            f"conditions, FAR and unknown-named <= {max_far:.2%}); the report split is held out. "
            "bare: closed set = every sample gets its nearest enrolled name.",
        ),
        table(
            "Threshold sweep, speaker-in-a-job, all conditions",
            [
                *("threshold", "tune FAR", "tune FRR", "tune named"),
                *("report FAR", "report FRR", "report named", "report unknown named"),
            ],
            sweep,
        ),
    ]
    return tables, threshold, f"{len(names)} enrolled voices"


def scale(sizes: tuple[int, ...], speakers: int, repeats: int) -> Table:
    """Match cost of one job (``speakers`` diarized centroids) against N voiceprints."""
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        prints = rng.standard_normal((n, 192)).astype(np.float32)
        prints /= np.linalg.norm(prints, axis=1, keepdims=True)
        people = [Speaker(speaker_id=f"p{i}", name=f"p{i}") for i in range(n)]
        rows_ = [
            Voiceprint(speaker_id=f"p{i}", embedding=v, source=VoiceprintSource(kind="clip"))
            for i, v in enumerate(prints.tolist())
        ]
        t0 = time.perf_counter()
        index = VoiceprintIndex(people, rows_)
        build = time.perf_counter() - t0
        job = rng.standard_normal((speakers, 192)).astype(np.float32)
        centroids = {f"SPEAKER_{k}": v for k, v in enumerate(job.tolist())}
        ours = _best_of(partial(match_speakers, centroids, index, 0.5), repeats)
        loop_repeats = max(1, min(repeats, 100_000 // n))
        bare = _best_of(partial(_match_loop, job, prints), loop_repeats)
        rows.append(
            [
                *(n, speakers, round(ours * 1e3, 3), round(bare * 1e3, 3)),
                *(round(bare / ours, 1), round(build * 1e3, 1), round(prints.nbytes / 2**20, 2)),
            ]
        )
    return table(
        f"{SCALE_TITLE}: exact cosine search over one owner's voiceprints (192-dim float32)",
        [
            *("voiceprints", "job speakers", "ours ms", "bare loop ms", "bare / ours"),
            *("index build ms", "matrix MiB"),
        ],
        rows,
        caption="ours: serve_app.speakers.matching.match_speakers (one matrix product, best "
        "voiceprint per person, one-to-one assignment) on a built VoiceprintIndex; bare: a "
        "Python loop of dot products over the voiceprints, best per speaker. Index build: "
        "from voiceprint rows already decoded. One BLAS thread, best of several runs.",
    )


def _match_loop(job: np.ndarray, prints: np.ndarray) -> list[int]:
    best = []
    for v in job:
        scores = [float(np.dot(v, p)) for p in prints]
        best.append(int(np.argmax(scores)))
    return best


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=["calibration", "scale"])
    p.add_argument("--max-far", type=float, default=0.005)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--conditions", default=",".join(sid.TEST_CONDITIONS))
    args = p.parse_args(argv)
    tables: list[Table] = []
    notes = []
    if args.only != "scale":
        conditions = tuple(args.conditions.split(","))
        cal, threshold, what = calibration(conditions, args.max_far, args.threads)
        tables += cal
        notes.append(f"Calibrated threshold {threshold:.3f} ({what}).")
    if args.only != "calibration":
        from threadpoolctl import threadpool_limits

        # One BLAS thread: a replica's share of a busy node, and steadier timings.
        with threadpool_limits(limits=1):
            tables.append(scale((10, 1_000, 100_000), speakers=4, repeats=50))
    command = command_line()
    if args.only:  # the other part's tables are kept from the last run
        kept, command, old_notes = _other_part(args.only)
        tables = [*tables, *kept] if args.only == "calibration" else [*kept, *tables]
        notes = notes or [old_notes]
    write_results("speaker_id", command=command, tables=tables, notes=" ".join(notes))


def _other_part(only: str) -> tuple[list[Table], str, str]:
    """Tables of the part not run this time, from bench/results/speaker_id.json."""
    path = RESULTS_DIR / "speaker_id.json"
    if not path.exists():
        return [], command_line(), ""
    doc = json.loads(path.read_text())
    kept = [
        Table(**t)  # type: ignore[typeddict-item]
        for t in doc["tables"]
        if t["title"].startswith(SCALE_TITLE) == (only == "calibration")
    ]
    return kept, command_line(), doc.get("notes", "")


if __name__ == "__main__":
    main()
