"""A redeploy replaces the job-store actor: replicas that keep the old handle carry on.

Real Ray (local, loopback), no Serve: a replica's cached store client, the actor killed
for good (as ``connect_job_store`` does to a store of another version) and a new one
started under the same name by another replica.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from serve_app.config import JobStoreConfig
from serve_app.jobs.model import Job, JobOptions

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    import ray

    ray.init(address="local", include_dashboard=False, num_cpus=2)
    yield ray
    ray.shutdown()


def test_a_cached_store_handle_follows_the_replacement_actor(ray_cluster, tmp_path):
    from deployments.job_store import connect_job_store

    ray = ray_cluster
    config = JobStoreConfig(
        database_url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}", actor_name="job_store_redeploy"
    )
    cached = connect_job_store(config)  # what a replica of the old app keeps
    job = Job(job_id="j1", options=JobOptions(model_name="tiny.en"))
    asyncio.run(_call(cached, "create_job", job))

    ray.kill(getattr(cached, "handle", cached), no_restart=True)  # replaced by a redeploy
    replacement = connect_job_store(config)  # the new app's replica starts its own

    stored = asyncio.run(_call(cached, "get_job", "j1"))
    assert stored is not None and stored.job_id == "j1"  # reloaded from the database
    assert asyncio.run(_call(replacement, "ping"))
    ray.kill(getattr(replacement, "handle", replacement), no_restart=True)


async def _call(store: Any, method: str, *args: Any) -> Any:
    return await getattr(store, method).remote(*args)
