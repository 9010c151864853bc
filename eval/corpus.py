"""The diarization evaluation set: a fixed manifest with a ``tune`` and a ``report`` split.

**Tune only on the tune split.** The report split exists to say how well the diarizer does on
voices it was not tuned on; its base voices (see ``eval/voices.py``: an espeak variant, or
the recorded speaker behind a flite/festival voice, sox-derived voices included) never
appear in the tune split, and :func:`validate` refuses a manifest where they would.

* tune: espeak-ng variants f4 m3 klatt4 m7 f2 grandpa (those of ``eval/conversations.VOICES``,
  on which the current defaults were tuned) plus m1 and klatt; flite ``kal16`` and ``rms``;
  festival ``kal_diphone``; conditions clean, levels, noise 15 dB / 10-20 dB, telephone,
  telephone + noise, reverb, levels + noise.
* report: espeak-ng variants marcelo grandma travis Hugo Andrea steph boris Alicia (the
  numbered m*/f*/klatt* variants sound alike to CAM++, see ``eval/voices.py``); flite ``awb``
  and ``slt``; festival ``ked_diphone`` and ``cmu_us_slt_arctic_hts``; conditions clean,
  levels, noise 10 dB / 10-20 dB, telephone, telephone + noise, strong reverb, reverb + levels,
  levels + noise, "office" (reverb + levels + noise).

Each split has a ``quick`` subset (5 files of 40-60 s) and a default set of about 25-30
minutes (the report default includes a 10-minute file); ``long`` adds a 12-minute tune file
and a 20-minute report file. :func:`test_subset` is three short tune-split files for pytest
(tune split, because tests run while tuning).

A conversation is deterministic given its :class:`FileSpec`: speakers take turns (weighted,
never the same speaker twice in a row, everybody at least once), a turn is a back-channel
(``SHORT_TURNS``) or 1-3 sentences; with ``overlap_prob`` a turn starts before the previous
one ends, and half of the overlapping back-channels fall inside the previous turn. Every
utterance is normalised to the same speech level, then scaled by its speaker's gain. The
reference has one :class:`RefTurn` per synthesised sentence (exact trimmed extents), so
turns of different speakers may overlap.

Generated audio (16-bit wav), the reference (RTTM) and the turns with their text (JSON) are
cached under ``var/eval-cache/<name>-<hash of the spec>/`` (``EVAL_CACHE_DIR`` overrides).

System packages: ``espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k
festvox-us-slt-hts sox``.

CLI: ``python -m eval.corpus --split tune --quick`` generates (or finds) the files and
lists them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.conditions import apply_channel, drawn_snr, speaker_gains_db
from eval.conversations import (
    SAMPLE_RATE,
    SHORT_TURNS,
    RefTurn,
    read_wav,
    write_rttm,
    write_wav,
)
from eval.manifest import SENTENCE_POOL, FileSpec, select, test_subset
from eval.voices import synthesize_voice

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[1] / "var" / "eval-cache"


@dataclass
class Conversation:
    """A generated file: 16 kHz float32 audio, reference turns and what was drawn."""

    spec: FileSpec
    audio: np.ndarray
    turns: list[RefTurn]
    gains_db: list[float] = field(default_factory=list)
    snr_db: float | None = None

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def ref_tuples(self) -> list[tuple[float, float, str]]:
        return [(t.start, t.end, t.speaker) for t in self.turns]


TARGET_RMS = 0.08  # speech level of every utterance before the speaker gain (~ -22 dBFS)


def _normalised(x: np.ndarray, gain_db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0
    scale = (TARGET_RMS / rms if rms > 0 else 1.0) * 10 ** (gain_db / 20)
    return (x * np.float32(scale)).astype(np.float32)


def build(spec: FileSpec) -> Conversation:
    """Synthesise ``spec`` (no cache). Deterministic given the spec."""
    rng = random.Random(spec.seed)
    voices = spec.voice_specs
    n = spec.speakers
    gains = speaker_gains_db(spec.cond, n, spec.seed)
    weights = [rng.uniform(0.5, 1.5) for _ in range(n)]  # some people talk more
    order = list(range(n))
    rng.shuffle(order)
    placed: list[tuple[int, np.ndarray]] = []
    turns: list[RefTurn] = []
    cursor = 0.5  # end of the latest speech so far (starts with lead silence)
    prev: tuple[int, float, float] | None = None  # speaker, start, end of the previous turn
    k = 0
    while cursor + 3.0 < spec.duration or k < n:  # turns average ~4 s
        if k < n:
            spk = order[k]
        else:
            others = [i for i in range(n) if prev is None or i != prev[0]]
            spk = rng.choices(others, [weights[i] for i in others])[0]
        k += 1
        short = rng.random() < spec.short_turn_prob
        texts = [rng.choice(SHORT_TURNS)] if short else rng.sample(SENTENCE_POOL, rng.randint(1, 3))
        clips = [_normalised(synthesize_voice(t, voices[spk]), gains[spk]) for t in texts]
        gaps = [rng.uniform(0.15, 0.4) for _ in clips[1:]]
        length = (sum(len(c) for c in clips) / SAMPLE_RATE) + sum(gaps)
        start = cursor + rng.uniform(0.15, 0.8)
        if prev is not None and rng.random() < spec.overlap_prob:
            _, p_start, p_end = prev
            p_len = p_end - p_start
            if short and rng.random() < 0.5 and p_len > 1.5:  # back-channel inside the turn
                start = rng.uniform(p_start + 0.5, p_end - 0.5)
            else:  # start before the previous turn ends
                start = p_end - rng.uniform(0.2, max(0.25, min(1.5, 0.5 * p_len)))
        t = start
        for i, (text, clip) in enumerate(zip(texts, clips, strict=True)):
            s0 = round(t * SAMPLE_RATE)
            placed.append((s0, clip))
            turns.append(
                RefTurn(s0 / SAMPLE_RATE, (s0 + len(clip)) / SAMPLE_RATE, spec.voices[spk], text)
            )
            t = (s0 + len(clip)) / SAMPLE_RATE + (gaps[i] if i < len(gaps) else 0.0)
        end = start + length
        prev = (spk, start, end)
        cursor = max(cursor, end)
    total = round((cursor + 0.5) * SAMPLE_RATE)
    audio = np.zeros(total, np.float32)
    for s0, clip in placed:
        audio[s0 : s0 + len(clip)] += clip
    floor = np.random.default_rng([spec.seed, 4]).standard_normal(total).astype(np.float32)
    audio += floor * np.float32(10 ** (-60 / 20))  # a faint noise floor, like a recording
    audio = apply_channel(audio, spec.cond, spec.seed)
    turns.sort(key=lambda r: (r.start, r.speaker))
    return Conversation(spec, audio, turns, gains, drawn_snr(spec.cond, spec.seed))


def cache_dir() -> Path:
    return Path(os.environ.get("EVAL_CACHE_DIR") or DEFAULT_CACHE_DIR)


def load(spec: FileSpec, cache: Path | str | None = None, use_cache: bool = True) -> Conversation:
    """The conversation for ``spec``, from the cache (generated and stored on a miss).

    The audio always comes back through the 16-bit wav, so cached and fresh results match.
    """
    if not use_cache:
        return build(spec)
    folder = Path(cache or cache_dir()) / f"{spec.name}-{spec.key()}"
    wav, meta = folder / "audio.wav", folder / "turns.json"
    if not (wav.exists() and meta.exists()):
        conv = build(spec)
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        write_wav(conv.audio, tmp / "audio.wav")
        write_rttm(conv.turns, tmp / "ref.rttm", uri=spec.name)
        info = {
            "spec": dataclasses.asdict(spec),
            "key": spec.key(),
            "gains_db": conv.gains_db,
            "snr_db": conv.snr_db,
            "turns": [dataclasses.asdict(t) for t in conv.turns],
        }
        (tmp / "turns.json").write_text(json.dumps(info, indent=1))
        if folder.exists():  # another process won the race
            shutil.rmtree(tmp)
        else:
            tmp.rename(folder)
    audio, _ = read_wav(wav)
    info = json.loads(meta.read_text())
    turns = [RefTurn(**t) for t in info["turns"]]
    return Conversation(spec, audio, turns, info["gains_db"], info["snr_db"])


def describe(spec: FileSpec) -> str:
    return f"{spec.speakers}spk {'+'.join(spec.engines)} {spec.condition}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--split", choices=["tune", "report", "test"], default="tune")
    p.add_argument("--quick", action="store_true", help="the quick subset only")
    p.add_argument("--long", action="store_true", help="include the long files")
    p.add_argument("--cache", help=f"cache directory (default {DEFAULT_CACHE_DIR})")
    p.add_argument("--no-cache", action="store_true", help="generate in memory only")
    args = p.parse_args(argv)
    specs = test_subset() if args.split == "test" else select(args.split, args.quick, args.long)
    t_all, total = time.perf_counter(), 0.0
    for spec in specs:
        t0 = time.perf_counter()
        conv = load(spec, args.cache, use_cache=not args.no_cache)
        total += conv.duration
        print(
            f"{spec.name:14} {describe(spec):36} {conv.duration:7.1f}s "
            f"turns={len(conv.turns):4d} gains={conv.gains_db} snr={conv.snr_db} "
            f"{time.perf_counter() - t0:6.1f}s",
            flush=True,
        )
    print(
        f"{len(specs)} files, {total / 60:.1f} min of audio in {time.perf_counter() - t_all:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
