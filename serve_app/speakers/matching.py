"""The open-set match of a job's diarized speakers against an owner's voiceprints.

Search is exact and vectorised: the cosine similarity of every diarized speaker's centroid
with every voiceprint is one matrix product over L2-normalised float32 rows, and a person's
score is the best of their voiceprints (``np.maximum.reduceat`` over the voiceprints sorted
by person). Then the decision:

* a diarized speaker is named only with a score at or above the threshold, so "unknown"
  (``SPEAKER_n``) is an answer;
* one person is given to at most one diarized speaker, and one speaker gets at most one
  person: the assignment that maximises the summed score (Hungarian,
  ``scipy.optimize.linear_sum_assignment``) over the pairs above the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from serve_app.speakers.models import Speaker, SpeakerMatch, Voiceprint

_EXCLUDED = -1e9  # a score no pair above the threshold can have


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class VoiceprintIndex:
    """An owner's voiceprints as one normalised matrix, grouped by person."""

    def __init__(self, speakers: Sequence[Speaker], prints: Iterable[Voiceprint]) -> None:
        order = {s.speaker_id: i for i, s in enumerate(speakers)}
        kept = sorted(
            (p for p in prints if p.speaker_id in order), key=lambda p: order[p.speaker_id]
        )
        people = sorted({order[p.speaker_id] for p in kept})
        self.speakers = [speakers[i] for i in people]
        """People with at least one voiceprint, in matrix group order."""
        self.matrix = normalise(np.asarray([p.embedding for p in kept], dtype=np.float32))
        owner_rows = np.asarray([order[p.speaker_id] for p in kept], dtype=np.int64)
        # First row of each person's group (rows are sorted by person).
        self.starts = (
            np.flatnonzero(np.r_[True, owner_rows[1:] != owner_rows[:-1]])
            if kept
            else (np.zeros(0, dtype=np.int64))
        )

    def __len__(self) -> int:
        return len(self.speakers)

    def scores(self, centroids: np.ndarray) -> np.ndarray:
        """(diarized speakers, people): the best cosine of each centroid with each
        person's voiceprints."""
        queries = normalise(np.atleast_2d(centroids))
        if not len(self.speakers) or queries.shape[0] == 0:
            return np.zeros((queries.shape[0], len(self.speakers)), dtype=np.float32)
        sims = queries @ self.matrix.T  # (queries, voiceprints)
        return np.maximum.reduceat(sims, self.starts, axis=1)


def assign(scores: np.ndarray, threshold: float) -> list[int | None]:
    """For each row (diarized speaker) the column (person) it is given, or None: one-to-one,
    the largest total score over the pairs at or above ``threshold``."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = scores.shape
    out: list[int | None] = [None] * rows
    if rows == 0 or cols == 0:
        return out
    eligible = scores >= threshold
    if not eligible.any():
        return out
    weights = np.where(eligible, scores, _EXCLUDED)
    for r, c in zip(*linear_sum_assignment(weights, maximize=True), strict=True):
        if eligible[r, c]:
            out[int(r)] = int(c)
    return out


def match_speakers(
    centroids: Mapping[str, Sequence[float]],
    index: VoiceprintIndex,
    threshold: float,
    allowed: set[str] | None = None,
) -> dict[str, SpeakerMatch]:
    """Diarized labels (with their centroid) named after enrolled people; labels that
    match nobody well enough are left out. ``allowed``: only these speaker ids."""
    labels = [label for label, c in centroids.items() if len(c)]
    if not labels or not len(index):
        return {}
    scores = index.scores(np.asarray([centroids[label] for label in labels], dtype=np.float32))
    if allowed is not None:
        keep = np.asarray([s.speaker_id in allowed for s in index.speakers])
        scores = np.where(keep[None, :], scores, _EXCLUDED)
    matches = {}
    for label, col in zip(labels, assign(scores, threshold), strict=True):
        if col is not None:
            person = index.speakers[col]
            score = float(scores[labels.index(label), col])
            matches[label] = SpeakerMatch(
                speaker_id=person.speaker_id, name=person.name, score=round(score, 4)
            )
    return matches
