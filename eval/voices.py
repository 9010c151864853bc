"""Synthetic voices from three engines, grouped by *base voice* for the tune/report split.

Engines (all Debian packages, see the module docstring of ``eval/corpus.py``):

* ``espeak``: ``espeak-ng -v <lang>+<variant> -p <pitch> -s <speed>``; one formant
  synthesiser, so the variant (``m3``, ``f2``, ``klatt4``...) decides the timbre.
* ``flite``: ``flite -voice <kal16|awb|rms|slt> -t <text> -o out.wav``.
* ``festival``: ``text2wave -eval "(voice_<name>)"`` for ``kal_diphone``, ``ked_diphone``
  and ``cmu_us_slt_arctic_hts``.

A :class:`VoiceSpec` may be *derived* from another by a sox pitch shift (cents) and tempo
change; a derived voice keeps the ``base`` of the voice it comes from. ``base`` names the
underlying identity: the espeak variant (the accent and pitch settings do not make a new
person), or the recorded speaker behind flite/festival voices (flite ``kal16`` and festival
``kal_diphone`` are both Kevin Lenzo, flite ``slt`` and festival ``slt_arctic_hts`` both the
CMU ARCTIC speaker SLT). The split in ``eval/corpus.py`` never puts one base in both splits.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from eval.conditions import run_sox
from eval.conversations import (
    SAMPLE_RATE,
    VOICES,
    Voice,
    _resample,
    _trim,
    read_wav,
    synthesize,
)

Engine = Literal["espeak", "flite", "festival"]


@dataclass(frozen=True)
class VoiceSpec:
    """One synthetic speaker: an engine voice, optionally shifted by sox."""

    name: str
    engine: Engine
    voice: str
    """engine voice id: ``en-us+m3`` (espeak), ``slt`` (flite), ``ked_diphone`` (festival)"""
    base: str
    """identity for the split; derived voices share the base of their source"""
    pitch: int = 50
    """espeak ``-p`` (0-99)"""
    speed: int = 175
    """espeak ``-s`` (words per minute)"""
    shift_cents: int = 0
    """sox ``pitch`` shift applied after synthesis"""
    tempo: float = 1.0
    """sox ``tempo`` factor applied after synthesis"""

    @property
    def derived(self) -> bool:
        return self.shift_cents != 0 or self.tempo != 1.0

    def derive(self, name: str, shift_cents: int = 0, tempo: float = 1.0) -> VoiceSpec:
        """A new speaker from this voice by a sox pitch/tempo shift (same base)."""
        return VoiceSpec(
            name, self.engine, self.voice, self.base, self.pitch, self.speed, shift_cents, tempo
        )


def _espeak(name: str, voice: str, pitch: int, speed: int) -> VoiceSpec:
    return VoiceSpec(name, "espeak", voice, "espeak:" + voice.split("+")[-1], pitch, speed)


def _flite(name: str, voice: str, base: str) -> VoiceSpec:
    return VoiceSpec(name, "flite", voice, base)


def _festival(name: str, voice: str, base: str) -> VoiceSpec:
    return VoiceSpec(name, "festival", voice, base)


_BASE: list[VoiceSpec] = [
    # espeak-ng variants already used by eval/conversations.VOICES (the diarizer's defaults
    # were tuned on them) go to the tune split, together with m1 and klatt
    *(
        _espeak(name, v.voice, v.pitch, v.speed)
        for name, v in zip(
            ["es-029-f4", "es-us-m3", "es-us-klatt4", "es-sc-m7", "es-us-f2", "es-us-grandpa"],
            VOICES,
            strict=True,
        )
    ),
    _espeak("es-rp-m1", "en-gb-x-rp+m1", 45, 160),
    _espeak("es-nyc-klatt", "en-us-nyc+klatt", 60, 170),
    # espeak-ng variants never used before: report split. espeak's m*/f*/klatt* variants are
    # scalings of one formant set (CAM++ cosine 0.85-0.97 to the tune variants: a leak), so
    # the report split takes the named variants whose CAM++ cosine to every tune voice is
    # <= 0.6 (and <= 0.66 to each other)
    _espeak("es-us-marcelo", "en-us+marcelo", 45, 160),
    _espeak("es-029-grandma", "en-029+grandma", 55, 150),
    _espeak("es-lan-travis", "en-gb-x-gbclan+travis", 50, 165),
    _espeak("es-us-hugo", "en-us+Hugo", 40, 170),
    _espeak("es-wm-andrea", "en-gb-x-gbcwmd+Andrea", 60, 155),
    _espeak("es-029-steph", "en-029+steph", 55, 170),
    _espeak("es-sc-boris", "en-gb-scotland+boris", 35, 160),
    _espeak("es-us-alicia", "en-us+Alicia", 65, 165),
    # flite (CMU) voices; kal16 rather than kal (8 kHz) and not awb_time (limited domain)
    _flite("fl-kal", "kal16", "kal"),
    _flite("fl-rms", "rms", "rms"),
    _flite("fl-awb", "awb", "awb"),
    _flite("fl-slt", "slt", "slt"),
    # festival voices
    _festival("fe-kal", "kal_diphone", "kal"),
    _festival("fe-ked", "ked_diphone", "ked"),
    _festival("fe-slt", "cmu_us_slt_arctic_hts", "slt"),
]

_BY_NAME = {v.name: v for v in _BASE}

_DERIVED: list[VoiceSpec] = [
    # tune
    _BY_NAME["fl-rms"].derive("fl-rms-up", shift_cents=350, tempo=1.08),
    _BY_NAME["fe-kal"].derive("fe-kal-down", shift_cents=-300, tempo=0.92),
    _BY_NAME["es-us-m3"].derive("es-us-m3-up", shift_cents=500, tempo=1.1),
    _BY_NAME["fl-kal"].derive("fl-kal-up", shift_cents=700, tempo=1.05),
    # report
    _BY_NAME["fl-awb"].derive("fl-awb-down", shift_cents=-250, tempo=0.95),
    _BY_NAME["fl-slt"].derive("fl-slt-down", shift_cents=-600, tempo=1.05),
    _BY_NAME["fe-ked"].derive("fe-ked-up", shift_cents=400, tempo=1.1),
    _BY_NAME["es-us-hugo"].derive("es-us-hugo-down", shift_cents=-400, tempo=0.9),
]

VOICE_BANK: dict[str, VoiceSpec] = {v.name: v for v in _BASE + _DERIVED}
"""Every voice the corpus may use, by name."""


def _check_exe(name: str, package: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise RuntimeError(f"{name} is not installed (apt-get install {package})")
    return exe


def _engine_wav(text: str, spec: VoiceSpec) -> np.ndarray:
    """Raw 16 kHz mono float32 audio from flite or festival (through a temporary wav)."""
    with tempfile.TemporaryDirectory(prefix="voice-") as tmp:
        out = Path(tmp) / "out.wav"
        if spec.engine == "flite":
            cmd = [_check_exe("flite", "flite"), "-voice", spec.voice, "-t", text, "-o", str(out)]
        else:
            txt = Path(tmp) / "in.txt"
            txt.write_text(text + "\n")
            exe = _check_exe("text2wave", "festival")
            cmd = [exe, "-eval", f"(voice_{spec.voice})", str(txt), "-o", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
        x, sr = read_wav(out)
    return _resample(x, sr, SAMPLE_RATE)


@functools.lru_cache(maxsize=1024)
def synthesize_voice(text: str, spec: VoiceSpec) -> np.ndarray:
    """Speak ``text`` with ``spec``: trimmed 16 kHz mono float32 audio (read-only array).

    Results are memoised per process (turns reuse a fixed sentence pool), so do not modify
    the returned array in place.
    """
    if spec.engine == "espeak":
        x = synthesize(text, Voice(spec.name, spec.voice, spec.pitch, spec.speed))
    else:
        x = _trim(_engine_wav(text, spec))
    if spec.derived:
        effects = []
        if spec.shift_cents:
            effects += ["pitch", str(spec.shift_cents)]
        if spec.tempo != 1.0:
            effects += ["tempo", "-s", str(spec.tempo)]
        x = _trim(run_sox(x, effects))
    x = np.ascontiguousarray(x, dtype=np.float32)
    x.flags.writeable = False
    return x
