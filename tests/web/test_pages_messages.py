"""How a patient hears from the clinic, on the pages: the patient sees their number and choices on Messages (linked
from their navigation) and saves them (post, redirect, get), which writes text reminders for the visits they have
booked; a bad number, or texts without one, is named beside the phone field and nothing is saved; a form without
the session's token is a 403. Any staff role records the patient's choice from the chart, audited without the
number; a patient's account may not use the staff form, nor staff open the patient's page.

Simran Gill (patient 1, +1 604-555-0142) is only looked at; every change is made to a patient of its own."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.services.contact_preferences import ContactPreferences, contact_preferences, set_contact_preferences
from safewindow.store import models
from safewindow.store.outbox_models import Channel, OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from tests.visits import first_free_visit
from tests.web.test_pages_support import (
    ADMIN,
    FRONT_DESK,
    PATIENT,
    PRACTITIONER,
    client_for,
    count,
    csrf,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
)

SIMRAN = 1
ACTION = "patient.contact-preferences"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("messages"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def stored(sessions: sessionmaker[Session], patient: int) -> ContactPreferences:
    with UnitOfWork(sessions) as uow:
        return contact_preferences(uow.session, patient)


def audited(sessions: sessionmaker[Session], patient: int) -> list[models.AuditEntry]:
    with UnitOfWork(sessions) as uow:
        return list(
            uow.session.scalars(
                select(models.AuditEntry)
                .where(models.AuditEntry.action == ACTION, models.AuditEntry.entity_id == str(patient))
                .order_by(models.AuditEntry.id)
            )
        )


def texts(sessions: sessionmaker[Session], patient: int) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        return list(
            uow.session.scalars(
                select(OutboxMessage).where(OutboxMessage.patient_id == patient, OutboxMessage.channel == Channel.TEXT)
            )
        )


def with_texts(sessions: sessionmaker[Session], email: str) -> int:
    """A new patient who already gets texts at +1 604-555-0142."""
    patient = new_patient(sessions, email)
    set_contact_preferences(
        sessions, patient_id=patient, actor="test", phone="604-555-0142", email_reminders=True, text_reminders=True
    )
    return patient


def checked(html: str, name: str) -> bool:
    found = re.search(rf'<input type="checkbox"[^>]*name="{name}"[^>]*>', html)
    assert found, f"no checkbox {name}"
    return " checked" in found.group(0)


def save_mine(client: TestClient, **fields: str) -> tuple[int, str]:
    """The patient's form sent with its token: (status, the page it leads to or shows)."""
    token = csrf(client, "/my/messages")
    sent = client.post("/my/messages", data={"csrf_token": token, **fields}, follow_redirects=False)
    if sent.status_code == 303:
        assert sent.headers["location"] == "/my/messages?saved=1"
        return 303, client.get(sent.headers["location"]).text
    return sent.status_code, sent.text


def error_of(html: str, field_id: str) -> str:
    """What the page says beside a field: the error in its field's box, just above the input."""
    found = re.search(rf'<p class="error-message" id="{field_id}-error">(.*?)</p>\s*<input[^>]* id="{field_id}"', html)
    assert found, f"no error beside {field_id}"
    return text(found.group(1)).strip()


def section(html: str) -> str:
    """The chart's Messages section, as HTML."""
    main = main_of(html)
    start = main.index('<section aria-labelledby="messages-title" id="messages">')
    return main[start : main.index("</section>", start)]


# --- The patient's page -------------------------------------------------------------------------------------------


def test_the_patient_sees_their_number_and_choices(client: TestClient) -> None:
    sign_in(client, PATIENT)
    page = main_of(client.get("/my/messages").text)
    assert re.search(r'<input type="tel" id="phone" name="phone" value="\+1 604-555-0142" autocomplete="tel"', page)
    assert checked(page, "email_reminders") and not checked(page, "text_reminders")
    said = text(page)
    assert "simran.gill@example.com" in said
    assert "Reminders and recalls by e-mail" in said and "Visit reminders by text message too" in said
    assert "aftercare, always comes" in said and "never the treatment" in said
    assert "Reply STOP to end texts" in said and "Standard message rates may apply" in said


def test_the_patient_navigation_leads_to_messages(client: TestClient) -> None:
    sign_in(client, PATIENT)
    assert '<a href="/my/messages">Messages</a>' in client.get("/my/visits").text
    assert '<a href="/my/messages" aria-current="page">Messages</a>' in client.get("/my/messages").text


def test_turning_texts_on_saves_and_writes_text_reminders_for_booked_visits(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "texts-on@example.com")
    # Three days ahead, so both reminders (48 and 2 hours before) are still to come.
    visit = first_free_visit(sessions, patient, now=now_utc() + timedelta(days=3))
    assert texts(sessions, patient) == []
    sign_in(client, "texts-on@example.com")

    status, page = save_mine(client, phone="(604) 555-0199", email_reminders="yes", text_reminders="yes")

    assert status == 303
    assert "Saved." in text(main_of(page)) and 'value="+1 604-555-0199"' in page
    assert checked(page, "text_reminders") and checked(page, "email_reminders")
    assert stored(sessions, patient) == ContactPreferences(
        patient, "texts-on@example.com", "+16045550199", email_reminders=True, text_reminders=True
    )
    written = texts(sessions, patient)
    assert sorted(m.kind for m in written) == ["reminder-2h", "reminder-48h"]
    assert {(m.recipient, m.visit_id, m.essential) for m in written} == {("+16045550199", visit.id, False)}
    assert not any("peel" in m.body.lower() for m in written)  # a lock screen shows the text
    (entry,) = audited(sessions, patient)
    assert entry.actor.startswith("patient:")


