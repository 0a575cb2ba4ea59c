"""The clinic's notice for changes made online, as patients and staff meet it: the patient's visit page offers
to cancel or move only until then and says until when; later it gives the clinic's number instead, and a
change sent anyway is refused with it and writes nothing. Over the API a patient gets 409 `change-notice`, while
the front desk may still cancel, marked late in the audit log. The confirmation page states the policy first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.offers import Policy, set_booking_policy
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from tests.visits import first_free_visit
from tests.web.test_api_demo import SIMRAN, Demo, open_demo
from tests.web.test_pages_support import (
    CLINIC,
    ZONE,
    client_for,
    demo_store,
    field,
    main_of,
    new_patient,
    sign_in,
    text,
)

TWO_WEEKS = 14 * 24 * 60  # longer than the wait for any first free time, the winter break included
CALL = "please call Fraser Valley Skin Studio at 604-555-0100"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("change-notice"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def _notice(sessions: sessionmaker[Session], minutes: int) -> None:
    set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(120, 90, 15, minutes), actor="test")


def _booked(sessions: sessionmaker[Session], patient_id: int) -> models.Visit:
    return first_free_visit(sessions, patient_id, clinic_id=CLINIC)


def _status(sessions: sessionmaker[Session], visit_id: int) -> models.VisitStatus:
    with sessions() as session:
        visit = session.get(models.Visit, visit_id)
        assert visit is not None
        return visit.status


def test_inside_the_notice_the_page_gives_the_clinics_number_and_a_change_sent_anyway_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _notice(sessions, TWO_WEEKS)
    visit = _booked(sessions, new_patient(sessions, "late@example.com"))
    sign_in(client, "late@example.com")
    page = client.get(f"/my/visits/{visit.id}").text
    shown = text(main_of(page))
    assert "Cancel this visit" not in shown and "Move to another time" not in shown
    assert "takes changes online until 14 days before it begins" in shown
    assert f"To cancel or move it, {CALL} ." in shown  # the number is a link
    assert 'href="tel:+1-604-555-0100"' in page  # what a phone dials, however the clinic wrote it

    token = field(client.get("/my/visits").text, "csrf_token")
    refused = client.post(f"/my/visits/{visit.id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "We could not cancel this visit" in refused.text and CALL in text(refused.text)
    moved = client.post(f"/my/visits/{visit.id}/move", data={"csrf_token": token, "slot": "2030-01-08T10:00"})
    assert moved.status_code == 409 and CALL in text(moved.text)
    assert _status(sessions, visit.id) is models.VisitStatus.BOOKED


def test_outside_the_notice_the_page_says_until_when_and_the_patient_cancels(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _notice(sessions, 60)  # the first free time is at least the two hours' booking notice away
    visit = _booked(sessions, new_patient(sessions, "early@example.com"))
    sign_in(client, "early@example.com")
    page = client.get(f"/my/visits/{visit.id}").text
    closes = (visit.start_at - timedelta(hours=1)).astimezone(ZONE)
    shown = text(main_of(page))
    assert "Cancel this visit" in shown and "Move to another time" in shown
    assert f"You can cancel or move it here until 1 hour before it begins: {closes:%A %-d %B %Y at %H:%M} ." in shown
    cancelled = client.post(
        f"/my/visits/{visit.id}/cancel", data={"csrf_token": field(page, "csrf_token")}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    assert _status(sessions, visit.id) is models.VisitStatus.CANCELLED


def test_without_a_notice_the_page_says_until_it_begins(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _notice(sessions, 0)
    visit = _booked(sessions, new_patient(sessions, "anytime@example.com"))
    sign_in(client, "anytime@example.com")
    shown = text(main_of(client.get(f"/my/visits/{visit.id}").text))
    assert "You can cancel or move it here until it begins." in shown


def test_the_confirmation_page_states_the_policy_before_booking(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _notice(sessions, 24 * 60)
    new_patient(sessions, "booker@example.com")
    sign_in(client, "booker@example.com")
    kb = default_knowledge_base()
    free = find_slots_for(sessions, kb, treatment="chemical-peel-light", clinic_id=CLINIC, limit=1)[0].slot
    slot = f"{free.start.astimezone(ZONE):%Y-%m-%dT%H:%M}@{free.practitioner_id}"
    page = client.get("/book/confirm", params={"treatment": "chemical-peel-light", "clinic": CLINIC, "slot": slot})
    assert page.status_code == 200
    shown = text(main_of(page.text))
    assert (
        "You can cancel or move this visit online, under My visits, until 24 hours before it begins; "
        f"after that, {CALL} ." in shown
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("change-notice-api")) as opened:
        yield opened


def test_over_the_api_a_patient_gets_409_and_the_front_desk_may_still_cancel(demo: Demo) -> None:
    _notice(demo.sessions, TWO_WEEKS)
    mine, theirs = _booked(demo.sessions, SIMRAN).id, _booked(demo.sessions, demo.new_patient()).id
    for path, body in (
        (f"/api/v1/visits/{mine}/cancel", None),
        (f"/api/v1/visits/{mine}/reschedule", {"at": "2030-01-08T10:00"}),
    ):
        refused = demo.call("POST", path, "patient", json=body)
        assert refused.status_code == 409, path
        (problem,) = refused.json()["detail"]
        assert problem["field"] == "change-notice" and CALL in problem["problem"]
    assert _status(demo.sessions, mine) is models.VisitStatus.BOOKED

    assert demo.ok("POST", f"/api/v1/visits/{theirs}/cancel", "front desk")["status"] == "cancelled"
    with demo.sessions() as session:
        detail = session.scalars(
            select(models.AuditEntry.detail).where(
                models.AuditEntry.action == "visit.cancelled", models.AuditEntry.entity_id == str(theirs)
            )
        ).one()
    assert detail["late"] is True
