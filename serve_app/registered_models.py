"""A Whisper model registered by configuration (``models.registered`` in the YAML); a config
model, kept outside ``serve_app.asr`` so that importing the config pulls no ASR code."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from serve_app.deployment_options import DeploymentOptions

if TYPE_CHECKING:  # serve_app.config imports this module
    from serve_app.config import ASRConfig, ModelsConfig

SHARED_ASR_DEPLOYMENT = "WhisperASR"
"""The deployment that serves every model without a scaling block of its own."""

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

    With a ``deployment:`` block (the options ``asr.deployment`` takes: replicas or autoscaling,
    the ``queued_audio`` policy, resources) the model gets a Serve deployment of its own,
    ``WhisperASR-<name>``, that serves only it; without one it is served by the shared
    ``WhisperASR`` replicas and scales with ``asr.deployment``.
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
    deployment: DeploymentOptions | None = None
    """This model's own scaling block (its own deployment); None: the shared ``WhisperASR``."""

    @model_validator(mode="after")
    def _has_a_source(self) -> RegisteredModel:
        if not self.path and not self.hub_id:
            raise ValueError(f"registered model '{self.name}' needs a path or a hub_id")
        return self

    @property
    def deployment_name(self) -> str:
        """The Serve deployment that serves this model."""
        if self.deployment is None:
            return SHARED_ASR_DEPLOYMENT
        return f"{SHARED_ASR_DEPLOYMENT}-{re.sub(r'[^A-Za-z0-9._-]+', '-', self.name)}"


def dedicated_models(models: ModelsConfig) -> list[RegisteredModel]:
    """The registered models that have a deployment of their own."""
    return [model for model in models.registered if model.deployment is not None]


def shared_models(models: ModelsConfig) -> ModelsConfig:
    """``models`` as the shared ``WhisperASR`` replicas see them: without the models that have
    their own deployment, so a request for one can never load it there."""
    shared = [model for model in models.registered if model.deployment is None]
    return models.model_copy(update={"registered": shared})


def dedicated_config(
    asr: ASRConfig, models: ModelsConfig, model: RegisteredModel
) -> tuple[ASRConfig, ModelsConfig]:
    """What a model's own ``WhisperASR-<name>`` replicas are built with: ``asr`` with this
    model as the one they warm and serve and its ``deployment`` block, validated again (so
    ``asr.batch_size`` must fit its ``max_ongoing_requests``), and only this registered model."""
    if model.deployment is None:
        raise ValueError(f"registered model '{model.name}' has no deployment block")
    values = asr.model_dump() | {
        "default_model": model.name,
        "deployment": model.deployment.model_dump(),
    }
    own = models.model_copy(update={"registered": [model]})
    return type(asr).model_validate(values), own


def check_asr_deployments(asr: ASRConfig, models: ModelsConfig) -> None:
    """Load-time checks of the registered models and their deployments (a ``ValueError``,
    which pydantic reports with its place in the config)."""
    seen: set[str] = set()
    for model in models.registered:
        if model.name in seen:
            raise ValueError(f"models.registered: '{model.name}' is registered twice")
        seen.add(model.name)
    names: dict[str, str] = {}
    for model in dedicated_models(models):
        if model.name == asr.default_model:
            raise ValueError(
                f"models.registered: '{model.name}' is asr.default_model, which the shared "
                f"{SHARED_ASR_DEPLOYMENT} deployment serves: scale it with asr.deployment "
                "and drop its deployment block"
            )
        other = names.setdefault(model.deployment_name, model.name)
        if other != model.name:
            raise ValueError(
                f"models.registered: '{other}' and '{model.name}' would both be served by "
                f"the deployment '{model.deployment_name}': rename one"
            )
        try:
            dedicated_config(asr, models, model)
        except ValidationError as exc:
            why = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
            raise ValueError(f"models.registered '{model.name}' deployment: {why}") from exc
