"""A paper consent form's own date: staff may record a form some days after the patient signed it, and its year
of validity counts from the day written on it. NULL for a signature made online (its day is signed_at's).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new column leaves every signature as it was: consents stays append-only (its triggers refuse UPDATE).
    op.add_column("consents", sa.Column("signed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    # Not batch mode: on SQLite it rebuilds the table and would leave it without its append-only triggers.
    # Both databases drop a column in place (SQLite since 3.35).
    op.execute("ALTER TABLE consents DROP COLUMN signed_on")
