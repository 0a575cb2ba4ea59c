"""The clinic administrator's pages: hours, closures and staff through services/admin.py (a change that would
strand a booked visit is refused with the list), and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    ZONE,
    bookable_days,
    client_for,
    count,
    csrf,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
    today,
)

HANNAH = 6  # Hannah Dyck works at Mill Lake Medispa only, Tuesday to Saturday


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("admin"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        sign_in(test_client, ADMIN)
        yield test_client


@pytest.fixture(scope="module")
def booked(sessions: sessionmaker[Session]) -> models.Visit:
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    kb = default_knowledge_base()
    slot = find_slots_for(sessions, kb, treatment="microneedling", clinic_id=CLINIC, first_day=day, days=1, limit=1)[0]
    patient = new_patient(sessions, "admin-booked@example.com")
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="microneedling",
        clinic_id=CLINIC,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="test",
    ).visit


def test_the_settings_page_shows_hours_closures_and_staff(client: TestClient) -> None:
    html = client.get("/admin/clinic").text
    assert 'id="open-start-1-0" name="open-start-1-0" value="09:00"' in html  # Tuesday
    assert 'id="open-start-0-0" name="open-start-0-0" value=""' in html  # closed on Mondays
    assert "Winter break" in html and "Jasleen Bains" in html
    for control in ("first_day", "last_day", "reason", "practitioner"):
        assert f'<label for="{control}">' in html


def test_only_the_clinic_admin_opens_it(sessions: sessionmaker[Session]) -> None:
    with client_for(sessions) as other:
        sign_in(other, FRONT_DESK)
        assert other.get("/admin/clinic").status_code == 403
        assert other.post("/admin/clinic/closures", data={"csrf_token": csrf(other, "/staff")}).status_code == 403


def test_a_closure_is_added_audited_and_removed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    first = today() + timedelta(days=300)
    data = {"first_day": first.isoformat(), "last_day": (first + timedelta(days=2)).isoformat(), "reason": "Renovation"}
    assert client.post("/admin/clinic/closures", data={**data, "csrf_token": "forged"}).status_code == 403
    sent = client.post(
        "/admin/clinic/closures", data={**data, "csrf_token": csrf(client, "/admin/clinic")}, follow_redirects=False
    )
    assert sent.status_code == 303
    page = client.get(sent.headers["location"]).text
    assert "The closure is added." in page and "Renovation" in page
    assert "clinic.closure-added" in client.get("/admin/audit").text
    with sessions() as session:
        closure = session.query(models.ClinicClosure).filter_by(reason="Renovation").one()
    removed = client.post(
        f"/admin/clinic/closures/{closure.id}/remove",
        data={"csrf_token": csrf(client, "/admin/clinic")},
        follow_redirects=False,
    )
    assert removed.status_code == 303 and "Renovation" not in client.get("/admin/clinic").text


def test_bad_closures_are_messages_beside_their_fields(client: TestClient) -> None:
    token = csrf(client, "/admin/clinic")
    empty = client.post(
        "/admin/clinic/closures", data={"csrf_token": token, "first_day": "", "last_day": "x", "reason": ""}
    )
    assert empty.status_code == 400
    for name in ("first_day", "last_day", "reason"):
        assert f'id="{name}-error"' in empty.text
    backwards = client.post(
        "/admin/clinic/closures",
        data={"csrf_token": token, "first_day": "2030-05-10", "last_day": "2030-05-01", "reason": "Backwards"},
    )
    assert backwards.status_code == 400 and 'id="last_day-error"' in backwards.text


def test_a_closure_over_a_booked_visit_is_refused_with_the_visit(client: TestClient, booked: models.Visit) -> None:
    day = booked.start_at.astimezone(ZONE).date().isoformat()
    token = csrf(client, "/admin/clinic")
    refused = client.post(
        "/admin/clinic/closures", data={"csrf_token": token, "first_day": day, "last_day": day, "reason": "Flood"}
    )
    assert refused.status_code == 409
    shown = text(main_of(refused.text))
    assert "The closure was not added" in shown and f"Visit {booked.id}" in shown and "visit-in-closure" in shown


def test_opening_hours_are_checked_then_saved(client: TestClient, sessions: sessionmaker[Session]) -> None:
    token = csrf(client, "/admin/clinic")
    hours = {f"open-start-{d}-0": "09:00" for d in range(1, 6)} | {f"open-end-{d}-0": "17:00" for d in range(1, 6)}
    half = client.post("/admin/clinic/hours", data={"csrf_token": token, **hours, "open-start-0-0": "10:00"})
    assert half.status_code == 400 and "Monday: give both the start and the end" in half.text
    wrong = client.post(
        "/admin/clinic/hours", data={"csrf_token": token, **hours, "open-start-0-0": "ten", "open-end-0-0": "14:00"}
    )
    assert wrong.status_code == 400 and 'id="hours-error"' in wrong.text
    saved = client.post(
        "/admin/clinic/hours",
        data={"csrf_token": token, **hours, "open-start-0-0": "10:00", "open-end-0-0": "14:00"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'name="open-start-0-0" value="10:00"' in client.get("/admin/clinic").text
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "clinic.hours-changed") == 1


def test_a_practitioner_is_activated_and_deactivated_at_the_clinic(client: TestClient, booked: models.Visit) -> None:
    token = csrf(client, "/admin/clinic")
    clash = client.post(
        "/admin/clinic/staff",
        data={"csrf_token": token, "practitioner": str(HANNAH), "work-start-1-0": "09:00", "work-end-1-0": "12:00"},
    )
    assert clash.status_code == 400 and "works at clinic 3" in clash.text  # her Tuesdays are Mill Lake's
    joined = client.post(
        "/admin/clinic/staff",
        data={"csrf_token": token, "practitioner": str(HANNAH), "work-start-0-0": "10:00", "work-end-0-0": "14:00"},
        follow_redirects=False,
    )
    assert joined.status_code == 303
    assert "Hannah Dyck (works here)" in client.get("/admin/clinic").text
    left = client.post(f"/admin/clinic/staff/{HANNAH}/leave", data={"csrf_token": token}, follow_redirects=False)
    assert left.status_code == 303 and "Hannah Dyck (works here)" not in client.get("/admin/clinic").text

    busy = client.post(f"/admin/clinic/staff/{booked.practitioner_id}/leave", data={"csrf_token": token})
    assert busy.status_code == 409 and f"Visit {booked.id}" in text(busy.text)
    assert client.post("/admin/clinic/staff", data={"csrf_token": token, "practitioner": ""}).status_code == 400
