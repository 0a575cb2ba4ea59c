"""The configuration version: one row that every change to a clinic's setup bumps, by trigger.

A process keeps each clinic's setup (hours, closures, rooms, devices, treatments offered, booking policy,
practitioners with their hours, time off and qualifications, rule adjustments, webhook endpoints) in memory
and reloads it when this version moves (services/clinic_setup.py). Triggers, not application code, bump it,
so no path that changes the setup (a service, the demo loader, a hand-written UPDATE) can leave a stale copy.
`instance` is random per database, so two databases that share a URL over time (a test that recreates its
schema) never share cached setups.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETUP_TABLES = (
    "clinics",
    "clinic_hours",
    "clinic_closures",
    "rooms",
    "devices",
    "clinic_treatments",
    "booking_policies",
    "practitioners",
    "practitioner_hours",
    "practitioner_time_off",
    "practitioner_qualifications",
    "qualifications",
    "qualification_permissions",
    "rule_adjustments",
    "webhook_endpoints",
)
BUMP = "UPDATE configuration_version SET version = version + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "configuration_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configuration_version")),
        sa.CheckConstraint("id = 1", name=op.f("ck_configuration_version_single_row")),
    )
    op.execute(
        sa.text("INSERT INTO configuration_version (id, instance, version) VALUES (1, :instance, 1)").bindparams(
            instance=uuid4().hex
        )
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION configuration_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in SETUP_TABLES:
            # Once per statement, not per row: loading a demo clinic bumps a handful of times, not hundreds.
            op.execute(
                f"CREATE TRIGGER {table}_bump_configuration AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION configuration_bump()"
            )
    else:
        for table in SETUP_TABLES:
            for action in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_bump_configuration_{action.lower()} AFTER {action} ON {table} "
                    f"BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in SETUP_TABLES:
            op.execute(f"DROP TRIGGER {table}_bump_configuration ON {table}")
        op.execute("DROP FUNCTION configuration_bump()")
    else:
        for table in SETUP_TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_configuration_{action}")
    op.drop_table("configuration_version")
