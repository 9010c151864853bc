"""Synthesised multi-speaker conversations for diarization tests and evaluation.

There is no real multi-speaker corpus on the package registry, so conversations are built
with ``espeak-ng``: every speaker gets a different voice variant, pitch and speed, turns are
drawn from a fixed sentence pool (short back-channel turns and long multi-sentence turns),
separated by short random pauses. The reference turns are the exact sample extents of each
synthesised utterance (leading/trailing silence trimmed), so DER and attribution can be
computed exactly.

Output: 16 kHz mono float32 numpy audio plus ``list[RefTurn]``; ``write_rttm`` writes the
reference in RTTM format, ``write_wav`` a 16-bit PCM wav (stdlib ``wave``, no extra deps).
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import wave
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: ``-v voice -p pitch -s speed``."""

    name: str
    voice: str
    pitch: int
    speed: int


@dataclass(frozen=True)
class RefTurn:
    """One reference speech turn (seconds)."""

    start: float
    end: float
    speaker: str
    text: str


# Clearly different voices (timbre variant, accent, pitch, rate), chosen so that CAM++
# embeddings of different voices have cosine similarity <= ~0.65 (espeak voices share one
# formant synthesiser, so they are much closer to each other than real people are; e.g.
# en-gb+f3 vs en-us+m3 is 0.82). The first n are used for an n-speaker conversation.
VOICES: list[Voice] = [
    Voice("alice", "en-029+f4", 75, 140),
    Voice("bob", "en-us+m3", 38, 165),
    Voice("carol", "en-us+klatt4", 70, 150),
    Voice("dave", "en-gb-scotland+m7", 25, 175),
    Voice("erin", "en-us+f2", 55, 180),
    Voice("frank", "en-us+grandpa", 30, 150),
]

SHORT_TURNS = [
    "Yes.",
    "Okay.",
    "Right, I see.",
    "Sure, go ahead.",
    "Mm, good point.",
    "No, not really.",
    "Exactly.",
    "Thanks.",
    "Makes sense.",
    "Hold on.",
]

SENTENCES = [
    "I think we should move the release to the end of next week.",
    "The new dashboard shows the error rate dropping after the last deployment.",
    "Could you send me the numbers from the customer survey before Friday?",
    "We tried the cheaper storage option but the latency was far too high.",
    "My main concern is that nobody owns the migration of the old accounts.",
    "Let's keep the meeting short today because half the team is travelling.",
    "The budget for the second quarter has already been approved by finance.",
    "I spoke with the vendor yesterday and they promised a fix within two days.",
    "If we cache the results we can probably cut the response time in half.",
    "The interns will join us on Monday and need laptops and accounts.",
    "Our biggest customer asked whether the report can be exported as a spreadsheet.",
    "I would rather test it on a small group of users before the full launch.",
    "The training data has some duplicates that we should remove first.",
    "We need a decision on the office move by the end of the month.",
    "Security reviewed the design and asked for two small changes.",
    "Honestly, the documentation is the part I am most worried about.",
    "The marketing team wants a short video for the product announcement.",
    "Last time the backup took four hours, which is far longer than expected.",
    "Can we agree that the mobile app goes first and the web version later?",
    "I will write a summary of this discussion and share it this afternoon.",
    "Shipping costs went up again, so the margins are thinner than planned.",
    "The printer on the third floor has been broken for a week now.",
    "Let me check the calendar and propose two possible dates.",
    "We should invite someone from support, they hear the complaints first.",
]


