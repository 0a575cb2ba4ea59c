"""Injection maps: each site a treatment record's practitioner marked, with the amount in hundredths of its
unit (units of toxin, mL of filler). Written with the record; a correction is a new record with its own map.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "injection_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("amount_hundredths", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_injection_points")),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["treatment_records.id"],
            name=op.f("fk_injection_points_record_id_treatment_records"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("amount_hundredths > 0", name=op.f("ck_injection_points_positive_amount")),
        sa.UniqueConstraint("record_id", "site", name=op.f("uq_injection_points_record_id_site")),
    )


def downgrade() -> None:
    op.drop_table("injection_points")
