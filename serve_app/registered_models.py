"""A Whisper model registered by configuration (``models.registered`` in the YAML); a config
model, kept outside ``serve_app.asr`` so that importing the config pulls no ASR code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Backend = Literal["faster-whisper", "transformers", "vllm"]
BACKENDS: tuple[Backend, ...] = ("faster-whisper", "transformers", "vllm")


class RegisteredModel(BaseModel):
    """One checkpoint the API serves under ``name``; configuration is all it takes::

        models:
          registered:
            - name: tiny.en-hf
              backend: transformers
              path: whisper-tiny.en-hf      # under models_dir, or absolute
              multilingual: false

    ``faster-whisper`` wants a CTranslate2 directory (``transcribe convert`` makes one from a
    Hugging Face checkpoint); ``transformers`` a ``WhisperForConditionalGeneration`` directory or
    hub id (fine-tuned Whisper, distil-whisper); ``vllm`` the same, served by vLLM (GPU configs).
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    """What requests ask for (``model=``)."""
    backend: Backend = "faster-whisper"
    path: str | None = None
    """Local directory: relative to ``models.models_dir``, or absolute."""
    hub_id: str | None = None
    """Hugging Face repository id, used where ``path`` is unset or absent: loaded from the local
    hub cache, or downloaded when ``HF_HUB_OFFLINE`` is not set (production clusters)."""
    multilingual: bool = True
    description: str = ""
    engine_args: dict[str, Any] = Field(default_factory=dict)
    """Passed to the engine as they are: ``vllm.LLM(**engine_args)`` (e.g.
    ``gpu_memory_utilization``, ``max_num_seqs``), ignored by the other backends."""

    @model_validator(mode="after")
    def _has_a_source(self) -> RegisteredModel:
        if not self.path and not self.hub_id:
            raise ValueError(f"registered model '{self.name}' needs a path or a hub_id")
        return self
