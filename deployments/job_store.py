"""The job store as a detached, named Ray actor: one per cluster, shared by every replica.

``connect_job_store`` creates it on first use (``get_if_exists=True``) and returns the
existing actor afterwards. ``max_restarts=-1`` restarts it if its process dies; it then
reloads every job from the SQLite file, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from serve_app.config import JobStoreConfig
from serve_app.paths import resolve_path


def connect_job_store(config: JobStoreConfig) -> Any:
    """The job-store actor handle (an ``ActorHandle`` of ``serve_app.jobs.store.JobStore``)."""
    import ray

    from serve_app.jobs.store import JobStore

    actor_cls = ray.remote(JobStore)
    return actor_cls.options(
        name=config.actor_name,
        namespace=config.namespace,
        lifetime="detached",
        get_if_exists=True,
        num_cpus=config.num_cpus,
        max_restarts=-1,
        max_task_retries=3,
        # Many WebSocket subscribers wait on it at once; writers must not queue behind them.
        max_concurrency=1000,
    ).remote(
        db_path=str(resolve_path(config.db_path)),
        job_ttl_s=config.job_ttl_s,
        stale_after_s=config.stale_after_s,
    )
