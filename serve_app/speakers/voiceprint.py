"""A voiceprint from speech: the diarizer's own speaker-embedding model (CAM++ embedded,
WeSpeaker with the hub pipeline) over the speech of some spans of audio.

The speech is cut into pieces of at most :data:`PIECE_S` (the length CAM++ embeddings are
most stable at, and what the diarizer's windows see), each piece is embedded, and the
voiceprint is the L2-normalised, duration-weighted mean of the normalised piece embeddings.
Enrolment clips and a job's diarized speakers go through the same function, so their
cosine scores are comparable. Runs inside the diarizer replica (torch imported there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE

PIECE_S = 3.0
"""Longest piece of speech embedded at once."""
MIN_PIECE_S = 0.8
"""Shorter pieces are dropped, unless nothing longer is left."""
BATCH = 16

Embedder = Callable[..., np.ndarray]
"""pyannote's embedding inference: ``(waveforms (B, 1, T), masks (B, T)) -> (B, D)``."""


def speech_pieces(
    spans: Sequence[tuple[float, float]], max_s: float, duration_s: float
) -> list[tuple[float, float]]:
    """Pieces of at most :data:`PIECE_S` from ``spans`` (seconds, clipped to the audio),
    longest spans first, until ``max_s`` seconds are taken."""
    clipped = sorted(
        ((max(0.0, a), min(duration_s, b)) for a, b in spans if min(duration_s, b) > max(0.0, a)),
        key=lambda s: s[0] - s[1],
    )
    pieces: list[tuple[float, float]] = []
    taken = 0.0
    for start, end in clipped:
        at = start
        while at < end and taken < max_s:
            stop = min(end, at + PIECE_S, at + max_s - taken)
            pieces.append((at, stop))
            taken += stop - at
            at = stop
    long_enough = [p for p in pieces if p[1] - p[0] >= MIN_PIECE_S]
    return sorted(long_enough or pieces)


def voiceprint(
    embed: Embedder,
    audio: np.ndarray,
    spans: Sequence[tuple[float, float]],
    max_s: float = 60.0,
) -> tuple[list[float], list[tuple[float, float]]]:
    """The voiceprint of the speech in ``spans`` of ``audio`` (16 kHz mono float32), and the
    pieces used; an empty list when there is no usable speech."""
    import torch

    pieces = speech_pieces(spans, max_s, len(audio) / SAMPLE_RATE)
    if not pieces:
        return [], []
    width = round(PIECE_S * SAMPLE_RATE)
    vectors: list[np.ndarray] = []
    weights: list[float] = []
    for b in range(0, len(pieces), BATCH):
        group = pieces[b : b + BATCH]
        waves = np.zeros((len(group), 1, width), dtype=np.float32)
        masks = np.zeros((len(group), width), dtype=np.float32)
        for i, (start, end) in enumerate(group):
            piece = audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)][:width]
            waves[i, 0, : len(piece)] = piece
            masks[i, : len(piece)] = 1.0
        with torch.inference_mode():
            out = np.asarray(embed(torch.from_numpy(waves), masks=torch.from_numpy(masks)))
        vectors.append(out.reshape(len(group), -1))
        weights.extend(end - start for start, end in group)
    emb = np.concatenate(vectors).astype(np.float64)
    ok = np.all(np.isfinite(emb), axis=1)
    if not ok.any():
        return [], []
    emb = emb[ok] / np.maximum(np.linalg.norm(emb[ok], axis=1, keepdims=True), 1e-12)
    mean = np.average(emb, axis=0, weights=np.asarray(weights)[ok])
    mean /= max(float(np.linalg.norm(mean)), 1e-12)
    used = [p for p, good in zip(pieces, ok, strict=True) if good]
    return [round(float(x), 6) for x in mean], used


def speaker_spans(turns: Sequence[dict[str, object]]) -> dict[str, list[tuple[float, float]]]:
    """Each speaker's turns as ``(start, end)`` spans."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for t in turns:
        start, end = float(t["start"]), float(t["end"])  # type: ignore[arg-type]
        spans.setdefault(str(t["speaker"]), []).append((start, end))
    return spans
