"""Alembic migrations of the job database, run by :func:`serve_app.jobs.schema.migrate`
when the store opens it (no ``alembic.ini``: the configuration is built in code)."""
