"""Real recordings for the real-speech evaluation, fetched from package registries at run
time into a cache directory (``var/eval-data`` by default, git-ignored).

* ``aepyx``: 169 s of a VoxConverse broadcast clip with 4 speakers, ``examples/c++/aepyx.wav``
  in the silero-vad 6.2.3 *source* distribution (``pip download``); its reference RTTM is
  ``eval/data/aepyx.rttm`` (joonson/voxconverse, CC BY 4.0).
* ``pyannote-sample``: the 30 s two-speaker telephone clip and its RTTM that ship in the
  installed pyannote.audio wheel.
* ``asterisk-<lang>``: Debian's ``asterisk-core-sounds-<lang>-wav`` prompts (8 kHz, one
  professional voice per language) with their transcripts (``core-sounds-<lang>.txt.gz`` in
  ``asterisk-core-sounds-<lang>``), fetched with ``apt-get download`` and unpacked with
  ``dpkg-deb -x``. Prompts with a plain transcript are sorted by name; those with an even
  index are the *tune* split, odd ones the *report* split. Consecutive prompts of a split
  are joined with a pause into one file of about ``seconds`` seconds.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import tarfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
DEFAULT_CACHE = REPO / "var" / "eval-data"
SR = 16000
LANGUAGES = ("en", "fr", "it", "ru")
SILERO_SDIST = "silero-vad==6.2.3"
PAUSE_S = 0.8
"""Silence between joined prompts (a pause between sentences)."""


@dataclass
class RealFile:
    """One evaluation file: 16 kHz mono audio and its reference (speaker turns and/or text)."""

    name: str
    audio: np.ndarray
    turns: list[tuple[float, float, str]] = field(default_factory=list)
    text: str = ""
    language: str | None = None
    source: str = ""

    @property
    def duration(self) -> float:
        return len(self.audio) / SR


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM wav -> 16 kHz mono float32."""
    with wave.open(str(path)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM is read here")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    if rate != SR:
        from serve_app.diarization.pipeline import prepare_audio

        x = prepare_audio(x, rate)
    return np.ascontiguousarray(x, dtype=np.float32)


def read_rttm(text: str) -> list[tuple[float, float, str]]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, dur = float(parts[3]), float(parts[4])
            out.append((start, start + dur, parts[7]))
    return out


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")


def aepyx(cache: Path = DEFAULT_CACHE) -> RealFile:
    wav = cache / "aepyx.wav"
    if not wav.exists():
        cache.mkdir(parents=True, exist_ok=True)
        sdist = cache / "silero_vad-6.2.3.tar.gz"
        if not sdist.exists():
            _run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    SILERO_SDIST,
                    "-d",
                    str(cache),
                ],
                cache,
            )
        with tarfile.open(sdist) as tar:
            member = tar.extractfile("silero_vad-6.2.3/examples/c++/aepyx.wav")
            if member is None:
                raise RuntimeError("aepyx.wav is missing from the silero-vad sdist")
            wav.write_bytes(member.read())
    turns = read_rttm((DATA / "aepyx.rttm").read_text())
    return RealFile("aepyx", read_wav(wav), turns=turns, source="silero-vad 6.2.3 sdist")


def pyannote_sample() -> RealFile:
    import importlib.util

    spec = importlib.util.find_spec("pyannote.audio")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyannote.audio is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sample"
    turns = read_rttm((folder / "sample.rttm").read_text())
    return RealFile(
        "pyannote-sample", read_wav(folder / "sample.wav"), turns=turns, source="pyannote.audio"
    )


_PLAIN = re.compile(r"^[^\[\]()<>0-9_#*=/]+$")


