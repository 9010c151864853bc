"""Version 3: known speakers. ``speakers`` (an owner's enrolled people) and ``voiceprints``
(their speaker embeddings, float32 bytes, with the clip or job span each came from).

A voiceprint is biometric data: deleting a speaker deletes its rows here, nothing is kept
elsewhere (``serve_app.speakers.rows``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "speakers",
        sa.Column("speaker_id", sa.Text, primary_key=True, nullable=False),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
        sa.Column("updated_at", sa.Float(precision=53), nullable=False),
    )
    op.create_index("ix_speakers_owner", "speakers", ["owner"])
    op.create_table(
        "voiceprints",
        sa.Column("voiceprint_id", sa.Text, primary_key=True, nullable=False),
        sa.Column(
            "speaker_id",
            sa.Text,
            sa.ForeignKey("speakers.speaker_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("dimension", sa.Integer, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float(precision=53), nullable=False),
    )
    op.create_index("ix_voiceprints_owner", "voiceprints", ["owner"])
    op.create_index("ix_voiceprints_speaker_id", "voiceprints", ["speaker_id"])
    op.get_bind().exec_driver_sql("UPDATE schema_version SET version = 3")


def downgrade() -> None:
    raise NotImplementedError("the job database is never downgraded")
