"""A clinic's notice for changes made online, and its telephone number.

`booking_policies.change_notice_minutes`: how long before a visit a patient may still cancel or move it
themselves; closer to the visit they call the clinic, whose staff can still change it. Existing clinics get 0
(patients may change a visit online until it begins, as before). `clinics.phone` is the number a patient is
told to call.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column-level check: SQLite adds it with the column, where a table-level one would rebuild the table
    # (and drop the triggers that bump the configuration version).
    op.add_column(
        "booking_policies",
        sa.Column(
            "change_notice_minutes",
            sa.Integer(),
            sa.CheckConstraint(
                "change_notice_minutes >= 0", name=op.f("ck_booking_policies_change_notice_not_negative")
            ),
            nullable=False,
            server_default="0",
        ),
    )
    op.add_column("clinics", sa.Column("phone", sa.String(32), nullable=True))


def downgrade() -> None:
    # SQLite drops a column whose only check is its own.
    op.drop_column("clinics", "phone")
    op.drop_column("booking_policies", "change_notice_minutes")
