"""Whisper's timestamp rules as a vLLM logits processor: the constraints openai-whisper's
``ApplyTimestampRules`` (and CTranslate2 for faster-whisper) put on every decoding step, which
vLLM's Whisper does not apply. Without them tiny.en on real speech wrote 22 s of text as one
segment and chose ``<|notimestamps|>`` after a bare ``<|startoftranscript|>``.

Per step, for a request whose ``SamplingParams.extra_args`` carry ``whisper_timestamps``: the
generation config's suppressed tokens and ``<|notimestamps|>`` never; blank and end-of-text not
first; timestamps come in pairs around text (after a pair, text; after a single one, another
timestamp or the end) and never go back; and a timestamp whenever the timestamps together are
likelier than the likeliest text token. The decoder prompt ends with ``<|0.00|>`` (the
window's first timestamp), so the rules start from it.

vLLM loads it through ``timestamp_rules_vllm`` (named in ``LLM(logits_processors=[...])``).
"""

from __future__ import annotations

from typing import Any

import torch

EXTRA_ARG = "whisper_timestamps"
"""``extra_args`` key: a dict with ``timestamp_begin``, ``eot``, ``suppress`` (token ids never
sampled) and ``begin_suppress`` (token ids never sampled first)."""


class TimestampRules:
    """One request's rules; called with the tokens it has sampled so far and its logits row."""

    def __init__(self, rules: dict[str, Any]) -> None:
        self.timestamp_begin = int(rules["timestamp_begin"])
        self.eot = int(rules["eot"])
        self.suppress = torch.tensor(sorted(rules["suppress"]), dtype=torch.long)
        self.begin_suppress = torch.tensor(sorted(rules["begin_suppress"]), dtype=torch.long)

    def __call__(self, output_ids: list[int], logits: torch.Tensor) -> torch.Tensor:
        ts, eot = self.timestamp_begin, self.eot
        vocab = logits.shape[-1]
        if self.suppress.numel():
            logits[self.suppress[self.suppress < vocab]] = -torch.inf
        if not output_ids and self.begin_suppress.numel():
            logits[self.begin_suppress[self.begin_suppress < vocab]] = -torch.inf
        # The prompt's <|0.00|> opens the sequence the rules look at.
        seq = [ts, *output_ids]
        last_was_timestamp = seq[-1] >= ts
        penultimate_was_timestamp = len(seq) < 2 or seq[-2] >= ts
        if last_was_timestamp:
            if penultimate_was_timestamp:
                logits[ts:] = -torch.inf  # a pair was just closed: text next
            else:
                logits[:eot] = -torch.inf  # a segment just ended: a timestamp or the end
        timestamps = [t for t in seq if t >= ts]
        last = timestamps[-1] if last_was_timestamp and not penultimate_was_timestamp else None
        # Timestamps never decrease (and the one opening a segment is past the last end).
        logits[ts : (timestamps[-1] + 1 if last is None else last)] = -torch.inf
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        if torch.logsumexp(logprobs[ts:], dim=-1) > logprobs[:ts].max():
            logits[:ts] = -torch.inf
        return logits
