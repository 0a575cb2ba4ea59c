"""Booking as a patient does it, and the patient's own pages: visits, moving, cancelling, history and factors.
Dates are picked relative to the clinic's today, so the tests hold whatever the date."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.orders import write_order
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from tests.visits import first_free_visit
from tests.web.test_pages_support import (
    CLINIC,
    PATIENT,
    ZONE,
    client_for,
    consecutive_bookable_days,
    count,
    csrf,
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
    yield from demo_store(tmp_path_factory.mktemp("booking"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def day_section(html: str, day: object) -> str:
    """One day's fieldset of the slot list."""
    start = html.index(f'<legend><time datetime="{day}">')
    end = html.find('<fieldset class="slot-day">', start)
    return html[start : end if end > 0 else len(html)]


def slot_values(html: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', html)


def test_anyone_may_look_at_the_free_times_but_unmarked(client: TestClient) -> None:
    html = client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text
    assert slot_values(html)
    assert "badge ideal" not in html and "badge allowed" not in html
    assert "/sign-in?next=" in html and "Sign in to book" in html
    assert FINAL_WORD in text(html)


def test_the_times_say_when_some_practitioners_give_it_only_on_a_prescribers_order(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    note = "only on a prescriber's order for you"
    # Registered nurses inject there only on order; microneedling needs none.
    assert note in text(client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text)
    assert note not in text(client.get("/book", params={"treatment": "microneedling", "clinic": CLINIC}).text)
    patient = new_patient(sessions, "no-order@example.com")
    sign_in(client, "no-order@example.com")
    signed_in = text(client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text)
    assert note in signed_in and "you do not have one in force" in signed_in
    write_order(
        sessions,
        default_knowledge_base(),
        patient_id=patient,
        treatment="botox",
        prescriber_id=1,  # Dr. Anika Brar
        valid_until=today() + timedelta(days=30),
        actor="test",
    )
    assert note not in text(client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text)


def test_a_bad_choice_is_a_message_beside_its_field(client: TestClient) -> None:
    response = client.get("/book", params={"treatment": "kybella", "clinic": CLINIC})
    assert response.status_code == 400
    assert "Fraser Valley Skin Studio does not offer Kybella" in text(response.text)
    assert 'id="treatment-error"' in response.text
    empty = client.get("/book", params={"treatment": "", "clinic": "x1"})
    assert empty.status_code == 400
    assert 'id="treatment-error"' in empty.text and 'id="clinic-error"' in empty.text
    assert client.get("/book", params={"treatment": "botox", "clinic": CLINIC, "from": "soon"}).status_code == 400


def test_a_patients_times_are_marked_ideal_or_allowed_with_the_warning(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    # Microneedling 28 days before D: Botox is ideally 14-28 days after, so D is ideal and D + 1 only allowed.
    day = consecutive_bookable_days(sessions, today() + timedelta(days=1))
    new_patient(sessions, "ideal@example.com", history=(f"microneedling@{day - timedelta(days=28)}",))
    sign_in(client, "ideal@example.com")
    html = client.get("/book", params={"treatment": "botox", "clinic": CLINIC, "from": day.isoformat()}).text
    ideal, allowed = day_section(html, day), day_section(html, day + timedelta(days=1))
    assert "badge ideal" in ideal and "badge allowed" not in ideal
    assert "badge allowed" in allowed and "badge ideal" not in allowed
    assert "is allowed but outside the ideal window" in text(allowed)
    assert "Earliest date you can book" in text(html) and "Ideal window" in text(html)


def test_a_patient_confirms_a_time_and_gets_the_confirmation(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_patient(sessions, "books@example.com")
    sign_in(client, "books@example.com")
    listing = client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text
    chosen = slot_values(listing)[0]
    query = {"treatment": "botox", "clinic": CLINIC, "slot": chosen}
    confirm = client.get("/book/confirm", params=query)
    assert confirm.status_code == 200 and "This time suits your timing rules." in text(confirm.text)
    token = field(confirm.text, "csrf_token")
    form = {"treatment": "botox", "clinic": str(CLINIC), "slot": chosen}

    assert client.post("/book/confirm", data={**form, "csrf_token": "forged"}).status_code == 403
    overriding = client.post("/book/confirm", data={**form, "csrf_token": token, "override_reason": "I know best"})
    assert overriding.status_code == 403
    booked = client.post("/book/confirm", data={**form, "csrf_token": token}, follow_redirects=False)
    assert booked.status_code == 303
    visit_page = client.get(booked.headers["location"])
    assert "Your visit is booked." in text(visit_page.text)
    assert "Fraser Valley Skin Studio" in visit_page.text
    assert re.search(r"/my/visits/\d+", booked.headers["location"])
    assert booked.headers["location"].split("?")[0] in client.get("/my/visits").text


def test_confirming_needs_a_signed_in_patient(client: TestClient) -> None:
    query = "/book/confirm?treatment=botox&clinic=1&slot=2030-01-01T10:00"
    response = client.get(query, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=%2Fbook%2Fconfirm%3Ftreatment%3Dbotox")


def test_a_blocked_patient_sees_why_and_a_refused_booking_lists_every_reason(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_patient(sessions, "expecting@example.com", factors=("pregnancy",))
    sign_in(client, "expecting@example.com")
    html = client.get("/book", params={"treatment": "botox", "clinic": CLINIC}).text
    assert "Not advised for you." in text(html) and not slot_values(html)
    assert "pregnancy" in html

    free = find_slots_for(sessions, default_knowledge_base(), treatment="botox", clinic_id=CLINIC, limit=1)[0].slot
    slot = f"{free.start.astimezone(ZONE):%Y-%m-%dT%H:%M}@{free.practitioner_id}"
    confirm = client.get("/book/confirm", params={"treatment": "botox", "clinic": CLINIC, "slot": slot})
    assert "Not on this date." in text(confirm.text) and "Confirm booking" not in confirm.text
    before = count(sessions, models.Visit)
    refused = client.post(
        "/book/confirm",
        data={"treatment": "botox", "clinic": str(CLINIC), "slot": slot, "csrf_token": csrf(client, "/my/visits")},
    )
    assert refused.status_code == 409
    shown = text(main_of(refused.text))
    assert "We could not book this" in shown and "Nothing was changed." in shown
    for part in ("pregnancy", "hard rule: no override", "Not offered during pregnancy", "Evidence: label", "Source:"):
        assert part in shown, part
    assert count(sessions, models.Visit) == before


def _booked_visit(sessions: sessionmaker[Session], patient_id: int) -> models.Visit:
    return first_free_visit(sessions, patient_id, clinic_id=CLINIC)


def test_a_patient_moves_and_cancels_their_visit(client: TestClient, sessions: sessionmaker[Session]) -> None:
    visit = _booked_visit(sessions, new_patient(sessions, "mover@example.com"))
    sign_in(client, "mover@example.com")
    page = client.get(f"/my/visits/{visit.id}").text
    assert "Move to another time" in page and "Cancel this visit" in page

    move = client.get(f"/my/visits/{visit.id}/move").text
    later = [v for v in slot_values(move) if v.split("@")[0] != f"{visit.start_at.astimezone(ZONE):%Y-%m-%dT%H:%M}"]
    assert later and "badge ideal" in move
    token = field(move, "csrf_token")
    assert client.post(f"/my/visits/{visit.id}/move", data={"csrf_token": token, "slot": ""}).status_code == 400
    monday = today() + timedelta(days=7 - today().weekday())  # the clinic does not open on Mondays
    closed = client.post(f"/my/visits/{visit.id}/move", data={"csrf_token": token, "slot": f"{monday}T10:00"})
    assert closed.status_code == 409
    assert "We could not move this visit" in closed.text and "Nothing was changed." in closed.text
    moved = client.post(
        f"/my/visits/{visit.id}/move", data={"csrf_token": token, "slot": later[-1]}, follow_redirects=False
    )
    assert moved.status_code == 303 and "Your visit has been moved." in client.get(moved.headers["location"]).text
    new_start = datetime.fromisoformat(later[-1].split("@")[0]).replace(tzinfo=ZONE)
    with sessions() as session:
        assert session.get(models.Visit, visit.id).start_at == new_start  # type: ignore[union-attr]

    cancelled = client.post(f"/my/visits/{visit.id}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert cancelled.status_code == 303 and cancelled.headers["location"] == f"/my/visits?cancelled={visit.id}"
    assert f"Visit {visit.id} is cancelled." in client.get(cancelled.headers["location"]).text


def test_another_patients_visit_is_not_found(client: TestClient, sessions: sessionmaker[Session]) -> None:
    visit = _booked_visit(sessions, new_patient(sessions, "owner@example.com"))
    sign_in(client, PATIENT)
    assert client.get(f"/my/visits/{visit.id}").status_code == 404
    assert client.get(f"/my/visits/{visit.id}/move").status_code == 404
    token = csrf(client, "/my/visits")
    assert client.post(f"/my/visits/{visit.id}/cancel", data={"csrf_token": token}).status_code == 404
    with sessions() as session:
        assert session.get(models.Visit, visit.id).status is models.VisitStatus.BOOKED  # type: ignore[union-attr]


def test_the_intake_asks_every_factor_question_and_records_the_answers(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    kb = default_knowledge_base()
    patient_id = new_patient(sessions, "intake@example.com")
    sign_in(client, "intake@example.com")
    form = client.get("/my/history").text
    for factor in kb.factors.values():
        assert f'id="factor-{factor.id}" name="factor" value="{factor.id}"' in form
    token = field(form, "csrf_token")
    yesterday = (today() - timedelta(days=1)).isoformat()
    sent = client.post(
        "/my/history",
        data={
            "csrf_token": token,
            "factor": ["sensitive-skin", "hsv"],
            "prior_treatment": "microneedling",
            "prior_date": yesterday,
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    saved = client.get(sent.headers["location"]).text
    assert "Your answers are saved." in saved
    assert 'value="sensitive-skin" checked' in saved and 'value="hsv" checked' in saved
    assert "Microneedling" in text(main_of(saved)) and "elsewhere" in saved

    # Unticking one resolves it: kept, with when it ended.
    assert (
        client.post("/my/history", data={"csrf_token": token, "factor": "hsv"}, follow_redirects=False).status_code
        == 303
    )
    with sessions() as session:
        rows = session.query(models.PatientFactor).filter_by(patient_id=patient_id).all()
        assert {(r.factor_id, r.active) for r in rows} == {("sensitive-skin", False), ("hsv", True)}
        assert all(r.resolved_at is not None for r in rows if not r.active)


def test_bad_intake_answers_are_messages_beside_their_fields(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_patient(sessions, "badintake@example.com")
    sign_in(client, "badintake@example.com")
    token = csrf(client, "/my/history")
    tomorrow = (today() + timedelta(days=1)).isoformat()
    cases = [
        ({"factor": "not-a-factor"}, "factors-error"),
        ({"prior_treatment": "botox", "prior_date": tomorrow}, "prior_date-error"),
        ({"prior_treatment": "botox", "prior_date": "31/12/2025"}, "prior_date-error"),
        ({"prior_date": "2025-01-01"}, "prior_treatment-error"),
    ]
    for data, error_id in cases:
        response = client.post("/my/history", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert f'id="{error_id}"' in response.text, data
    assert client.post("/my/history", data={"csrf_token": "forged"}).status_code == 403
