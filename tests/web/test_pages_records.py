"""Treatment records on the staff chart, and the lot search: Dr. Brar records what was given at a completed visit
(product, lot, expiry, dose, areas, note, with the patient's informed consent) and sees it in the history, then
corrects it and sees it amended; a record without consent, with a bad lot or expiry, names each field and writes
nothing; a visit not completed is refused; the front desk may not record and sees only that a record exists. The
lot search finds the visit for practitioners and the clinic administrator, not the front desk, and is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.store import models
from tests.visits import begun_visit
from tests.web.test_pages_support import (
    ADMIN,
    FRONT_DESK,
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

PRODUCT = "Botox 100 U"
NOTE = "Tolerated well; ice applied."


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("records"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def completed_visit(sessions: sessionmaker[Session], email: str) -> tuple[int, int]:
    """A new patient and their visit of days ago, recorded as completed: (patient, visit)."""
    patient = new_patient(sessions, email)
    visit = begun_visit(sessions, patient)
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    return patient, visit


def records_of(sessions: sessionmaker[Session], visit: int) -> list[models.TreatmentRecord]:
    with sessions() as session:
        return list(
            session.scalars(
                select(models.TreatmentRecord)
                .where(models.TreatmentRecord.visit_id == visit)
                .order_by(models.TreatmentRecord.id)
            )
        )


def record_row(html: str, visit: int) -> str:
    """The chart's row of what was given at the visit, as read."""
    main = main_of(html)
    start = main.index(f'<tr class="record-row" id="record-{visit}">')
    return text(main[start : main.index("</tr>", start)])


def send(client: TestClient, patient: int, visit: int, **fields: str) -> tuple[int, str, str]:
    """The form sent from the chart: (status, where it leads, the page shown)."""
    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(f"/staff/visits/{visit}/record", data={"csrf_token": token, **fields}, follow_redirects=False)
    if sent.status_code == 303:
        return 303, sent.headers["location"], client.get(sent.headers["location"]).text
    return sent.status_code, "", sent.text


def test_a_practitioner_records_what_was_given_sees_it_and_corrects_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "treated@example.com")
    sign_in(client, PRACTITIONER)
    chart = client.get(f"/staff/patients/{patient}").text
    assert f'action="/staff/visits/{visit}/record"' in chart
    row = record_row(chart, visit)
    assert "Not recorded yet." in row and "Record what was given" in row
    assert "The patient gave informed consent before the treatment" in row

    status, location, shown = send(
        client,
        patient,
        visit,
        product=PRODUCT,
        lot_number=" c3456-a ",
        dose="20 units",
        areas="Glabella",
        note=NOTE,
        consent="yes",
    )
    assert status == 303 and location.startswith(f"/staff/patients/{patient}?treated={visit}")
    assert f"What was given at visit {visit} is recorded." in text(main_of(shown))
    row = record_row(shown, visit)
    assert PRODUCT in row and "C3456-A" in row and "20 units" in row and "Glabella" in row and NOTE in row
    assert "Recorded by Dr. Anika Brar (practitioner)" in row  # the account by name, not its id
    assert "Amended" not in row and "Expired when given" not in row
    assert "Correct the record" in row and 'value="C3456-A"' in main_of(shown)  # the form is prefilled from it
    (first,) = records_of(sessions, visit)
    assert (first.product, first.lot_number, first.dose, first.consent_confirmed) == (
        PRODUCT,
        "C3456-A",
        "20 units",
        True,
    )

    # Recorded, the page is the chart's own address: reloading it shows the notice again and writes nothing.
    again = client.get(location)
    assert f"What was given at visit {visit} is recorded." in text(main_of(again.text))
    assert len(records_of(sessions, visit)) == 1

    # A correction is a new record: the newest is shown, amended once; an expiry before the visit is flagged.
    expired = (first.recorded_at.date() - timedelta(days=60)).isoformat()
    status, _, shown = send(
        client,
        patient,
        visit,
        product=PRODUCT,
        lot_number="C3456-B",
        expires_on=expired,
        dose="24 units",
        consent="yes",
    )
    assert status == 303
    row = record_row(shown, visit)
    assert "C3456-B" in row and "24 units" in row and "C3456-A" not in row
    assert "Amended 1 time" in row and "Expired when given" in row and "had expired when it was given" in row
    assert len(records_of(sessions, visit)) == 2


