"""Speaker diarization replicas (pyannote.audio), run on the whole file so speaker labels are
consistent across every ASR chunk. Runs concurrently with ASR; the chunker aligns words to
its exclusive turns (``serve_app/diarization/alignment.py``).

``diarize`` is a streaming method: it yields progress updates from pyannote's hook while the
pipeline runs, then the result, so the job can show diarization as a step of its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from serve_app.audio.decode import SAMPLE_RATE
from serve_app.config import DiarizerConfig
from serve_app.diarization.results import DiarizationOutput, DiarizationProgress
from serve_app.priority import lower_priority


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
        self._backend = PyannoteDiarizer(
            device=config.device, pipeline_dir=config.pipeline_dir, hf_token=token, **tuning
        )

    async def diarize(
        self,
        audio: np.ndarray,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> AsyncIterator[DiarizationProgress | DiarizationOutput]:
        loop = asyncio.get_running_loop()
        updates: asyncio.Queue[DiarizationProgress] = asyncio.Queue()
        last: dict[str, float] = {}

        def hook(
            step: str, _artifact: Any, file: Any = None, total: Any = None, completed: Any = None
        ) -> None:
            fraction = 1.0 if not total else min(1.0, float(completed or 0) / float(total))
            # Report a step's start, its end and every 10% in between.
            if step in last and fraction < 1.0 and fraction - last[step] < 0.1:
                return
            last[step] = fraction
            loop.call_soon_threadsafe(
                updates.put_nowait, DiarizationProgress(step=step, fraction=fraction)
            )

        started = time.perf_counter()
        work = asyncio.ensure_future(
            asyncio.to_thread(
                self._backend.diarize,
                audio,
                SAMPLE_RATE,
                num_speakers=num_speakers,
                min_speakers=min_speakers,
                max_speakers=max_speakers,
                hook=hook,
            )
        )
        while not work.done():
            getter = asyncio.ensure_future(updates.get())
            await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        result = work.result()
        yield DiarizationOutput(
            exclusive_turns=[
                {"start": t.start, "end": t.end, "speaker": t.speaker, "confidence": t.confidence}
                for t in result.exclusive_turns
            ],
            speakers=list(result.speakers),
            diarize_s=time.perf_counter() - started,
        )
