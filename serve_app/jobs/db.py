"""SQLite write-through for the job store, so a restarted store loses no job."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from serve_app.jobs.model import Job
from serve_app.transcript.segments import Segment

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
"""


class JobDatabase:
    """Jobs and their segments as JSON rows; one connection, used from one event loop."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def save_job(self, job: Job) -> None:
        self._conn.execute(
            "INSERT INTO jobs(job_id, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(job_id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
            (job.job_id, job.model_dump_json(), job.updated_at),
        )

    def append_segments(self, job_id: str, first_index: int, segments: list[Segment]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO segments(job_id, idx, data) VALUES (?, ?, ?)",
            [(job_id, first_index + i, s.model_dump_json()) for i, s in enumerate(segments)],
        )

    def replace_segments(self, job_id: str, segments: list[Segment]) -> None:
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM segments WHERE job_id = ?", (job_id,))
            self.append_segments(job_id, 0, segments)

    def delete_job(self, job_id: str) -> None:
        self._conn.execute("DELETE FROM segments WHERE job_id = ?", (job_id,))
        self._conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))

    def load_all(self) -> list[tuple[Job, list[Segment]]]:
        jobs = [
            Job.model_validate_json(row[0])
            for row in self._conn.execute("SELECT data FROM jobs ORDER BY updated_at")
        ]
        loaded = []
        for job in jobs:
            rows = self._conn.execute(
                "SELECT data FROM segments WHERE job_id = ? ORDER BY idx", (job.job_id,)
            )
            loaded.append((job, [Segment.model_validate_json(r[0]) for r in rows]))
        return loaded

    def close(self) -> None:
        self._conn.close()
