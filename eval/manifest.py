"""The manifest of the diarization evaluation set: every file's spec and its split
(``tune`` or ``report``), and the check that the two splits share no base voice. See
``eval/corpus.py`` for how a spec becomes audio and a reference."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from eval.conditions import CONDITIONS, Condition
from eval.conversations import SENTENCES, SHORT_TURNS
from eval.voices import VOICE_BANK, VoiceSpec

Split = Literal["tune", "report"]

CORPUS_VERSION = 1
"""Bump when the generator changes in a way that changes audio (invalidates the cache)."""


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
