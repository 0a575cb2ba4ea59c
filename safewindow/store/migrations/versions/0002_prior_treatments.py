"""Treatments a patient had elsewhere: they count in the history the timing rules read.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prior_treatments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment_slug", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area", sa.String(64), nullable=False, server_default="face"),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_treatments")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_prior_treatments_patient_id_patients"), ondelete="CASCADE"
        ),
    )
    op.create_index("ix_prior_treatments_patient_id", "prior_treatments", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_prior_treatments_patient_id", table_name="prior_treatments")
    op.drop_table("prior_treatments")
