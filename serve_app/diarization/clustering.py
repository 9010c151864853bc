"""Speaker clustering: the speaker count from the eigengap of spectral clustering, offline
(every embedding of a file at once) and online (new embeddings against the global centroids).

**Offline** (:func:`spectral_clusters`): auto-tuning spectral clustering (Park et al., 2019,
"NME-SC"). The cosine affinity of the embeddings is pruned to each row's ``p`` nearest
neighbours; the ``p`` kept is the one with the best ratio of ``p`` to the normalised maximum
eigengap of the graph Laplacian, and the number of speakers is where that gap is. Nothing in
it is a distance threshold: the count comes from the structure of the affinity matrix, so it
does not hinge on how far apart the voices of one tuning set happened to be. k-means on the
first ``k`` eigenvectors gives the labels.

**Online** (:class:`OnlineClusters`): embeddings that arrive while a file is still being
decoded are assigned to the nearest global centroid (one cluster per local speaker of a
window, Hungarian). The whole set is re-clustered offline when it has grown by a fixed share
since the last pass, or when a new embedding is further from every centroid than the members
of that centroid's cluster all are (a voice the clusters do not explain yet).

Both keep pyannote's rule that two local speakers of one segmentation window are never
the same cluster (constrained assignment). This module imports only numpy; scipy and
scikit-learn are imported when it clusters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SPEAKERS = 10
"""Upper bound on the count when the caller gives none."""
MAX_FIT = 800
"""At most this many embeddings are clustered; the others are assigned to the centroids."""
MIN_CLUSTER_SIZE = 4
MERGE_COSINE = 0.875
MIN_NEIGHBOURS = 6
"""3D-Speaker's spectral-clustering defaults for CAM++ (``mer_cos``, ``min_cluster_size``,
``min_pnum``)."""
MIN_SEPARATED_WINDOWS = 2
"""Windows with two active local speakers needed for more than one speaker
(:func:`choose_count`). A second voice with 2 s of speech shares several windows with the
first (10 s windows, 2 s apart); one such window alone is a segmentation slip on a single
voice in two of the tune split's single-voice clips."""
REGROW = 1.3
"""Online: re-cluster when the embeddings have grown by this factor since the last pass."""


def normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.asarray(x / np.maximum(norms, 1e-12))


def _laplacian_spectrum(affinity: np.ndarray, p: int, count: int) -> tuple[np.ndarray, Any, float]:
    """The ``count`` smallest eigenvalues and their eigenvectors, and the largest
    eigenvalue, of the Laplacian of the affinity pruned to each row's ``p`` largest entries,
    symmetrised. Only those eigenpairs are computed (LAPACK ``evr``): a full decomposition
    costs 20-40x more."""
    from scipy.linalg import eigh

    n = affinity.shape[0]
    keep = np.argsort(-affinity, axis=1)[:, :p]
    pruned = np.zeros_like(affinity)
    rows = np.repeat(np.arange(n), p)
    pruned[rows, keep.reshape(-1)] = 1.0
    pruned = 0.5 * (pruned + pruned.T)
    laplacian = np.diag(pruned.sum(axis=1)) - pruned
    values, vectors = eigh(laplacian, subset_by_index=[0, count - 1], driver="evr")
    largest = eigh(laplacian, eigvals_only=True, subset_by_index=[n - 1, n - 1], driver="evr")
    return values, vectors, float(largest[0])


