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
import hashlib
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from eval.conditions import CONDITIONS, Condition, apply_channel, drawn_snr, speaker_gains_db
from eval.conversations import (
    SAMPLE_RATE,
    SENTENCES,
    SHORT_TURNS,
    RefTurn,
    read_wav,
    write_rttm,
    write_wav,
)
from eval.voices import VOICE_BANK, VoiceSpec, synthesize_voice

CORPUS_VERSION = 1
"""Bump when the generator changes in a way that changes audio (invalidates the cache)."""

Split = Literal["tune", "report"]

DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[1] / "var" / "eval-cache"

EXTRA_SENTENCES = [
    "The contract renewal is due in March, so we have a little time left.",
    "I counted forty open tickets this morning, most of them about logins.",
    "Please do not merge anything into the main branch until the tests pass.",
    "We could ask the design team for help with the onboarding screens.",
    "Revenue in the northern region grew faster than anybody predicted.",
    "The conference room is booked, but the projector still needs a cable.",
    "Two of the servers ran out of disk space during the night.",
    "I am not convinced that the new pricing will work for small customers.",
    "Let us revisit the hiring plan once the budget is final.",
    "The pilot with the hospital starts in three weeks, if legal agrees.",
    "Most users never open the settings page, according to the analytics.",
    "We promised the translation for the German market by the summer.",
    "Our response time on weekends is still much worse than on weekdays.",
    "A simpler checkout flow would probably reduce the number of abandoned carts.",
    "I will call the landlord about the heating in the back office.",
    "The quarterly review slides need one more chart about retention.",
]

SENTENCE_POOL = SENTENCES + EXTRA_SENTENCES


@dataclass(frozen=True)
class FileSpec:
    """One file of the evaluation set; the audio is a pure function of these fields."""

    name: str
    split: Split
    voices: tuple[str, ...]
    """voice names from ``eval.voices.VOICE_BANK``, one per speaker"""
    condition: str
    """a key of ``eval.conditions.CONDITIONS``"""
    duration: float
    """target length in seconds (the file ends after the turn that crosses it)"""
    seed: int
    overlap_prob: float = 0.25
    """probability that a turn starts before the previous one ends"""
    short_turn_prob: float = 0.3
    """probability that a turn is a back-channel (``SHORT_TURNS``)"""
    subsets: tuple[str, ...] = ()
    """``quick``, ``test``, ``long`` (selection only; not part of the cache key)"""

    @property
    def speakers(self) -> int:
        return len(self.voices)

    @property
    def voice_specs(self) -> list[VoiceSpec]:
        return [VOICE_BANK[v] for v in self.voices]

    @property
    def engines(self) -> list[str]:
        return sorted({v.engine for v in self.voice_specs})

    @property
    def cond(self) -> Condition:
        return CONDITIONS[self.condition]

    def key(self) -> str:
        """Hash of everything that determines the audio (spec, voices, condition, pool)."""
        payload = {
            "version": CORPUS_VERSION,
            "spec": {k: v for k, v in dataclasses.asdict(self).items() if k != "subsets"},
            "voices": [dataclasses.asdict(v) for v in self.voice_specs],
            "condition": dataclasses.asdict(self.cond),
            "pool": [SENTENCE_POOL, SHORT_TURNS],
        }
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _f(
    name: str,
    voices: Sequence[str],
    condition: str,
    duration: float,
    seed: int,
    *subsets: str,
    overlap: float = 0.25,
    short: float = 0.3,
) -> FileSpec:
    split: Split = "tune" if name.startswith("tune-") else "report"
    return FileSpec(name, split, tuple(voices), condition, duration, seed, overlap, short, subsets)


