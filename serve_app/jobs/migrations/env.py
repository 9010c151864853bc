"""Alembic's environment: migrations run on the connection that
:func:`serve_app.jobs.schema.migrate` passes in ``config.attributes["connection"]``, inside
its transaction (which also holds the lock that serialises replicas)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the job database's migrations run from serve_app.jobs.schema.migrate, on its "
        "connection (offline --sql mode is not supported)"
    )
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():  # the caller's transaction is open: this adds none
    context.run_migrations()