def estimate_clusters(affinity: np.ndarray, min_k: int, max_k: int) -> tuple[int, np.ndarray]:
    """(number of clusters, spectral embedding rows) by NME-SC's choice of ``p``."""
    n = affinity.shape[0]
    max_k = max(min_k, min(max_k, n - 1))
    # At least MIN_NEIGHBOURS neighbours (3D-Speaker's ``min_pnum``): sparser graphs of a
    # few dozen embeddings fall apart into components, each a spurious "speaker".
    p_min = min(MIN_NEIGHBOURS, n - 1)
    p_max = max(p_min, n // 4)
    candidates = sorted({int(p) for p in np.geomspace(p_min, p_max, num=8)} | {p_max})
    best: tuple[float, int, np.ndarray] | None = None
    for p in candidates:
        values, vectors, largest = _laplacian_spectrum(affinity, min(p, n), max_k + 1)
        gaps = np.diff(values)
        lo = min_k - 1
        k = lo + int(np.argmax(gaps[lo:max_k])) + 1
        normalised_gap = gaps[k - 1] / max(largest, 1e-9)
        ratio = p / max(normalised_gap, 1e-9)
        if best is None or ratio < best[0]:
            best = (ratio, k, vectors[:, :k])
    assert best is not None
    return best[1], best[2]


def choose_count(
    affinity: np.ndarray, lower: int, upper: int, separated_windows: int | None = None
) -> tuple[int, Any]:
    """(count, spectral embedding rows): the eigengap's count, checked against what the
    segmentation model heard. Its local speakers of one window are distinct voices (the
    cannot-link rule :func:`constrained` keeps), so ``separated_windows``, the number of
    windows with two active local speakers, is evidence of a second voice:

    * fewer than :data:`MIN_SEPARATED_WINDOWS`: one speaker. Only the spread of one voice's
      embeddings says otherwise (the eigengap split an asterisk voice whose prompts were
      recorded apart, tune split);
    * at least that many and an eigengap count of one: two clusters are fitted and
      :func:`merge_close` (the recipe's centroid test) decides whether they are one voice.
      On a short clip (a few dozen embeddings) the first gap of the connected graph is the
      largest even when a second voice speaks for seconds.

    ``separated_windows`` None (embeddings without windows, e.g. one per realtime
    utterance) or a speaker hint (``lower`` > 1): the eigengap's count as it is."""
    if separated_windows is not None and lower <= 1 and separated_windows < MIN_SEPARATED_WINDOWS:
        return 1, None
    k, spectral = estimate_clusters(affinity, lower, upper)
    if (
        k == 1
        and separated_windows is not None
        and separated_windows >= MIN_SEPARATED_WINDOWS
        and upper >= 2
        and affinity.shape[0] >= 2 * MIN_CLUSTER_SIZE
    ):
        k, spectral = estimate_clusters(affinity, 2, 2)
    return k, spectral


def spectral_clusters(
    embeddings: np.ndarray,
    min_clusters: int = 1,
    max_clusters: int | None = None,
    num_clusters: int | None = None,
    seed: int = 0,
    separated_windows: int | None = None,
) -> np.ndarray:
    """Cluster labels (0..k-1) for ``embeddings`` (N, D); the count from the eigengap unless
    ``num_clusters`` is given (``separated_windows``: see :func:`choose_count`). More than
    :data:`MAX_FIT` embeddings: a fixed subsample is clustered and the rest go to the
    nearest centroid."""
    from sklearn.cluster import KMeans

    x = normalise(np.asarray(embeddings, dtype=np.float64))
    n = x.shape[0]
    if n < 2:
        return np.zeros(n, dtype=int)
    fit = np.arange(n)
    if n > MAX_FIT:
        fit = np.sort(np.random.default_rng(seed).choice(n, MAX_FIT, replace=False))
    affinity = x[fit] @ x[fit].T
    upper = min(max_clusters or MAX_SPEAKERS, len(fit) - 1)
    lower = max(1, min(min_clusters, upper))
    if num_clusters is not None:
        k = max(1, min(num_clusters, len(fit)))
        _, spectral = estimate_clusters(affinity, k, k) if k > 1 else (1, None)
    else:
        k, spectral = choose_count(affinity, lower, upper, separated_windows)
    if k == 1:
        return np.zeros(n, dtype=int)
    assert spectral is not None
    rows = normalise(spectral)
    labels_fit = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(rows)
    labels = np.empty(n, dtype=int)
    if num_clusters is None:
        labels_fit = merge_close(x[fit], labels_fit, lower)
    if len(fit) < n:
        rest = np.setdiff1d(np.arange(n), fit)
        labels[rest] = np.argmax(x[rest] @ centroids(x[fit], labels_fit).T, axis=1)
    labels[fit] = labels_fit
    return relabel_dense(labels)


def merge_close(x: np.ndarray, labels: np.ndarray, min_clusters: int = 1) -> np.ndarray:
    """3D-Speaker's clean-up of a spectral clustering of CAM++ embeddings (the recipe the
    embedding model ships with): clusters of fewer than :data:`MIN_CLUSTER_SIZE` embeddings
    join their nearest large cluster, then clusters whose centroids are closer than
    :data:`MERGE_COSINE` merge. The eigengap cannot say "one speaker" (its first gap is
    always there, so :func:`choose_count` may send a count of one here as two) and a sparse
    graph of one voice falls apart in parts; this joins them.
    Both constants are the recipe's published defaults, not fitted here."""
    labels = relabel_dense(labels)
    sizes = np.bincount(labels)
    major = np.flatnonzero(sizes >= MIN_CLUSTER_SIZE)
    if major.size == 0:
        return np.zeros_like(labels)
    if major.size < sizes.size:
        cents = centroids(x, labels)[major]
        minor = ~np.isin(labels, major)
        labels[minor] = major[np.argmax(x[minor] @ cents.T, axis=1)]
        labels = relabel_dense(labels)
    while int(labels.max()) + 1 > max(1, min_clusters):
        cents = centroids(x, labels)
        sims = cents @ cents.T
        np.fill_diagonal(sims, -np.inf)
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] < MERGE_COSINE:
            break
        labels = relabel_dense(np.where(labels == j, i, labels))
    return labels


