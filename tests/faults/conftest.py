"""The fault drills' app: the real graph on a local Ray, with short leases and chunks so a
job is long enough to break in the middle. Started once per drill module."""

from __future__ import annotations

from typing import Any

from eval.speech import SENTENCES, encode, speech

FAST = {"graceful_shutdown_timeout_s": 2.0, "graceful_shutdown_wait_loop_s": 0.5}
SENTENCES_USED = SENTENCES * 2
# ~55 s of speech in 10 s chunks, through the (slower) base model: a job takes long enough
# that a process can be killed while chunks are in flight.
AUDIO = encode(speech(SENTENCES_USED, pause_s=1.0), "mp3")
REFERENCE = " ".join(SENTENCES_USED)
FIELDS = {"model_name": "base", "language": "en", "diarize": "false"}


def drill_config(tmp: Any, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "config": "configs/local-cpu.yaml",
        "ingress": {"deployment": FAST},
        "chunker": {
            "chunk_length_s": 10,
            "max_inflight_chunks": 2,
            "retry_backoff_s": 0.2,
            "deployment": FAST,
        },
        "asr": {"batch_size": 1, "deployment": {"max_ongoing_requests": 1, **FAST}},
        "diarizer": {"deployment": FAST},
        "retranscriber": {"deployment": FAST},
        "job_store": {
            "database_url": f"sqlite:///{tmp / 'jobs.sqlite3'}",
            "actor_name": "job_store_faults",
            "lease_s": 4.0,
            "sweep_interval_s": 1.0,
        },
        "audio_store": {"url": str(tmp / "audio")},
        "llm": {"enabled": False},
    }
    for section, values in overrides.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def on_shared_services(config: dict[str, Any], postgres_server_url: str, s3: Any) -> dict[str, Any]:
    """The same drill config on a fresh PostgreSQL database and an S3 prefix of its own."""
    import uuid

    from tests.services import create_database

    location = s3.with_prefix(f"drills-{uuid.uuid4().hex[:8]}")
    config["job_store"]["database_url"] = create_database(postgres_server_url)
    config["audio_store"] = {"url": location.url, "storage_options": location.storage_options}
    return config
