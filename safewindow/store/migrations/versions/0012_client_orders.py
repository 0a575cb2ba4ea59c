"""Authorized prescribers' client-specific orders.

`client_orders`: a prescriber's order that lets a patient have a treatment from a practitioner who gives it
only on such an order (a grant's `on_order_only`, which the store has held since 0001 and booking now
honours), on visits up to `valid_until`. Revoked, never deleted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment_slug", sa.String(64), nullable=False),
        sa.Column("prescriber_id", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("written_by", sa.String(254), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(254), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_orders")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_client_orders_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"], ["practitioners.id"], name=op.f("fk_client_orders_prescriber_id_practitioners")
        ),
        sa.CheckConstraint(
            "revoked_at IS NULL OR revoked_by IS NOT NULL", name=op.f("ck_client_orders_revoked_by_someone")
        ),
    )
    op.create_index("ix_client_orders_patient_id", "client_orders", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_client_orders_patient_id", table_name="client_orders")
    op.drop_table("client_orders")
