"""Whisper through vLLM (GPU configs): the encoder-decoder engine with continuous batching,
in-process (``vllm.LLM``) inside the ASR replica.

vLLM returns text and token log-probabilities but no cross-attentions, so each chunk becomes
one segment spanning its speech, without word timestamps (``words`` stays empty, in the same
shape as the other backends'); ``avg_logprob`` comes from the sampled tokens' log-probabilities.
Language detection reads the language token vLLM decodes after start-of-transcript.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from serve_app.asr.backends.base import batch_transcripts
from serve_app.asr.backends.transformers import compression_ratio
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions
from serve_app.audio.decode import SAMPLE_RATE
from serve_app.audio.vad import speech_span
from serve_app.config import ASRConfig
from serve_app.transcript.segments import Segment

WINDOW_SAMPLES = 30 * SAMPLE_RATE


class VLLMBackend:
    """A Whisper checkpoint (Hugging Face layout) served by a vLLM engine."""

    backend = "vllm"

    def __init__(
        self, source: str, config: ASRConfig, device: str, engine_args: dict[str, Any]
    ) -> None:
        import json
        from pathlib import Path

        from vllm import LLM

        self._config = config
        args: dict[str, Any] = {
            "dtype": "float16" if device == "cuda" else "float32",
            "enforce_eager": device != "cuda",
            "max_num_seqs": max(config.batch_size, 1),
            "limit_mm_per_prompt": {"audio": 1},
            # The replica shares its card (num_gpus is a fraction): vLLM's default 0.9 would
            # take the memory the other models were budgeted.
            "gpu_memory_utilization": 0.3,
        }
        self._llm: Any = LLM(model=source, **(args | engine_args))
        generation = Path(source) / "generation_config.json"
        gen = json.loads(generation.read_text()) if generation.is_file() else {}
        self.multilingual = bool(gen.get("is_multilingual", True))
        self._languages = {code.strip("<|>") for code in gen.get("lang_to_id", {})}

    def _prompt(self, audio: np.ndarray, language: str | None, options: DecodeOptions) -> Any:
        head = "<|startoftranscript|>"
        if self.multilingual:
            head += f"<|{language or 'en'}|><|{options.task}|>"
        prev = f"<|startofprev|> {options.prompt.strip()}" if options.prompt else ""
        return {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {"audio": (audio, SAMPLE_RATE)},
            },
            "decoder_prompt": f"{prev}{head}<|notimestamps|>",
        }

    def _params(self, max_tokens: int, temperature: float | None) -> Any:
        from vllm import SamplingParams

        return SamplingParams(temperature=temperature or 0.0, max_tokens=max_tokens, logprobs=0)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        from vllm import SamplingParams

        prompt = {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {"audio": (audio[:WINDOW_SAMPLES], SAMPLE_RATE)},
            },
            "decoder_prompt": "<|startoftranscript|>",
        }
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=0)
        out = self._llm.generate([prompt], params, use_tqdm=False)[0].outputs[0]
        code = out.text.strip().strip("<|>")
        logprob = out.cumulative_logprob or 0.0
        return (code if code in self._languages else "en"), math.exp(logprob)

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
        """One segment per Whisper window of each chunk's speech, all windows in one call."""
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
        if windows:
            prompts = [self._prompt(w[3], language, options) for w in windows]
            outputs = self._llm.generate(
                prompts, self._params(440, options.temperature), use_tqdm=False
            )
            for (i, start, end, _), output in zip(windows, outputs, strict=True):
                best = output.outputs[0]
                text = best.text.strip()
                if not text:
                    continue
                count = max(len(best.token_ids), 1)
                per_chunk[i].append(
                    Segment(
                        start=start,
                        end=end,
                        text=text,
                        avg_logprob=(best.cumulative_logprob or 0.0) / count,
                        compression_ratio=compression_ratio(text),
                        temperature=options.temperature or 0.0,
                        tokens=list(best.token_ids),
                    )
                )
        return batch_transcripts(audios, per_chunk, language, time.perf_counter() - started)