def relabel_dense(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[inverse], dtype=int)


def centroids(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Normalised mean embedding of every cluster, in label order."""
    k = int(labels.max()) + 1 if labels.size else 0
    return normalise(np.stack([x[labels == j].mean(axis=0) for j in range(k)]))


class OnlineClusters:
    """Cluster labels of every embedding seen so far, updated block by block.

    ``add(window_embeddings)`` takes one (num_windows, local_speakers, D) block (NaN rows:
    inactive) and returns the labels of every embedding so far, aligned with the
    concatenation of all blocks (-2: inactive). ``refit()`` re-clusters everything offline:
    the final pass.
    """

    def __init__(
        self,
        num_clusters: int | None = None,
        min_clusters: int = 1,
        max_clusters: int | None = None,
    ) -> None:
        self.bounds = (num_clusters, min_clusters, max_clusters)
        self.embeddings: list[np.ndarray] = []  # (local_speakers, D) per window
        self.labels: list[np.ndarray] = []
        self.fitted_size = 0
        self._centroids: np.ndarray | None = None
        self._spread: np.ndarray | None = None  # per cluster: a low member similarity

    def add(self, block: np.ndarray, final: bool = False) -> np.ndarray:
        """Assign ``block``'s embeddings online; re-cluster everything when due, and always
        (once) when ``final``."""
        outliers = False
        for window in block:
            self.embeddings.append(window)
            labels, outlier = self._assign(window)
            self.labels.append(labels)
            outliers = outliers or outlier
        valid = self._valid_count()
        due = self._centroids is None or outliers or valid >= REGROW * max(self.fitted_size, 1)
        if final or due:
            self.refit()
        return np.stack(self.labels) if self.labels else np.zeros((0, 0), dtype=int)

    def _valid_count(self) -> int:
        return int(sum((~np.isnan(w).any(axis=1)).sum() for w in self.embeddings))

    def _assign(self, window: np.ndarray) -> tuple[np.ndarray, bool]:
        """Labels of one window's local speakers against the centroids (Hungarian, so two
        local speakers never share a cluster), and whether one is an outlier."""
        from scipy.optimize import linear_sum_assignment

        labels = np.full(window.shape[0], -2, dtype=int)
        valid = np.flatnonzero(~np.isnan(window).any(axis=1))
        if self._centroids is None or valid.size == 0:
            return labels, False
        sims = normalise(window[valid]) @ self._centroids.T
        rows, cols = linear_sum_assignment(-sims)
        labels[valid[rows]] = cols
        outlier = bool(valid.size > rows.size)  # more voices than clusters
        assert self._spread is not None
        outlier = outlier or bool(np.any(sims[rows, cols] < self._spread[cols]))
        return labels, outlier

    def centroids_for_labels(self) -> np.ndarray | None:
        """(clusters, D) normalised centroids, row ``k`` for label ``k``."""
        return self._centroids

    def refit(self) -> np.ndarray:
        """Re-cluster every embedding (the offline step); returns all labels."""
        if not self.embeddings:
            return np.zeros((0, 0), dtype=int)
        stacked = np.stack(self.embeddings)
        valid = ~np.isnan(stacked).any(axis=2)
        labels = np.full(valid.shape, -2, dtype=int)
        x = stacked[valid]
        num, lo, hi = self.bounds
        if x.shape[0]:
            # windows where segmentation heard two voices (unknown for 1-slot blocks)
            separated = int((valid.sum(axis=1) >= 2).sum()) if valid.shape[1] > 1 else None
            fitted = spectral_clusters(x, lo, hi, num, separated_windows=separated)
            labels[valid] = constrained(stacked, valid, fitted)
            members = normalise(x)
            self._centroids = centroids(members, labels[valid])
            sims = np.sum(members * self._centroids[labels[valid]], axis=1)
            self._spread = np.array(
                [sims[labels[valid] == j].min() for j in range(len(self._centroids))]
            )
        self.labels = list(labels)
        self.fitted_size = int(valid.sum())
        return labels


def constrained(stacked: np.ndarray, valid: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Re-assign each window's local speakers to the clusters' centroids so that no two
    speakers of one window share a cluster (pyannote's constrained assignment)."""
    from scipy.optimize import linear_sum_assignment

    x = normalise(stacked[valid])
    cents = centroids(x, labels)
    out = np.full(valid.shape, -2, dtype=int)
    for w in range(stacked.shape[0]):
        local = np.flatnonzero(valid[w])
        if local.size == 0:
            continue
        sims = normalise(stacked[w, local]) @ cents.T
        rows, cols = linear_sum_assignment(-sims)
        out[w, local[rows]] = cols
        # a window with more voices than clusters: the extra ones take their nearest
        for r in np.setdiff1d(np.arange(local.size), rows):
            out[w, local[r]] = int(np.argmax(sims[r]))
    return out[valid]
