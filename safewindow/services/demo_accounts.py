"""Demo sign-ins, one per role, for the fictional Abbotsford clinics. Demo data only: never in production."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safewindow.services.accounts import create_account
from safewindow.store import models
from safewindow.store.account_models import Account, Role

DEMO_PASSWORD = "safewindow-demo"  # noqa: S105  (fictional data, printed by `make run`)
# (e-mail, role, patient name, practitioner e-mail, clinic slug)
DEMO_ACCOUNTS = (
    ("patient@demo.example", Role.PATIENT, "Simran Gill", None, None),
    ("frontdesk@demo.example", Role.FRONT_DESK, None, None, "fraser-valley-skin-studio"),
    ("practitioner@demo.example", Role.PRACTITIONER, None, "physician", "fraser-valley-skin-studio"),
    ("aesthetician@demo.example", Role.PRACTITIONER, None, "aesthetician", "fraser-valley-skin-studio"),
    # A registered nurse (Erin Friesen): gives Botox only on a prescriber's order, may not write one or override.
    ("nurse@demo.example", Role.PRACTITIONER, None, "registered-nurse", "fraser-valley-skin-studio"),
    ("admin@demo.example", Role.CLINIC_ADMIN, None, None, "fraser-valley-skin-studio"),
    # Sumas Mountain's front desk: the demo clinic that asks deposits and 24 hours' notice for changes.
    ("frontdesk.sumas@demo.example", Role.FRONT_DESK, None, None, "sumas-mountain-aesthetics"),
)


def ensure_demo_accounts(session: Session) -> list[tuple[str, str]]:
    """Create what is missing; return every demo (e-mail, role)."""
    for email, role, patient_name, qualification, clinic_slug in DEMO_ACCOUNTS:
        if session.scalar(select(Account.id).where(Account.email == email)) is not None:
            continue
        patient_id = practitioner_id = clinic_id = None
        if patient_name:
            patient_id = session.scalar(select(models.Patient.id).where(models.Patient.name == patient_name))
        if qualification:
            practitioner_id = session.scalar(
                select(models.Practitioner.id)
                .join(models.Practitioner.qualifications)
                .where(models.Qualification.id == qualification)
                .order_by(models.Practitioner.id)
                .limit(1)
            )
        if clinic_slug:
            clinic_id = session.scalar(select(models.Clinic.id).where(models.Clinic.slug == clinic_slug))
        create_account(
            session,
            email=email,
            password=DEMO_PASSWORD,
            role=role,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            clinic_id=clinic_id,
        )
    return [(email, str(role)) for email, role, *_ in DEMO_ACCOUNTS]
