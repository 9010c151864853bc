"""Version 2: indexed job columns, events, chunk results and the ``schema_version`` table.

``jobs`` is rebuilt rather than altered: SQLite cannot add NOT NULL columns without a
default, and the rebuild gives both backends the same table (DOUBLE PRECISION is REAL in
SQLite; PostgreSQL's 4-byte REAL would round today's timestamps to two minutes).

``schema_version`` predates Alembic: releases before it read that table and refuse a
database whose number is above theirs. Each revision sets it to its own number, so an older
release still refuses a newer database.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
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
    conn.exec_driver_sql("INSERT INTO schema_version (version) VALUES (2)")


def downgrade() -> None:
    raise NotImplementedError("the job database is never downgraded")