def _resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x
    from scipy.signal import resample_poly

    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """Speak ``text`` with espeak-ng, return trimmed 16 kHz mono float32 audio."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    proc = subprocess.run(
        [exe, "-v", voice.voice, "-p", str(voice.pitch), "-s", str(voice.speed), "--stdout", text],
        check=True,
        capture_output=True,
    )
    with wave.open(io.BytesIO(proc.stdout)) as w:
        sr = w.getframerate()
        # espeak-ng streams to stdout with an unknown length in the header: read everything
        raw = proc.stdout[44:] if w.getnframes() in (0, 0x7FFFFFFF) else w.readframes(-1)
    x = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    x = _resample(x, sr, SAMPLE_RATE)
    return _trim(x)


def _trim(x: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > threshold)
    if idx.size == 0:
        return x[:0]
    return x[idx[0] : idx[-1] + 1]


def make_conversation(
    num_speakers: int = 2,
    duration: float = 60.0,
    seed: int = 0,
    short_turn_prob: float = 0.3,
    max_sentences: int = 3,
    pause: tuple[float, float] = (0.15, 0.8),
    lead_silence: float = 0.5,
    noise_db: float | None = -50.0,
) -> tuple[np.ndarray, list[RefTurn]]:
    """Build a conversation of about ``duration`` seconds between ``num_speakers`` voices.

    Speakers alternate (never the same speaker twice in a row), each turn is either a short
    back-channel phrase (probability ``short_turn_prob``) or 1..``max_sentences`` sentences.
    Every speaker talks at least once. Returns (audio, reference turns).
    """
    if not 1 <= num_speakers <= len(VOICES):
        raise ValueError(f"num_speakers must be in 1..{len(VOICES)}")
    rng = random.Random(seed)
    voices = VOICES[:num_speakers]
    pieces: list[np.ndarray] = [np.zeros(int(lead_silence * SAMPLE_RATE), np.float32)]
    turns: list[RefTurn] = []
    t = lead_silence
    prev = -1
    order = list(range(num_speakers))
    rng.shuffle(order)
    k = 0
    while t < duration or k < num_speakers:
        if k < num_speakers:  # everybody speaks once first, in random order
            spk = order[k]
        else:
            spk = rng.choice([i for i in range(num_speakers) if i != prev] or [0])
        k += 1
        prev = spk
        if rng.random() < short_turn_prob:
            text = rng.choice(SHORT_TURNS)
        else:
            text = " ".join(rng.sample(SENTENCES, rng.randint(1, max_sentences)))
        speech = synthesize(text, voices[spk])
        turns.append(RefTurn(t, t + len(speech) / SAMPLE_RATE, voices[spk].name, text))
        gap = rng.uniform(*pause)
        pieces += [speech, np.zeros(int(gap * SAMPLE_RATE), np.float32)]
        t += (len(speech) + int(gap * SAMPLE_RATE)) / SAMPLE_RATE
    audio = np.concatenate(pieces).astype(np.float32)
    if noise_db is not None:  # a faint noise floor, like a real recording
        noise = np.random.default_rng(seed).standard_normal(len(audio)).astype(np.float32)
        audio += noise * np.float32(10 ** (noise_db / 20))
    return audio, turns


def make_single(text: str, voice: Voice = VOICES[0], pad: float = 0.5) -> np.ndarray:
    """One utterance of one speaker, padded with ``pad`` seconds of silence on both sides."""
    z = np.zeros(int(pad * SAMPLE_RATE), np.float32)
    return np.concatenate([z, synthesize(text, voice), z])


def write_rttm(turns: list[RefTurn], path: str | Path, uri: str = "conversation") -> None:
    """Write reference turns as RTTM (``SPEAKER uri 1 start dur <NA> <NA> spk <NA> <NA>``)."""
    with open(path, "w") as f:
        for turn in turns:
            f.write(
                f"SPEAKER {uri} 1 {turn.start:.3f} {turn.end - turn.start:.3f} "
                f"<NA> <NA> {turn.speaker} <NA> <NA>\n"
            )


def write_wav(audio: np.ndarray, path: str | Path, sample_rate: int = SAMPLE_RATE) -> None:
    """Write float audio in [-1, 1] as 16-bit PCM mono wav."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM wav as float32 (channels downmixed)."""
    with wave.open(str(path)) as w:
        sr, ch = w.getframerate(), w.getnchannels()
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM wav is supported")
        x = np.frombuffer(w.readframes(-1), dtype="<i2").astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    return x, sr
