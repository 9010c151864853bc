"""Confidence of speaker turns."""

from __future__ import annotations

from typing import Any

import numpy as np


class LabelConfidence:
    """Identity confidence of a (start, end, label) stretch, from the embedding step.

    For every (chunk c, local speaker s) embedding e_cs and speaker centroids mu_k:
    ``sim_k = cos(e_cs, mu_k)``, ``p_cs = softmax(sim / 0.1)[k*]`` (how clearly the best
    centroid k* wins against the others) times ``min(1, max(0, sim_k*) / 0.5)`` (how close it
    is in absolute terms; same-speaker CAM++ similarities are typically > 0.5). A turn's
    confidence is the mean of p_cs over the (c, s) assigned to its label, weighted by the
    number of active segmentation frames of s inside the turn. 0.5 when nothing is known.
    """

    def __init__(self, captured: dict[str, Any], centroids: Any, labels: list[Any]) -> None:
        self.ok = False
        seg, emb = captured.get("segmentation"), captured.get("embeddings")
        if seg is None or emb is None or centroids is None or len(labels) == 0:
            return
        emb = np.asarray(emb, dtype=np.float64)
        cen = np.asarray(centroids, dtype=np.float64)[: len(labels)]
        if emb.ndim != 3 or cen.ndim != 2 or cen.shape[1] != emb.shape[2]:
            return
        emb_n = emb / np.maximum(np.linalg.norm(emb, axis=-1, keepdims=True), 1e-9)
        cen_n = cen / np.maximum(np.linalg.norm(cen, axis=-1, keepdims=True), 1e-9)
        sims = np.einsum("csd,kd->csk", np.nan_to_num(emb_n, nan=0.0), np.nan_to_num(cen_n))
        best = np.argmax(sims, axis=-1)
        z = (sims - sims.max(axis=-1, keepdims=True)) / 0.1
        post = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        best_sim = np.take_along_axis(sims, best[..., None], axis=-1)[..., 0]
        p = np.take_along_axis(post, best[..., None], axis=-1)[..., 0]
        p = p * np.clip(best_sim / 0.5, 0.0, 1.0)
        valid = ~np.any(np.isnan(emb), axis=-1)
        self.conf = np.where(valid, p, np.nan)  # (chunks, local speakers)
        self.assign = np.where(valid, best, -1)
        self.label_index = {lab: i for i, lab in enumerate(labels)}
        data = np.nan_to_num(np.asarray(seg.data, dtype=np.float32))  # (chunks, frames, spk)
        self.active = data > 0.5
        sw = seg.sliding_window
        self.chunk_start, self.chunk_step, self.chunk_dur = sw.start, sw.step, sw.duration
        self.frame_dur = self.chunk_dur / data.shape[1]
        self.ok = data.shape[0] == emb.shape[0] and data.shape[2] == emb.shape[1]

    def __call__(self, start: float, end: float, label: Any) -> float:
        if not self.ok or label not in self.label_index:
            return 0.5
        k = self.label_index[label]
        first = max(0, int(np.floor((start - self.chunk_start - self.chunk_dur) / self.chunk_step)))
        last = min(len(self.conf) - 1, int(np.ceil((end - self.chunk_start) / self.chunk_step)))
        num = den = 0.0
        for c in range(first, last + 1):
            c0 = self.chunk_start + c * self.chunk_step
            f0 = max(0, int((start - c0) / self.frame_dur))
            f1 = min(self.active.shape[1], int(np.ceil((end - c0) / self.frame_dur)))
            if f1 <= f0:
                continue
            for s in np.flatnonzero(self.assign[c] == k):
                w = float(self.active[c, f0:f1, s].sum())
                if w > 0 and not np.isnan(self.conf[c, s]):
                    num += w * float(self.conf[c, s])
                    den += w
        return num / den if den > 0 else 0.5


def overlapped_regions(rows: list[tuple[float, float, str]]) -> list[tuple[float, float]]:
    """Time regions where two or more speakers are active."""
    events = sorted([(s, 1) for s, _, _ in rows] + [(e, -1) for _, e, _ in rows])
    regions: list[tuple[float, float]] = []
    active, since = 0, 0.0
    for t, d in events:
        if active + d >= 2 > active:
            since = t
        elif active >= 2 > active + d and t > since:
            regions.append((since, t))
        active += d
    return regions


def overlap_factor(start: float, end: float, regions: list[tuple[float, float]]) -> float:
    """1 - 0.5 * (share of the turn overlapped by another speaker)."""
    if end <= start:
        return 1.0
    ov = sum(max(0.0, min(end, e) - max(start, s)) for s, e in regions)
    return 1.0 - 0.5 * min(1.0, ov / (end - start))
