"""Real recordings: this project's pipeline against the bare engines, same files, same run.

    .venv/bin/python bench/real_speech.py                    # report split (make bench-real)
    .venv/bin/python bench/real_speech.py --split tune       # the split tuning may look at
    .venv/bin/python bench/real_speech.py --only asr --languages fr --seconds 120

Diarization files (``aepyx`` broadcast, 4 speakers; ``pyannote-sample`` telephone, 2
speakers) are reporting data only. ASR files are Debian asterisk prompts joined per language:
``--split tune`` (even prompts) is what tuning may use, ``--split report`` (odd prompts) the
figures reported. English uses ``asr.default_model`` (tiny.en), the other languages
``asr.retranscribe_model`` (base), language given. Data is fetched into ``var/eval-data``.
The diarization part also runs the real single-voice clips of ``eval/count_sets.py``
(a count above one splits a voice). See docs/evaluation.md. ``--split report`` with all
languages and the bare engines writes ``bench/results/real_speech.json`` (each part's
tables are kept in the cache, so ``--only diarization``, ``--only asr`` and
``--only asr --detect``, languages other than English detected, can run as separate
processes; the detection part is included when it has been run).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import table, write_results
from eval import real_data, real_pipeline
from eval.real_speech import (
    AsrRow,
    DiarRow,
    der_all,
    pooled_der,
    pooled_wer,
    speaker_count,
    wer,
)
from serve_app.config import AppConfig, load_config

CACHE = real_data.DEFAULT_CACHE
COUNT_MIN_S = 2.0
"""Speakers are counted (reference and hypothesis alike) when they have >= 2 s of speech."""


def run_diarization(
    config: AppConfig, threads: int, bare: bool, pieces_s: float = 30.0
) -> list[DiarRow]:
    import torch

    from serve_app.diarization.pipeline import PyannoteDiarizer

    broadcast = real_data.aepyx()
    files = [real_data.pyannote_sample(), broadcast, *real_data.pieces(broadcast, pieces_s)]
    # the same broadcast cut half a piece later: other speaker mixes, 12 short clips in all
    files += real_data.pieces(broadcast, pieces_s, offset_s=pieces_s / 2)
    diarizer = PyannoteDiarizer(**dict(config.diarizer.tuning))
    whisper = real_pipeline.load_whisper(config, config.asr.default_model)
    stock = real_pipeline.build_bare_diarization(threads) if bare else None
    rows: list[DiarRow] = []
    for f in files:
        n_ref = speaker_count(f.turns, COUNT_MIN_S)
        torch.set_num_threads(int(diarizer.tuning["num_threads"] or threads))
        ours = real_pipeline.ours_diarize(config, diarizer, f.audio)
        asr = real_pipeline.ours_asr(config, whisper, f.audio, "en")
        view = real_pipeline.view_turns(real_pipeline.transcript_view(asr.segments, ours.exclusive))
        hyps = {
            "ours: speaker_turns": (ours.turns, ours.seconds),
            "ours: /result words": (view, ours.seconds + asr.seconds),
            "ours: live": (ours.live, ours.seconds),
        }
        if stock is not None:
            torch.set_num_threads(threads)
            b = real_pipeline.bare_diarize(stock, f.audio)
            hyps["bare pyannote"] = (b.turns, b.seconds)
        for system, (hyp, seconds) in hyps.items():
            n_hyp = speaker_count(hyp, COUNT_MIN_S)
            row = DiarRow(f.name, system, f.duration, n_ref, n_hyp, seconds)
            row.scores = der_all(f.turns, hyp)
            rows.append(row)
            print(_diar_line(row), flush=True)
    return rows


def run_single_voice(config: AppConfig, threads: int, bare: bool) -> list[DiarRow]:
    """Real single-voice clips (``eval/count_sets.py``): a count above one splits a voice."""
    import torch

    from eval.count_sets import single_voice
    from serve_app.diarization.pipeline import PyannoteDiarizer

    diarizer = PyannoteDiarizer(**dict(config.diarizer.tuning))
    stock = real_pipeline.build_bare_diarization(threads) if bare else None
    rows: list[DiarRow] = []
    for f in single_voice():
        torch.set_num_threads(int(diarizer.tuning["num_threads"] or threads))
        ours = real_pipeline.ours_diarize(config, diarizer, f.audio)
        runs = {"ours: speaker_turns": ours}
        if stock is not None:
            torch.set_num_threads(threads)
            runs["bare pyannote"] = real_pipeline.bare_diarize(stock, f.audio)
        for system, run in runs.items():
            n = speaker_count(run.turns, COUNT_MIN_S)
            rows.append(DiarRow(f.name, system, f.duration, 1, n, run.seconds))
            row = rows[-1]
            print(f"{f.name:22} {system:20} speakers={row.hyp_speakers}", flush=True)
    return rows


def single_voice_table(rows: list[DiarRow]) -> dict:
    out = []
    for system in dict.fromkeys(r.system for r in rows):
        sel = [r for r in rows if r.system == system]
        split = [f"{r.file} {r.hyp_speakers}" for r in sel if r.hyp_speakers != 1]
        out.append([system, f"{len(sel) - len(split)}/{len(sel)}", ", ".join(split) or "-"])
    caption = (
        "Real single-voice clips of about 30 s (eval/count_sets.py): each asterisk voice's "
        "prompts joined (tune and report splits) and the pocketsphinx-testdata LibriVox "
        f"reader. A speaker counts with >= {COUNT_MIN_S:g} s of speech."
    )
    cols = ["system", "one speaker found", "split (speakers found)"]
    return table("Single real voices: not split", cols, out, caption)


def run_asr(
    config: AppConfig,
    split: str,
    languages: Sequence[str],
    seconds: float,
    bare: bool,
    detect: bool = False,
) -> list[AsrRow]:
    rows: list[AsrRow] = []
    models: dict[str, object] = {}
    for lang in languages:
        f = real_data.asterisk_file(lang, split, seconds)
        name = config.asr.default_model if lang == "en" else config.asr.retranscribe_model
        model = models.get(name) or real_pipeline.load_whisper(config, name)
        models[name] = model
        given = None if detect and lang != "en" else lang
        runs = {"ours": real_pipeline.ours_asr(config, model, f.audio, given)}
        if bare:
            runs["bare transcribe()"] = real_pipeline.bare_transcribe(config, model, f.audio, given)
            runs["bare batched"] = real_pipeline.bare_batched(config, model, f.audio, given)
        for system, run in runs.items():
            row = AsrRow(
                f"{f.name} ({name})",
                system,
                lang,
                f.duration,
                run.seconds,
                wer(f.text, run.text, lang),
            )
            rows.append(row)
            print(_asr_line(row), flush=True)
    return rows


def _diar_line(r: DiarRow) -> str:
    s = r.scores["c0.25"]
    return (
        f"{r.file:16} {r.system:20} DER={s.der:.3f} miss={s.share('miss'):.3f} "
        f"FA={s.share('false_alarm'):.3f} conf={s.share('confusion'):.3f} "
        f"DER0={r.scores['c0'].der:.3f} noovl={r.scores['c0.25_no_ovl'].der:.3f} "
        f"spk={r.hyp_speakers}/{r.ref_speakers} RTF={r.rtf:.3f}"
    )


def _asr_line(r: AsrRow) -> str:
    s = r.score
    return (
        f"{r.file:28} {r.system:18} WER={s.wer:.3f} S={s.substitutions} D={s.deletions} "
        f"I={s.insertions} N={s.words} RTF={r.rtf:.3f}"
    )


def diar_tables(rows: list[DiarRow]) -> list[dict]:
    cols = ["file", "system", "DER", "missed", "false alarm", "confusion", "DER collar 0"]
    cols += ["DER overlap excluded", "speakers (found/ref)", "RTF"]
    per_file = []
    for r in rows:
        s = r.scores["c0.25"]
        per_file.append(
            [
                r.file,
                r.system,
                round(s.der, 3),
                round(s.share("miss"), 3),
                round(s.share("false_alarm"), 3),
                round(s.share("confusion"), 3),
                round(r.scores["c0"].der, 3),
                round(r.scores["c0.25_no_ovl"].der, 3),
                f"{r.hyp_speakers}/{r.ref_speakers}",
                round(r.rtf, 3),
            ]
        )
    pooled = []
    for system in dict.fromkeys(r.system for r in rows):
        for group, sel in (
            ("all (2 files)", [r for r in rows if r.system == system and "[" not in r.file]),
            ("30 s pieces", [r for r in rows if r.system == system and "[" in r.file]),
        ):
            if not sel:
                continue
            s = pooled_der(sel, "c0.25")
            seconds = sum(r.seconds for r in sel)
            duration = sum(r.duration for r in sel)
            pooled.append(
                [
                    group,
                    system,
                    round(s.der, 3),
                    round(s.share("miss"), 3),
                    round(s.share("false_alarm"), 3),
                    round(s.share("confusion"), 3),
                    round(pooled_der(sel, "c0").der, 3),
                    round(pooled_der(sel, "c0.25_no_ovl").der, 3),
                    f"{sum(r.hyp_speakers == r.ref_speakers for r in sel)}/{len(sel)} right",
                    round(seconds / duration, 3),
                ]
            )
    caption = (
        "pyannote.metrics DER, collar=0.25 unless said, overlapped speech scored unless said; "
        "parts are shares of reference speech; 'all' pools the two files, '30 s pieces' the "
        "broadcast cut into 30 s clips, from 0 s and from 15 s (short clips, for counts). "
        "Speakers are counted with "
        f">= {COUNT_MIN_S:g} s of speech, on both sides. 'ours: speaker_turns': "
        "the result's speaker_turns (final pass, overlap kept); 'ours: /result words': the "
        "transcript's words with their speakers (word times only, so pauses between words "
        "count as missed); 'ours: live': each part as a live client first saw it, before "
        "the final pass."
    )
    return [
        counts_table(rows),
        table("Diarization on real recordings: totals", cols, pooled, caption),
        table("Diarization on real recordings: per file", cols, per_file),
    ]


def counts_table(rows: list[DiarRow]) -> dict:
    """Speaker counts right on the short clips (the pyannote sample and the 30 s pieces),
    each system beside the bare pipeline, and the speakers it merged away (found fewer)."""
    short = [r for r in rows if "[" in r.file or r.file == "pyannote-sample"]
    systems = list(dict.fromkeys(r.system for r in short))
    out = []
    for system in systems:
        sel = [r for r in short if r.system == system]
        out.append(
            [
                system,
                f"{sum(r.hyp_speakers == r.ref_speakers for r in sel)}/{len(sel)}",
                sum(max(0, r.ref_speakers - r.hyp_speakers) for r in sel),
                sum(max(0, r.hyp_speakers - r.ref_speakers) for r in sel),
                ", ".join(
                    f"{r.file} {r.hyp_speakers}/{r.ref_speakers}"
                    for r in sel
                    if r.hyp_speakers != r.ref_speakers
                )
                or "-",
            ]
        )
    caption = (
        f"Short real clips: pyannote's telephone sample and the broadcast's 30 s pieces. "
        f"A speaker counts with >= {COUNT_MIN_S:g} s of speech (reference and found alike); "
        "'merged away': reference speakers missing from the count, summed over clips."
    )
    cols = ["system", "counts right", "speakers merged away", "speakers too many", "wrong"]
    return table("Speaker counts on short real clips", cols, out, caption)


def asr_tables(rows: list[AsrRow], split: str, detect: bool = False) -> list[dict]:
    cols = ["file", "system", "WER", "substitutions", "deletions", "insertions", "words"]
    cols += ["RTF", "WER - bare transcribe() (pt)"]
    bare = {r.file: r.score.wer for r in rows if r.system == "bare transcribe()"}
    out = []
    for r in rows:
        s = r.score
        delta = round(100 * (s.wer - bare[r.file]), 1) if r.file in bare else None
        out.append(
            [
                r.file,
                r.system,
                round(s.wer, 3),
                s.substitutions,
                s.deletions,
                s.insertions,
                s.words,
                round(r.rtf, 3),
                delta,
            ]
        )
    for system in dict.fromkeys(r.system for r in rows):
        p = pooled_wer([r for r in rows if r.system == system])
        out.append(
            [
                "all languages",
                system,
                round(p.wer, 3),
                p.substitutions,
                p.deletions,
                p.insertions,
                p.words,
                None,
                None,
            ]
        )
    caption = (
        "jiwer WER after Whisper's text normaliser (English: EnglishTextNormalizer, others: "
        "BasicTextNormalizer); "
        + (
            "language detected (ours: once, on the first chunk; bare: on the first 30 s); "
            if detect
            else "language given; "
        )
        + "same weights and decoding options on every row."
    )
    title = (
        f"ASR on real telephone prompts ({split} split{', language detected' if detect else ''})"
    )
    return [table(title, cols, out, caption)]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--split", choices=["tune", "report"], default="report")
    p.add_argument("--only", choices=["diarization", "asr"], help="run one part only")
    p.add_argument("--languages", nargs="*", default=list(real_data.LANGUAGES))
    p.add_argument("--seconds", type=float, default=180.0, help="seconds per language file")
    p.add_argument("--threads", type=int, default=2, help="torch threads of bare pyannote")
    p.add_argument("--no-bare", action="store_true", help="skip the bare engines")
    p.add_argument("--detect", action="store_true", help="detect the language (not en)")
    p.add_argument("--config", default="configs/local-cpu.yaml")
    args = p.parse_args(argv)

    config = load_config({"config": args.config})
    parts: dict[str, list[dict]] = {}
    asr_part = "asr-detect" if args.detect else "asr"
    if args.only != "asr":
        bare = not args.no_bare
        tabs = diar_tables(run_diarization(config, args.threads, bare))
        tabs.insert(1, single_voice_table(run_single_voice(config, args.threads, bare)))
        parts["diarization"] = tabs
    if args.only != "diarization":
        rows = run_asr(
            config, args.split, args.languages, args.seconds, not args.no_bare, args.detect
        )
        parts[asr_part] = asr_tables(rows, args.split, args.detect)
    full = not args.no_bare and set(args.languages) == set(real_data.LANGUAGES)
    if full and args.split == "report":
        # each part is kept, so the parts can run as separate processes (make bench-real);
        # the language-detection run (--detect) is an optional third part
        for part, tabs in parts.items():
            (CACHE / f"real_speech.{part}.json").write_text(json.dumps(tabs, ensure_ascii=False))
        for part in ("diarization", "asr", "asr-detect"):
            kept = CACHE / f"real_speech.{part}.json"
            if part not in parts and kept.exists():
                parts[part] = json.loads(kept.read_text())
    tables = [t for part in ("diarization", "asr", "asr-detect") for t in parts.get(part, [])]
    complete = full and "diarization" in parts and "asr" in parts
    notes = (
        f"Config {args.config}; the diarization files are reporting data only; ASR on the "
        f"{args.split} split of the asterisk prompts; RTF of bare pyannote with "
        f"{args.threads} torch threads, ours with the diarizer's own setting."
    )
    if complete and args.split == "report":
        write_results("real_speech", command="make bench-real", tables=tables, notes=notes)
    else:
        from bench.report import format_table

        for t in tables:
            print(format_table(t))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
