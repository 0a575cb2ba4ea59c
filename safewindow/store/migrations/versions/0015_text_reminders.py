"""Text reminders and stop links: a patient may ask for their visit reminders by text message too (opt-in, to
the mobile number on file), each outbox message says whether it goes out as e-mail or as a text, and reminder and
recall e-mail carries a link that stops them in one click (only the link's SHA-256 is kept).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notification_preferences",
        sa.Column("text_reminders", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # A column-level check: SQLite adds it with the column, where a table-level one would rebuild the table.
    op.add_column(
        "outbox",
        sa.Column(
            "channel",
            sa.String(8),
            sa.CheckConstraint("channel IN ('email', 'text')", name=op.f("ck_outbox_known_channel")),
            nullable=False,
            server_default="email",
        ),
    )
    op.add_column("outbox", sa.Column("stop_url", sa.String(300), nullable=True))
    op.create_table(
        "stop_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_links")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_stop_links_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_stop_links_token_hash")),
    )
    op.create_index("ix_stop_links_patient_id", "stop_links", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_stop_links_patient_id", table_name="stop_links")
    op.drop_table("stop_links")
    op.drop_column("outbox", "stop_url")
    op.drop_column("outbox", "channel")
    op.drop_column("notification_preferences", "text_reminders")
