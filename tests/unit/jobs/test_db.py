"""JobDatabase on SQLite (a temporary file) and on a real PostgreSQL 15 (tests/services.py):
every case runs on both."""

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from serve_app.jobs.db import SCHEMA_REVISION, SCHEMA_VERSION, JobDatabase, SchemaVersionError
from serve_app.jobs.model import Job, JobOptions, JobStatus
from serve_app.transcript.segments import Segment
from tests.services import create_database


def make_job(job_id: str, **fields) -> Job:
    return Job(job_id=job_id, options=JobOptions(model_name="tiny.en"), **fields)


def seg(start: float, text: str) -> Segment:
    return Segment(start=start, end=start + 1, text=text)


def raw(url: str, *statements: tuple[str, tuple] | str) -> list[tuple]:
    """Run SQL beside JobDatabase, with the plain drivers (``?`` placeholders); returns the
    last statement's rows."""
    rows: list[tuple] = []
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path)
        try:
            for statement in statements:
                sql, params = (statement, ()) if isinstance(statement, str) else statement
                rows = conn.execute(sql, params).fetchall()
            conn.commit()
        finally:
            conn.close()
        return rows
    with psycopg.connect(url) as pg:
        for statement in statements:
            sql, params = (statement, ()) if isinstance(statement, str) else statement
            cursor = pg.execute(sql.replace("?", "%s"), params)
            rows = cursor.fetchall() if cursor.description else []
    return rows


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Makes URLs of fresh, empty databases on one backend."""
    if request.param == "sqlite":
        names = iter(range(100))
        return lambda: f"sqlite:///{tmp_path}/db{next(names)}/jobs.sqlite3"
    server = request.getfixturevalue("postgres_url")
    return lambda: create_database(server)


@pytest.fixture
def url(backend):
    return backend()


@pytest.fixture
def db(url):
    database = JobDatabase(url)
    yield database
    database.close()


def test_a_fresh_database_is_at_the_current_version(db, url):
    assert db.schema_revision == SCHEMA_REVISION == "0003" and SCHEMA_VERSION == 3
    assert raw(url, "SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
    # Kept for releases from before Alembic, which read it and refuse a newer database.
    assert raw(url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_inserting_a_job_twice_keeps_the_first(db):
    job = make_job("a1", message="first")
    assert db.insert_job(job) == job
    retried = job.model_copy(update={"message": "second"})
    assert db.insert_job(retried).message == "first"
    assert db.get_job("a1") == job
    assert db.load_jobs() == [job]


def test_an_idempotency_key_returns_the_job_it_created(db):
    first = make_job("a1")
    assert db.insert_job(first, idempotency_key="key-1") == first
    assert db.insert_job(make_job("b2"), idempotency_key="key-1") == first
    assert db.get_job("b2") is None
    # Without a key, or with another, jobs are independent (many NULL keys are fine).
    for job_id, key in (("c3", None), ("d4", None), ("e5", "key-2")):
        assert db.insert_job(make_job(job_id), idempotency_key=key).job_id == job_id
    assert [j.job_id for j in db.load_jobs()] == ["a1", "c3", "d4", "e5"]


def test_save_job_upserts_the_row_and_its_columns(db, url):
    job = make_job("a1", kind="summary", created_at=5.0, updated_at=5.0)
    db.insert_job(job, idempotency_key="key-1")
    job.status, job.updated_at, job.message = JobStatus.COMPLETED, 9.5, "done"
    db.save_job(job)
    db.save_job(job)
    db.save_job(make_job("new", created_at=7.0))  # a job never inserted is inserted
    assert db.get_job("a1") == job
    assert raw(
        url, "SELECT kind, status, created_at, updated_at FROM jobs WHERE job_id = 'a1'"
    ) == [("summary", "completed", 5.0, 9.5)]
    # save_job leaves the idempotency key where insert_job put it
    assert db.insert_job(make_job("b2"), idempotency_key="key-1") == job
    assert db.get_job("nope") is None


def test_jobs_load_oldest_created_first(db):
    for job_id, created in (("c", 3.0), ("a", 1.0), ("b", 2.0)):
        db.insert_job(make_job(job_id, created_at=created, updated_at=10 - created))
    assert [j.job_id for j in db.load_jobs()] == ["a", "b", "c"]


def test_events_insert_or_ignore_in_seq_order(db):
    db.append_events("a1", [(1, {"type": "status", "n": 1}), (2, {"type": "segment", "n": 2})])
    db.append_events("a1", [(2, {"type": "other"}), (0, {"n": 0}), (3, {"n": 3})])
    db.append_events("a1", [])
    db.append_events("b2", [(1, {"n": "b"})])
    assert db.load_events("a1") == [
        (0, {"n": 0}),
        (1, {"type": "status", "n": 1}),
        (2, {"type": "segment", "n": 2}),
        (3, {"n": 3}),
    ]
    assert db.load_events("b2") == [(1, {"n": "b"})]
    assert db.load_events("none") == []


def test_compaction_deletes_events(db):
    db.append_events("a1", [(seq, {"seq": seq}) for seq in range(1200)])
    db.append_events("b2", [(5, {"seq": 5})])
    db.delete_events("a1", [*range(1150), 5000])  # more than one batch, one unknown
    db.delete_events("a1", [])
    assert [seq for seq, _ in db.load_events("a1")] == list(range(1150, 1200))
    assert db.load_events("b2") == [(5, {"seq": 5})]


def test_chunk_results_insert_or_ignore(db):
    db.save_chunk_result("a1", 0, {"segments": [1]})
    db.save_chunk_result("a1", 0, {"segments": ["retry"]})
    db.save_chunk_result("a1", 2, {"segments": [], "language": "en"})
    db.save_chunk_result("b2", 0, {"other": True})
    assert db.load_chunk_results("a1") == {
        0: {"segments": [1]},
        2: {"segments": [], "language": "en"},
    }
    assert db.load_chunk_results("none") == {}


def test_segments_upsert_and_replace(db):
    db.upsert_segments("a1", 0, [seg(0, "zero"), seg(1, "one")])
    db.upsert_segments("a1", 2, [seg(2, "two")])
    db.upsert_segments("a1", 1, [seg(1, "one again"), seg(2, "two again")])
    db.upsert_segments("a1", 3, [])
    db.upsert_segments("b2", 0, [seg(0, "b")])
    assert [s.text for s in db.load_segments("a1")] == ["zero", "one again", "two again"]
    db.replace_segments("a1", [seg(5, "only")])
    assert db.load_segments("a1") == [seg(5, "only")]
    db.replace_segments("a1", [])
    assert db.load_segments("a1") == [] and db.load_segments("b2") == [seg(0, "b")]


def _fill(db: JobDatabase, job_id: str) -> None:
    db.insert_job(make_job(job_id))
    db.append_events(job_id, [(1, {"n": 1})])
    db.save_chunk_result(job_id, 0, {"c": 0})
    db.upsert_segments(job_id, 0, [seg(0, job_id)])


def test_delete_job_removes_everything_of_that_job(db):
    _fill(db, "a1")
    _fill(db, "b2")
    db.delete_job("a1")
    db.delete_job("a1")
    assert db.get_job("a1") is None and db.load_events("a1") == []
    assert db.load_chunk_results("a1") == {} and db.load_segments("a1") == []
    assert [j.job_id for j in db.load_jobs()] == ["b2"]
    assert db.load_segments("b2") == [seg(0, "b2")] and db.load_events("b2") == [(1, {"n": 1})]


def test_reopening_keeps_everything(url):
    first = JobDatabase(url)
    _fill(first, "a1")
    job = first.get_job("a1")
    first.close()
    again = JobDatabase(url)
    try:
        assert again.schema_revision == SCHEMA_REVISION
        assert again.load_jobs() == [job]
        assert again.load_events("a1") == [(1, {"n": 1})]
        assert again.load_chunk_results("a1") == {0: {"c": 0}}
        assert again.load_segments("a1") == [seg(0, "a1")]
    finally:
        again.close()


V1_SCHEMA = (
    "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at REAL NOT NULL)",
    "CREATE TABLE segments (job_id TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, "
    "PRIMARY KEY (job_id, idx))",
)


def test_a_version_1_database_is_migrated_in_place(url):
    job = make_job("a1", kind="summary", status=JobStatus.COMPLETED, created_at=1.5e9)
    job.updated_at = 1.7e9 + 0.123456
    # A row written before `kind` existed: the migration falls back to the defaults.
    old = '{"job_id": "b2", "updated_at": 3.0, "options": {"model_name": "base"}}'
    raw(
        url,
        *V1_SCHEMA,
        ("INSERT INTO jobs VALUES (?, ?, ?)", ("a1", job.model_dump_json(), job.updated_at)),
        ("INSERT INTO jobs VALUES (?, ?, ?)", ("b2", old, 3.0)),
        ("INSERT INTO segments VALUES (?, ?, ?)", ("a1", 0, seg(0, "kept").model_dump_json())),
    )
    db = JobDatabase(url)
    try:
        assert db.schema_revision == SCHEMA_REVISION
        assert db.get_job("a1") == job
        assert db.load_segments("a1") == [seg(0, "kept")]
        assert [j.job_id for j in db.load_jobs()] == ["b2", "a1"]  # created 3.0, then 1.5e9
        db.append_events("a1", [(1, {"n": 1})])
        assert db.load_events("a1") == [(1, {"n": 1})]
    finally:
        db.close()
    assert raw(url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert raw(url, "SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
    rows = raw(url, "SELECT job_id, kind, status, created_at, updated_at FROM jobs ORDER BY job_id")
    assert rows == [
        ("a1", "summary", "completed", 1.5e9, job.updated_at),  # not rounded to float4
        ("b2", "transcription", "processing", 3.0, 3.0),
    ]


def test_a_migration_that_fails_changes_nothing(url):
    # Two version-1 rows claiming one idempotency key: the unique index cannot be built.
    dup = json.dumps(json.loads(make_job("x").model_dump_json()) | {"idempotency_key": "k"})
    raw(
        url,
        *V1_SCHEMA,
        ("INSERT INTO jobs VALUES (?, ?, ?)", ("a1", dup, 1.0)),
        ("INSERT INTO jobs VALUES (?, ?, ?)", ("b2", dup, 2.0)),
    )
    with pytest.raises(Exception, match=r"(?i)unique"):
        JobDatabase(url)
    # Still version 1, whole: the DDL ran inside the same transaction (SQLite included).
    assert raw(url, "SELECT job_id, updated_at FROM jobs ORDER BY job_id") == [
        ("a1", 1.0),
        ("b2", 2.0),
    ]
    tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    if url.startswith("sqlite"):
        tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
    assert sorted(raw(url, tables)) == [("jobs",), ("segments",)]


def _schema(url: str) -> dict[str, object]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        found = inspect(engine)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
                found.get_pk_constraint(table)["constrained_columns"],
                sorted(
                    (i["name"], i["column_names"], i["unique"]) for i in found.get_indexes(table)
                ),
            )
            for table in sorted(found.get_table_names())
        }
    finally:
        engine.dispose()


def test_migrated_and_fresh_databases_have_the_same_schema(backend):
    migrated, fresh = backend(), backend()
    raw(migrated, *V1_SCHEMA)
    JobDatabase(migrated).close()
    JobDatabase(fresh).close()
    assert _schema(migrated) == _schema(fresh)
    assert set(_schema(fresh)) == {
        "alembic_version",
        "chunk_results",
        "events",
        "jobs",
        "schema_version",
        "segments",
        "speakers",
        "voiceprints",
    }


def test_a_newer_schema_is_refused(url):
    db = JobDatabase(url)
    db.insert_job(make_job("a1"))
    db.close()
    raw(url, "UPDATE schema_version SET version = 4")
    with pytest.raises(SchemaVersionError, match="schema version 4, newer than this code's 3"):
        JobDatabase(url)
    assert raw(url, "SELECT version FROM schema_version") == [(4,)]
    assert raw(url, "SELECT job_id FROM jobs") == [("a1",)]


def test_a_newer_revision_is_refused(url):
    JobDatabase(url).close()
    raw(url, "UPDATE alembic_version SET version_num = '0004'")
    with pytest.raises(SchemaVersionError, match="revision 0004, newer than this code's 3"):
        JobDatabase(url)
    assert raw(url, "SELECT version_num FROM alembic_version") == [("0004",)]


def _version_2_database(url: str) -> None:
    """A database as the store wrote it before Alembic: version 2 in ``schema_version``,
    no ``alembic_version`` (the statements that release ran, copied here)."""
    raw(
        url,
        *V1_SCHEMA,
        ("INSERT INTO jobs VALUES (?, ?, ?)", ("a1", make_job("a1").model_dump_json(), 1.0)),
    )
    # Upgrade it with the revisions, then drop what Alembic added: what is left is exactly
    # what the pre-Alembic code's v1 -> v2 step left behind.
    JobDatabase(url).close()
    raw(url, "DROP TABLE alembic_version")
    # Revisions after 0002 are not part of a version-2 database.
    raw(
        url,
        "DROP TABLE voiceprints",
        "DROP TABLE speakers",
        "UPDATE schema_version SET version = 2",
    )


def test_a_database_from_before_alembic_is_stamped_and_kept(backend):
    url = backend()
    _version_2_database(url)
    before = _schema(url)
    db = JobDatabase(url)
    try:
        assert db.schema_revision == SCHEMA_REVISION
        assert [j.job_id for j in db.load_jobs()] == ["a1"]
    finally:
        db.close()
    assert raw(url, "SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
    assert raw(url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    after = _schema(url)
    assert after.pop("alembic_version") and after.pop("speakers") and after.pop("voiceprints")
    assert after == before


def test_replicas_opening_one_new_database_at_once_migrate_it_once(url):
    # Four replicas start together: one migrates (advisory lock on PostgreSQL, BEGIN
    # IMMEDIATE on SQLite), the others wait, then find it current.
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: JobDatabase(url), range(4)))
    for db in opened:
        assert db.schema_revision == SCHEMA_REVISION
        db.close()
    assert raw(url, "SELECT version_num FROM alembic_version") == [(SCHEMA_REVISION,)]
    assert raw(url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_usable_from_a_thread_other_than_the_constructing_one(db):
    with ThreadPoolExecutor(1) as worker:
        worker.submit(_fill, db, "a1").result()
        assert worker.submit(db.load_segments, "a1").result() == [seg(0, "a1")]
    assert db.get_job("a1") is not None


def test_environment_variables_in_the_url(url, monkeypatch, tmp_path):
    if url.startswith("sqlite"):
        monkeypatch.setenv("JOBS_DIR", str(tmp_path / "from-env"))
        expanded = "sqlite:///${JOBS_DIR}/jobs.sqlite3"
        JobDatabase(expanded).close()
        assert (tmp_path / "from-env" / "jobs.sqlite3").is_file()
        return
    # The whole URL in one variable.
    monkeypatch.setenv("DATABASE_URL", url)
    JobDatabase("${DATABASE_URL}").close()
    # user@host:port/db from variables; a password holding URL delimiters stays one part
    # (the test server trusts loopback, so it is parsed and sent but not checked).
    head, _, database = url.rpartition("/")
    monkeypatch.setenv("PG_USER", "postgres")
    monkeypatch.setenv("PG_PASSWORD", "p@ss/w:rd?#")
    monkeypatch.setenv("PG_HOST", head.rpartition("@")[2])
    monkeypatch.setenv("PG_DB", database)
    db = JobDatabase("postgresql://${PG_USER}:${PG_PASSWORD}@${PG_HOST}/${PG_DB}")
    try:
        db.insert_job(make_job("a1"))
        assert "p@ss" not in db.url and db.get_job("a1") is not None
    finally:
        db.close()


@pytest.mark.parametrize("bad", ["jobs.sqlite3", "sqlite://", "mysql://u@h/db"])
def test_unsupported_urls(bad):
    with pytest.raises(ValueError):
        JobDatabase(bad)
