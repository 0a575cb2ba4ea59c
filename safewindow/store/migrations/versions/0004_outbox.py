"""The outbox (e-mail written with the change that causes it, sent later by the worker), patients' mail
preferences, and revocable calendar feeds.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ics", sa.Text(), nullable=True),
        sa.Column("ics_method", sa.String(16), nullable=True),
        sa.Column("essential", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        _instant("due_at"),
        sa.Column("delivery_key", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        _instant("claimed_at", nullable=True),
        _instant("sent_at", nullable=True),
        _instant("gave_up_at", nullable=True),
        _instant("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_outbox_delivery_key")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outbox_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_outbox_visit_id_visits"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_outbox_sent_at_due_at", "outbox", ["sent_at", "due_at"])
    op.create_index("ix_outbox_visit_id", "outbox", ["visit_id"])
    op.create_index("ix_outbox_patient_id", "outbox", ["patient_id"])

    op.create_table(
        "notification_preferences",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("opted_out_non_essential", sa.Boolean(), nullable=False, server_default=sa.false()),
        _instant("updated_at"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_notification_preferences")),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_notification_preferences_patient_id_patients"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _instant("created_at"),
        _instant("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
        sa.CheckConstraint(
            "owner_kind IN ('patient', 'practitioner')", name=op.f("ck_calendar_feeds_known_owner_kind")
        ),
    )
    op.create_index("ix_calendar_feeds_owner_kind_owner_id", "calendar_feeds", ["owner_kind", "owner_id"])


def downgrade() -> None:
    op.drop_index("ix_calendar_feeds_owner_kind_owner_id", table_name="calendar_feeds")
    op.drop_table("calendar_feeds")
    op.drop_table("notification_preferences")
    op.drop_index("ix_outbox_patient_id", table_name="outbox")
    op.drop_index("ix_outbox_visit_id", table_name="outbox")
    op.drop_index("ix_outbox_sent_at_due_at", table_name="outbox")
    op.drop_table("outbox")
