"""The job database's schema: Alembic revisions (``serve_app/jobs/migrations/versions``),
run by :func:`migrate` when the store opens the database.

Revision ids are the schema's version numbers (``0001``, ``0002``, …). A fresh database and
an upgraded one are built by the same revisions. A database written before Alembic was used
has no ``alembic_version`` table: one with a ``schema_version`` table is at that number, one
with only ``jobs`` is at version 1; it is stamped at that revision and then upgraded.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_LOCK_KEY = 7283945102
"""The PostgreSQL advisory lock that replicas opening one database at once queue on."""


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of this code than the running one."""


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """The head revision and every revision this code knows."""
    script = ScriptDirectory.from_config(_config())
    head = script.get_current_head()
    assert head is not None
    return head, frozenset(s.revision for s in script.walk_revisions())


SCHEMA_REVISION = _revisions()[0]
"""The revision this code reads and writes."""
SCHEMA_VERSION = int(SCHEMA_REVISION)


def _newer(name: str, what: str) -> SchemaVersionError:
    return SchemaVersionError(
        f"the job database {name} is at {what}, newer than this code's {SCHEMA_VERSION} "
        f"(revision {SCHEMA_REVISION}): run a release that knows it, or another database"
    )


def _stored(conn: Connection, name: str) -> tuple[str | None, bool]:
    """The database's revision (None: empty), and whether it predates Alembic (no
    ``alembic_version`` table yet, so it must be stamped)."""
    tables = set(inspect(conn).get_table_names())
    numbered = None
    if "schema_version" in tables:
        numbered = conn.exec_driver_sql("SELECT MAX(version) FROM schema_version").scalar()
        if numbered is None:
            raise SchemaVersionError("the job database's schema_version table is empty")
        if int(numbered) > SCHEMA_VERSION:
            raise _newer(name, f"schema version {numbered}")
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None:
        if revision not in _revisions()[1]:
            raise _newer(name, f"revision {revision}")
        return revision, False
    if numbered is not None:
        return f"{int(numbered):04d}", True
    return ("0001", True) if "jobs" in tables else (None, False)


def migrate(conn: Connection, name: str) -> str:
    """Bring the database on ``conn`` to :data:`SCHEMA_REVISION`, inside the caller's
    transaction (a failing revision leaves nothing behind); ``name`` (the URL, password
    hidden) is for the error message. Returns the revision."""
    if conn.dialect.name == "postgresql":
        # Replicas opening one database at once: the first migrates, the others wait here
        # and then find it current (on SQLite, BEGIN IMMEDIATE serialises them the same way).
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
    revision, unstamped = _stored(conn, name)
    config = _config(conn)
    if unstamped:
        assert revision is not None
        command.stamp(config, revision)
    if revision != SCHEMA_REVISION:
        command.upgrade(config, SCHEMA_REVISION)
    return SCHEMA_REVISION
