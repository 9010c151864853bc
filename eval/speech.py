"""Test and benchmark audio: espeak-ng speech (exact reference text), encoded with PyAV."""

from __future__ import annotations

import io

import av
import numpy as np

from eval.conversations import VOICES, synthesize

SAMPLE_RATE = 16000

SENTENCES = [
    "The quarterly report shows revenue growth in every region.",
    "We will deploy the new search service on Monday morning.",
    "Please send the meeting notes to the whole engineering team.",
    "The database migration finished without any errors last night.",
    "Our customers asked for better support for large audio files.",
    "The budget for the next project was approved by the board.",
    "Remember to update the documentation before the release.",
    "The weather forecast predicts heavy rain for the weekend.",
]


def speech(sentences: list[str], pause_s: float = 0.8, voice: int = 1) -> np.ndarray:
    """16 kHz mono float32 speech of ``sentences`` separated by silence."""
    gap = np.zeros(int(pause_s * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = [gap]
    for sentence in sentences:
        parts += [synthesize(sentence, VOICES[voice]).astype(np.float32), gap]
    return np.concatenate(parts)


def encode(audio: np.ndarray, fmt: str, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    """Encode float32 mono audio as ``wav``, ``mp3``, ``m4a``, ``ogg`` (opus) or ``flac``."""
    container_fmt, codec, rate = {
        "wav": ("wav", "pcm_s16le", sample_rate),
        "mp3": ("mp3", "libmp3lame", 22050),
        "m4a": ("ipod", "aac", 44100),
        "ogg": ("ogg", "libopus", 48000),
        "flac": ("flac", "flac", sample_rate),
        "webm": ("webm", "libopus", 48000),
    }[fmt]
    layout = "stereo" if channels == 2 else "mono"
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)  # type: ignore[call-overload]
        resampler = av.AudioResampler(
            format=stream.codec_context.codec.audio_formats[0].name, layout=layout, rate=rate
        )
        frame_size = stream.codec_context.frame_size or 1024
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        pts = 0
        for start in range(0, pcm.size, frame_size):
            block = pcm[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = pts
            pts += block.size
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    out.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def long_speech(minutes: float, seed: int = 0) -> tuple[np.ndarray, str]:
    """About ``minutes`` of single-speaker speech from varied sentences, and its text."""
    import random

    from eval.conversations import SENTENCES as MEETING_SENTENCES

    rng = random.Random(seed)
    pool = SENTENCES + MEETING_SENTENCES
    target = int(minutes * 60 * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    words: list[str] = []
    total = 0
    while total < target:
        sentence = rng.choice(pool)
        audio = synthesize(sentence, VOICES[1]).astype(np.float32)
        gap = np.zeros(int(rng.uniform(0.3, 1.5) * SAMPLE_RATE), dtype=np.float32)
        parts += [audio, gap]
        words.append(sentence)
        total += audio.size + gap.size
    return np.concatenate(parts), " ".join(words)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after lower-casing and removing punctuation."""
    import jiwer

    normalize = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return float(
        jiwer.wer(
            reference, hypothesis, reference_transform=normalize, hypothesis_transform=normalize
        )
    )
