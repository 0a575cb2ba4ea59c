"""Treatment records: what was given at a completed visit (product, lot number and expiry, dose, areas, note)
and that the patient gave informed consent first. Corrections are new rows; the latest is the visit's record.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "treatment_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("lot_number", sa.String(64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("dose", sa.String(100), nullable=False, server_default=""),
        sa.Column("areas", sa.String(500), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("consent_confirmed", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_records")),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_treatment_records_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.CheckConstraint("consent_confirmed", name=op.f("ck_treatment_records_consent_confirmed")),
        sa.CheckConstraint(
            "length(trim(product)) > 0 AND length(trim(lot_number)) > 0",
            name=op.f("ck_treatment_records_product_and_lot_given"),
        ),
    )
    op.create_index("ix_treatment_records_visit_id", "treatment_records", ["visit_id"])
    op.create_index("ix_treatment_records_lot_number", "treatment_records", ["lot_number"])


def downgrade() -> None:
    op.drop_index("ix_treatment_records_lot_number", table_name="treatment_records")
    op.drop_index("ix_treatment_records_visit_id", table_name="treatment_records")
    op.drop_table("treatment_records")
