"""Fixtures shared by every test directory: real PostgreSQL and S3-compatible servers on
loopback (tests/services.py), started once per session and only when a test asks."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.services import S3Location, ServiceError, create_database, postgres_server, s3_server

# Before any test imports ray: Ray reads these at import, and without them a local cluster
# would bind the machine's interface address (local runs stay on 127.0.0.1).
os.environ.update(
    {
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    }
)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A database on the session's PostgreSQL 15 server. Missing binaries fail the test
    (never a skip): `make system-deps` installs them."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except ServiceError as exc:
            missing = str(exc)  # failed below, outside the handler: one clear line
        else:
            yield url
            return
    pytest.fail(missing, pytrace=False)


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """A fresh, empty database for this test, on the session's server."""
    return create_database(postgres_server_url)


@pytest.fixture(scope="session")
def s3_bucket() -> Iterator[S3Location]:
    with s3_server() as location:
        yield location


@pytest.fixture
def s3_audio(s3_bucket: S3Location) -> S3Location:
    """``s3://bucket/<prefix>`` with a prefix of its own for this test, and storage_options."""
    return s3_bucket.with_prefix(f"audio-{uuid.uuid4().hex[:8]}")
