"""Hugging Face transformers: ``WhisperForConditionalGeneration`` from a local directory or
a hub id, so fine-tuned Whisper checkpoints and distil-whisper serve without conversion.

Decoding is transformers' own Whisper generation: timestamp tokens give segments (sequential
long-form decoding past 30 s), the alignment heads of the generation config give word
timestamps (cross-attention + DTW, as openai-whisper does; a checkpoint without
``alignment_heads`` serves segments without words), the processed scores give word
probabilities and ``avg_logprob``, and the temperature fallback uses the same thresholds as
faster-whisper. Several chunks decode as one padded batch.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

import numpy as np

from serve_app.asr.backends.base import batch_transcripts
from serve_app.asr.decoding import ChunkTranscript, DecodeOptions, temperature_schedule
from serve_app.audio.decode import SAMPLE_RATE
from serve_app.audio.vad import speech_span
from serve_app.config import ASRConfig
from serve_app.transcript.segments import Segment, Word

WINDOW_SAMPLES = 30 * SAMPLE_RATE
COMPRESSION_RATIO_THRESHOLD = 2.4
LOGPROB_THRESHOLD = -1.0
"""faster-whisper's defaults: a window above the one or below the other is decoded again at
the next temperature."""


def compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


class TransformersBackend:
    """One ``WhisperForConditionalGeneration`` checkpoint and its processor."""

    backend = "transformers"

    def __init__(self, source: str, config: ASRConfig, device: str) -> None:
        import torch
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        if config.cpu_threads:
            torch.set_num_threads(config.cpu_threads)
        self._config = config
        self._torch = torch
        self._device = device
        dtype = torch.float16 if device == "cuda" else torch.float32
        model: Any = WhisperForConditionalGeneration.from_pretrained(source, dtype=dtype)
        self.model: Any = model.to(device).eval()
        self.processor: Any = WhisperProcessor.from_pretrained(source)
        generation = self.model.generation_config
        self.multilingual = bool(getattr(generation, "is_multilingual", False))
        self.word_timestamps = config.word_timestamps and bool(
            getattr(generation, "alignment_heads", None)
        )
        self._eot = int(generation.eos_token_id)
        languages = getattr(generation, "lang_to_id", None) or {}
        self._lang_ids: dict[int, str] = {
            token: code.strip("<|>") for code, token in languages.items()
        }

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The language token most likely after start-of-transcript, over the first window."""
        if not self.multilingual or not self._lang_ids:
            return "en", 1.0
        span = speech_span(audio) if self._config.vad_filter else None
        if span is not None:
            audio = audio[span[0] : span[1]]
        torch = self._torch
        features = self._features([audio[:WINDOW_SAMPLES]])
        start = self.model.generation_config.decoder_start_token_id
        with torch.inference_mode():
            logits = self.model(
                input_features=features["input_features"],
                decoder_input_ids=torch.tensor([[start]], device=self._device),
            ).logits[0, -1]
        ids = list(self._lang_ids)
        probs = torch.softmax(logits[ids].float(), dim=-1)
        best = int(torch.argmax(probs))
        return self._lang_ids[ids[best]], float(probs[best])

    def transcribe(
        self, audio: np.ndarray, language: str | None, options: DecodeOptions
    ) -> ChunkTranscript:
        started = time.perf_counter()
        probability = 1.0
        if language is None:
            language, probability = self.detect_language(audio)
        result = self._decode([audio], language, options)[0]
        elapsed = time.perf_counter() - started
        return result.model_copy(
            update={"language_probability": probability, "transcribe_s": elapsed}
        )

    def transcribe_many(
        self, audios: list[np.ndarray], language: str, options: DecodeOptions
    ) -> list[ChunkTranscript]:
        return self._decode(audios, language, options)

    def _features(self, audios: list[np.ndarray]) -> Any:
        longest = max(a.shape[0] for a in audios)
        extra = {} if longest <= WINDOW_SAMPLES else {"truncation": False, "padding": "longest"}
        features = self.processor.feature_extractor(
            audios,
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
            return_attention_mask=True,
            **extra,
        )
        dtype = self.model.dtype
        return {
            "input_features": features.input_features.to(self._device, dtype=dtype),
            "attention_mask": features.attention_mask.to(self._device),
        }

    def _decode(
        self, audios: list[np.ndarray], language: str, options: DecodeOptions
    ) -> list[ChunkTranscript]:
        """Decode the speech of each chunk (edges trimmed by VAD) in one batched generate."""
        cfg = self._config
        started = time.perf_counter()
        spans = [speech_span(a) if cfg.vad_filter else (0, a.shape[0]) for a in audios]
        todo = [i for i, span in enumerate(spans) if span is not None]
        per_chunk: list[list[Segment]] = [[] for _ in audios]
        if todo:
            clips = [audios[i][spans[i][0] : spans[i][1]] for i in todo]  # type: ignore[index]
            kwargs: dict[str, Any] = {
                "return_timestamps": True,
                "return_token_timestamps": self.word_timestamps,
                "return_dict_in_generate": True,
                "output_scores": True,
                "num_beams": cfg.beam_size,
                "condition_on_prev_tokens": cfg.condition_on_previous_text,
                "temperature": temperature_schedule(options.temperature),
                "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
                "logprob_threshold": LOGPROB_THRESHOLD,
            }
            if self.multilingual:
                kwargs.update(language=language, task=options.task)
            if options.prompt:
                kwargs["prompt_ids"] = self.processor.get_prompt_ids(
                    options.prompt, return_tensors="pt"
                ).to(self._device)
            with self._torch.inference_mode():
                out = self.model.generate(**self._features(clips), **kwargs)
            for k, i in enumerate(todo):
                offset = spans[i][0] / SAMPLE_RATE  # type: ignore[index]
                per_chunk[i] = [
                    seg
                    for raw in out["segments"][k]
                    if (seg := self._segment(raw, offset)) is not None
                ]
        return batch_transcripts(audios, per_chunk, language, time.perf_counter() - started)

    def _token_logprobs(self, raw: dict[str, Any]) -> list[float] | None:
        """Log-probability of each of the segment's tokens under the scores it was decoded
        with (None where generate returned no scores for it)."""
        torch = self._torch
        result = raw.get("result") or {}
        scores, sequence = result.get("scores"), result.get("sequences")
        if scores is None or sequence is None or "idxs" not in raw:
            return None
        first, last = raw["idxs"]
        lead = sequence.shape[-1] - len(scores)  # decoder prompt tokens have no score
        out = []
        for position in range(first, last):
            step = position - lead
            if not 0 <= step < len(scores):
                return None
            row = scores[step].reshape(-1, scores[step].shape[-1])[0].float()
            out.append(float(torch.log_softmax(row, dim=-1)[int(sequence[position])]))
        return out

    def _segment(self, raw: dict[str, Any], offset: float) -> Segment | None:
        tokens = [int(t) for t in raw["tokens"]]
        text_positions = [j for j, t in enumerate(tokens) if t < self._eot]
        if not text_positions:
            return None
        tokenizer = self.processor.tokenizer
        text_tokens = [tokens[j] for j in text_positions]
        text = tokenizer.decode(text_tokens).strip()
        if not text:
            return None
        logprobs = self._token_logprobs(raw)
        if logprobs is not None and len(logprobs) != len(tokens):
            logprobs = None
        text_logprobs = [logprobs[j] for j in text_positions] if logprobs else []
        words = self._words(raw, tokens, text_positions, logprobs, offset)
        start = float(raw["start"]) + offset
        end = float(raw["end"]) + offset
        return Segment(
            start=start,
            end=max(end, start),
            text=text,
            words=words,
            avg_logprob=float(np.mean(text_logprobs)) if text_logprobs else None,
            compression_ratio=compression_ratio(text),
            temperature=float(raw.get("temperature", 0.0) or 0.0) if "temperature" in raw else None,
            tokens=text_tokens,
        )

    def _words(
        self,
        raw: dict[str, Any],
        tokens: list[int],
        text_positions: list[int],
        logprobs: list[float] | None,
        offset: float,
    ) -> list[Word]:
        """Tokens grouped into words (a new word at each leading space), each from its first
        token's time to the next token's, with the mean probability of its tokens."""
        times = raw.get("token_timestamps")
        if times is None or len(times) != len(tokens):
            return []
        tokenizer = self.processor.tokenizer
        groups: list[list[int]] = []
        for j in text_positions:
            piece = tokenizer.decode([tokens[j]])
            if not groups or piece.startswith(" ") or groups[-1][-1] != j - 1:
                groups.append([j])
            else:
                groups[-1].append(j)
        words = []
        for group in groups:
            following = min(group[-1] + 1, len(tokens) - 1)
            start, end = float(times[group[0]]) + offset, float(times[following]) + offset
            probability = float(np.mean(np.exp([logprobs[j] for j in group]))) if logprobs else 1.0
            words.append(
                Word(
                    start=start,
                    end=max(end, start),
                    word=tokenizer.decode([tokens[j] for j in group]),
                    probability=probability,
                )
            )
        return words
