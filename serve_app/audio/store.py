"""Keeps each job's audio, on a local directory or object storage (fsspec), so a job can
be resumed on any replica and any span re-transcribed.

One object per job, ``<job_id>.audio``, written whole or not at all and expired after
``ttl_s`` (by its modification time). What to keep is the caller's choice: the upload byte
for byte (:meth:`AudioStore.save`, :meth:`AudioStore.open_writer`), or the decoded audio as
16-bit FLAC (:meth:`AudioStore.save_flac`; compact for PCM uploads).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem

_SAFE_ID = frozenset("0123456789abcdefABCDEF-_")
_SUFFIX = ".audio"
_TMP_SUFFIX = ".tmp"
_FLAC_FRAME = 16000  # samples per encoded frame batch: bounds the int16 copies in flight


class AudioStore:
    """Each job's audio under one directory or object-store prefix, expiring after ttl_s.

    ``url`` is a local path (already resolved by the caller) or an fsspec URI
    (``file:///…``, ``s3://bucket/prefix``, ``gs://…``); ``storage_options`` go to fsspec.
    Synchronous: deployments call it through ``asyncio.to_thread``.
    """

    def __init__(
        self, url: str | Path, ttl_s: float, storage_options: dict[str, Any] | None = None
    ) -> None:
        self.ttl_s = ttl_s
        if isinstance(url, Path) or "://" not in url:
            self._fs: fsspec.AbstractFileSystem = LocalFileSystem()
            root = str(Path(url))
        else:
            options = dict(storage_options or {})
            if not url.startswith("file://"):
                # Several replicas share the prefix: a cached listing would hide objects
                # another replica wrote (or report ones it deleted).
                options.setdefault("use_listings_cache", False)
            self._fs, root = fsspec.url_to_fs(url, **options)
        self._local = isinstance(self._fs, LocalFileSystem)
        self._root = root.rstrip("/") or root
        if self._local:
            Path(self._root).mkdir(parents=True, exist_ok=True)

    def _path(self, job_id: str) -> str:
        if not job_id or not set(job_id) <= _SAFE_ID:
            raise ValueError(f"invalid job id {job_id!r}")
        return f"{self._root}/{job_id}{_SUFFIX}"

    # ---- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def open_writer(self, job_id: str) -> Iterator[BinaryIO]:
        """A binary file to write the job's audio into. It replaces what was stored when
        the block ends, all at once; if the block raises, nothing changes."""
        path = self._path(job_id)
        if self._local:
            # A unique temporary name beside the target: two writers never share one, and
            # os.replace is atomic within a directory.
            tmp = f"{self._root}/.{job_id}.{uuid.uuid4().hex[:8]}{_TMP_SUFFIX}"
            try:
                with open(tmp, "wb") as file:
                    yield file
                    file.flush()
                    # On disk before the rename, so a crash leaves the old file or the new
                    # one, never an empty file under the final name.
                    os.fsync(file.fileno())
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        else:
            # Spooled locally, then one upload on success: an object store shows an object
            # only once its upload completes, and a failed block uploads nothing.
            with tempfile.NamedTemporaryFile(prefix="audio-", suffix=_TMP_SUFFIX) as spool:
                yield cast(BinaryIO, spool)
                spool.flush()
                self._fs.put_file(spool.name, path)

    def save(self, job_id: str, data: bytes) -> None:
        """Keep ``data`` (the upload as received) byte for byte."""
        if self._local:
            with self.open_writer(job_id) as file:
                file.write(data)
        else:
            self._fs.pipe_file(self._path(job_id), data)  # one PUT: atomic

    def save_flac(self, job_id: str, audio: np.ndarray, sample_rate: int = 16000) -> None:
        """Keep mono float32 ``audio`` as 16-bit FLAC, replacing what was stored (a PCM
        upload shrinks to about half, and decodes back to the same samples within 1e-4)."""
        if audio.ndim != 1:
            raise ValueError(f"expected mono audio (one dimension), got shape {audio.shape}")
        with self.flac_writer(job_id, sample_rate) as write:
            for start in range(0, audio.size, _FLAC_FRAME):
                write(audio[start : start + _FLAC_FRAME])

    @contextlib.contextmanager
    def flac_writer(
        self, job_id: str, sample_rate: int = 16000
    ) -> Iterator[Callable[[np.ndarray], None]]:
        """``write(block)`` appends mono float32 blocks as 16-bit FLAC; what was stored is
        replaced when the block ends, all at once (nothing changes if it raises). For audio
        decoded as a stream: only one block is converted at a time."""
        import av

        with self.open_writer(job_id) as file, av.open(file, mode="w", format="flac") as out:
            stream = out.add_stream("flac", rate=sample_rate, layout="mono")
            written = 0

            def write(block: np.ndarray) -> None:
                nonlocal written
                for start in range(0, block.size, _FLAC_FRAME):
                    part = block[start : start + _FLAC_FRAME]
                    pcm = (np.clip(part, -1, 1) * 32767).astype(np.int16)
                    frame = av.AudioFrame.from_ndarray(
                        pcm.reshape(1, -1), format="s16", layout="mono"
                    )
                    frame.sample_rate = sample_rate
                    frame.pts = written
                    written += part.size
                    for packet in stream.encode(frame):
                        out.mux(packet)

            yield write
            for packet in stream.encode(None):
                out.mux(packet)

    # ---- reading ---------------------------------------------------------------------------

    def open(self, job_id: str) -> BinaryIO | None:
        """The job's audio as a seekable binary file (close it, or use ``with``), or
        ``None`` if it was never kept or has expired."""
        path = self._path(job_id)
        try:
            if self._expired(self._fs.info(path), time.time()):
                return None
            return cast(BinaryIO, self._fs.open(path, "rb"))
        except FileNotFoundError:  # also when deleted between info() and open()
            return None

    def load(self, job_id: str) -> bytes | None:
        """The job's audio, or ``None`` if it was never kept or has expired."""
        file = self.open(job_id)
        if file is None:
            return None
        with file:
            return file.read()

    # ---- removal ---------------------------------------------------------------------------

    def delete(self, job_id: str) -> None:
        """Forget the job's audio (nothing happens if there is none)."""
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._path(job_id))

    def sweep(self, now: float | None = None) -> int:
        """Delete expired audio, and temporary files a crashed writer left; returns how
        many objects were removed."""
        now = time.time() if now is None else now
        try:
            entries = self._fs.ls(self._root, detail=True)
        except FileNotFoundError:  # an object-store prefix exists only once written to
            return 0
        removed = 0
        for entry in entries:
            name = str(entry["name"]).rsplit("/", 1)[-1]
            if entry.get("type") != "file" or not name.endswith((_SUFFIX, _TMP_SUFFIX)):
                continue
            if self._expired(entry, now):
                with contextlib.suppress(FileNotFoundError):
                    self._fs.rm_file(entry["name"])
                removed += 1
        return removed

    def _expired(self, info: dict[str, Any], now: float) -> bool:
        modified = _modified(info)
        return modified is not None and now - modified > self.ttl_s


def _modified(info: dict[str, Any]) -> float | None:
    """Modification time (epoch seconds) from an fsspec info dict, whichever key the
    filesystem uses: ``mtime`` (local), ``LastModified`` (s3fs), ``updated`` (gcsfs)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None
