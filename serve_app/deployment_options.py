"""Ray Serve deployment options as validated pydantic models, shared by every config section.

Kept apart from ``serve_app.config`` so that ``serve_app.llm.settings`` can reuse them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, model_validator

from serve_app.autoscaling.options import QueuedAudioPolicyOptions


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class AutoscalingOptions(StrictModel):
    """Ray Serve ``autoscaling_config`` (the fields that matter when tuning)."""

    min_replicas: int = Field(1, ge=0)
    """Replicas kept when idle (0 allows scale to zero)."""
    initial_replicas: int | None = Field(None, ge=0)
    """Replicas started at deploy time; defaults to ``min_replicas``."""
    max_replicas: PositiveInt = 1
    """Upper bound of the autoscaler."""
    target_ongoing_requests: PositiveFloat = 1.0
    """Ongoing requests per replica the autoscaler aims for."""
    upscale_delay_s: float = Field(5.0, ge=0)
    """How long the demand must stay high before adding replicas."""
    downscale_delay_s: float = Field(60.0, ge=0)
    """How long the demand must stay low before removing replicas."""
    metrics_interval_s: PositiveFloat | None = None
    """How often replicas report their load (Ray's default when unset)."""
    look_back_period_s: PositiveFloat | None = None
    """Window over which the load is averaged (Ray's default when unset)."""
    downscale_to_zero_delay_s: float | None = Field(None, ge=0)
    """How long a deployment at one replica stays idle before going to zero (with
    ``min_replicas: 0``; ``downscale_delay_s`` when unset)."""
    policy: QueuedAudioPolicyOptions | None = None
    """A custom policy instead of ``target_ongoing_requests`` (``{name: queued_audio,
    target_audio_s_per_replica: 120}``: ASR sized on queued audio-seconds,
    docs/autoscaling.md)."""

    def to_serve_config(self) -> dict[str, Any]:
        """Ray Serve's ``autoscaling_config`` dict."""
        config = self.model_dump(exclude_none=True, exclude={"policy"})
        if self.policy is not None:
            config["policy"] = self.policy.to_serve_policy()
        return config

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingOptions:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must be <= max_replicas")
        if self.initial_replicas is not None and not (
            self.min_replicas <= self.initial_replicas <= self.max_replicas
        ):
            raise ValueError("initial_replicas must lie within [min_replicas, max_replicas]")
        return self


class RayActorOptions(StrictModel):
    """Resources of each replica (``ray_actor_options``)."""

    num_cpus: float = Field(1.0, ge=0)
    """Logical CPUs reserved per replica (scheduling only; engine threads are set apart)."""
    num_gpus: float = Field(0.0, ge=0)
    """Fractions share one GPU between deployments (e.g. 0.25). Ray only counts them: they
    do not cap memory, so the models placed on one card must fit it (docs/configuration.md,
    "GPU memory on one card")."""
    memory: int | None = Field(None, ge=0)
    """Bytes of memory to reserve for scheduling."""
    resources: dict[str, float] = Field(default_factory=dict)
    """Custom resources, e.g. ``{"whisper_node": 1}`` to pin a node type."""
    accelerator_type: str | None = None
    """Only nodes with this GPU model (``L4``, ``A10G``, ``A100``, ``H100``, ...; Ray
    detects it on each GPU node, names in ``ray.util.accelerators``)."""


NOT_SERVE_OPTIONS = {"nice", "starting_wait_s", "expected_start_s"}
"""Fields of ``DeploymentOptions`` that our code reads and Serve never sees."""


class DeploymentOptions(StrictModel):
    """Options passed to ``serve.deployment(...)`` for one deployment."""

    num_replicas: PositiveInt | None = None
    """Fixed replica count; leave unset when ``autoscaling_config`` is given."""
    autoscaling_config: AutoscalingOptions | None = None
    max_ongoing_requests: PositiveInt = 8
    """Requests one replica handles at once before the router queues."""
    max_queued_requests: int = Field(-1, ge=-1)
    """Requests queued in callers before rejecting with 503 (-1: unbounded)."""
    ray_actor_options: RayActorOptions = Field(default_factory=RayActorOptions)
    nice: int = Field(0, ge=0, le=19)
    """CPU priority the replica gives its own process (Linux nice; 0: unchanged), applied by
    every deployment with this block (the LLM engine is not one). Compute replicas below the
    proxy and the ingress keep the API responsive while they work, and lose nothing when it
    is idle (``serve_app/priority.py``). Not a Serve option."""
    starting_wait_s: PositiveFloat = 10.0
    """With ``min_replicas: 0``: how long a synchronous HTTP request waits for this
    deployment to start before the answer is 503 ``starting`` with ``Retry-After:
    expected_start_s`` (``serve_app/autoscaling/cold_start.py``). Not a Serve option."""
    expected_start_s: PositiveInt = 30
    """How long a cold start of this deployment takes (the ``Retry-After`` above)."""
    graceful_shutdown_timeout_s: PositiveFloat = 20.0
    graceful_shutdown_wait_loop_s: PositiveFloat = 2.0
    health_check_period_s: PositiveFloat = 10.0
    health_check_timeout_s: PositiveFloat = 30.0

    @model_validator(mode="after")
    def _replicas_xor_autoscaling(self) -> DeploymentOptions:
        if self.num_replicas is not None and self.autoscaling_config is not None:
            raise ValueError("set either num_replicas or autoscaling_config, not both")
        return self

    @property
    def scales_to_zero(self) -> bool:
        return self.autoscaling_config is not None and self.autoscaling_config.min_replicas == 0

    def to_serve_options(self) -> dict[str, Any]:
        """Keyword arguments for ``serve.deployment(cls, **options)``."""
        options = self.model_dump(exclude_none=True, exclude=NOT_SERVE_OPTIONS)
        if self.autoscaling_config is not None:
            options["autoscaling_config"] = self.autoscaling_config.to_serve_config()
        options["ray_actor_options"] = self.ray_actor_options.model_dump(exclude_none=True)
        if not options["ray_actor_options"]["resources"]:
            del options["ray_actor_options"]["resources"]
        if self.num_replicas is None and self.autoscaling_config is None:
            options["num_replicas"] = 1
        return options
