"""Recording what happened at a visit from the patient chart: the front desk marks a visit that has begun as a
no-show or completed, and may correct it; a visit not yet begun is refused with nothing changed; a visit at
another clinic is not theirs to record; patients may not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.store import models
from tests.visits import begun_visit
from tests.web.test_pages_support import (
    FRONT_DESK,
    PATIENT,
    client_for,
    csrf,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("outcomes"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def _status(sessions: sessionmaker[Session], visit_id: int) -> models.VisitStatus:
    with sessions() as session:
        visit = session.get(models.Visit, visit_id)
        assert visit is not None
        return visit.status


def _row(html: str, visit_id: int) -> str:
    """The chart's history row of the visit, as read."""
    main = main_of(html)
    start = main.index(f'action="/staff/visits/{visit_id}/outcome"')
    return text(main[main.rindex("<tr>", 0, start) : main.index("</tr>", start)])


def test_the_front_desk_records_a_no_show_and_corrects_it(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "missed@example.com")
    visit = begun_visit(sessions, patient)
    sign_in(client, FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    row = _row(chart, visit)
    assert "booked" in row and "Completed" in row and "No-show" in row

    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(
        f"/staff/visits/{visit}/outcome", data={"csrf_token": token, "outcome": "no-show"}, follow_redirects=False
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(
        f"/staff/patients/{patient}?recorded={visit}"
    )
    shown = client.get(sent.headers["location"]).text
    assert f"What happened at visit {visit} is recorded." in text(main_of(shown))
    row = _row(shown, visit)
    assert "no-show" in row and "Completed" in row and "No-show:" not in row  # only the other outcome is offered
    assert _status(sessions, visit) is models.VisitStatus.NO_SHOW

    client.post(f"/staff/visits/{visit}/outcome", data={"csrf_token": token, "outcome": "completed"})
    assert _status(sessions, visit) is models.VisitStatus.COMPLETED


def test_a_visit_not_begun_or_a_wrong_outcome_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "soon@example.com")
    visit = begun_visit(sessions, patient)
    sign_in(client, FRONT_DESK)
    token = csrf(client, f"/staff/patients/{patient}")
    wrong = client.post(f"/staff/visits/{visit}/outcome", data={"csrf_token": token, "outcome": "maybe"})
    assert wrong.status_code == 400 and "Choose completed or no-show." in text(wrong.text)
    assert _status(sessions, visit) is models.VisitStatus.BOOKED

    with sessions.begin() as session:  # the same visit, had it been booked for next week
        row = session.get(models.Visit, visit)
        assert row is not None
        shift = timedelta(days=21)
        row.held_from, row.start_at, row.end_at, row.held_until = (
            row.held_from + shift,
            row.start_at + shift,
            row.end_at + shift,
            row.held_until + shift,
        )
    early = client.post(f"/staff/visits/{visit}/outcome", data={"csrf_token": token, "outcome": "completed"})
    assert early.status_code == 409
    assert "We could not record what happened" in early.text and "visit-not-begun" in early.text
    assert _status(sessions, visit) is models.VisitStatus.BOOKED


def test_another_clinics_visit_and_patients_are_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "elsewhere@example.com")
    sumas = begun_visit(sessions, patient, clinic_id=2, treatment="hydrafacial")
    sign_in(client, FRONT_DESK)  # works at Fraser Valley Skin Studio only
    token = csrf(client, "/staff")
    refused = client.post(f"/staff/visits/{sumas}/outcome", data={"csrf_token": token, "outcome": "no-show"})
    assert refused.status_code == 404
    assert client.post(f"/staff/visits/{sumas}/outcome", data={"outcome": "no-show"}).status_code == 403  # no token

    sign_in(client, PATIENT)
    token = csrf(client, "/my/visits")
    assert (
        client.post(f"/staff/visits/{sumas}/outcome", data={"csrf_token": token, "outcome": "no-show"}).status_code
        == 403
    )
    assert _status(sessions, sumas) is models.VisitStatus.BOOKED
