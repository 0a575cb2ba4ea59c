"""The staff's pages: the diary, patient search and chart (audited), booking for a patient, and who may
override a soft timing rule (a practitioner, with a written reason; never the front desk, not even by a
forged form)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.slots import Slot
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    PRACTITIONER,
    ZONE,
    bookable_days,
    client_for,
    count,
    demo_store,
    field,
    main_of,
    new_patient,
    sign_in,
    text,
    today,
)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("staff"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def free_slot(sessions: sessionmaker[Session], day: date, treatment: str = "botox") -> Slot:
    kb = default_knowledge_base()
    return find_slots_for(sessions, kb, treatment=treatment, clinic_id=CLINIC, first_day=day, days=1, limit=1)[0].slot


def another_time(slot: Slot) -> dict[str, str]:
    local = slot.start.astimezone(ZONE)
    return {"day": local.date().isoformat(), "time": f"{local:%H:%M}", "practitioner": slot.practitioner_id}


@pytest.fixture(scope="module")
def soft_blocked(sessions: sessionmaker[Session]) -> tuple[int, Slot]:
    """A patient who had microneedling two days ago, so Botox is softly blocked for 12 more days; and a free
    Botox time within those days."""
    patient = new_patient(sessions, "healing@example.com", history=(f"microneedling@{today() - timedelta(days=2)}",))
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    assert day < today() + timedelta(days=12)
    return patient, free_slot(sessions, day)


def test_the_day_and_the_week_per_clinic_practitioner_and_room(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "diary@example.com")
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    slot = free_slot(sessions, day, "chemical-peel-light")
    visit = book(
        sessions,
        default_knowledge_base(),
        patient_id=patient,
        treatment="chemical-peel-light",
        clinic_id=CLINIC,
        start=slot.start,
        practitioner_id=int(slot.practitioner_id),
        actor="test",
    ).visit
    sign_in(client, FRONT_DESK)
    assert client.get("/staff/calendar").status_code == 200
    for params in (
        {"day": day.isoformat()},
        {"day": day.isoformat(), "view": "week"},
        {"day": day.isoformat(), "practitioner": slot.practitioner_id},
        {"day": day.isoformat(), "room": str(visit.room_id)},
    ):
        html = client.get("/staff/calendar", params=params).text
        assert "Test Diary" in html and f"/staff/patients/{patient}" in html, params
        assert '<th scope="col">Patient</th>' in html
    # A light peel holds its practitioner and room 5 minutes before and 10 after: the diary says so.
    held_from, held_until = (
        t.astimezone(ZONE) for t in (slot.start - timedelta(minutes=5), slot.end + timedelta(minutes=10))
    )
    assert f"with set-up and clean-up {held_from:%H:%M}–{held_until:%H:%M}" in text(html)
    other = next(p for p in ("1", "3", "4", "7") if p != slot.practitioner_id)
    assert (
        "Test Diary" not in client.get("/staff/calendar", params={"day": day.isoformat(), "practitioner": other}).text
    )
    week = client.get("/staff/calendar", params={"day": day.isoformat(), "view": "week"}).text
    assert week.count('class="diary-day"') == 7 and "the clinic does not open on Mondays" in week


def test_the_diary_names_bad_input_beside_its_field(client: TestClient) -> None:
    sign_in(client, FRONT_DESK)
    bad_day = client.get("/staff/calendar", params={"day": "tomorrow"})
    assert bad_day.status_code == 400 and 'id="day-error"' in bad_day.text
    nobody = client.get("/staff/calendar", params={"practitioner": "999"})
    assert nobody.status_code == 400 and "no practitioner 999" in nobody.text
    other_clinic = client.get("/staff/calendar", params={"clinic": "2"})
    assert other_clinic.status_code == 400 and "you do not work at clinic 2" in other_clinic.text


def test_search_then_chart_and_every_chart_view_is_audited(client: TestClient, sessions: sessionmaker[Session]) -> None:
    sign_in(client, FRONT_DESK)
    found = client.get("/staff/patients", params={"q": "simran"}).text
    assert "Simran Gill" in found and 'href="/staff/patients/1"' in found
    assert "Nobody found" in client.get("/staff/patients", params={"q": "zzz-nobody"}).text
    reads = count(sessions, models.AuditEntry, models.AuditEntry.action == "patient.read")
    front_desk = client.get("/staff/patients/1").text
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "patient.read") == reads + 1
    assert "Microneedling" in front_desk and "Personal factors are shown to practitioners" in front_desk
    sign_in(client, PRACTITIONER)
    rosa = client.get("/staff/patients/4").text  # Rosa Alvarez: blood thinners recorded
    assert "Personal factors" in rosa and "Blood thinners, NSAIDs or fish oil" in text(rosa)
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "patient.read") == reads + 2
    assert client.get("/staff/patients/99999").status_code == 404


def test_front_desk_books_a_safe_time_for_a_patient(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "frontbooked@example.com")
    sign_in(client, FRONT_DESK)
    listing = client.get(f"/staff/patients/{patient}/book", params={"treatment": "botox", "clinic": CLINIC}).text
    assert "badge ideal" in listing
    chosen = field(listing, "slot")
    confirm = client.get(
        f"/staff/patients/{patient}/book/confirm", params={"treatment": "botox", "clinic": CLINIC, "slot": chosen}
    ).text
    sent = client.post(
        f"/staff/patients/{patient}/book/confirm",
        data={"treatment": "botox", "clinic": str(CLINIC), "slot": chosen, "csrf_token": field(confirm, "csrf_token")},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/staff/patients/{patient}?booked=")
    assert "is booked." in client.get(sent.headers["location"]).text


def test_front_desk_cannot_override_and_the_refusal_lists_every_reason(
    client: TestClient, sessions: sessionmaker[Session], soft_blocked: tuple[int, Slot]
) -> None:
    patient, slot = soft_blocked
    sign_in(client, FRONT_DESK)
    query = {"treatment": "botox", "clinic": str(CLINIC), **another_time(slot)}
    confirm = client.get(f"/staff/patients/{patient}/book/confirm", params=query).text
    assert "The timing rules block this date." in confirm
    assert "override_reason" not in confirm and "Only a qualified practitioner may override" in confirm
    form = {
        "treatment": "botox",
        "clinic": str(CLINIC),
        "slot": field(confirm, "slot"),
        "csrf_token": field(confirm, "csrf_token"),
    }
    visits, overrides = count(sessions, models.Visit), count(sessions, models.Override)

    refused = client.post(f"/staff/patients/{patient}/book/confirm", data=form)
    assert refused.status_code == 409
    shown = text(main_of(refused.text))
    for part in (
        "microneedling-then-botox",
        "soft rule",
        "too soon after microneedling",
        "Evidence: practice",
        "Source:",
    ):
        assert part in shown, part
    assert "override_reason" not in refused.text

    forged = client.post(f"/staff/patients/{patient}/book/confirm", data={**form, "override_reason": "patient insists"})
    assert forged.status_code == 403
    assert (count(sessions, models.Visit), count(sessions, models.Override)) == (visits, overrides)


def test_a_practitioner_overrides_a_soft_rule_with_a_reason_and_the_audit_log_shows_it(
    client: TestClient, sessions: sessionmaker[Session], soft_blocked: tuple[int, Slot]
) -> None:
    patient, slot = soft_blocked
    sign_in(client, PRACTITIONER)
    query = {"treatment": "botox", "clinic": str(CLINIC), **another_time(slot)}
    confirm = client.get(f"/staff/patients/{patient}/book/confirm", params=query).text
    assert '<textarea id="override_reason" name="override_reason"' in confirm
    form = {
        "treatment": "botox",
        "clinic": str(CLINIC),
        "slot": field(confirm, "slot"),
        "csrf_token": field(confirm, "csrf_token"),
    }
    empty = client.post(f"/staff/patients/{patient}/book/confirm", data={**form, "override_reason": "  "})
    assert empty.status_code == 400 and 'id="override_reason-error"' in empty.text

    reason = "Travelling for six weeks; skin fully healed on examination; risks discussed"
    sent = client.post(
        f"/staff/patients/{patient}/book/confirm", data={**form, "override_reason": reason}, follow_redirects=False
    )
    assert sent.status_code == 303
    chart = client.get(sent.headers["location"]).text
    assert "Override of" in chart and reason in chart
    with sessions() as session:
        override = session.query(models.Override).filter_by(reason=reason).one()
        assert override.rule_id == "microneedling-then-botox" and override.practitioner_id == 1

    assert client.get("/admin/audit").status_code == 403
    sign_in(client, ADMIN)
    audit = text(client.get("/admin/audit").text)
    assert "microneedling-then-botox" in audit and reason in audit and "Dr. Anika Brar" in audit
    assert "visit.booked" in audit
