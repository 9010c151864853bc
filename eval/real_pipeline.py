"""The two sides of the real-speech evaluation, without Ray:

* **ours**: the project's own pipeline, step by step with the code the deployments run:
  VAD block by block and the incremental chunk planner (``deployments/chunker_job.py``), the
  language detected once on the first chunk when none is given, each chunk decoded by
  ``WhisperASR`` (``deployments/asr.py``: the batched decoder when the language is known, as
  in production), the chunks' segments joined as the job store publishes them
  (``serve_app/jobs/progress.py``), the live diarizer (``PyannoteDiarizer.stream``, provisional
  passes every ``diarizer.block_s``) and the words aligned with its final exclusive turns
  (``serve_app/diarization/revisions.py``), which is what ``/result`` returns.
* **bare**: faster-whisper's ``WhisperModel.transcribe()`` and ``BatchedInferencePipeline``
  on the whole file with the same weights and options, and pyannote's stock
  ``SpeakerDiarization`` pipeline with the same segmentation-3.0 and CAM++ weights
  (pyannote's own clustering, default step, pyannote 3.1's agglomerative hyperparameters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serve_app.config import AppConfig
from serve_app.transcript.segments import Segment

SR = 16000


@dataclass
class AsrRun:
    text: str
    words: list[tuple[float, float, str]]
    seconds: float
    language: str | None = None
    segments: list[Segment] = field(default_factory=list)


@dataclass
class DiarRun:
    turns: list[tuple[float, float, str]]
    """Overlap-aware turns (two speakers may talk at once)."""
    exclusive: list[tuple[float, float, str]]
    seconds: float
    live: list[tuple[float, float, str]] = field(default_factory=list)
    """What a live client had seen: each provisional pass's turns over the audio it added."""


def load_whisper(config: AppConfig, name: str) -> Any:
    from faster_whisper import WhisperModel

    from serve_app.asr.registry import build_registry

    _, path = build_registry(config.models, config.asr).resolve(name)
    asr = config.asr
    return WhisperModel(
        str(path),
        device="cpu",
        compute_type=asr.resolved_compute_type("cpu"),
        cpu_threads=asr.cpu_threads,
        num_workers=1,
        local_files_only=True,
    )


def _words(segments: list[Segment]) -> list[tuple[float, float, str]]:
    return [(w.start, w.end, w.word) for s in segments for w in s.words]


def ours_asr(config: AppConfig, model: Any, audio: np.ndarray, language: str | None) -> AsrRun:
    """Plan chunks as a job does and decode each chunk as an ASR replica does."""
    from deployments.asr import MAX_BATCHED_CHUNK_S
    from serve_app.asr.backends.faster_whisper import FasterWhisperBackend
    from serve_app.asr.decoding import DecodeOptions
    from serve_app.audio.chunking import IncrementalPlanner
    from serve_app.audio.vad import detect_speech
    from serve_app.jobs.model import ChunkRecord, Job, JobOptions
    from serve_app.jobs.progress import publishable

    started = time.perf_counter()
    cfg = config.chunker
    max_speech_s = cfg.chunk_length_s - 2 * cfg.vad.speech_pad_ms / 1000
    planner = IncrementalPlanner(
        audio.shape[0],
        int(cfg.chunk_length_s * SR),
        join_samples=int(cfg.vad.speech_pad_ms / 1000 * SR) + 1,
        first_chunk_samples=int(cfg.first_chunk_s * SR) if cfg.first_chunk_s else None,
    )
    block = int(cfg.vad_block_s * SR)
    chunks = []
    for block_start in range(0, audio.shape[0], block):
        spans = detect_speech(audio[block_start : block_start + block], cfg.vad, max_speech_s)
        shifted = [(a + block_start, b + block_start) for a, b in spans]
        chunks += planner.add_block(shifted, block_start)
    chunks += planner.finish()

    engine = FasterWhisperBackend.around(model, config.asr)
    options = DecodeOptions()
    job = Job(job_id="eval", options=JobOptions(model_name="eval"))
    results: dict[int, list[Segment]] = {}
    for c in chunks:
        piece = audio[c.start : c.end]
        if language is None:
            language, _, _ = model.detect_language(piece, vad_filter=True)
        if piece.shape[0] <= MAX_BATCHED_CHUNK_S * SR:
            (out,) = engine.transcribe_many([piece], language, options)
        else:
            out = engine.transcribe(piece, language, options)
        job.chunks.append(
            ChunkRecord(
                index=c.index,
                start=c.start / SR,
                end=c.end / SR,
                start_sample=c.start,
                end_sample=c.end,
            )
        )
        results[c.index] = out.segments
    segments = publishable(job, results)
    text = " ".join(s.text.strip() for s in segments)
    return AsrRun(text, _words(segments), time.perf_counter() - started, language, segments)


def _engine_options(config: AppConfig) -> dict[str, Any]:
    from serve_app.asr.decoding import temperature_schedule

    asr = config.asr
    return {
        "beam_size": asr.beam_size,
        "temperature": temperature_schedule(None),
        "word_timestamps": asr.word_timestamps,
    }