def test_a_record_without_consent_or_with_bad_fields_names_each_and_writes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "unconsented@example.com")
    sign_in(client, PRACTITIONER)
    status, _, shown = send(client, patient, visit, product=PRODUCT, lot_number="C3456-A", dose="20 units")
    assert status == 400
    main = main_of(shown)
    assert f'id="record-{visit}-consent-error"' in main
    assert "Informed consent: confirm that the patient gave informed consent" in text(main)
    assert f'href="#record-{visit}-consent"' in main  # the summary leads to the checkbox
    assert 'value="20 units"' in main and '<details class="record-details" open>' in main  # the form as sent
    assert records_of(sessions, visit) == []

    status, _, shown = send(client, patient, visit, product="", lot_number="no lot!", expires_on="31-12-2027")
    assert status == 400
    main = main_of(shown)
    for field in ("product", "lot_number", "expires_on", "consent"):
        assert f'id="record-{visit}-{field}-error"' in main, field
    assert "name the product given" in text(main) and "give the lot number as printed" in text(main)

    # With consent given, a bad expiry date alone is named: consent is not said to be missing.
    status, _, shown = send(client, patient, visit, product=PRODUCT, lot_number="C1", expires_on="soon", consent="yes")
    assert status == 400
    main = main_of(shown)
    assert f'id="record-{visit}-expires_on-error"' in main and f'id="record-{visit}-consent-error"' not in main
    assert records_of(sessions, visit) == []


def test_a_visit_not_completed_is_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "notdone@example.com")
    visit = begun_visit(sessions, patient)  # begun, but nobody recorded that it was completed
    sign_in(client, PRACTITIONER)
    assert f'action="/staff/visits/{visit}/record"' not in client.get(f"/staff/patients/{patient}").text
    status, _, shown = send(client, patient, visit, product=PRODUCT, lot_number="C3456-A", consent="yes")
    assert status == 409
    assert "We could not record what was given" in shown and "visit-not-completed" in shown
    assert records_of(sessions, visit) == []


def test_the_front_desk_may_not_record_and_sees_only_that_a_record_exists(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "private@example.com")
    sign_in(client, PRACTITIONER)
    assert send(client, patient, visit, product=PRODUCT, lot_number="D777", dose="8 units", consent="yes")[0] == 303

    sign_in(client, FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    row = record_row(chart, visit)
    assert "Recorded." in row and "shown to practitioners" in row
    assert PRODUCT not in main_of(chart) and "D777" not in main_of(chart) and "8 units" not in main_of(chart)
    assert f'action="/staff/visits/{visit}/record"' not in chart
    assert 'href="/staff/lots"' not in chart  # no lot search in their navigation
    token = csrf(client, f"/staff/patients/{patient}")
    forged = client.post(
        f"/staff/visits/{visit}/record",
        data={"csrf_token": token, "product": PRODUCT, "lot_number": "E1", "consent": "yes"},
    )
    assert forged.status_code == 403
    assert client.post(f"/staff/visits/{visit}/record", data={"product": PRODUCT}).status_code == 403  # no token
    assert len(records_of(sessions, visit)) == 1


def test_the_lot_search_finds_the_visit_for_practitioners_and_admins_and_is_audited(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "recalled@example.com")
    sign_in(client, PRACTITIONER)
    assert send(client, patient, visit, product=PRODUCT, lot_number="RC-2026/9", consent="yes")[0] == 303
    staff = client.get("/staff").text
    assert 'href="/staff/lots"' in staff and "Lot search" in staff

    empty = client.get("/staff/lots")
    assert empty.status_code == 200 and "Lot number" in empty.text and "<table" not in main_of(empty.text)
    audited = count(sessions, models.AuditEntry, models.AuditEntry.entity == "lot")
    found = client.get("/staff/lots", params={"lot": " rc-2026/9 "})
    assert found.status_code == 200
    main = main_of(found.text)
    assert f'href="/staff/patients/{patient}#record-{visit}"' in main and "Test Recalled" in main
    assert "1 visit with lot RC-2026/9" in text(main) and "contact these patients" in text(main)
    assert "Fraser Valley Skin Studio" in text(main) and PRODUCT in text(main)

    # Audited by the lot searched for, and nothing of what the records say.
    with sessions() as session:
        entries = list(session.scalars(select(models.AuditEntry).where(models.AuditEntry.entity == "lot")))
    assert len(entries) == audited + 1
    assert (entries[-1].action, entries[-1].entity_id, entries[-1].detail) == ("lot.read", "RC-2026/9", {})

    bad = client.get("/staff/lots", params={"lot": "no lot!"})
    assert bad.status_code == 400 and 'id="lot-error"' in bad.text and "give the lot number as printed" in bad.text
    assert count(sessions, models.AuditEntry, models.AuditEntry.entity == "lot") == audited + 1
    none = client.get("/staff/lots", params={"lot": "ZZ-0"})
    assert "0 visits with lot ZZ-0" in text(main_of(none.text)) and "Test Recalled" not in none.text

    sign_in(client, ADMIN)
    assert "Test Recalled" in client.get("/staff/lots", params={"lot": "RC-2026/9"}).text
    sign_in(client, FRONT_DESK)
    assert client.get("/staff/lots", params={"lot": "RC-2026/9"}).status_code == 403
