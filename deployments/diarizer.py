"""Speaker diarization replicas (pyannote.audio), live: ``diarize`` streams a provisional
result after every ``block_s`` seconds of audio, then the final pass over the whole file
(every embedding re-clustered), so labels are consistent across every ASR chunk. Runs
concurrently with ASR; the job store aligns words with the turns and sends revisions.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE
from serve_app.config import DiarizerConfig
from serve_app.diarization.results import DiarizationOutput, DiarizationResult
from serve_app.priority import lower_priority
from serve_app.speakers.voiceprint import speaker_spans, voiceprint

LIVE_CENTROID_S = 15.0
"""Speech per speaker that a live pass's voiceprint is made of (the final pass: 30 s)."""
FINAL_CENTROID_S = 30.0


class Diarizer:
    """Holds one pyannote pipeline; one file at a time."""

    def __init__(self, config: DiarizerConfig) -> None:
        lower_priority(config.deployment.nice)  # before torch starts its threads
        from serve_app.diarization.pipeline import PyannoteDiarizer

        token = os.environ.get(config.hf_token_env) if config.use_hub else None
        if config.use_hub and not token:
            raise RuntimeError(
                f"diarizer.use_hub is set but ${config.hf_token_env} holds no Hugging Face token"
            )
        tuning: dict[str, Any] = dict(config.tuning)  # validated by PyannoteDiarizer
        self._block_s = config.block_s
        self._backend = PyannoteDiarizer(
            device=config.device, pipeline_dir=config.pipeline_dir, hf_token=token, **tuning
        )

    async def diarize(
        self,
        audio: np.ndarray,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        live_centroids: bool = False,
    ) -> AsyncIterator[DiarizationOutput]:
        """Passes over ``audio``; each speaker's voiceprint comes with the final pass, and
        with every live pass too when ``live_centroids`` (the owner enrolled someone)."""
        loop = asyncio.get_running_loop()
        results: asyncio.Queue[DiarizationResult | BaseException | None] = asyncio.Queue()
        stop = threading.Event()  # the caller went away: end the pass after this block

        def run() -> None:
            try:
                for result in self._backend.stream(
                    audio,
                    SAMPLE_RATE,
                    num_speakers=num_speakers,
                    min_speakers=min_speakers,
                    max_speakers=max_speakers,
                    block_s=self._block_s,
                ):
                    if result.final or live_centroids:
                        self._centroids(result, audio)
                    loop.call_soon_threadsafe(results.put_nowait, result)
                    if stop.is_set():
                        return
                loop.call_soon_threadsafe(results.put_nowait, None)
            except BaseException as exc:  # handed to the caller below
                loop.call_soon_threadsafe(results.put_nowait, exc)

        started = time.perf_counter()
        work = asyncio.ensure_future(asyncio.to_thread(run))
        try:
            while (item := await results.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield _output(item, started)
            await work
        finally:
            stop.set()

    def _centroids(self, result: DiarizationResult, audio: np.ndarray) -> None:
        cap = FINAL_CENTROID_S if result.final else LIVE_CENTROID_S
        turns = [
            {"start": t.start, "end": t.end, "speaker": t.speaker} for t in result.exclusive_turns
        ]
        embed = self._backend.pipeline._embedding
        for speaker, spans in speaker_spans(turns).items():
            vector, _ = voiceprint(embed, audio, spans, cap)
            if vector:
                result.centroids[speaker] = vector

    async def embed(
        self, audio: np.ndarray | bytes, spans: list[tuple[float, float]] | None, max_s: float
    ) -> tuple[list[float], list[tuple[float, float]]]:
        """A voiceprint of the speech in ``spans`` of ``audio`` (16 kHz mono float32, or an
        encoded clip; spans None: the speech silero VAD finds), and the pieces it used."""
        return await asyncio.to_thread(self._embed, audio, spans, max_s)

    def _embed(
        self, audio: np.ndarray | bytes, spans: list[tuple[float, float]] | None, max_s: float
    ) -> tuple[list[float], list[tuple[float, float]]]:
        from serve_app.audio.decode import decode_audio
        from serve_app.audio.vad import detect_speech
        from serve_app.config import VadConfig
        from serve_app.diarization.pipeline import prepare_audio

        if isinstance(audio, bytes):
            audio = decode_audio(audio, max_duration_s=max(600.0, 4 * max_s))
        audio = prepare_audio(audio, SAMPLE_RATE)
        if spans is None:
            found = detect_speech(audio, VadConfig(), max_speech_s=30.0)
            spans = [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in found]
        return voiceprint(self._backend.pipeline._embedding, audio, spans, max_s)


def _output(result: DiarizationResult, started: float) -> DiarizationOutput:
    return DiarizationOutput(
        exclusive_turns=[
            {"start": t.start, "end": t.end, "speaker": t.speaker, "confidence": t.confidence}
            for t in result.exclusive_turns
        ],
        turns=[
            {"start": t.start, "end": t.end, "speaker": t.speaker, "confidence": t.confidence}
            for t in result.turns
        ],
        speakers=list(result.speakers),
        diarize_s=time.perf_counter() - started,
        covered_s=result.covered_s,
        final=result.final,
        centroids=dict(result.centroids),
    )
