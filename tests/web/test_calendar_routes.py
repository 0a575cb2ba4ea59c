"""Calendar files over HTTP: one visit's .ics for the patient or staff (audited), and subscription feeds that
open with their token alone, until revoked, issued and revoked by the signed-in patient or practitioner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from sqlalchemy import select

from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_fhir import ADMIN, FRONT_DESK, OTHER_PATIENT, PATIENT, PRACTITIONER, ClinicApp, open_clinic


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("calendar"))


def visit_of(clinic: ClinicApp, patient: str, status: models.VisitStatus | None = None) -> int:
    with UnitOfWork(clinic.sessions) as uow:
        query = select(models.Visit.id).join(models.Patient).where(models.Patient.name == patient)
        if status is not None:
            query = query.where(models.Visit.status == status)
        found = uow.session.scalar(query.order_by(models.Visit.id))
        assert found is not None
        return int(found)


def events(body: bytes) -> list[object]:
    return list(Calendar.from_ical(body).events)


def test_a_patient_downloads_their_visit_as_a_calendar_file(clinic: ClinicApp) -> None:
    visit = visit_of(clinic, "Simran Gill")
    before = len(clinic.audit("visit.read"))
    response = clinic.get(f"/visits/{visit}/calendar.ics", PATIENT)
    assert response.status_code == 200 and response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="visit-{visit}.ics"'
    [event] = Calendar.from_ical(response.content).events
    assert str(event["uid"]) == f"visit-{visit}@safewindow"
    assert event.start == datetime(2026, 11, 10, 17, 0, tzinfo=UTC)  # 10:00 in Abbotsford
    assert str(event["summary"]) == "Microneedling at Fraser Valley Skin Studio"
    assert str(event["status"]) == "CONFIRMED"
    assert [entity for _, entity in clinic.audit("visit.read")[before:]] == [str(visit)]


def test_staff_download_any_visit_and_a_cancelled_one_says_so(clinic: ClinicApp) -> None:
    cancelled = visit_of(clinic, "Rosa Alvarez", models.VisitStatus.CANCELLED)
    response = clinic.get(f"/visits/{cancelled}/calendar.ics", FRONT_DESK)
    [event] = Calendar.from_ical(response.content).events
    assert str(event["status"]) == "CANCELLED"


def test_another_patients_visit_is_not_found_and_nobody_unsigned_gets_one(clinic: ClinicApp) -> None:
    theirs = visit_of(clinic, "Claire Penner")
    assert clinic.get(f"/visits/{theirs}/calendar.ics", PATIENT).status_code == 404
    assert clinic.get("/visits/999999/calendar.ics", FRONT_DESK).status_code == 404
    assert clinic.get(f"/visits/{theirs}/calendar.ics").status_code == 401


def test_a_feed_opens_with_its_token_alone_until_it_is_revoked(clinic: ClinicApp) -> None:
    issued = clinic.client.post("/api/v1/calendar/feeds", headers=clinic.headers(PATIENT))
    assert issued.status_code == 201
    url, token = issued.json()["url"], issued.json()["token"]
    assert url == f"http://testserver/calendar/feeds/{token}.ics"
    assert issued.json()["webcal"] == f"webcal://testserver/calendar/feeds/{token}.ics"

    feed = clinic.client.get(url)  # no sign-in: calendar apps cannot
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert [str(e["summary"]) for e in events(feed.content)] == ["Microneedling at Fraser Valley Skin Studio"]

    # Someone else cannot revoke it; its owner can, and then it is gone.
    assert (
        clinic.client.delete(f"/api/v1/calendar/feeds/{token}", headers=clinic.headers(OTHER_PATIENT)).status_code
        == 404
    )
    assert clinic.client.get(url).status_code == 200
    assert clinic.client.delete(f"/api/v1/calendar/feeds/{token}", headers=clinic.headers(PATIENT)).status_code == 204
    assert clinic.client.get(url).status_code == 404
    assert clinic.client.get("/calendar/feeds/not-a-token.ics").status_code == 404
    assert [action for action in ("calendar-feed.issued", "calendar-feed.revoked") if clinic.audit(action)] == [
        "calendar-feed.issued",
        "calendar-feed.revoked",
    ]


def test_a_practitioners_feed_names_no_patient_and_all_feeds_can_be_revoked_at_once(clinic: ClinicApp) -> None:
    tokens = [
        clinic.client.post("/api/v1/calendar/feeds", headers=clinic.headers(PRACTITIONER)).json()["token"]
        for _ in range(2)
    ]
    feed = clinic.client.get(f"/calendar/feeds/{tokens[0]}.ics")
    summaries = [str(e["summary"]) for e in events(feed.content)]
    assert summaries and all("(visit " in s for s in summaries)
    assert not any(name in feed.text for name in ("Simran", "Claire", "Rosa", "Avneet", "Megan"))

    revoked = clinic.client.delete("/api/v1/calendar/feeds", headers=clinic.headers(PRACTITIONER))
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
    assert all(clinic.client.get(f"/calendar/feeds/{t}.ics").status_code == 404 for t in tokens)


def test_only_patients_and_practitioners_have_feeds_and_changes_need_a_sign_in(clinic: ClinicApp) -> None:
    for who in (FRONT_DESK, ADMIN):
        refused = clinic.client.post("/api/v1/calendar/feeds", headers=clinic.headers(who))
        assert refused.status_code == 403 and "patients and practitioners" in refused.json()["detail"][0]["problem"]
    assert clinic.client.post("/api/v1/calendar/feeds").status_code == 401
    # With the session cookie, the CSRF token must come along.
    clinic.client.cookies.set("sw_session", clinic.tokens[PATIENT])
    try:
        assert clinic.client.post("/api/v1/calendar/feeds").status_code == 403
    finally:
        clinic.client.cookies.clear()