def test_a_bad_number_is_named_beside_the_phone_field_and_nothing_is_saved(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = with_texts(sessions, "bad-number@example.com")
    before, entries = stored(sessions, patient), len(audited(sessions, patient))
    sign_in(client, "bad-number@example.com")

    status, page = save_mine(client, phone="555-01", text_reminders="yes")

    assert status == 400
    main = main_of(page)
    assert '<a href="#phone">Mobile number: ' in main
    assert error_of(main, "phone").startswith("Error: '555-01' is not a valid telephone number")
    assert re.search(r'id="phone" name="phone" value="555-01"[^>]*aria-invalid="true"', main)  # kept as typed
    assert not checked(main, "email_reminders") and checked(main, "text_reminders")  # as sent
    assert stored(sessions, patient) == before
    assert len(audited(sessions, patient)) == entries


def test_texts_without_a_number_are_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = with_texts(sessions, "no-number@example.com")
    before = stored(sessions, patient)
    sign_in(client, "no-number@example.com")

    status, page = save_mine(client, phone="", email_reminders="yes", text_reminders="yes")

    assert status == 400
    assert error_of(main_of(page), "phone") == "Error: text reminders need a mobile number"
    assert stored(sessions, patient) == before


def test_a_form_without_the_session_token_is_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "no-token@example.com")
    before = stored(sessions, patient)
    sign_in(client, "no-token@example.com")
    for data in ({}, {"csrf_token": "forged"}):
        sent = client.post("/my/messages", data={**data, "phone": "604-555-0199", "text_reminders": "yes"})
        assert sent.status_code == 403
    assert stored(sessions, patient) == before
    assert audited(sessions, patient) == []


def test_staff_and_visitors_do_not_get_the_patients_page(client: TestClient) -> None:
    away = client.get("/my/messages", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/sign-in?next=")
    sign_in(client, FRONT_DESK)
    assert client.get("/my/messages").status_code == 403
    token = csrf(client, "/staff")
    assert client.post("/my/messages", data={"csrf_token": token, "phone": ""}).status_code == 403


# --- The chart ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("staff", [FRONT_DESK, PRACTITIONER, ADMIN], ids=["front-desk", "practitioner", "admin"])
def test_staff_record_the_patients_choice_on_the_chart(
    client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    name = staff.split("@")[0]
    patient = new_patient(sessions, f"told-{name}@example.com")
    sign_in(client, staff)
    shown = text(section(client.get(f"/staff/patients/{patient}").text))
    assert "Mobile number None given" in shown and "Visit reminders by text message No" in shown

    token = csrf(client, f"/staff/patients/{patient}")
    data = {"csrf_token": token, "phone": "604 555 0177", "text_reminders": "yes"}  # e-mail reminders unticked
    sent = client.post(f"/staff/patients/{patient}/messages", data=data, follow_redirects=False)

    assert sent.status_code == 303
    assert sent.headers["location"] == f"/staff/patients/{patient}?messages=saved#messages"
    shown = text(section(client.get(sent.headers["location"]).text))
    assert "Saved." in shown and "Mobile number +1 604-555-0177" in shown
    assert "Reminders and recalls by e-mail No" in shown and "Visit reminders by text message Yes" in shown
    assert stored(sessions, patient) == ContactPreferences(
        patient, f"told-{name}@example.com", "+16045550177", email_reminders=False, text_reminders=True
    )
    (entry,) = audited(sessions, patient)
    assert entry.actor.startswith(("front-desk:", "practitioner:", "clinic-admin:"))
    assert entry.detail == {"email_reminders": False, "text_reminders": True, "phone_changed": True}
    assert "0177" not in json.dumps(entry.detail)


def test_a_bad_number_on_the_chart_is_named_and_nothing_is_saved(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = with_texts(sessions, "chart-bad@example.com")
    before = stored(sessions, patient)
    sign_in(client, FRONT_DESK)
    token = csrf(client, f"/staff/patients/{patient}")
    data = {"csrf_token": token, "phone": "not a number", "email_reminders": "yes", "text_reminders": "yes"}

    sent = client.post(f"/staff/patients/{patient}/messages", data=data)

    assert sent.status_code == 400
    shown = section(sent.text)
    assert '<a href="#messages-phone">Mobile number: ' in shown
    assert error_of(shown, "messages-phone") == "Error: 'not a number' is not a telephone number"
    assert 'value="not a number"' in shown  # as typed
    assert "Mobile number +1 604-555-0142" in text(shown)  # what is stored still shows
    assert stored(sessions, patient) == before
    assert len(audited(sessions, patient)) == 1  # the setting up only


def test_the_chart_form_needs_its_token_and_a_patient_that_exists(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "chart-token@example.com")
    sign_in(client, FRONT_DESK)
    data = {"phone": "604-555-0177", "text_reminders": "yes"}
    assert client.post(f"/staff/patients/{patient}/messages", data=data).status_code == 403
    token = csrf(client, "/staff")
    assert client.post("/staff/patients/999999/messages", data={**data, "csrf_token": token}).status_code == 404
    assert stored(sessions, patient).phone is None and audited(sessions, patient) == []


def test_a_patient_may_not_use_the_staff_form(client: TestClient, sessions: sessionmaker[Session]) -> None:
    before = stored(sessions, SIMRAN)
    entries = count(sessions, models.AuditEntry, models.AuditEntry.action == ACTION)
    sign_in(client, PATIENT)
    token = csrf(client, "/my/messages")
    data = {"csrf_token": token, "phone": "", "email_reminders": "yes"}
    assert client.post(f"/staff/patients/{SIMRAN}/messages", data=data).status_code == 403
    assert stored(sessions, SIMRAN) == before
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == ACTION) == entries
