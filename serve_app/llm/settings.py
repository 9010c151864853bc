"""Settings of the local LLM (summary and chat over transcripts).

Plain pydantic: this module imports neither vllm nor ray.serve.llm, so configs validate in
processes (ingress, tests, CLI) that do not have the LLM stack. ``to_llm_config`` in
``deployments/llm_server.py`` turns them into a ``ray.serve.llm.LLMConfig``.

Two profiles, chosen by ``device``:

* ``cpu`` (embedded default, also the tests): the model placed at install time by
  ``scripts/place_llm.py`` under ``models/llm/<name>/``, float32, eager mode, a small
  KV cache, both cores for the engine's OpenMP threads, every vLLM listener on loopback,
  Hugging Face hub access switched off.
* ``gpu`` (production): a hub id (or a local/cloud path), ``dtype="auto"``,
  CUDA graphs, ``gpu_memory_utilization`` and ``tensor_parallel_size``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from serve_app.deployment_options import AutoscalingOptions, StrictModel
from serve_app.paths import PROJECT_ROOT

LLM_MODELS_DIR = "models/llm"


class LLMModelNotAvailable(RuntimeError):
    """The configured model has no local copy and no hub id may be used."""


class LLMModel(StrictModel):
    """One servable model."""

    name: str
    """The id clients (and our summary/chat code) use; vLLM's ``served_model_name``."""
    aliases: list[str] = Field(default_factory=list)
    """Other names accepted by :meth:`LLMSettings.resolve_name` (e.g. the hub id, or
    ``gpt-3.5-turbo`` to let OpenAI clients that hard-code it reach this model)."""
    description: str = ""
    """Shown by ``GET /api/chat/models``."""
    local_path: str | None = None
    """Hugging Face directory (config.json, safetensors, tokenizer); relative paths are
    under the project root. ``scripts/place_llm.py`` writes ``models/llm/<name>``."""
    hub_id: str | None = None
    """Hugging Face id or ``s3://``/``gs://`` URI used where a hub is reachable."""
    source: Literal["auto", "local", "hub"] = "auto"
    """``auto``: the local copy when it exists, else ``hub_id``; ``local`` never falls back
    (a missing copy is an error at build time, never a download attempt or a hang)."""
    max_model_len: PositiveInt = 4096
    """Context window (prompt + completion tokens) given to vLLM."""
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra vLLM engine arguments for this model only (win over the computed ones)."""

    def resolved_local_path(self) -> Path | None:
        if self.local_path is None:
            return None
        p = Path(self.local_path).expanduser()
        return p if p.is_absolute() else PROJECT_ROOT / p

    def has_local_copy(self) -> bool:
        path = self.resolved_local_path()
        return path is not None and (path / "config.json").is_file()

    def model_source(self) -> str:
        """Path or hub id handed to vLLM; raises :class:`LLMModelNotAvailable`."""
        local = self.resolved_local_path()
        if self.source in ("auto", "local") and self.has_local_copy():
            assert local is not None
            return str(local)
        if self.source in ("auto", "hub") and self.hub_id:
            return self.hub_id
        hint = (
            f"run `python scripts/place_llm.py {self.name}` (or `make models`)"
            if self.local_path
            else "set local_path or hub_id"
        )
        raise LLMModelNotAvailable(
            f"LLM {self.name!r}: no local copy at {local} and "
            f"{'hub use disabled (source=local)' if self.source == 'local' else 'no hub_id'}; "
            f"{hint}"
        )

    def is_local(self) -> bool:
        """Whether the resolved source is a local directory (False if unavailable)."""
        try:
            return Path(self.model_source()).is_absolute()
        except LLMModelNotAvailable:
            return False


def _embedded(name: str, hub_id: str, max_model_len: int, description: str) -> LLMModel:
    return LLMModel(
        name=name,
        aliases=[hub_id],
        description=description,
        local_path=f"{LLM_MODELS_DIR}/{name}",
        hub_id=hub_id,
        max_model_len=max_model_len,
    )


def default_models() -> list[LLMModel]:
    """The models ``scripts/place_llm.py`` can place from registry packages."""
    return [
        _embedded(
            "qwen2.5-coder-1.5b-instruct",
            "Qwen/Qwen2.5-Coder-1.5B-Instruct",
            8192,
            "Qwen2.5-Coder 1.5B Instruct, embedded (CPU): the default for summaries and chat",
        ),
        _embedded(
            "qwen2.5-coder-0.5b-instruct",
            "Qwen/Qwen2.5-Coder-0.5B-Instruct",
            8192,
            "Qwen2.5-Coder 0.5B Instruct, embedded (CPU): usable summaries, ~10 tok/s on 2 cores",
        ),
        _embedded(
            "smollm2-135m-instruct",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            4096,
            "SmolLM2 135M Instruct, embedded (CPU): fast test model, too small to summarise well",
        ),
    ]


class LLMAutoscaling(AutoscalingOptions):
    """Ray Serve ``autoscaling_config`` of the LLMServer deployment (LLM-sized defaults)."""

    target_ongoing_requests: PositiveFloat = 16.0
    """vLLM batches requests: one replica serves many at once (Ray's LLM default is 16)."""
    upscale_delay_s: float = Field(30.0, ge=0)
    downscale_delay_s: float = Field(600.0, ge=0)
    """Model start-up is slow (30-60 s on CPU, minutes for big GPU models)."""


class CPUEngineSettings(StrictModel):
    """Knobs of vLLM's CPU backend (environment variables of the replica process)."""

    kvcache_space_gib: PositiveInt = 1
    """``VLLM_CPU_KVCACHE_SPACE``: KV cache size; 1 GiB holds ~80k tokens of a 0.5B model."""
    omp_threads_bind: str = "auto"
    """``VLLM_CPU_OMP_THREADS_BIND``: ``auto``, ``nobind`` or a core list like ``0-1``."""
    num_reserved_cpus: int = Field(0, ge=0)
    """``VLLM_CPU_NUM_OF_RESERVED_CPU``; vLLM's default reserves one core (1.75x slower on 2)."""
    # Note: VLLM_ENABLE_V1_MULTIPROCESSING has no effect under ray.serve.llm (its AsyncLLM
    # always runs the EngineCore in a child process, and Ray forces the "mp" executor on
    # CPU, which adds a worker process), so it is deliberately not a setting here.


class LLMSettings(StrictModel):
    """The ``llm`` section of the app config."""

    enabled: bool = True
    """False: no LLM replica; the summary/chat routes answer 503."""
    default_model: str = "qwen2.5-coder-1.5b-instruct"
    """Served, and used when a request names no model."""
    extra_served_models: list[str] = Field(default_factory=list)
    """Further configured models to serve, each on its own replica(s). Only served models
    are listed by ``/api/chat/models`` and accepted in requests."""
    models: list[LLMModel] = Field(default_factory=default_models)
    """Every model this config knows (names, aliases, where the weights are)."""
    device: Literal["cpu", "gpu"] = "cpu"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """``auto``: on CPU, bfloat16 where the CPU has AMX-BF16 and the kernel grants its tile
    state (``serve_app.llm.cpu_features``), else float32; the checkpoint's dtype on GPU.
    Decided on the machine that builds the app: a cluster whose LLM nodes differ from it
    sets the dtype explicitly."""
    enforce_eager: bool | None = None
    """None: True on CPU (torch.compile adds ~40 s to start-up), False on GPU."""
    max_num_seqs: PositiveInt | None = None
    """Concurrent sequences per replica (vLLM default when unset; CPU default 8)."""
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    tensor_parallel_size: PositiveInt = 1
    accelerator_type: str | None = None
    """GPU only, e.g. ``"L4"`` or ``"A10G"`` (a Ray accelerator type)."""
    cpu: CPUEngineSettings = Field(default_factory=CPUEngineSettings)
    host_ip: str | None = None
    """``VLLM_HOST_IP``/``VLLM_LOOPBACK_IP``. None: ``127.0.0.1`` on CPU (keeps vLLM's
    sockets on loopback), unset on GPU (multi-node tensor parallelism needs a real address)."""
    hf_offline: bool | None = None
    """``HF_HUB_OFFLINE=1``; None: on when the model comes from a local path."""
    engine_env: dict[str, str] = Field(default_factory=dict)
    """More environment variables for the replica (win over the computed ones)."""
    engine_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More vLLM engine arguments for every model (a model's own engine_kwargs win)."""
    num_gpus: PositiveFloat = 1.0
    """GPU only: GPUs in each engine device's placement bundle (one bundle per tensor-parallel
    rank). A fraction shares a card with other deployments; pair it with
    ``gpu_memory_utilization`` (vLLM's share of the *whole* card)."""
    num_cpus: PositiveFloat = 1.0
    """Logical CPUs reserved for one replica on CPU (engine threads still use the cores
    given by ``cpu.omp_threads_bind``)."""
    num_replicas: PositiveInt | None = 1
    autoscaling: LLMAutoscaling | None = None
    max_ongoing_requests: PositiveInt | None = None
    """Per-replica cap; Ray's LLM default (1000 or so) when unset."""
    stream_batching_interval_ms: float | None = Field(None, ge=0)
    """Ray's batching of streamed chunks; 0 sends every token as it comes."""
    log_engine_metrics: bool = True
    """vLLM engine metrics through Ray's Prometheus exporter."""
    server_cls: str | None = "deployments.llm_server:TranscriptLLMServer"
    """``module:Class`` of the ``LLMServer`` subclass to deploy; the default adds the
    plain-dict methods the summary/chat deployment calls (it never imports vllm)."""

    @model_validator(mode="after")
    def _check(self) -> LLMSettings:
        names: set[str] = set()
        for model in self.models:
            for n in (model.name, *model.aliases):
                if n in names:
                    raise ValueError(f"LLM name or alias {n!r} is used twice")
                names.add(n)
        if self.default_model not in names:
            raise ValueError(f"default_model {self.default_model!r} is not a configured model")
        if self.num_replicas is not None and self.autoscaling is not None:
            self.num_replicas = None  # autoscaling wins
        if self.device == "cpu" and self.tensor_parallel_size != 1:
            raise ValueError("tensor_parallel_size > 1 needs device=gpu")
        for extra in self.extra_served_models:
            if extra not in names:
                raise ValueError(f"extra_served_models: {extra!r} is not a configured model")
        return self

    def served_models(self) -> list[LLMModel]:
        """The models that get replicas: the default first, then ``extra_served_models``."""
        out: list[LLMModel] = []
        for name in [self.default_model, *self.extra_served_models]:
            model = self.get_model(name)
            if model not in out:
                out.append(model)
        return out

    # --- lookup -----------------------------------------------------------------
    def resolve_name(self, name: str | None = None) -> str:
        """The served model id for a name or alias (None: the default model)."""
        return self.get_model(name).name

    def get_model(self, name: str | None = None) -> LLMModel:
        wanted = name or self.default_model
        for model in self.models:
            if wanted == model.name or wanted in model.aliases:
                return model
        raise KeyError(f"unknown LLM {wanted!r}; known: {[m.name for m in self.models]}")

    # --- engine -----------------------------------------------------------------
    def resolved_dtype(self) -> str:
        if self.dtype != "auto":
            return self.dtype
        if self.device == "gpu":
            return "auto"
        from serve_app.llm.cpu_features import native_bfloat16

        return "bfloat16" if native_bfloat16() else "float32"

    def resolved_enforce_eager(self) -> bool:
        return self.device == "cpu" if self.enforce_eager is None else self.enforce_eager

    def engine_env_vars(self, model: LLMModel | None = None) -> dict[str, str]:
        """Environment of the LLMServer replica (and of vLLM processes it starts)."""
        env: dict[str, str] = {}
        host_ip = self.host_ip or ("127.0.0.1" if self.device == "cpu" else None)
        if host_ip:
            env["VLLM_HOST_IP"] = host_ip
            env["VLLM_LOOPBACK_IP"] = host_ip
        if self.device == "cpu":
            env.update(
                {
                    "VLLM_CPU_KVCACHE_SPACE": str(self.cpu.kvcache_space_gib),
                    "VLLM_CPU_OMP_THREADS_BIND": self.cpu.omp_threads_bind,
                    "VLLM_CPU_NUM_OF_RESERVED_CPU": str(self.cpu.num_reserved_cpus),
                }
            )
        offline = self.hf_offline
        if offline is None:
            offline = model is not None and model.is_local()
        if offline:
            env["HF_HUB_OFFLINE"] = "1"
            env["TRANSFORMERS_OFFLINE"] = "1"
        env.update(self.engine_env)
        return env

    def engine_kwargs_for(self, model: LLMModel) -> dict[str, Any]:
        """vLLM engine arguments (``AsyncEngineArgs`` / frontend fields) for one model."""
        kwargs: dict[str, Any] = {
            "dtype": self.resolved_dtype(),
            "max_model_len": model.max_model_len,
            "enforce_eager": self.resolved_enforce_eager(),
            "tensor_parallel_size": self.tensor_parallel_size,
            # The notes and summary prompts of one transcript share its text as prefix.
            "enable_prefix_caching": True,
            # Structured outputs (the notes' JSON) with xgrammar and no free whitespace: a
            # small model otherwise fills its JSON with newlines until max_tokens.
            "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
        }
        if self.device == "gpu":
            kwargs["gpu_memory_utilization"] = self.gpu_memory_utilization
        if self.max_num_seqs is not None:
            kwargs["max_num_seqs"] = self.max_num_seqs
        elif self.device == "cpu":
            kwargs["max_num_seqs"] = 8
        kwargs.update(self.engine_kwargs)
        kwargs.update(model.engine_kwargs)
        return kwargs

    def deployment_config(self) -> dict[str, Any]:
        """``LLMConfig.deployment_config`` (Ray Serve deployment options)."""
        cfg: dict[str, Any] = {}
        if self.autoscaling is not None:
            cfg["autoscaling_config"] = self.autoscaling.model_dump(exclude_none=True)
        else:
            cfg["num_replicas"] = self.num_replicas or 1
        if self.max_ongoing_requests is not None:
            cfg["max_ongoing_requests"] = self.max_ongoing_requests
        if self.device == "cpu":
            # The replica's share goes into the placement group below; the replica actor
            # itself then asks for nothing more.
            cfg["ray_actor_options"] = {"num_cpus": 0}
        return cfg
