"""The job store as a detached, named Ray actor: one per cluster, shared by every replica.

``connect_job_store`` creates it on first use (``get_if_exists=True``) and returns the
existing actor afterwards. ``max_restarts=-1`` restarts it if its process dies; it then
reloads every job from the database, so nothing is lost, and ``max_task_retries`` re-runs
the calls that were in flight (every store write is idempotent).

A detached actor outlives the deployments that use it. So that a redeploy with another
``job_store`` config, job schema or store code takes effect, the actor is started with a
fingerprint of all three (the code: every module of this project the actor imports, found
from their import statements); a replica that finds a store with another fingerprint stops
it (``ray.kill``, no restart) and starts its own, which reloads the database. Jobs a
replica of the old app was running are resumed by the new one (their leases lapse).

Replicas keep the handle ``connect_job_store`` gave them, wrapped in
:class:`JobStoreClient`: when the actor behind it was replaced, a call fails with
``ActorDiedError``, and the client looks the actor up again by name and makes the call once
more (every store call is idempotent). It never replaces the actor itself, so an old
replica still running during a rolling redeploy cannot stop the new store.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import time
from collections.abc import Awaitable
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


ROOT = Path(__file__).resolve().parents[1]
STORE_MODULES = ("serve_app.jobs.store", "deployments.job_store")
"""Where the actor's code starts: the store, and this module (``MeteredJobStore``)."""
_PROJECT_PACKAGES = ("serve_app", "deployments")


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imported(path: Path, name: str) -> set[str]:
    """Modules of this project that the module ``name`` at ``path`` imports (at any level
    of the file, type-checking imports too), and the packages that hold them."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(p for p in [*parts, base] if p)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    mine = {m for m in found if m.split(".")[0] in _PROJECT_PACKAGES}
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    return mine | {m.rsplit(".", k)[0] for m in mine for k in range(1, m.count(".") + 1)}


def store_sources() -> list[Path]:
    """Every source file of this project the store actor imports, directly or not."""
    seen: dict[str, Path] = {}
    todo = list(STORE_MODULES)
    while todo:
        name = todo.pop()
        if name in seen or (path := _module_file(name)) is None:
            continue  # a name imported from a module, not a module itself
        seen[name] = path
        todo.extend(_imported(path, name))
    # Alembic loads the migration scripts by path, not by import.
    loaded = (ROOT / "serve_app" / "jobs").rglob("*.py")
    return sorted(set(seen.values()) | {p for p in loaded if "__pycache__" not in p.parts})


def fingerprint(config: JobStoreConfig) -> str:
    """Hash of the store's config, the ``Job`` schema and the code of every project module
    the actor imports (``store_sources``)."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(str(Job.model_json_schema()).encode())
    for source in store_sources():
        digest.update(str(source.relative_to(ROOT)).encode())
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
            return JobStoreClient(handle, config, wanted)
        logger.warning("job store %s is from another version (%s): replacing it", found, wanted)
        ray.kill(handle, no_restart=True)
        time.sleep(0.5)
    raise RuntimeError(f"could not start job store {config.actor_name!r} version {wanted}")


class JobStoreClient:
    """A store handle that survives the actor's replacement: ``client.method.remote(...)``
    is awaited like the handle's call, and a call that finds the actor dead (replaced by a
    redeploy) is made once more on the actor now registered under the name."""

    def __init__(self, handle: Any, config: JobStoreConfig, wanted: str) -> None:
        self._handle, self._config, self._wanted = handle, config, wanted

    @property
    def handle(self) -> Any:
        """The actor handle in use now."""
        return self._handle

    def __getattr__(self, method: str) -> _Method:
        if method.startswith("_"):
            raise AttributeError(method)
        return _Method(self, method)

    async def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from ray.exceptions import ActorDiedError

        handle = self._handle
        try:
            return await getattr(handle, method).remote(*args, **kwargs)
        except ActorDiedError:
            logger.warning("job store actor gone (replaced?): looking it up again")
            if self._handle is handle:
                self._handle = await _lookup(self._config, self._wanted)
            return await getattr(self._handle, method).remote(*args, **kwargs)


class _Method:
    def __init__(self, client: JobStoreClient, name: str) -> None:
        self._client, self._name = client, name

    def remote(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return self._client.call(self._name, args, kwargs)


async def _lookup(config: JobStoreConfig, wanted: str, wait_s: float = 60.0) -> Any:
    """The live actor under the store's name: the replacement once the replica replacing it
    has started it; if none appears, one started with this replica's own fingerprint
    (``get_if_exists``: whoever comes first creates it, nothing is killed)."""
    import asyncio

    import ray

    deadline = time.monotonic() + wait_s
    while True:
        try:
            handle = ray.get_actor(config.actor_name, namespace=config.namespace)
            await handle.ping.remote()
            return handle
        except (ValueError, ray.exceptions.RayActorError):
            if time.monotonic() > deadline:
                return _get_or_create(config, wanted)
            await asyncio.sleep(0.5)


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
            speakers=config.speakers.model_dump(),
        )
    )
