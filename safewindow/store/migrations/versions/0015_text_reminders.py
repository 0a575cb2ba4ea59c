"""Text reminders: a patient may ask for their visit reminders by text message too (opt-in, to the mobile number
on file), and each outbox message says whether it goes out as e-mail or as a text.

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


def downgrade() -> None:
    op.drop_column("outbox", "channel")
    op.drop_column("notification_preferences", "text_reminders")
