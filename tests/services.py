"""Real servers for tests, on loopback: PostgreSQL 15 and Redis (Debian's binaries) and an
S3-compatible server (moto). Each lives in a temporary directory or thread and is gone when
its context manager exits."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Debian's postgresql-15 package: used by path so nothing else on PATH can stand in for it.
PG_BIN = Path("/usr/lib/postgresql/15/bin")
MISSING_POSTGRES = (
    f"PostgreSQL 15 is not installed ({PG_BIN}/initdb is missing): run `make system-deps`"
)


class ServiceError(RuntimeError):
    """A test service could not be started; the message says what to do."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _traversable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


@dataclass(frozen=True)
class _Cluster:
    root: Path
    as_user: str | None
    """The OS user PostgreSQL runs as (``postgres`` when we are root), or None for us."""

    @property
    def data(self) -> Path:
        return self.root / "data"

    def pg(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(PG_BIN / tool), "-D", str(self.data), *args]
        if self.as_user is not None:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        return subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120)

    def start(self) -> int:
        """Start the server on a free port; returns the port."""
        log = self.root / "server.log"
        # A free port can be taken between choosing it and binding it: try a few.
        for _ in range(3):
            port = free_port()
            started = self.pg(
                "pg_ctl", "-l", str(log), "-o", f"-p {port}", "-w", "-t", "60", "start"
            )
            if started.returncode == 0:
                return port
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServiceError(f"pg_ctl start failed: {started.stderr.strip()}\n{tail}")


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away PostgreSQL 15 cluster on 127.0.0.1 and yield the URL of a new,
    empty database on it (``postgresql://postgres@127.0.0.1:<port>/<db>``)."""
    if not (PG_BIN / "initdb").is_file() or not (PG_BIN / "pg_ctl").is_file():
        raise ServiceError(MISSING_POSTGRES)
    as_user = None
    parent = Path(tempfile.gettempdir())
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the user Debian's package creates,
        # in a directory that user owns and can reach.
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ServiceError(
                f"running as root, and no `postgres` user: {MISSING_POSTGRES}"
            ) from None
        as_user = "postgres"
        if not _traversable_by_others(parent):
            parent = Path("/tmp")
    cluster = _Cluster(Path(tempfile.mkdtemp(prefix="pg-test-", dir=parent)), as_user)
    try:
        if as_user is not None:
            os.chown(cluster.root, owner.pw_uid, owner.pw_gid)
        init = cluster.pg(
            "initdb",
            *"-U postgres --auth=trust -E UTF8 --locale=C --no-sync --no-instructions".split(),
        )
        if init.returncode != 0:
            raise ServiceError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        # Loopback only, the socket inside the temp dir (not /var/run/postgresql, which may
        # not exist), and durability off: a test cluster never outlives its process.
        with open(cluster.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{cluster.root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        port = cluster.start()
        yield create_database(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        # Also after a start that timed out: the server may have come up meanwhile.
        if (cluster.data / "postmaster.pid").exists():
            cluster.pg("pg_ctl", "-m", "fast", "-w", "stop")
        shutil.rmtree(cluster.root, ignore_errors=True)


def create_database(server_url: str, name: str | None = None) -> str:
    """Create an empty database on the server of ``server_url``; return its URL."""
    import psycopg

    name = name or f"test_{uuid.uuid4().hex[:12]}"
    base, _, _ = server_url.rpartition("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


REDIS_SERVER = Path("/usr/bin/redis-server")
"""Debian's redis-server package, by path."""


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """Start a throw-away Redis (Debian's binary) on 127.0.0.1, nothing saved to disk, and
    yield its URL (``redis://127.0.0.1:<port>/0``); stopped by its PID on exit."""
    if not REDIS_SERVER.is_file():
        raise ServiceError(f"Redis is not installed ({REDIS_SERVER}): run `make system-deps`")
    root = Path(tempfile.mkdtemp(prefix="redis-test-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        # A free port can be taken between choosing it and binding it: try a few.
        for _ in range(3):
            port = free_port()
            args = ["--bind", "127.0.0.1", "--port", str(port), "--dir", str(root)]
            args += ["--save", "", "--appendonly", "no", "--logfile", str(root / "redis.log")]
            process = subprocess.Popen([str(REDIS_SERVER), *args], cwd=root)
            deadline = time.monotonic() + 20
            while process.poll() is None and time.monotonic() < deadline:
                if _answers_ping(port):
                    break
                time.sleep(0.05)
            else:
                process.kill()
                process.wait(10)
                continue
            yield f"redis://127.0.0.1:{port}/0"
            return
        log = root / "redis.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise ServiceError(f"redis-server did not start on 127.0.0.1\n{tail}")
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class S3Location:
    """A prefix in a bucket on a running S3-compatible server, and how s3fs reaches it."""

    url: str
    """``s3://bucket/prefix``"""
    storage_options: dict[str, Any]
    """For s3fs / fsspec: endpoint, credentials, region."""
    endpoint_url: str
    bucket: str

    def with_prefix(self, prefix: str) -> S3Location:
        """The same bucket under another prefix (one per test keeps tests apart)."""
        return replace(self, url=f"s3://{self.bucket}/{prefix}")


@contextmanager
def s3_server(bucket: str = "test-bucket") -> Iterator[S3Location]:
    """Run moto's S3-compatible server on 127.0.0.1 (a thread of this process) with one
    empty bucket; yield ``s3://<bucket>/audio`` and the s3fs options to reach it."""
    import boto3
    from moto.server import ThreadedMotoServer

    # One log line per request otherwise, in every failing test's output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        options = {
            "endpoint_url": endpoint,
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"region_name": "us-east-1"},
        }
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=bucket)
        yield S3Location(f"s3://{bucket}/audio", options, endpoint, bucket)
    finally:
        server.stop()
