"""What decides that a redeploy replaces the store actor: the fingerprint covers the code
of every project module the actor imports (no Ray here; the replaced actor's handles are
drilled in tests/faults/test_store_redeploy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployments.job_store import ROOT, fingerprint, store_sources
from serve_app.config import JobStoreConfig

IMPORTED_BY_THE_STORE = [
    "serve_app/diarization/revisions.py",
    "serve_app/diarization/alignment.py",
    "serve_app/transcript/segments.py",
    "serve_app/transcript/edits.py",
    "serve_app/jobs/store.py",
    "serve_app/jobs/migrations/versions/0002_indexed_jobs_events_chunk_results.py",
    "deployments/metrics.py",
]


@pytest.mark.parametrize("changed", IMPORTED_BY_THE_STORE)
def test_changing_any_module_the_store_imports_changes_the_fingerprint(changed, monkeypatch):
    config = JobStoreConfig()
    before = fingerprint(config)
    read_bytes = Path.read_bytes

    def edited(path: Path) -> bytes:
        data = read_bytes(path)
        return data + b"\n# changed\n" if path.as_posix().endswith(changed) else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert fingerprint(config) != before


def test_the_store_imports_none_of_the_model_code():
    """The closure is the actor's imports, not the whole tree: a change to the ASR or the
    web routes does not restart the store."""
    sources = {p.relative_to(ROOT).as_posix() for p in store_sources()}
    assert set(IMPORTED_BY_THE_STORE) <= sources
    assert not any(s.startswith(("serve_app/asr/", "serve_app/http/")) for s in sources)
    assert "deployments/chunker.py" not in sources
