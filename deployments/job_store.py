"""The job store as a detached, named Ray actor: one per cluster, shared by every replica.

``connect_job_store`` creates it on first use (``get_if_exists=True``) and returns the
existing actor afterwards. ``max_restarts=-1`` restarts it if its process dies; it then
reloads every job from the database, so nothing is lost, and ``max_task_retries`` re-runs
the calls that were in flight (every store write is idempotent).

A detached actor outlives the deployments that use it. So that a redeploy with another
``job_store`` config, job schema or store code takes effect, the actor is started with a
fingerprint of all three; a replica that finds a store with another fingerprint stops it
(``ray.kill``, no restart) and starts its own, which reloads the database. Jobs a replica of
the old app was running are resumed by the new one (their leases lapse).
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

from serve_app.config import JobStoreConfig
from serve_app.jobs.model import Job
from serve_app.jobs.store import JobStore
from serve_app.paths import resolve_path

logger = logging.getLogger("ray.serve")


def database_url(config: JobStoreConfig) -> str:
    """The configured URL with a relative SQLite path made absolute (project root)."""
    url = config.database_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
        return prefix + str(resolve_path(url[len(prefix) :]))
    return url


def fingerprint(config: JobStoreConfig) -> str:
    """Hash of the store's config, the ``Job`` schema and the job package's code."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(str(Job.model_json_schema()).encode())
    package = Path(__file__).resolve().parents[1] / "serve_app" / "jobs"
    for source in sorted(package.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def connect_job_store(config: JobStoreConfig) -> Any:
    """The job-store actor handle (an ``ActorHandle`` of ``serve_app.jobs.store.JobStore``)."""
    import ray

    wanted = fingerprint(config)
    for _ in range(60):
        handle = _get_or_create(config, wanted)
        try:
            found = ray.get(handle.fingerprint.remote(), timeout=60)
        except ray.exceptions.RayActorError:
            time.sleep(0.5)  # a replaced store whose name is not released yet
            continue
        if found == wanted:
            return handle
        logger.warning("job store %s is from another version (%s): replacing it", found, wanted)
        ray.kill(handle, no_restart=True)
        time.sleep(0.5)
    raise RuntimeError(f"could not start job store {config.actor_name!r} version {wanted}")


class MeteredJobStore(JobStore):
    """The store with its ``_published`` hook counting into Ray's metrics."""

    def __init__(self, **kwargs: Any) -> None:
        from deployments.metrics import PublishedCounter

        super().__init__(**kwargs)
        self._segments_published = PublishedCounter()

    def _published(self, count: int) -> None:
        self._segments_published(count)


def _get_or_create(config: JobStoreConfig, wanted: str) -> Any:
    import ray

    return (
        ray.remote(MeteredJobStore)
        .options(
            name=config.actor_name,
            namespace=config.namespace,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=config.num_cpus,
            max_restarts=-1,
            max_task_retries=3,
            # Many WebSocket subscribers wait on it at once; writers must not queue behind them.
            max_concurrency=1000,
        )
        .remote(
            database_url=database_url(config),
            job_ttl_s=config.job_ttl_s,
            lease_s=config.lease_s,
            max_attempts=config.max_attempts,
            sweep_interval_s=config.sweep_interval_s,
            fingerprint=wanted,
        )
    )
