"""The aftercare page of a visit: the warning signs before anything else, filler's emergency signs marked as
such, day by day on the clinic's calendar (not UTC's), and only for the patient or staff, audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_fhir import FRONT_DESK, PATIENT, PRACTITIONER, ClinicApp, open_clinic


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("aftercare"))


def visit_of(clinic: ClinicApp, patient: str, status: models.VisitStatus) -> int:
    with UnitOfWork(clinic.sessions) as uow:
        found = uow.session.scalar(
            select(models.Visit.id)
            .join(models.Patient)
            .where(models.Patient.name == patient, models.Visit.status == status)
            .order_by(models.Visit.id)
        )
        assert found is not None
        return int(found)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_patient_sees_warning_signs_first_then_each_day_on_the_clinics_calendar(clinic: ClinicApp) -> None:
    visit = visit_of(clinic, "Simran Gill", models.VisitStatus.COMPLETED)
    before = len(clinic.audit("visit.read"))
    response = clinic.get(f"/visits/{visit}/aftercare", PATIENT)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = text(response.text)
    assert "Aftercare after your Microneedling" in page and "with Jasleen Bains" in page
    warning = page.index("Call the clinic now if you notice any of these")
    assert warning < page.index("Day by day") < page.index("Day 0: Tuesday 10 November 2026")
    assert "Day 1: Wednesday 11 November 2026 Today" in page  # the clinic's today
    assert 'aria-current="date"' in response.text
    assert "A qualified practitioner makes the final decision." in page
    assert "Your clinic's own written instructions come first" in page
    assert '<link rel="stylesheet" href="/static/site.css">' in response.text
    assert [entity for _, entity in clinic.audit("visit.read")[before:]] == [str(visit)]


def test_after_filler_the_signs_of_a_blocked_vessel_say_call_the_clinic_or_911_at_once(clinic: ClinicApp) -> None:
    visit = visit_of(clinic, "Rosa Alvarez", models.VisitStatus.COMPLETED)
    response = clinic.get(f"/visits/{visit}/aftercare", PRACTITIONER)
    assert response.status_code == 200
    first_sign = re.search(r'<ul class="reasons">\s*<li>(.*?)</li>', response.text, re.DOTALL)
    assert first_sign is not None
    assert '<span class="badge block">Emergency</span> <strong>Blanching' in first_sign.group(1)
    assert "call the clinic or emergency services (911) at once" in first_sign.group(1)


def test_days_are_counted_on_the_clinics_calendar_not_utcs(clinic: ClinicApp) -> None:
    # 17:30 on Tuesday 1 December in Abbotsford is already Wednesday in UTC.
    start = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    with UnitOfWork(clinic.sessions, write=True) as uow:
        patient = uow.session.scalar(select(models.Patient.id).where(models.Patient.name == "Megan Thiessen"))
        clinic_id = uow.session.scalar(select(models.Clinic.id).where(models.Clinic.name == "Mill Lake Medispa"))
        nurse = uow.session.scalar(select(models.Practitioner.id).where(models.Practitioner.name == "Hannah Dyck"))
        assert patient and clinic_id and nurse
        visit = models.Visit(
            patient_id=patient,
            clinic_id=clinic_id,
            treatment_slug="dermal-filler",
            practitioner_id=nurse,
            start_at=start,
            end_at=start + timedelta(minutes=45),
            held_from=start,  # no buffers
            held_until=start + timedelta(minutes=45),
            created_by="test",
        )
        uow.session.add(visit)
        uow.commit()
    page = text(clinic.get(f"/visits/{visit.id}/aftercare", FRONT_DESK).text)
    assert "Tuesday 1 December 2026 at 17:30" in page
    assert "Day 0: Tuesday 1 December 2026" in page and "Day 1: Wednesday 2 December 2026" in page


def test_a_visit_that_did_not_take_place_has_no_aftercare(clinic: ClinicApp) -> None:
    visit = visit_of(clinic, "Rosa Alvarez", models.VisitStatus.CANCELLED)
    page = text(clinic.get(f"/visits/{visit}/aftercare", FRONT_DESK).text)
    assert "This visit was cancelled, so there is no aftercare for it." in page
    assert "Day by day" not in page


def test_only_the_patient_and_staff_see_it(clinic: ClinicApp) -> None:
    theirs = visit_of(clinic, "Claire Penner", models.VisitStatus.COMPLETED)
    assert clinic.get(f"/visits/{theirs}/aftercare", PATIENT).status_code == 404
    assert clinic.get("/visits/999999/aftercare", FRONT_DESK).status_code == 404
    anonymous = clinic.client.get(f"/visits/{theirs}/aftercare", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/sign-in?next=%2Fvisits%2F{theirs}%2Faftercare"