def _asterisk_root(cache: Path, language: str) -> Path:
    root = cache / "asterisk"
    marker = root / f".{language}"
    if not marker.exists():
        debs = cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        packages = [f"asterisk-core-sounds-{language}-wav", f"asterisk-core-sounds-{language}"]
        _run(["apt-get", "download", *packages], debs)
        for deb in sorted(debs.glob(f"asterisk-core-sounds-{language}*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(root)], cache)
        marker.touch()
    return root


def asterisk_prompts(language: str, cache: Path = DEFAULT_CACHE) -> list[tuple[Path, str]]:
    """(wav, transcript) of every prompt with a plain transcript, sorted by name."""
    root = _asterisk_root(cache, language)
    doc = root / f"usr/share/doc/asterisk-core-sounds-{language}/core-sounds-{language}.txt.gz"
    text = gzip.decompress(doc.read_bytes()).decode("utf-8", "replace")
    voices = list((root / "usr/share/asterisk/sounds").glob(f"{language}_*"))
    if len(voices) != 1:
        raise RuntimeError(f"expected one {language} voice directory, found {voices}")
    out = []
    for line in text.splitlines():
        name, sep, transcript = line.partition(":")
        name, transcript = name.strip(), transcript.strip()
        if not sep or line.startswith(";") or "/" in name or len(transcript.split()) < 3:
            continue
        wav = voices[0] / f"{name}.wav"
        if wav.exists() and _PLAIN.match(transcript):
            out.append((wav, transcript))
    return sorted(out)


def asterisk_file(
    language: str, split: str, seconds: float = 240.0, cache: Path = DEFAULT_CACHE
) -> RealFile:
    """Prompts of ``split`` (tune: even index, report: odd) joined into one file."""
    prompts = asterisk_prompts(language, cache)[(0 if split == "tune" else 1) :: 2]
    pause = np.zeros(int(PAUSE_S * SR), dtype=np.float32)
    pieces: list[np.ndarray] = []
    texts: list[str] = []
    total = 0.0
    for wav, transcript in prompts:
        if total >= seconds:
            break
        audio = read_wav(wav)
        pieces += [audio, pause]
        texts.append(transcript)
        total += (len(audio) + len(pause)) / SR
    return RealFile(
        f"asterisk-{language}-{split}",
        np.concatenate(pieces) if pieces else np.zeros(0, np.float32),
        text=" ".join(texts),
        language=language,
        source=f"Debian asterisk-core-sounds-{language}",
    )


def pieces(f: RealFile, seconds: float = 30.0, offset_s: float = 0.0) -> list[RealFile]:
    """``f`` from ``offset_s`` on, cut into consecutive pieces of ``seconds`` (the last one
    only if at least half as long), each with the reference turns clipped to it: short real
    clips for counts."""
    out = []
    step = int(seconds * SR)
    for start in range(int(offset_s * SR), len(f.audio), step):
        audio = f.audio[start : start + step]
        if len(audio) < step // 2:
            break
        t0, t1 = start / SR, (start + len(audio)) / SR
        turns = [
            (max(s, t0) - t0, min(e, t1) - t0, spk) for s, e, spk in f.turns if e > t0 and s < t1
        ]
        name = f"{f.name}[{t0:.0f}-{t1:.0f}s]"
        out.append(RealFile(name, audio, turns=turns, source=f.source))
    return out


def conversations(
    split: str = "tune",
    count: int = 12,
    seconds: float = 30.0,
    seed: int = 0,
    cache: Path = DEFAULT_CACHE,
) -> list[RealFile]:
    """Made-up conversations for tuning diarization: ``count`` clips of about ``seconds``,
    each with 2-4 of the four asterisk voices (one per language; prompts of ``split`` only),
    taking turns prompt by prompt with 0.2-0.6 s between turns. One speaker of each clip says
    a single prompt of 2-4 s: the short speaker a count must not merge away. Real voices,
    but read prompts with no overlap: easier than a meeting, so a tuning aid only."""
    rng = np.random.default_rng(seed)
    voices = {}
    for language in LANGUAGES:
        prompts = asterisk_prompts(language, cache)[(0 if split == "tune" else 1) :: 2]
        voices[language] = [read_wav(wav) for wav, _ in prompts]
    out = []
    for k in range(count):
        speakers = [str(s) for s in rng.choice(LANGUAGES, size=2 + k % 3, replace=False)]
        short = speakers[-1]
        fits = [a for a in voices[short] if 2.0 * SR <= len(a) <= 4.0 * SR]
        order: list[str] = []
        while len(order) < 40:
            turn = [s for s in speakers[:-1] if not order or s != order[-1]] or speakers[:1]
            order.append(str(rng.choice(turn)))
        order.insert(int(rng.integers(1, 4)), short)
        audio: list[np.ndarray] = []
        turns: list[tuple[float, float, str]] = []
        position = 0
        for speaker in order:
            if position >= seconds * SR:
                break
            pool = fits if speaker == short else voices[speaker]
            clip = pool[int(rng.integers(len(pool)))]
            gap = np.zeros(int(rng.uniform(0.2, 0.6) * SR), dtype=np.float32)
            begin = position + len(gap)
            turns.append((begin / SR, (begin + len(clip)) / SR, speaker))
            audio += [gap, clip]
            position += len(gap) + len(clip)
        out.append(
            RealFile(
                f"conversation-{split}-{k}",
                np.concatenate(audio),
                turns=turns,
                source="Debian asterisk-core-sounds-{en,fr,it,ru}",
            )
        )
    return out
