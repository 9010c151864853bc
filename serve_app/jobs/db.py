"""The job database: jobs, their events, chunk results and segments, on SQLite (one node)
or PostgreSQL (clusters), chosen by URL.

SQLAlchemy Core with JSON kept as TEXT, so both backends store identical rows. The schema
is brought up to date when the database is opened, by its Alembic revisions
(``serve_app.jobs.schema``) run in one transaction. Every write is idempotent: a retried
call neither duplicates a row nor raises.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from serve_app.jobs.model import Job
from serve_app.jobs.schema import SCHEMA_REVISION, SCHEMA_VERSION, SchemaVersionError, migrate
from serve_app.speakers.rows import VoiceprintRows
from serve_app.transcript.segments import Segment

__all__ = ["SCHEMA_REVISION", "SCHEMA_VERSION", "JobDatabase", "SchemaVersionError"]

# Query-only descriptions of the current tables: the schema itself is made by the
# Alembic revisions in serve_app/jobs/migrations, for fresh and old databases alike.
_metadata = MetaData()
_jobs = Table(
    "jobs",
    _metadata,
    Column("job_id", Text, primary_key=True),
    Column("kind", Text),
    Column("status", Text),
    Column("created_at", Float),
    Column("updated_at", Float),
    Column("owner", Text),
    Column("idempotency_key", Text),
    Column("data", Text),
)


def _per_job(name: str, key: str) -> Table:
    """Rows of one job keyed by a number (event seq, chunk index, segment index)."""
    return Table(
        name,
        _metadata,
        Column("job_id", Text, primary_key=True),
        Column(key, Integer, primary_key=True),
        Column("data", Text),
    )


_events = _per_job("events", "seq")
_chunk_results = _per_job("chunk_results", "chunk_index")
_segments = _per_job("segments", "idx")

# SQLite allows 32766 bound parameters per statement; long deletes go in slices below that.
_DELETE_BATCH = 500


# ---- URLs ----------------------------------------------------------------------------------


def _engine_url(url: str) -> URL:
    """The SQLAlchemy URL for a ``sqlite:///path`` or ``postgresql://…`` URL.

    ``${VAR}`` is expanded in each part after the URL is split, so a password from a
    Secret may hold ``@``, ``:`` or ``/`` without being percent-encoded. A URL that is one
    variable as a whole (``${DATABASE_URL}``) is expanded first, and then parsed as usual.
    """
    if "://" not in url:
        url = os.path.expandvars(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r} (sqlite:///path or postgresql://…)")

    def expand(part: str) -> str:
        return os.path.expandvars(unquote(part))

    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy reads them.
        path = expand(rest.partition("?")[0].removeprefix("/"))
        if not path or path == ":memory:":
            raise ValueError("a SQLite job database needs a file path: sqlite:///path")
        return URL.create("sqlite+pysqlite", database=path)
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"unsupported database URL scheme {scheme!r} (sqlite, postgresql)")
    netloc, _, tail = rest.partition("/")
    database, _, query = tail.partition("?")
    userinfo, _, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    hostport = expand(hostport)  # one variable may hold host:port
    if hostport.startswith("["):  # an IPv6 literal: [::1]:5432
        host, _, port = hostport[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    return URL.create(
        "postgresql+psycopg",
        username=expand(user) or None,
        password=expand(password) or None,
        host=host or None,
        port=int(port) if port else None,
        database=expand(database) or None,
        query={k: os.path.expandvars(v) for k, v in parse_qsl(query)},
    )


def _sqlite_engine(url: URL) -> Engine:
    assert url.database is not None
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the store constructs this on its event loop and then calls it
    # from one worker thread; the pool hands each connection to one caller at a time.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's legacy mode would run DDL outside any transaction (a migration that
        # fails half-way would stay half-done); BEGIN is emitted below instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a second process waits out the busy
        # timeout instead of failing mid-transaction on a lock it cannot upgrade; it also
        # makes the migration's version check and its changes one atomic step.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# ---- the database --------------------------------------------------------------------------


class JobDatabase(VoiceprintRows):
    """Jobs, events, chunk results and segments in SQLite or PostgreSQL, chosen by URL;
    enrolled speakers and their voiceprints (``VoiceprintRows``).

    Synchronous: the job store calls it from one worker thread (not necessarily the one
    that constructed it). Opening brings the schema to :data:`SCHEMA_REVISION`.
    """

    def __init__(self, url: str) -> None:
        engine_url = _engine_url(url)
        # For logs and errors: never the password.
        self.url = engine_url.render_as_string(hide_password=True)
        if engine_url.get_backend_name() == "sqlite":
            self._engine = _sqlite_engine(engine_url)
            self._insert: Callable[[Table], sqlite.Insert | postgresql.Insert] = sqlite.insert
        else:
            # pre_ping: a connection left over from before a database restart is replaced
            # rather than failing the next write.
            self._engine = create_engine(engine_url, pool_pre_ping=True)
            self._insert = postgresql.insert
        try:
            with self._engine.begin() as conn:
                self.schema_revision = migrate(conn, self.url)
        except BaseException:
            self._engine.dispose()
            raise
        self._open = threading.local()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """The connection of the transaction open on this thread, or a new transaction."""
        conn: Connection | None = getattr(self._open, "conn", None)
        if conn is not None:
            yield conn
            return
        with self._engine.begin() as conn:
            self._open.conn = conn
            try:
                yield conn
            finally:
                self._open.conn = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Every write made on this thread inside the block commits together, or none does
        (a store that dies half-way through a change leaves no half of it behind)."""
        with self._begin():
            yield

    # ---- jobs ------------------------------------------------------------------------------

    @staticmethod
    def _job_row(job: Job) -> dict[str, Any]:
        return {
            "job_id": job.job_id,
            "kind": job.kind,
            "status": job.status.value,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "owner": job.owner,
            "data": job.model_dump_json(),
        }

    def insert_job(self, job: Job, idempotency_key: str | None = None) -> Job:
        """Insert ``job``; when a job with its id, or with ``idempotency_key``, is already
        stored, return that one unchanged instead."""
        row = self._job_row(job) | {"idempotency_key": idempotency_key}
        # No conflict target: a clash on the primary key or on the idempotency key index
        # both leave the stored row alone.
        stmt = self._insert(_jobs).values(row).on_conflict_do_nothing()
        with self._begin() as conn:
            if conn.execute(stmt).rowcount == 1:
                return job
            stored = conn.execute(
                select(_jobs.c.data).where(_jobs.c.job_id == job.job_id)
            ).scalar_one_or_none()
            if stored is None and idempotency_key is not None:
                stored = conn.execute(
                    select(_jobs.c.data).where(_jobs.c.idempotency_key == idempotency_key)
                ).scalar_one_or_none()
        if stored is None:  # only if the clashing row was deleted in between
            return self.insert_job(job, idempotency_key)
        return Job.model_validate_json(stored)

    def save_job(self, job: Job) -> None:
        """Insert or update the job's row. The idempotency key is set by insert_job only."""
        row = self._job_row(job)
        stmt = self._insert(_jobs).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_jobs.c.job_id],
            set_={name: stmt.excluded[name] for name in row if name != "job_id"},
        )
        with self._begin() as conn:
            conn.execute(stmt)

    def get_job(self, job_id: str) -> Job | None:
        with self._begin() as conn:
            data = conn.execute(
                select(_jobs.c.data).where(_jobs.c.job_id == job_id)
            ).scalar_one_or_none()
        return Job.model_validate_json(data) if data is not None else None

    def load_jobs(self) -> list[Job]:
        """Every job, oldest created first."""
        with self._begin() as conn:
            rows = conn.execute(
                select(_jobs.c.data).order_by(_jobs.c.created_at, _jobs.c.job_id)
            ).scalars()
            return [Job.model_validate_json(data) for data in rows]

    def delete_job(self, job_id: str) -> None:
        """The job and its events, segments and chunk results, in one transaction."""
        with self._begin() as conn:
            for table in (_events, _chunk_results, _segments, _jobs):
                conn.execute(delete(table).where(table.c.job_id == job_id))

    # ---- events and chunk results ----------------------------------------------------------

    def append_events(self, job_id: str, events: list[tuple[int, dict[str, Any]]]) -> None:
        """Store ``(seq, event)`` pairs; a ``seq`` already stored keeps its event."""
        if not events:
            return
        rows = [{"job_id": job_id, "seq": seq, "data": json.dumps(e)} for seq, e in events]
        with self._begin() as conn:
            conn.execute(self._insert(_events).on_conflict_do_nothing(), rows)

    def load_events(self, job_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The job's events, ordered by ``seq``."""
        with self._begin() as conn:
            rows = conn.execute(
                select(_events.c.seq, _events.c.data)
                .where(_events.c.job_id == job_id)
                .order_by(_events.c.seq)
            ).all()
        return [(seq, json.loads(data)) for seq, data in rows]

    def delete_events(self, job_id: str, seqs: list[int]) -> None:
        """Drop events the store has compacted away."""
        with self._begin() as conn:
            for start in range(0, len(seqs), _DELETE_BATCH):
                batch = seqs[start : start + _DELETE_BATCH]
                conn.execute(
                    delete(_events).where(_events.c.job_id == job_id, _events.c.seq.in_(batch))
                )

    def save_chunk_result(self, job_id: str, chunk_index: int, data: dict[str, Any]) -> None:
        """Keep a chunk's result; the first one stored for a chunk wins."""
        row = {"job_id": job_id, "chunk_index": chunk_index, "data": json.dumps(data)}
        with self._begin() as conn:
            conn.execute(self._insert(_chunk_results).values(row).on_conflict_do_nothing())

    def load_chunk_results(self, job_id: str) -> dict[int, dict[str, Any]]:
        with self._begin() as conn:
            rows = conn.execute(
                select(_chunk_results.c.chunk_index, _chunk_results.c.data).where(
                    _chunk_results.c.job_id == job_id
                )
            ).all()
        return {index: json.loads(data) for index, data in rows}

    # ---- segments --------------------------------------------------------------------------

    def _upsert_segments(
        self, conn: Connection, job_id: str, first_index: int, segments: list[Segment]
    ) -> None:
        if not segments:
            return
        rows = [
            {"job_id": job_id, "idx": first_index + i, "data": s.model_dump_json()}
            for i, s in enumerate(segments)
        ]
        stmt = self._insert(_segments)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_segments.c.job_id, _segments.c.idx],
            set_={"data": stmt.excluded.data},
        )
        conn.execute(stmt, rows)

    def upsert_segments(self, job_id: str, first_index: int, segments: list[Segment]) -> None:
        """Store ``segments`` at positions ``first_index, first_index + 1, …``, replacing
        what was there."""
        with self._begin() as conn:
            self._upsert_segments(conn, job_id, first_index, segments)

    def replace_segments(self, job_id: str, segments: list[Segment]) -> None:
        """Make ``segments`` the job's whole transcript, in one transaction."""
        with self._begin() as conn:
            conn.execute(delete(_segments).where(_segments.c.job_id == job_id))
            self._upsert_segments(conn, job_id, 0, segments)

    def load_segments(self, job_id: str) -> list[Segment]:
        with self._begin() as conn:
            rows = conn.execute(
                select(_segments.c.data)
                .where(_segments.c.job_id == job_id)
                .order_by(_segments.c.idx)
            ).scalars()
            return [Segment.model_validate_json(data) for data in rows]

    def close(self) -> None:
        self._engine.dispose()
