"""Deposits: the amount a clinic asks to hold a visit of each treatment, the amount each visit was booked with,
whether a cancellation came within the clinic's notice for changes, and the append-only ledger of what staff
recorded of each deposit (taken, applied, refunded, kept, waived).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = "('taken', 'applied', 'refunded', 'kept', 'waived')"


def upgrade() -> None:
    # Column-level checks: SQLite adds them with the column, where a table-level one would rebuild the table
    # (and drop its triggers: the configuration version's and the visits' overlap guards).
    op.add_column(
        "clinic_treatments",
        sa.Column(
            "deposit_cents",
            sa.Integer(),
            sa.CheckConstraint("deposit_cents >= 0", name=op.f("ck_clinic_treatments_deposit_not_negative")),
            nullable=False,
            server_default="0",
        ),
    )
    op.add_column(
        "visits",
        sa.Column(
            "deposit_cents",
            sa.Integer(),
            sa.CheckConstraint("deposit_cents >= 0", name=op.f("ck_visits_deposit_not_negative")),
            nullable=False,
            server_default="0",
        ),
    )
    op.add_column("visits", sa.Column("cancelled_late", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "deposit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(16), nullable=True),
        sa.Column("reference", sa.String(64), nullable=False, server_default=""),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_entries")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_deposit_entries_visit_id_visits")),
        sa.CheckConstraint(f"step IN {STEPS}", name=op.f("ck_deposit_entries_known_step")),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_deposit_entries_positive_amount")),
        sa.CheckConstraint(
            "step <> 'waived' OR length(trim(reason)) > 0", name=op.f("ck_deposit_entries_waiver_has_reason")
        ),
    )
    op.create_index("ix_deposit_entries_visit_id", "deposit_entries", ["visit_id"])
    # Money records are never edited: a mistake is put right by a later entry.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION deposit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'deposit_entries is append-only' USING ERRCODE = 'restrict_violation'; END $$"
        )
        op.execute(
            "CREATE TRIGGER deposit_entries_append_only BEFORE UPDATE OR DELETE ON deposit_entries "
            "FOR EACH ROW EXECUTE FUNCTION deposit_entries_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER deposit_entries_no_{action.lower()} BEFORE {action} ON deposit_entries "
                "BEGIN SELECT RAISE(ABORT, 'deposit_entries is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER deposit_entries_append_only ON deposit_entries")
        op.execute("DROP FUNCTION deposit_entries_refuse_change()")
    op.drop_index("ix_deposit_entries_visit_id", table_name="deposit_entries")
    op.drop_table("deposit_entries")  # SQLite drops the table's triggers with it
    op.drop_column("visits", "cancelled_late")
    op.drop_column("visits", "deposit_cents")
    op.drop_column("clinic_treatments", "deposit_cents")
