"""Consent forms: each clinic's own form for each treatment, in versions; patients' signatures on a version
(typed online, or a signed paper form staff recorded); and withdrawals. All three are append-only: what a
patient signed is never rewritten.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("consent_forms", "consents", "consent_withdrawals")


def upgrade() -> None:
    op.create_table(
        "consent_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("treatment_slug", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("written_by", sa.String(254), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_forms")),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_consent_forms_clinic_id_clinics")),
        sa.UniqueConstraint(
            "clinic_id", "treatment_slug", "version", name=op.f("uq_consent_forms_clinic_id_treatment_slug_version")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_consent_forms_version_positive")),
        sa.CheckConstraint(
            "length(trim(title)) > 0 AND length(trim(body)) > 0", name=op.f("ck_consent_forms_title_and_body_given")
        ),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("signed_name", sa.String(200), nullable=False),
        sa.Column("on_paper", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(254), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_consents_patient_id_patients")),
        sa.ForeignKeyConstraint(["form_id"], ["consent_forms.id"], name=op.f("fk_consents_form_id_consent_forms")),
        sa.CheckConstraint("length(trim(signed_name)) > 0", name=op.f("ck_consents_signed_name_given")),
    )
    op.create_index("ix_consents_patient_id", "consents", ["patient_id"])
    op.create_table(
        "consent_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_by", sa.String(254), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_withdrawals")),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_consent_withdrawals_consent_id_consents")
        ),
        sa.UniqueConstraint("consent_id", name=op.f("uq_consent_withdrawals_consent_id")),
    )
    # What a patient signed, and the words they signed, are never rewritten: a new version, a new signature
    # or a withdrawal is a new row.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION consent_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION consent_refuse_change()"
            )
    else:
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION consent_refuse_change()")
    op.drop_table("consent_withdrawals")  # SQLite drops the tables' triggers with them
    op.drop_index("ix_consents_patient_id", table_name="consents")
    op.drop_table("consents")
    op.drop_table("consent_forms")
