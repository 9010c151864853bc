"""Whisper's timestamp rules (``timestamp_rules``) as the batch-level logits processor vLLM
loads by name. Never imported by the app: it imports vLLM at module level."""

from __future__ import annotations

from vllm import SamplingParams
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

from serve_app.asr.backends.timestamp_rules import EXTRA_ARG, TimestampRules

QUALNAME = "serve_app.asr.backends.timestamp_rules_vllm:WhisperTimestampRules"
"""How the engine arguments name this processor."""


class WhisperTimestampRules(AdapterLogitsProcessor):
    """vLLM's batch-level wrapper: :class:`TimestampRules` for each request that asks."""

    def is_argmax_invariant(self) -> bool:
        return False

    def new_req_logits_processor(self, params: SamplingParams) -> TimestampRules | None:
        rules = (params.extra_args or {}).get(EXTRA_ARG)
        return TimestampRules(rules) if rules else None