MANIFEST: tuple[FileSpec, ...] = (
    # ---------------- tune: the only split anyone tunes on ----------------
    _f("tune-t1", ["fl-kal", "es-us-f2"], "clean", 30, 101, "test"),
    _f("tune-t2", ["fe-kal", "es-us-klatt4", "fl-rms"], "noise15", 40, 106, "test"),
    _f("tune-t3", ["es-sc-m7", "fl-rms-up", "es-029-f4"], "telephone", 35, 103, "test"),
    _f("tune-q1", ["fl-rms", "es-us-m3"], "clean", 45, 111, "quick"),
    _f("tune-q2", ["fe-kal", "es-029-f4", "es-rp-m1"], "telephone", 40, 116, "quick"),
    _f(
        "tune-q3", ["fl-kal", "es-us-grandpa", "es-us-klatt4", "fl-rms"], "levels", 60, 113, "quick"
    ),
    _f(
        "tune-q4",
        ["es-sc-m7", "fe-kal-down", "es-us-f2", "fl-rms", "es-nyc-klatt"],
        "noise15",
        60,
        114,
        "quick",
    ),
    _f("tune-q5", ["fe-kal", "es-us-f2"], "reverb", 45, 115, "quick", overlap=0.4),
    _f("tune-01", ["es-us-klatt4", "fl-rms-up", "es-sc-m7"], "clean", 150, 121, overlap=0.35),
    _f(
        "tune-02",
        ["es-029-f4", "es-us-m3", "fl-kal", "es-us-grandpa", "fl-rms", "es-rp-m1"],
        "noise10-20",
        240,
        122,
    ),
    _f("tune-03", ["fe-kal", "es-us-f2", "fl-rms", "es-nyc-klatt"], "telephone-noise", 180, 123),
    _f("tune-04", ["fl-kal-up", "es-us-grandpa"], "levels", 300, 124, short=0.4),
    # hard case: a voice and its sox-shifted copy in one file
    _f(
        "tune-05",
        ["es-us-m3", "es-us-m3-up", "fl-rms", "fe-kal", "es-us-klatt4"],
        "reverb",
        180,
        125,
    ),
    _f("tune-06", ["es-rp-m1", "fe-kal-down", "es-us-f2"], "levels-noise", 150, 126),
    _f("tune-long", ["es-us-klatt4", "fl-rms", "fe-kal", "es-sc-m7"], "noise15", 720, 131, "long"),
    # ---------------- report: never tune on these ----------------
    _f("report-q1", ["fl-awb", "es-wm-andrea"], "clean", 45, 211, "quick"),
    _f("report-q2", ["fe-ked", "es-us-hugo", "fl-slt"], "telephone-noise", 50, 212, "quick"),
    _f(
        "report-q3",
        ["es-sc-boris", "fe-slt", "es-029-grandma", "fl-awb"],
        "noise10",
        60,
        213,
        "quick",
    ),
    _f(
        "report-q4",
        ["es-lan-travis", "fl-slt-down", "fe-ked", "es-029-steph", "es-us-marcelo"],
        "reverb-levels",
        60,
        214,
        "quick",
    ),
    _f("report-q5", ["fe-slt", "es-us-alicia"], "levels", 40, 215, "quick", overlap=0.4),
    _f("report-01", ["fl-awb-down", "es-wm-andrea", "fe-ked"], "clean", 150, 221, overlap=0.35),
    _f(
        "report-02",
        ["es-us-hugo", "fl-slt", "es-sc-boris", "fe-ked", "es-029-grandma", "es-us-marcelo"],
        "office",
        240,
        222,
    ),
    _f("report-03", ["fe-slt", "es-lan-travis", "fl-awb", "es-029-steph"], "telephone", 180, 223),
    _f("report-04", ["fl-slt", "es-us-hugo-down"], "reverb-strong", 150, 224, short=0.4),
    # hard case: a voice and its sox-shifted copy in one file
    _f(
        "report-05",
        ["fe-ked", "fe-ked-up", "fl-awb", "es-wm-andrea", "es-us-alicia"],
        "levels-noise",
        180,
        225,
    ),
    _f(
        "report-10min",
        ["fl-awb", "fe-slt", "es-sc-boris", "es-029-grandma"],
        "noise10-20",
        600,
        226,
    ),
    _f(
        "report-20min",
        ["fl-slt", "fe-ked", "es-us-hugo", "es-029-steph", "fl-awb-down", "es-lan-travis"],
        "office",
        1200,
        231,
        "long",
    ),
)


def split_bases(manifest: Iterable[FileSpec] = MANIFEST) -> dict[str, set[str]]:
    """Base voices used by each split."""
    out: dict[str, set[str]] = {"tune": set(), "report": set()}
    for spec in manifest:
        out[spec.split].update(VOICE_BANK[v].base for v in spec.voices)
    return out


def validate(manifest: Sequence[FileSpec] = MANIFEST) -> None:
    """Raise ``ValueError`` if the manifest mixes base voices across splits (or is malformed)."""
    names = [s.name for s in manifest]
    if len(set(names)) != len(names):
        raise ValueError("duplicate file names in the manifest")
    for s in manifest:
        unknown = [v for v in s.voices if v not in VOICE_BANK]
        if unknown or s.condition not in CONDITIONS:
            raise ValueError(f"{s.name}: unknown voice {unknown} or condition {s.condition}")
        if not 2 <= s.speakers <= 6 or len(set(s.voices)) != s.speakers:
            raise ValueError(f"{s.name}: needs 2-6 distinct voices")
        if "test" in s.subsets and s.split != "tune":
            raise ValueError(f"{s.name}: test files come from the tune split")
    bases = split_bases(manifest)
    shared = bases["tune"] & bases["report"]
    if shared:
        raise ValueError(f"base voices in both splits: {sorted(shared)}")


validate()


def select(split: Split, quick: bool = False, long: bool = False) -> list[FileSpec]:
    """Files of ``split``: the ``quick`` subset, or the default set; ``long`` adds long files."""
    files = [s for s in MANIFEST if s.split == split]
    if quick:
        chosen = [s for s in files if "quick" in s.subsets]
    else:
        chosen = [s for s in files if "long" not in s.subsets]
    if long:
        chosen += [s for s in files if "long" in s.subsets and s not in chosen]
    return chosen


def test_subset() -> list[FileSpec]:
    """Three fixed 30-40 s files for pytest (tune split; flite, festival, espeak; noise and
    telephone). Tests may run while tuning, so they never touch the report split."""
    return [s for s in MANIFEST if "test" in s.subsets]


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