def bare_transcribe(
    config: AppConfig, model: Any, audio: np.ndarray, language: str | None
) -> AsrRun:
    """``WhisperModel.transcribe()`` on the whole file, the replicas' options."""
    started = time.perf_counter()
    segments, info = model.transcribe(
        audio,
        language=language,
        vad_filter=config.asr.vad_filter,
        condition_on_previous_text=config.asr.condition_on_previous_text,
        **_engine_options(config),
    )
    segs = list(segments)
    words = [(w.start, w.end, w.word) for s in segs for w in (s.words or [])]
    text = " ".join(s.text.strip() for s in segs)
    return AsrRun(text, words, time.perf_counter() - started, info.language)


def bare_batched(
    config: AppConfig, model: Any, audio: np.ndarray, language: str | None, batch_size: int = 8
) -> AsrRun:
    """``BatchedInferencePipeline.transcribe()`` on the whole file (its own VAD)."""
    from faster_whisper import BatchedInferencePipeline

    started = time.perf_counter()
    segments, info = BatchedInferencePipeline(model).transcribe(
        audio, language=language, batch_size=batch_size, **_engine_options(config)
    )
    segs = list(segments)
    words = [(w.start, w.end, w.word) for s in segs for w in (s.words or [])]
    text = " ".join(s.text.strip() for s in segs)
    return AsrRun(text, words, time.perf_counter() - started, info.language)


def ours_diarize(config: AppConfig, diarizer: Any, audio: np.ndarray) -> DiarRun:
    """The diarizer replica's live stream, each pass renamed onto the names already shown
    as the job store does; the final pass is what the job keeps."""
    from serve_app.diarization.alignment import rename_turns, speaker_names

    started = time.perf_counter()
    live: list[tuple[float, float, str]] = []
    shown: list[dict[str, Any]] = []
    seen = 0.0
    turns: list[dict[str, Any]] = []
    for result in diarizer.stream(audio, SR, block_s=config.diarizer.block_s):
        names = speaker_names(result.exclusive_turns, shown, [t.speaker for t in result.turns])
        shown = rename_turns(result.exclusive_turns, names)
        turns = rename_turns(result.turns, names)
        end = result.covered_s if not result.final else float("inf")
        # the part of each pass that a live client first saw from it
        live += [
            (max(t["start"], seen), min(t["end"], end), t["speaker"])
            for t in turns
            if t["end"] > seen and t["start"] < end
        ]
        seen = end
    seconds = time.perf_counter() - started
    rows = [(t["start"], t["end"], t["speaker"]) for t in turns]
    exclusive = [(t["start"], t["end"], t["speaker"]) for t in shown]
    return DiarRun(rows, exclusive, seconds, live)


def transcript_view(segments: list[Segment], exclusive: list[tuple[float, float, str]]) -> Any:
    """The words of ``/result``: ASR segments aligned with the exclusive turns."""
    from serve_app.diarization.revisions import speaker_view

    turns = [{"start": s, "end": e, "speaker": spk, "confidence": 1.0} for s, e, spk in exclusive]
    return speaker_view(segments, turns)


def view_turns(view: list[Segment]) -> list[tuple[float, float, str]]:
    """Speaker turns as ``/result`` shows them: one per word (segment without words)."""
    out = []
    for seg in view:
        if seg.words:
            out += [(w.start, w.end, w.speaker) for w in seg.words if w.speaker and w.end > w.start]
        elif seg.speaker and seg.end > seg.start:
            out.append((seg.start, seg.end, seg.speaker))
    return out


def build_bare_diarization(threads: int) -> Any:
    """pyannote's stock ``SpeakerDiarization`` with the bundled weights (see module doc)."""
    import torch
    from pyannote.audio import Model
    from pyannote.audio.pipelines import SpeakerDiarization

    from serve_app.diarization.embedding import (
        campplus_classes,
        default_campplus_path,
        default_segmentation_path,
    )

    torch.set_num_threads(threads)
    classes = campplus_classes()
    pipeline = SpeakerDiarization(
        segmentation=Model.from_pretrained(default_segmentation_path()),
        embedding=classes["CAMPPlusEmbedding"](default_campplus_path()),
        plda=classes["NoPLDA"](),
        clustering="AgglomerativeClustering",
        # as in pyannote's published pipelines (the constructor's default is 1); batching
        # changes the speed, not the output
        embedding_batch_size=32,
        segmentation_batch_size=32,
    )
    pipeline.instantiate(
        {
            "segmentation": {"min_duration_off": 0.0},
            # pyannote/speaker-diarization-3.1's published hyperparameters
            "clustering": {
                "method": "centroid",
                "min_cluster_size": 12,
                "threshold": 0.7045654963945799,
            },
        }
    )
    return pipeline


def bare_diarize(pipeline: Any, audio: np.ndarray) -> DiarRun:
    import torch

    started = time.perf_counter()
    out = pipeline({"waveform": torch.from_numpy(audio)[None], "sample_rate": SR})
    seconds = time.perf_counter() - started
    ann = getattr(out, "speaker_diarization", out)
    excl = getattr(out, "exclusive_speaker_diarization", ann)

    def rows(a: Any) -> list[tuple[float, float, str]]:
        return [(s.start, s.end, str(lab)) for s, _, lab in a.itertracks(yield_label=True)]

    return DiarRun(rows(ann), rows(excl), seconds)
