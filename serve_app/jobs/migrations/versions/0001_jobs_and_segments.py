"""Version 1, as the SQLite-only store created it: jobs and segments.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    conn.exec_driver_sql(
        "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at REAL NOT NULL)"
    )
    conn.exec_driver_sql(
        "CREATE TABLE segments (job_id TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (job_id, idx))"
    )


def downgrade() -> None:
    raise NotImplementedError("the job database is never downgraded")
