"""Visit changes: a booking, move or cancellation writes one row in its own transaction; the worker writes the
patient's mail from it (notice, reminders, aftercare) and deletes it. Rendering mail and calendar files is
kept out of the booking, which holds the clinic's lock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("visit_version", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("was", sa.DateTime(timezone=True), nullable=True),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_changes")),
        sa.CheckConstraint(
            "event IN ('booked', 'rescheduled', 'cancelled')", name=op.f("ck_visit_changes_known_event")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_changes_visit_id_visits"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_visit_changes_visit_id", "visit_changes", ["visit_id"])


def downgrade() -> None:
    op.drop_index("ix_visit_changes_visit_id", table_name="visit_changes")
    op.drop_table("visit_changes")
