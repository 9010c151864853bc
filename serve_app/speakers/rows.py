"""The registry's rows in the job database (``speakers``, ``voiceprints``; Alembic revision
0003), mixed into :class:`serve_app.jobs.db.JobDatabase`.

Embeddings are float32 bytes (768 bytes for a 192-dim CAM++ vector); the source of each
voiceprint is JSON text. Deleting a speaker deletes every voiceprint of it in the same
transaction (explicitly: SQLite enforces foreign keys only when asked to).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)

from serve_app.speakers.models import Speaker, Voiceprint, VoiceprintSource

_metadata = MetaData()
speakers_table = Table(
    "speakers",
    _metadata,
    Column("speaker_id", Text, primary_key=True),
    Column("owner", Text),
    Column("name", Text),
    Column("created_at", Float),
    Column("updated_at", Float),
)
voiceprints_table = Table(
    "voiceprints",
    _metadata,
    Column("voiceprint_id", Text, primary_key=True),
    Column("speaker_id", Text),
    Column("owner", Text),
    Column("dimension", Integer),
    Column("embedding", LargeBinary),
    Column("source", Text),
    Column("created_at", Float),
)


def to_bytes(embedding: list[float]) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> list[float]:
    return [float(x) for x in np.frombuffer(data, dtype="<f4")]


class VoiceprintRows:
    """Speakers and voiceprints; ``JobDatabase`` supplies the connection and the dialect's
    insert."""

    _begin: Callable[[], AbstractContextManager[Connection]]
    _insert: Callable[[Table], Any]

    def save_speaker(self, speaker: Speaker) -> None:
        """Insert or update a speaker's row (name, time)."""
        row = speaker.model_dump()
        stmt = self._insert(speakers_table).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[speakers_table.c.speaker_id],
            set_={k: stmt.excluded[k] for k in ("name", "updated_at")},
        )
        with self._begin() as conn:
            conn.execute(stmt)

    def add_voiceprints(self, prints: list[Voiceprint], owner: str) -> None:
        """Store voiceprints; one already stored (same id) is left as it is."""
        if not prints:
            return
        rows = [
            {
                "voiceprint_id": p.voiceprint_id,
                "speaker_id": p.speaker_id,
                "owner": owner,
                "dimension": len(p.embedding),
                "embedding": to_bytes(p.embedding),
                "source": p.source.model_dump_json(),
                "created_at": p.created_at,
            }
            for p in prints
        ]
        with self._begin() as conn:
            conn.execute(self._insert(voiceprints_table).on_conflict_do_nothing(), rows)

    def delete_voiceprints(self, voiceprint_ids: list[str]) -> None:
        if not voiceprint_ids:
            return
        with self._begin() as conn:
            conn.execute(
                delete(voiceprints_table).where(
                    voiceprints_table.c.voiceprint_id.in_(voiceprint_ids)
                )
            )

    def delete_speaker(self, speaker_id: str) -> None:
        """The speaker and every voiceprint of it, in one transaction."""
        with self._begin() as conn:
            conn.execute(
                delete(voiceprints_table).where(voiceprints_table.c.speaker_id == speaker_id)
            )
            conn.execute(delete(speakers_table).where(speakers_table.c.speaker_id == speaker_id))

    def rename_speaker(self, speaker_id: str, name: str, updated_at: float) -> None:
        with self._begin() as conn:
            conn.execute(
                update(speakers_table)
                .where(speakers_table.c.speaker_id == speaker_id)
                .values(name=name, updated_at=updated_at)
            )

    def load_speakers(self, owner: str) -> tuple[list[Speaker], list[Voiceprint]]:
        """An owner's speakers (oldest first) and their voiceprints."""
        with self._begin() as conn:
            speakers = [
                Speaker.model_validate(dict(row._mapping))
                for row in conn.execute(
                    select(speakers_table)
                    .where(speakers_table.c.owner == owner)
                    .order_by(speakers_table.c.created_at, speakers_table.c.speaker_id)
                )
            ]
            prints = list(self._prints(conn, owner))
        return speakers, prints

    def _prints(self, conn: Connection, owner: str) -> Iterator[Voiceprint]:
        rows = conn.execute(
            select(voiceprints_table)
            .where(voiceprints_table.c.owner == owner)
            .order_by(voiceprints_table.c.created_at, voiceprints_table.c.voiceprint_id)
        )
        for row in rows:
            yield Voiceprint(
                voiceprint_id=row.voiceprint_id,
                speaker_id=row.speaker_id,
                embedding=from_bytes(row.embedding),
                source=VoiceprintSource.model_validate(json.loads(row.source)),
                created_at=row.created_at,
            )

    def count_voiceprints(self, speaker_id: str | None = None) -> int:
        """Voiceprint rows stored (of one speaker, or all): what an erasure check reads."""
        query = select(func.count()).select_from(voiceprints_table)
        if speaker_id is not None:
            query = query.where(voiceprints_table.c.speaker_id == speaker_id)
        with self._begin() as conn:
            return int(conn.execute(query).scalar_one())
