"""The job database's schema: its versions, and the migrations between them.

Entry ``i`` of :data:`MIGRATIONS` takes a database from version ``i`` to ``i + 1``; version
0 is an empty database, so a fresh database and a migrated one are built by the same
statements. A new version is one more function at the end: never edit one that has shipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import Connection, inspect, text


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of this code than the running one."""


def _create_v1(conn: Connection) -> None:
    """Version 1, as the SQLite-only store created it (no version table)."""
    conn.exec_driver_sql(
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at REAL NOT NULL)"
    )
    conn.exec_driver_sql(
        "CREATE TABLE segments (job_id TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (job_id, idx))"
    )


def _v1_to_v2(conn: Connection) -> None:
    """Indexed job columns, events, chunk results and the version table.

    ``jobs`` is rebuilt rather than altered: SQLite cannot add NOT NULL columns without a
    default, and the rebuild gives both backends the same table (DOUBLE PRECISION is REAL
    in SQLite; PostgreSQL's 4-byte REAL would round today's timestamps to two minutes).
    """
    conn.exec_driver_sql(
        # NOT NULL on the key too: SQLite lets a TEXT primary key hold NULLs otherwise.
        "CREATE TABLE jobs_v2 (job_id TEXT NOT NULL PRIMARY KEY, kind TEXT NOT NULL, "
        "status TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
        "updated_at DOUBLE PRECISION NOT NULL, owner TEXT, idempotency_key TEXT, "
        "data TEXT NOT NULL)"
    )
    rows = []
    for job_id, data, updated_at in conn.exec_driver_sql(
        "SELECT job_id, data, updated_at FROM jobs"
    ):
        # The JSON as written then, not today's Job model: a later model change must not
        # change what this migration does. Defaults are the model's defaults at version 1.
        fields = json.loads(data)
        updated = fields.get("updated_at", updated_at)
        rows.append(
            {
                "job_id": job_id,
                "kind": fields.get("kind", "transcription"),
                "status": fields.get("status", "processing"),
                "created_at": fields.get("created_at", updated),
                "updated_at": updated,
                "owner": fields.get("owner"),
                "idempotency_key": fields.get("idempotency_key"),
                "data": data,
            }
        )
    if rows:
        conn.execute(
            text(
                "INSERT INTO jobs_v2 (job_id, kind, status, created_at, updated_at, owner, "
                "idempotency_key, data) VALUES (:job_id, :kind, :status, :created_at, "
                ":updated_at, :owner, :idempotency_key, :data)"
            ),
            rows,
        )
    conn.exec_driver_sql("DROP TABLE jobs")
    conn.exec_driver_sql("ALTER TABLE jobs_v2 RENAME TO jobs")
    for column in ("kind", "status", "created_at", "owner"):
        conn.exec_driver_sql(f"CREATE INDEX ix_jobs_{column} ON jobs ({column})")
    conn.exec_driver_sql(
        "CREATE UNIQUE INDEX ux_jobs_idempotency_key ON jobs (idempotency_key) "
        "WHERE idempotency_key IS NOT NULL"
    )
    conn.exec_driver_sql(
        "CREATE TABLE events (job_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (job_id, seq))"
    )
    conn.exec_driver_sql(
        "CREATE TABLE chunk_results (job_id TEXT NOT NULL, chunk_index INTEGER NOT NULL, "
        "data TEXT NOT NULL, PRIMARY KEY (job_id, chunk_index))"
    )
    conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")


MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1, _v1_to_v2]
SCHEMA_VERSION = len(MIGRATIONS)
"""The version this code reads and writes."""


def _stored_version(conn: Connection) -> int:
    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        version = conn.exec_driver_sql("SELECT MAX(version) FROM schema_version").scalar()
        if version is None:
            raise SchemaVersionError("the job database's schema_version table is empty")
        return int(version)
    return 1 if "jobs" in tables else 0


def migrate(conn: Connection, name: str) -> int:
    """Bring the database on ``conn`` to :data:`SCHEMA_VERSION`, inside the caller's
    transaction; ``name`` (the URL, password hidden) is for the error message."""
    if conn.dialect.name == "postgresql":
        # Replicas opening one database at once: the first migrates, the others wait here
        # and then find it current (on SQLite, BEGIN IMMEDIATE serialises them the same way).
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7283945102)")
    version = _stored_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the job database {name} is at schema version {version}, newer than this "
            f"code's {SCHEMA_VERSION}: run a release that knows it, or another database"
        )
    if version < SCHEMA_VERSION:
        for migration in MIGRATIONS[version:]:
            migration(conn)
        conn.exec_driver_sql("DELETE FROM schema_version")
        conn.execute(
            text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": SCHEMA_VERSION}
        )
    return SCHEMA_VERSION
