"""Diarization of one file, extended block by block as its audio becomes available.

pyannote's ``SpeakerDiarization`` runs segmentation, embedding, clustering and
reconstruction once over a whole file. :class:`StreamingDiarization` runs the same steps
with the same pipeline object, but per *block*: every new block of audio adds the 10 s
segmentation windows it completes, their local-speaker embeddings, and their cluster labels
(:class:`~serve_app.diarization.clustering.OnlineClusters`, against the global centroids);
``result()`` reconstructs the turns of everything so far with pyannote's own
``speaker_count``, ``reconstruct`` and ``to_annotation``, exclusive turns included.
``extend(audio, final=True)`` adds the last, zero-padded windows and re-clusters every
embedding: the same result as diarizing the whole file at once.

Labels are cluster numbers; the job store maps them onto the names a client already has
(``serve_app/diarization/revisions.py``), so this module never has to keep names stable.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE
from serve_app.diarization.clustering import OnlineClusters
from serve_app.diarization.confidence import LabelConfidence, overlap_factor, overlapped_regions
from serve_app.diarization.results import DiarizationResult, SpeakerTurn


class StreamingDiarization:
    """One file's diarization state; ``pipeline`` is a pyannote ``SpeakerDiarization``."""

    def __init__(
        self,
        pipeline: Any,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        exclude_overlap: bool = True,
        min_duration_off: float = 0.0,
        embedding_stride: int = 1,
    ) -> None:
        self.pipeline = pipeline
        inference = pipeline._segmentation
        self.window_s, self.step_s = float(inference.duration), float(inference.step)
        self.window = round(self.window_s * SAMPLE_RATE)
        self.step = round(self.step_s * SAMPLE_RATE)
        self.batch_size = int(getattr(inference, "batch_size", 4) or 4)
        self.max_speakers = num_speakers or max_speakers
        self.clusters = OnlineClusters(num_speakers, min_speakers or 1, self.max_speakers)
        self.exclude_overlap = exclude_overlap
        self.min_duration_off = min_duration_off
        self.stride = max(1, int(embedding_stride))
        self.segmentations: list[np.ndarray] = []  # (frames, local speakers) per window
        self.embeddings: list[np.ndarray] = []  # (local speakers, D) per window, NaN: none
        self.embedded: list[bool] = []  # windows whose speakers were embedded
        self.covered = 0  # samples the windows so far cover
        self.final = False
        self.timings = {"segmentation": 0.0, "embeddings": 0.0, "clustering": 0.0}

    @property
    def covered_s(self) -> float:
        return self.covered / SAMPLE_RATE

    def windows_for(self, samples: int, final: bool) -> int:
        """Windows that ``samples`` of audio complete (``final``: every window that starts
        before the end, the last one zero-padded)."""
        if final:
            return 1 + max(0, -(-(samples - self.window) // self.step))
        return 0 if samples < self.window else 1 + (samples - self.window) // self.step

    def extend(self, audio: np.ndarray, final: bool = False) -> bool:
        """Process the windows that ``audio`` (the file so far, 16 kHz mono float32) adds;
        whether anything changed."""
        import torch

        start, end = len(self.segmentations), self.windows_for(len(audio), final)
        self.final = final
        if end <= start:
            if final:
                self._refit()
            return final
        t0 = time.perf_counter()
        chunks = np.zeros((end - start, 1, self.window), dtype=np.float32)
        for i, k in enumerate(range(start, end)):
            piece = audio[k * self.step : k * self.step + self.window]
            chunks[i, 0, : len(piece)] = piece
        outputs = [
            self.pipeline._segmentation.infer(torch.from_numpy(chunks[b : b + self.batch_size]))
            for b in range(0, len(chunks), self.batch_size)
        ]
        segmentation = np.concatenate(outputs).astype(np.float32)
        t1 = time.perf_counter()
        chosen = [k for k in range(start, end) if k % self.stride == 0]
        if final and end - 1 not in chosen:
            chosen.append(end - 1)  # the tail has no window after it to borrow from
        embeddings = self._embed_windows(audio, segmentation, start, chosen)
        t2 = time.perf_counter()
        self.segmentations.extend(segmentation)
        self.embeddings.extend(embeddings)
        self.embedded.extend(k in chosen for k in range(start, end))
        self.clusters.add(embeddings, final=final)  # final: every embedding re-clustered
        self.covered = min(len(audio), (end - 1) * self.step + self.window)
        self.timings["segmentation"] += t1 - t0
        self.timings["embeddings"] += t2 - t1
        self.timings["clustering"] += time.perf_counter() - t2
        return True

    def _refit(self) -> None:
        t0 = time.perf_counter()
        self.clusters.refit()
        self.timings["clustering"] += time.perf_counter() - t0

    def _embed_windows(
        self, audio: np.ndarray, segmentation: np.ndarray, start: int, chosen: list[int]
    ) -> np.ndarray:
        """Embeddings of the ``chosen`` windows (NaN for the others): every ``stride``-th
        window is one evenly spaced call, the tail window another."""
        out = np.full((*segmentation.shape[::2], self._dimension), np.nan)
        regular = [k for k in chosen if k % self.stride == 0]
        for group in (regular, [k for k in chosen if k % self.stride]):
            if group:
                rows = [k - start for k in group]
                out[rows] = self._embed(audio, segmentation[rows], group[0])
        return out

    @property
    def _dimension(self) -> int:
        return int(self.pipeline._embedding.dimension)

    def _embed(self, audio: np.ndarray, segmentation: np.ndarray, start: int) -> np.ndarray:
        """(windows, local speakers, D) embeddings, NaN where a local speaker is silent."""
        import torch
        from pyannote.core import SlidingWindow, SlidingWindowFeature

        step = self.step * (self.stride if len(segmentation) > 1 else 1)
        window = SlidingWindow(
            start=start * self.step_s, duration=self.window_s, step=step / SAMPLE_RATE
        )
        last = min(len(audio), start * self.step + (len(segmentation) - 1) * step + self.window)
        file = {
            "waveform": torch.from_numpy(np.ascontiguousarray(audio[:last]))[None],
            "sample_rate": SAMPLE_RATE,
            "uri": "audio",
        }
        return np.asarray(
            self.pipeline.get_embeddings(
                file,
                SlidingWindowFeature(segmentation, window),
                exclude_overlap=self.exclude_overlap,
            )
        )

    def result(self) -> DiarizationResult:
        """Turns of everything so far (labels: cluster numbers as strings)."""
        from pyannote.core import SlidingWindow, SlidingWindowFeature

        result = DiarizationResult(duration=self.covered_s)
        result.timings = dict(self.timings)
        if not self.segmentations:
            return result
        data = np.stack(self.segmentations)
        segmentations = SlidingWindowFeature(
            data, SlidingWindow(start=0.0, duration=self.window_s, step=self.step_s)
        )
        labels = self._borrowed(data, np.stack(self.clusters.labels).astype(np.int8))
        labels[np.sum(data, axis=1) == 0] = -2  # silent local speakers
        if labels.max() < 0:
            return result
        pipe = self.pipeline
        count = pipe.speaker_count(
            segmentations, pipe._segmentation.model.receptive_field, warm_up=(0.0, 0.0)
        )
        cap = int(labels.max()) + 1
        if self.max_speakers:
            cap = min(cap, self.max_speakers)
        count.data = np.minimum(count.data, cap).astype(np.int8)
        rows = self._rows(pipe.reconstruct(segmentations, labels, count))
        count.data = np.minimum(count.data, 1).astype(np.int8)
        rows_excl = self._rows(pipe.reconstruct(segmentations, labels, count))
        embeddings = np.stack(self.embeddings)
        confidence = LabelConfidence(
            {"segmentation": segmentations, "embeddings": embeddings},
            self.clusters.centroids_for_labels(),
            [str(k) for k in range(cap)],
        )
        overlapped = overlapped_regions(rows)

        def build(rows: list[tuple[float, float, str]]) -> list[SpeakerTurn]:
            turns = []
            for start, end, lab in sorted(rows, key=lambda r: (r[0], r[1])):
                conf = confidence(start, end, lab) * overlap_factor(start, end, overlapped)
                conf *= min(1.0, 0.5 + (end - start))  # < 0.5 s turns are less reliable
                turns.append(SpeakerTurn(round(start, 3), round(end, 3), lab, round(conf, 3)))
            return turns

        result.turns, result.exclusive_turns = build(rows), build(rows_excl)
        result.speakers = sorted({t.speaker for t in result.exclusive_turns}, key=int)
        return result

    def _borrowed(self, data: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Labels for the windows that were not embedded: each local speaker takes the
        cluster it agrees with most, frame by frame, in the embedded windows that overlap
        it (one-to-one per window). A window shares all but ``step`` of its frames with its
        neighbour, so this is nearly free and as reliable as the neighbours are."""
        from scipy.optimize import linear_sum_assignment

        if self.stride == 1:
            return labels
        num_frames = data.shape[1]
        shift = self.step_s * num_frames / self.window_s  # frames per window step
        active = data > 0.5
        for k in np.flatnonzero(~np.asarray(self.embedded)):
            score = np.zeros((data.shape[2], int(labels.max()) + 1))
            for j in range(k - self.stride, k + self.stride + 1):
                if j == k or not 0 <= j < len(data) or not self.embedded[j]:
                    continue
                offset = round((j - k) * shift)  # frame f of window j is frame f + offset of k
                lo, hi = max(0, offset), min(num_frames, num_frames + offset)
                if hi <= lo:
                    continue
                ours, theirs = active[k, lo:hi], active[j, lo - offset : hi - offset]
                agreement = ours.T.astype(np.float32) @ theirs.astype(np.float32)
                for b, cluster in enumerate(labels[j]):
                    if cluster >= 0:
                        score[:, cluster] += agreement[:, b]
            labels[k] = -2
            if score.shape[1] == 0:
                continue
            rows, cols = linear_sum_assignment(score, maximize=True)
            for a, cluster in zip(rows, cols, strict=True):
                if score[a, cluster] > 0:
                    labels[k, a] = cluster
        return labels

    def _rows(self, discrete: Any) -> list[tuple[float, float, str]]:
        annotation = self.pipeline.to_annotation(
            discrete, min_duration_on=0.0, min_duration_off=self.min_duration_off
        )
        end = self.covered_s
        return [
            (float(s.start), min(float(s.end), end), str(lab))
            for s, _, lab in annotation.itertracks(yield_label=True)
            if s.start < end
        ]
