"""A practitioner's time off on the administrator's clinic page: shown for the practitioner chosen, added with
the form (errors beside their fields; refused over a booked visit, with the list), removed with its button;
for the clinic's administrator only, each change with the session's CSRF token."""

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

BRAR, ERIN, HANNAH = 1, 4, 6  # Erin Friesen is on vacation 15-19 Dec 2026; Hannah Dyck works at clinic 3 only
PAGE = f"/admin/clinic?practitioner={BRAR}"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("time-off"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        sign_in(test_client, ADMIN)
        yield test_client


def form(first: str, last: str = "", start: str = "", end: str = "", reason: str = "") -> dict[str, str]:
    return {
        "off_first_day": first,
        "off_last_day": last or first,
        "off_start_time": start,
        "off_end_time": end,
        "off_reason": reason,
    }


def time_off_count(sessions: sessionmaker[Session]) -> int:
    return count(sessions, models.TimeOff)


def test_the_chosen_practitioner_s_time_off_is_listed_with_a_form_to_add_more(client: TestClient) -> None:
    html = client.get(f"/admin/clinic?practitioner={ERIN}").text
    shown = text(main_of(html))
    assert "Time off: Erin Friesen" in shown and "15 Dec 2026 19 Dec 2026 Vacation" in shown
    assert f'action="/admin/clinic/staff/{ERIN}/time-off"' in html and "/remove" in html
    for control in ("off_first_day", "off_last_day", "off_start_time", "off_end_time", "off_reason"):
        assert f'<label for="{control}">' in html
    assert "<legend>Days off (local time)</legend>" in html
    # Nobody chosen, or someone who does not work here: no time off to manage.
    assert "Add time off" not in client.get("/admin/clinic").text
    assert "Add time off" not in client.get(f"/admin/clinic?practitioner={HANNAH}").text


def test_time_off_is_added_audited_and_removed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    first = today() + timedelta(days=200)
    data = form(first.isoformat(), (first + timedelta(days=1)).isoformat(), "13:00", "17:00", "Course")
    before = time_off_count(sessions)
    assert client.post(f"/admin/clinic/staff/{BRAR}/time-off", data={**data, "csrf_token": "forged"}).status_code == 403
    assert time_off_count(sessions) == before
    sent = client.post(
        f"/admin/clinic/staff/{BRAR}/time-off",
        data={**data, "csrf_token": csrf(client, PAGE)},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/admin/clinic?done=time-off&practitioner={BRAR}#time-off"
    shown = text(main_of(client.get(sent.headers["location"]).text))
    day, next_day = f"{first.day} {first:%b %Y}", f"{(first + timedelta(days=1)).day} {first + timedelta(days=1):%b %Y}"
    assert "The time off is added." in shown and f"{day} 13:00 {next_day} 17:00 Course" in shown
    assert "practitioner.time-off-added" in client.get("/admin/audit").text
    with sessions() as session:
        entry = session.query(models.TimeOff).filter_by(reason="Course").one()
    assert entry.start_at.astimezone(ZONE).hour == 13

    assert (
        client.post(f"/admin/clinic/staff/{BRAR}/time-off/{entry.id}/remove", data={"csrf_token": "x"}).status_code
        == 403
    )
    removed = client.post(
        f"/admin/clinic/staff/{BRAR}/time-off/{entry.id}/remove",
        data={"csrf_token": csrf(client, PAGE)},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    page = client.get(removed.headers["location"]).text
    assert "The time off is removed." in page and "Course" not in page
    assert time_off_count(sessions) == before
    again = client.post(
        f"/admin/clinic/staff/{BRAR}/time-off/{entry.id}/remove", data={"csrf_token": csrf(client, PAGE)}
    )
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (form("", "x"), ("off_first_day", "off_last_day")),
        (form("2030-05-10", "2030-05-01"), ("off_last_day",)),
        (form("2030-05-10", start="25:00", end="nine"), ("off_start_time", "off_end_time")),
        (form("2030-05-10", start="12:00", end="11:00"), ("off_end_time",)),
        (form("2020-05-10"), ("off_last_day",)),
        (form("2030-05-10", "2031-06-01"), ("off_last_day",)),
        (form("2030-05-10", reason="x" * 201), ("off_reason",)),
    ],
)
def test_bad_time_off_is_a_message_beside_its_field(
    client: TestClient, sessions: sessionmaker[Session], data: dict[str, str], fields: tuple[str, ...]
) -> None:
    before = time_off_count(sessions)
    sent = client.post(f"/admin/clinic/staff/{BRAR}/time-off", data={**data, "csrf_token": csrf(client, PAGE)})
    assert sent.status_code == 400
    for name in fields:
        assert f'id="{name}-error"' in sent.text
        assert f'href="#{name}"' in sent.text  # the summary above the forms points to it
    assert 'id="time-off-title"' in sent.text  # the practitioner stays chosen
    assert time_off_count(sessions) == before


def test_overlapping_time_off_is_refused_naming_the_one_there(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    before = time_off_count(sessions)
    sent = client.post(
        f"/admin/clinic/staff/{ERIN}/time-off", data={**form("2026-12-19", "2026-12-21"), "csrf_token": csrf(client)}
    )
    assert sent.status_code == 400 and 'id="off_first_day-error"' in sent.text
    assert "they are off already from 2026-12-15 00:00 to 2026-12-20 00:00" in text(sent.text)
    assert 'value="2026-12-21"' in sent.text  # what was typed stays
    assert time_off_count(sessions) == before


def test_time_off_over_a_booked_visit_is_refused_with_the_visit(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    kb = default_knowledge_base()
    slot = find_slots_for(sessions, kb, treatment="microneedling", clinic_id=CLINIC, first_day=day, days=1, limit=1)[0]
    visit = book(
        sessions,
        kb,
        patient_id=new_patient(sessions, "time-off-booked@example.com"),
        treatment="microneedling",
        clinic_id=CLINIC,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="test",
    ).visit
    local_day = visit.start_at.astimezone(ZONE).date().isoformat()
    before = time_off_count(sessions)
    refused = client.post(
        f"/admin/clinic/staff/{visit.practitioner_id}/time-off",
        data={**form(local_day, reason="Sick"), "csrf_token": csrf(client)},
    )
    assert refused.status_code == 409
    shown = text(main_of(refused.text))
    assert "The time off was not added" in shown and f"Visit {visit.id}" in shown and "visit-in-time-off" in shown
    assert time_off_count(sessions) == before


def test_only_the_clinic_admin_manages_time_off(sessions: sessionmaker[Session], client: TestClient) -> None:
    with client_for(sessions) as other:
        sign_in(other, FRONT_DESK)
        token = csrf(other, "/staff")
        added = other.post(f"/admin/clinic/staff/{BRAR}/time-off", data={**form("2030-01-02"), "csrf_token": token})
        assert added.status_code == 403
        assert (
            other.post(f"/admin/clinic/staff/{ERIN}/time-off/1/remove", data={"csrf_token": token}).status_code == 403
        )
    # A practitioner who does not work at the admin's clinic is not theirs to give time off.
    elsewhere = client.post(
        f"/admin/clinic/staff/{HANNAH}/time-off", data={**form("2030-01-02"), "csrf_token": csrf(client)}
    )
    assert elsewhere.status_code == 404
    assert "Vacation" in client.get(f"/admin/clinic?practitioner={ERIN}").text
