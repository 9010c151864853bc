"""One realtime transcription session: client events in, server events out.

``handle`` decodes audio, feeds the VAD segmenter and answers at once; ASR runs beside it
on the file jobs' replicas: partials of the utterance being spoken (one in flight, never
retried) and each finished utterance's final, in order, retried (``retrying.py``) so a
replica's death loses no utterance. Each utterance is a chunk of the job (``recording.py``).

Every ASR request of a session has ``REALTIME_PRIORITY`` (before the file-job chunks a
replica holds); a final may come from a speculative pass started in the pause
(``speculation.py``); each utterance's speaker comes on its ``completed`` event when its
voice was embedded by then, else in a later event (``speakers.py``).

Memory stays bounded: the segmenter keeps only the current utterance, the session audio is
spooled to disk, and a client that runs ``max_ahead_s`` ahead of the clock, or whose finished
utterances wait for more than ``max_backlog_s`` of ASR, gets an ``error`` and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from pydantic import BaseModel

from serve_app.asr.batcher import REALTIME_PRIORITY
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.errors import AppError
from serve_app.jobs.model import JobOptions
from serve_app.realtime import protocol as p
from serve_app.realtime.limits import check_limits
from serve_app.realtime.partials import DeltaTracker, hypothesis
from serve_app.realtime.pcm import PcmInput, decode_base64_pcm
from serve_app.realtime.recording import SessionRecording
from serve_app.realtime.segmenter import SAMPLE_RATE, SpeechStart, Utterance, UtteranceSegmenter
from serve_app.realtime.services import Final, RealtimeServices, SessionClosed
from serve_app.realtime.speakers import LiveSpeakers, cancel
from serve_app.realtime.speculation import SpeculativeFinal
from serve_app.retrying import replica_calls

logger = logging.getLogger("ray.serve")
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RealtimeSession:
    def __init__(
        self, services: RealtimeServices, send: Send, owner: str | None, model: str | None
    ) -> None:
        self.services, self.config, self._send = services, services.config, send
        cfg = self.config
        default_model = services.registry.validate(model or "whisper-1").name
        self.settings = p.SessionSettings(
            model=default_model,
            vad=p.VadSettings(
                threshold=cfg.vad_threshold,
                prefix_padding_ms=cfg.prefix_padding_ms,
                silence_duration_ms=cfg.silence_duration_ms,
            ),
        )
        self.owner = owner
        self.recording: SessionRecording | None = None
        self.language: str | None = None
        self.multilingual = True
        self._pcm: PcmInput | None = None
        self._segmenter: UtteranceSegmenter | None = None
        self._first_audio: float | None = None
        self._item: str | None = None
        self._previous_item: str | None = None
        self._deltas = DeltaTracker()
        self._partial_at = 0  # samples of the current utterance at the last partial
        self._partial: asyncio.Task[None] | None = None
        self._early = SpeculativeFinal(cfg.speculative_final_ms)
        self._finals: asyncio.Queue[Final | None] = asyncio.Queue()
        self._backlog_samples = 0
        self._worker: asyncio.Task[None] | None = None
        self._speakers: LiveSpeakers | None = None
        self.utterances = 0

    # ---- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        spec = self.services.registry.validate(self.settings.model)
        self.multilingual = spec.multilingual
        self.language = None if spec.multilingual else "en"
        options = JobOptions(
            filename="realtime session",
            model_name=spec.name,
            diarize=self.config.diarize and self.services.diarizer is not None,
        )
        self.recording = SessionRecording(
            self.services.store, self.services.audio, self.services.lease_s, options, self.owner
        )
        job = await self.recording.start(self.multilingual, self.language)
        if options.diarize and self.config.live_speakers:
            self._speakers = LiveSpeakers(
                self.services.diarizer, self.recording, self.config.new_voice_similarity
            )
        # Made now (the VAD model loads in a thread), so the first append does not wait.
        self._segmenter = await asyncio.to_thread(
            UtteranceSegmenter, self.settings.vad, self.config.max_utterance_s
        )
        self._worker = asyncio.create_task(self._final_worker())
        await self._emit(
            p.SessionEvent(type="session.created", session=self._describe(), job_id=job.job_id)
        )

    def _describe(self) -> dict[str, Any]:
        assert self.recording is not None
        return {**self.settings.describe(), "id": f"sess_{self.recording.job_id}"}

    async def close(self) -> None:
        """End of the session (client gone or closed): transcribe what was received, keep
        the audio, diarize, and finish the job."""
        recording = self.recording
        if recording is None or recording.finished:
            return
        try:
            if self._partial is not None:
                self._partial.cancel()
            if self._segmenter is not None:
                rest = self._pcm.flush() if self._pcm is not None else np.zeros(0, np.float32)
                if rest.size:
                    recording.keep_audio(rest)
                    for found in self._segmenter.feed(rest):
                        if isinstance(found, Utterance):
                            await self._finish_utterance(found, quiet=True)
                last = self._segmenter.commit()
                if last is not None and last.audio.size:
                    await self._finish_utterance(last, quiet=True)
            await self._finals.put(None)
            if self._worker is not None:
                await self._worker
            if self._speakers is not None:
                await self._speakers.settle()
            audio = await asyncio.to_thread(recording.session_audio)
            await recording.keep_in_store(audio)
            note = ""
            if self.utterances and recording.options.diarize:
                note = await recording.diarize(self.services.diarizer, audio)
            message = f"Realtime session ended: {self.utterances} utterances"
            await recording.finish(message + (f" ({note})" if note else ""))
        except Exception as exc:
            logger.exception("realtime job %s: finishing failed", recording.job_id)
            with contextlib.suppress(Exception):
                await recording.finish(f"Realtime session failed: {exc}"[:300], failed=True)

    # ---- client events -----------------------------------------------------------------

    async def handle(self, data: Any) -> None:
        """One decoded client message; protocol errors become ``error`` events (fatal ones
        raise :class:`SessionClosed` after it is sent)."""
        try:
            event = p.parse_client_event(data)
            if isinstance(event, p.SessionUpdate):
                await self._update(event)
            elif isinstance(event, p.AppendAudio):
                await self._append(event)
            elif event.type == "input_audio_buffer.commit":
                await self._commit(event)
            elif event.type == "input_audio_buffer.clear":
                if self._segmenter is not None:
                    self._segmenter.clear()
                self._end_item()
                await self._emit(p.Cleared())
        except p.ProtocolError as exc:
            await self.error(exc)

    async def error(self, exc: p.ProtocolError) -> None:
        await self._emit(p.ErrorEvent.of(exc))
        if exc.fatal:
            raise SessionClosed(exc.message)

    async def _update(self, event: p.SessionUpdate) -> None:
        new = p.apply_update(self.settings, event.session, event.event_id)
        if self._pcm is not None and new.rate != self.settings.rate:
            raise p.ProtocolError(
                "the input audio format cannot change once audio has been sent",
                param="session.audio.input.format",
                event_id=event.event_id,
            )
        try:
            model = new.model
            if model.startswith(p.OPENAI_MODELS_PREFIX):
                model = "whisper-1"
            spec = self.services.registry.validate(model, new.language)
        except AppError as exc:
            raise p.ProtocolError(
                exc.message, param="session.audio.input.transcription", event_id=event.event_id
            ) from exc
        if self._pcm is not None and spec.name != self.settings.model:
            raise p.ProtocolError(
                "the model cannot change once audio has been sent",
                param="session.audio.input.transcription.model",
                event_id=event.event_id,
            )
        self.settings = new.model_copy(update={"model": spec.name})
        self.language = new.language or (None if spec.multilingual else "en")
        if self._segmenter is not None and new.vad != self._segmenter.vad:
            last = self._segmenter.commit()
            if last is not None and last.audio.size:
                await self._finish_utterance(last)
            self._segmenter = None  # rebuilt with the new turn detection on the next append
        assert self.recording is not None
        kind = event.type.replace(".update", ".updated")
        await self._emit(
            p.SessionEvent(type=kind, session=self._describe(), job_id=self.recording.job_id)
        )

    async def _append(self, event: p.AppendAudio) -> None:
        cfg = self.config
        samples = decode_base64_pcm(event.audio, event.event_id)
        if self._pcm is None:
            self._pcm = PcmInput(self.settings.rate)
        audio = self._pcm.convert(samples)
        if self._segmenter is None:
            self._segmenter = await asyncio.to_thread(
                UtteranceSegmenter, self.settings.vad, cfg.max_utterance_s
            )
            self._segmenter.position = self.recording.samples if self.recording else 0
            self._segmenter.clear()
        assert self.recording is not None
        if self._first_audio is None:  # the clock of the real-time check starts here
            self._first_audio = time.monotonic()
        received_s = (self.recording.samples + audio.shape[0]) / SAMPLE_RATE
        elapsed = time.monotonic() - self._first_audio
        backlog_s = self._backlog_samples / SAMPLE_RATE
        check_limits(cfg, received_s, elapsed, backlog_s, event.event_id)
        self.recording.keep_audio(audio)
        events = await asyncio.to_thread(self._segmenter.feed, audio)
        for found in events:
            if isinstance(found, SpeechStart):
                await self._emit(
                    p.SpeechStarted(
                        audio_start_ms=found.sample * 1000 // SAMPLE_RATE,
                        item_id=self._current_item(),
                    )
                )
            else:
                await self._finish_utterance(found)
        self._maybe_partial()
        if self.settings.vad is not None:
            pad = self.settings.vad.prefix_padding_ms
            self._early.maybe_start(self._item, self._segmenter, pad, self._speculate)

    async def _commit(self, event: p.ClientEvent) -> None:
        utterance = self._segmenter.commit() if self._segmenter is not None else None
        if utterance is None or utterance.duration_s < 0.1:
            raise p.ProtocolError(
                "input_audio_buffer.commit: the buffer holds less than 100 ms of audio",
                code="input_audio_buffer_commit_empty",
                event_id=event.event_id,
            )
        await self._finish_utterance(utterance)

    # ---- utterances --------------------------------------------------------------------

    def _current_item(self) -> str:
        if self._item is None:
            self._item = p.new_id("item")
            self._deltas.reset()
            self._partial_at = 0
        return self._item

    def _end_item(self) -> str:
        item = self._current_item()
        self._item = None
        return item

    async def _finish_utterance(self, utterance: Utterance, quiet: bool = False) -> None:
        """Speech stopped (or the client committed): commit the item, queue its final."""
        item = self._end_item()
        if not quiet:
            if self.settings.vad is not None and not utterance.committed_by_client:
                end_ms = utterance.end * 1000 // SAMPLE_RATE
                await self._emit(p.SpeechStopped(audio_end_ms=end_ms, item_id=item))
            await self._emit(p.Committed(item_id=item, previous_item_id=self._previous_item))
        self._previous_item = item
        assert self.recording is not None
        index = await self.recording.plan(utterance.start, utterance.end)
        self._backlog_samples += utterance.audio.shape[0]
        await self._finals.put((item, utterance, index, self._early.take(item, utterance)))

    async def _final_worker(self) -> None:
        while (queued := await self._finals.get()) is not None:
            item, utterance, index, early = queued
            try:
                await self._final(item, utterance, index, early)
            except Exception:
                logger.exception("realtime utterance %s failed", item)
            finally:
                self._backlog_samples -= utterance.audio.shape[0]

    async def _final(
        self, item: str, utterance: Utterance, index: int, early: asyncio.Task[Any] | None
    ) -> None:
        assert self.recording is not None
        cfg, result, embedding = self.config, None, None
        if utterance.duration_s >= cfg.min_utterance_s:
            with contextlib.suppress(Exception):  # the speculative pass, if it fits
                result, embedding = await early if early is not None else (None, None)
            if self._speakers is not None and embedding is None:  # found while ASR decodes
                embedding = self._speakers.embed(utterance.audio)
            try:
                async for attempt in replica_calls(cfg.final_attempts, cfg.retry_backoff_s):
                    with attempt:
                        result = result or await self._transcribe(utterance.audio)
            except Exception as exc:
                cancel(embedding)
                logger.warning("realtime utterance %s: ASR failed: %s", item, exc)
                await self.recording.complete(index, [])
                detail = p.ErrorDetail(
                    type="server_error", code="transcription_failed", message=str(exc)[:300]
                )
                await self._emit(p.TranscriptionFailed(item_id=item, error=detail))
                return
        segments = result.segments if result is not None else []
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        start, end = round(utterance.start / SAMPLE_RATE, 3), round(utterance.end / SAMPLE_RATE, 3)
        speaker, late = None, False  # before the chunk (its segments get it); the text
        if self._speakers is not None and embedding is not None:  # waits for no embedding
            if embedding.done() or cfg.speaker_wait_s > 0:
                speaker = await self._speakers.assign(embedding, start, end, cfg.speaker_wait_s)
            late = speaker is None and not embedding.done()
        if not late:
            cancel(embedding)
        await self.recording.complete(index, segments)
        self.utterances += 1
        await self._emit(
            p.TranscriptionCompleted(
                item_id=item,
                transcript=text,
                usage=p.DurationUsage(seconds=round(utterance.duration_s, 3)),
                speaker=speaker.shown if speaker else None,
                speaker_id=speaker.speaker_id if speaker else None,
                start=start,
                end=end,
            )
        )
        if late and self._speakers is not None and embedding is not None:
            self._speakers.follow(item, embedding, start, end, cfg.late_speaker_s, self._emit)

    async def _speculate(self, audio: np.ndarray) -> tuple[ChunkTranscript, Any]:
        """A speculative final, its voice embedded meanwhile (ready with the text)."""
        embedding = self._speakers.embed(audio) if self._speakers is not None else None
        return await self._transcribe(audio), embedding

    async def _transcribe(self, audio: np.ndarray) -> ChunkTranscript:
        asr = self.services.asr.options(multiplexed_model_id=self.settings.model)
        if self.language is None and audio.shape[0] >= SAMPLE_RATE:
            self.language, _ = await asr.detect_language.remote(audio)
        result: ChunkTranscript = await asr.transcribe_chunk.remote(
            audio, self.language, DecodeOptions(prompt=self.settings.prompt), REALTIME_PRIORITY
        )
        return result

    # ---- partial hypotheses ------------------------------------------------------------

    def _maybe_partial(self) -> None:
        segmenter = self._segmenter
        if segmenter is None or segmenter.speech_start is None or segmenter.silence_start():
            return  # nobody speaks, or they paused: the speculative final decodes it
        if self._item is None:
            if segmenter.vad is not None:
                return
            self._current_item()  # turn detection off: the audio since the last commit
        if self._partial is not None and not self._partial.done():
            return
        spoken = segmenter.position - segmenter.speech_start
        cfg = self.config  # tighter until the first words are out (they decide first-delta)
        if spoken - self._partial_at < SAMPLE_RATE * (
            cfg.partial_interval_s if self._deltas.sent else cfg.first_partial_interval_s
        ):
            return
        self._partial_at = spoken
        audio = segmenter.current_audio()
        self._partial = asyncio.create_task(self._run_partial(self._current_item(), audio))

    async def _run_partial(self, item: str, audio: np.ndarray) -> None:
        try:
            result = await self._transcribe(audio)
        except Exception as exc:  # a partial is best effort: the final is retried
            logger.info("realtime partial of %s failed: %s", item, exc)
            return
        if item != self._item:
            return  # the utterance ended meanwhile: its completed event is the answer
        text, settled = hypothesis(result.segments, audio.shape[0] / SAMPLE_RATE)
        delta = self._deltas.delta(text, settled=settled)
        if delta:
            with contextlib.suppress(Exception):
                await self._emit(p.TranscriptionDelta(item_id=item, delta=delta))

    async def _emit(self, event: BaseModel) -> None:
        await self._send(event.model_dump(mode="json"))
