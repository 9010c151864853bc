"""Recording conditions for the diarization evaluation set (sox and numpy).

A :class:`Condition` describes what happens to a conversation after the voices are mixed:
per-speaker level differences (applied to each speaker before mixing, see
:func:`speaker_gains_db`), then the channel (reverb, telephone band, additive noise), applied
to the mix by :func:`apply_channel`. Everything is deterministic given the seed.

* **telephone**: 300-3400 Hz band-pass, down to 8 kHz and back up to 16 kHz (sox).
* **reverb**: ``sox reverb <reverberance>`` (wet + dry, the output keeps the input length).
* **noise**: white-ish noise shaped by a gentle low-pass (numpy), scaled to ``snr_db``
  against the power of the *active* speech (samples above -50 dBFS), seeded.
* **levels**: each speaker gets a constant gain drawn uniformly from ``[-level_spread_db, 0]``.

:data:`CONDITIONS` names the conditions the manifest in ``eval/corpus.py`` refers to.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Condition:
    """A recording condition: level spread between speakers plus a channel."""

    name: str
    level_spread_db: float = 0.0
    """per-speaker gains are drawn from [-level_spread_db, 0] dB"""
    reverb: int | None = None
    """sox reverberance in percent (None: no reverb)"""
    telephone: bool = False
    """300-3400 Hz band, resampled through 8 kHz"""
    snr_db: float | tuple[float, float] | None = None
    """additive noise SNR in dB, or a (low, high) range drawn per file"""

    @property
    def tags(self) -> list[str]:
        """Short labels of the effects present (``clean`` when none), for breakdowns."""
        out = []
        if self.level_spread_db:
            out.append("levels")
        if self.reverb is not None:
            out.append("reverb")
        if self.telephone:
            out.append("telephone")
        if self.snr_db is not None:
            out.append("noise")
        return out or ["clean"]


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in [
        Condition("clean"),
        Condition("levels", level_spread_db=10.0),
        Condition("noise15", snr_db=15.0),
        Condition("noise10-20", snr_db=(10.0, 20.0)),
        Condition("noise10", snr_db=10.0),
        Condition("telephone", telephone=True),
        Condition("telephone-noise", telephone=True, snr_db=(12.0, 18.0)),
        Condition("reverb", reverb=50),
        Condition("reverb-strong", reverb=80),
        Condition("reverb-levels", reverb=60, level_spread_db=8.0),
        Condition("levels-noise", level_spread_db=10.0, snr_db=(12.0, 20.0)),
        Condition("office", reverb=40, level_spread_db=6.0, snr_db=(15.0, 20.0)),
    ]
}


def run_sox(
    audio: np.ndarray, effects: Sequence[str], sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Run float32 mono ``audio`` through ``sox`` with ``effects`` (raw float in and out).

    Effects that change the rate must end at ``sample_rate`` again (e.g. ``rate 8000 rate
    16000``); the result may be shorter or longer than the input (``tempo``).
    """
    exe = shutil.which("sox")
    if exe is None:
        raise RuntimeError("sox is not installed (apt-get install sox)")
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sample_rate)]
    proc = subprocess.run(
        [exe, "-q", "-V1", *raw, "-", *raw, "-", *effects],
        input=np.ascontiguousarray(audio, dtype="<f4").tobytes(),
        check=True,
        capture_output=True,
    )
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)


def speaker_gains_db(condition: Condition, num_speakers: int, seed: int) -> list[float]:
    """Per-speaker gain (dB) for this condition; all 0 without a level spread."""
    if not condition.level_spread_db:
        return [0.0] * num_speakers
    rng = np.random.default_rng([seed, 1])
    gains = rng.uniform(-condition.level_spread_db, 0.0, num_speakers)
    gains[int(rng.integers(num_speakers))] = 0.0  # somebody is at full level
    return [round(float(g), 2) for g in gains]


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.zeros(n - len(x), np.float32)])


def active_power(audio: np.ndarray, floor_db: float = -50.0) -> float:
    """Mean power of the samples above ``floor_db`` dBFS (speech, not the pauses)."""
    mask = np.abs(audio) > 10 ** (floor_db / 20)
    return float(np.mean(np.square(audio[mask]))) if mask.any() else 0.0


def add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """Add seeded noise (white through a one-pole low-pass) at ``snr_db`` to active speech."""
    from scipy.signal import lfilter

    rng = np.random.default_rng([seed, 2])
    noise = lfilter([1.0], [1.0, -0.7], rng.standard_normal(len(audio))).astype(np.float32)
    power = active_power(audio)
    if power == 0.0:
        return audio
    scale = np.sqrt(power / 10 ** (snr_db / 10) / float(np.mean(np.square(noise))))
    return (audio + noise * np.float32(scale)).astype(np.float32)


def drawn_snr(condition: Condition, seed: int) -> float | None:
    """The SNR this file gets (a range is drawn from the seed)."""
    snr = condition.snr_db
    if snr is None or isinstance(snr, float | int):
        return snr
    return round(float(np.random.default_rng([seed, 3]).uniform(*snr)), 1)


def apply_channel(audio: np.ndarray, condition: Condition, seed: int) -> np.ndarray:
    """Reverb, telephone band, then noise; the output has the input's length."""
    n = len(audio)
    x = audio.astype(np.float32)
    if condition.reverb is not None:
        x = _fit(run_sox(x, ["reverb", str(condition.reverb)]), n)
    if condition.telephone:
        x = _fit(run_sox(x, ["sinc", "300-3400", "rate", "8000", "rate", "16000"]), n)
    snr = drawn_snr(condition, seed)
    if snr is not None:
        x = add_noise(x, snr, seed)
    peak = float(np.max(np.abs(x))) if n else 0.0
    if peak > 0.99:  # keep the mix inside [-1, 1] without clipping
        x = x * np.float32(0.99 / peak)
    return x.astype(np.float32)
