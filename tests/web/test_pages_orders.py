"""Prescribers' orders on the staff chart: Dr. Brar (a physician) writes a patient's Botox order and sees it in
force, the patient sees it in their own record, and it lets a registered nurse give them Botox; revoking it says
how many booked visits lost their order, and the chart warns under each of them, for the front desk too (who do
not see the orders themselves, and whose forged forms are 403). An aesthetician's forged order is refused by the
service; a past day or a long note is named beside its field; the CSRF token is needed; the audit log keeps ids
and days, never the note."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.errors import InputError
from safewindow.services.orders import write_order
from safewindow.services.slots import OfferedSlot, find_slots_for
from safewindow.store import models
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
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
    today,
)

AESTHETICIAN = "aesthetician@demo.example"
NOTE = "Glabellar lines, 20 units; assessed in person."


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("orders"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def practitioner_id(sessions: sessionmaker[Session], name: str) -> int:
    with sessions() as session:
        found = session.scalar(select(models.Practitioner.id).where(models.Practitioner.name == name))
        assert found is not None
        return found


def orders_of(sessions: sessionmaker[Session], patient: int) -> list[models.ClientOrder]:
    with sessions() as session:
        return list(session.scalars(select(models.ClientOrder).where(models.ClientOrder.patient_id == patient)))


def orders_section(html: str) -> str:
    """The chart's section of prescribers' orders, as read."""
    main = main_of(html)
    start = main.index('<section aria-labelledby="orders-title"')
    return text(main[start : main.index("</section>", start)])


def nurse_slot(sessions: sessionmaker[Session], patient: int) -> OfferedSlot:
    """Erin Friesen's (a registered nurse's) first free Botox time for the patient from tomorrow."""
    erin = practitioner_id(sessions, "Erin Friesen")
    (found,) = find_slots_for(
        sessions,
        default_knowledge_base(),
        treatment="botox",
        clinic_id=CLINIC,
        patient_id=patient,
        practitioner_id=erin,
        first_day=today() + timedelta(days=1),
        limit=1,
    )
    return found


def write(client: TestClient, patient: int, **fields: str) -> str:
    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(f"/staff/patients/{patient}/orders", data={"csrf_token": token, **fields})
    return sent.text if sent.status_code == 200 else f"{sent.status_code}\n{sent.text}"


def test_a_practitioner_writes_an_order_sees_it_in_force_and_so_does_the_patient(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "ordered@example.com")
    sign_in(client, PRACTITIONER)  # Dr. Anika Brar, a physician
    chart = client.get(f"/staff/patients/{patient}").text
    section = orders_section(chart)
    assert "Prescribers' orders" in section and "None written." in section and "prescriber's decision" in section
    assert f'action="/staff/patients/{patient}/orders"' in chart
    assert '<option value="botox">Botulinum toxin' in chart  # and no treatment that needs no order:
    assert 'value="chemical-peel-light"' not in main_of(chart)[main_of(chart).index('id="orders-title"') :]

    until = today() + timedelta(days=90)
    shown = write(client, patient, treatment="botox", valid_until=until.isoformat(), note=NOTE)
    assert "Order written:" in text(main_of(shown)) and "covering visits until" in text(main_of(shown))
    section = orders_section(shown)
    assert "Botulinum toxin" in section and "Dr. Anika Brar" in section and "In force" in section and NOTE in section
    assert f"{until:%A} {until.day} {until:%B %Y}" in section
    (order,) = orders_of(sessions, patient)
    assert (order.treatment_slug, order.valid_until, order.note) == ("botox", until, NOTE)
    assert f'action="/staff/orders/{order.id}/revoke"' in shown
    # Written, the page is the chart's own address: reloading it shows the notice again and writes nothing.
    again = client.get(f"/staff/patients/{patient}", params={"ordered": order.id})
    assert "Order written:" in text(main_of(again.text)) and len(orders_of(sessions, patient)) == 1
    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(
        f"/staff/patients/{patient}/orders",
        data={"csrf_token": token, "treatment": "dermal-filler", "valid_until": until.isoformat()},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith(f"/staff/patients/{patient}?ordered=")

    # The audit log says who wrote which order, by ids and days: never what was ordered.
    with sessions() as session:
        entries = list(session.scalars(select(models.AuditEntry).where(models.AuditEntry.entity == "client_order")))
    (entry,) = [e for e in entries if e.entity_id == str(order.id)]
    assert entry.action == "order.written" and entry.detail["patient_id"] == patient
    assert NOTE not in str(entry.detail) and "botox" not in str(entry.detail)

    sign_in(client, "ordered@example.com")
    mine = main_of(client.get("/my/history").text)
    start = mine.index("Orders from your prescriber")
    own = text(mine[start : mine.index("</section>", start)])
    assert "Botulinum toxin" in own and "Dr. Anika Brar" in own and "In force" in own and NOTE in own
    assert f"{until.day} {until:%B %Y}" in own and "Your prescriber decides" in own


def test_the_order_lets_a_registered_nurse_give_the_patient_botox(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "nursed@example.com")
    with pytest.raises(InputError, match="only on an authorized prescriber's order"):
        nurse_slot(sessions, patient)

    sign_in(client, PRACTITIONER)
    write(client, patient, treatment="botox", valid_until=(today() + timedelta(days=60)).isoformat())
    found = nurse_slot(sessions, patient)
    booked = book(
        sessions,
        default_knowledge_base(),
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=found.slot.start,
        practitioner_id=int(found.slot.practitioner_id),
        actor="test",
    )
    chart = main_of(client.get(f"/staff/patients/{patient}").text)
    assert f'id="visit-{booked.visit.id}"' in chart and "with Erin Friesen" in text(chart)
    assert "No prescriber's order covers this visit." not in text(chart)


def test_revoking_says_how_many_visits_lost_their_order_and_the_front_desk_sees_the_warning(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "revoked@example.com")
    brar = practitioner_id(sessions, "Dr. Anika Brar")
    order = write_order(
        sessions,
        default_knowledge_base(),
        patient_id=patient,
        treatment="botox",
        prescriber_id=brar,
        valid_until=today() + timedelta(days=60),
        note=NOTE,
        actor="test",
    )
    found = nurse_slot(sessions, patient)
    visit = book(
        sessions,
        default_knowledge_base(),
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=found.slot.start,
        practitioner_id=int(found.slot.practitioner_id),
        actor="test",
    ).visit

    sign_in(client, PRACTITIONER)
    token = csrf(client, f"/staff/patients/{patient}")
    revoked = client.post(f"/staff/orders/{order.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200
    main = text(main_of(revoked.text))
    assert "Order revoked." in main and "1 upcoming visit now lacks a prescriber's order" in main
    assert "Revoked on" in orders_section(revoked.text) and "In force" not in orders_section(revoked.text)
    assert f'action="/staff/orders/{order.id}/revoke"' not in revoked.text  # nothing left to revoke
    assert orders_of(sessions, patient)[0].revoked_at is not None
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "order.revoked") >= 1
    again = text(main_of(client.post(f"/staff/orders/{order.id}/revoke", data={"csrf_token": token}).text))
    assert "This order was already revoked. Nothing changed" in again and "No booked visit depended" not in again

    sign_in(client, FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    main = main_of(chart)
    assert 'id="orders-title"' not in main and NOTE not in main and "Write order" not in main  # least privilege
    card = text(main[main.index(f'id="visit-{visit.id}"') : main.index("</li>", main.index(f'id="visit-{visit.id}"'))])
    assert "No prescriber's order covers this visit." in card and "Reassign it" in card and "Erin Friesen" in card

    # A forged order or revocation from the front desk or the administrator is refused outright.
    token = csrf(client, f"/staff/patients/{patient}")
    until = (today() + timedelta(days=30)).isoformat()
    forged = {"csrf_token": token, "treatment": "botox", "valid_until": until}
    assert client.post(f"/staff/patients/{patient}/orders", data=forged).status_code == 403
    assert client.post(f"/staff/orders/{order.id}/revoke", data={"csrf_token": token}).status_code == 403
    sign_in(client, ADMIN)
    token = csrf(client, f"/staff/patients/{patient}")
    assert client.post(f"/staff/patients/{patient}/orders", data={**forged, "csrf_token": token}).status_code == 403
    assert len(orders_of(sessions, patient)) == 1


@pytest.mark.parametrize(
    "who",
    [AESTHETICIAN, "nurse@demo.example"],  # Jasleen Bains: no injections; Erin Friesen: Botox only on an order
)
def test_who_does_not_give_botox_in_their_own_right_may_not_order_it(
    client: TestClient, sessions: sessionmaker[Session], who: str
) -> None:
    patient = new_patient(sessions, f"aesthetic-{who.split('@')[0]}@example.com")
    sign_in(client, who)
    chart = client.get(f"/staff/patients/{patient}").text
    assert 'value="botox"' not in chart and "Write order" not in chart
    refused = write(client, patient, treatment="botox", valid_until=(today() + timedelta(days=30)).isoformat())
    assert refused.startswith("409")
    assert "We could not change this order" in refused and "not-a-prescriber" in refused
    assert "does not give botox in their own right" in text(refused)
    assert orders_of(sessions, patient) == []

    with sessions() as session:  # nor revoke Simran Gill's order from Dr. Brar
        simran = session.scalar(select(models.Patient.id).where(models.Patient.name == "Simran Gill"))
        (order,) = session.scalars(select(models.ClientOrder).where(models.ClientOrder.patient_id == simran))
    token = csrf(client, f"/staff/patients/{simran}")
    revoke = client.post(f"/staff/orders/{order.id}/revoke", data={"csrf_token": token})
    assert revoke.status_code == 409 and "not-a-prescriber" in revoke.text
    with sessions() as session:
        row = session.get(models.ClientOrder, order.id)
        assert row is not None and row.revoked_at is None


def test_a_past_day_a_long_note_or_no_treatment_is_named_beside_its_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "mistyped@example.com")
    sign_in(client, PRACTITIONER)
    past = write(client, patient, treatment="botox", valid_until=(today() - timedelta(days=1)).isoformat(), note=NOTE)
    assert past.startswith("400")
    assert 'id="valid_until-error"' in past and "must be today" in text(past)
    assert "Covers visits until: must be today" in text(past)  # in the summary above the form, linked to the field
    assert f">{NOTE}</textarea>" in past and '<option value="botox" selected>' in past  # what was sent stays

    long = write(client, patient, treatment="botox", valid_until=today().isoformat(), note="x" * 2500)
    assert long.startswith("400") and 'id="note-error"' in long and "at most 2000 characters" in long

    nothing = write(client, patient, treatment="", valid_until="31/12/2026")
    assert 'id="treatment-error"' in nothing and "choose the treatment" in nothing
    assert 'id="valid_until-error"' in nothing and "YYYY-MM-DD" in nothing
    assert orders_of(sessions, patient) == []


def test_the_forms_need_the_csrf_token_and_a_known_patient_or_order(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "forged@example.com")
    sign_in(client, PRACTITIONER)
    fields = {"treatment": "botox", "valid_until": (today() + timedelta(days=30)).isoformat()}
    assert client.post(f"/staff/patients/{patient}/orders", data=fields).status_code == 403
    assert client.post(f"/staff/patients/{patient}/orders", data={**fields, "csrf_token": "stale"}).status_code == 403
    token = csrf(client, "/staff")
    assert client.post("/staff/patients/999999/orders", data={**fields, "csrf_token": token}).status_code == 404
    assert client.post("/staff/orders/999999/revoke", data={"csrf_token": token}).status_code == 404
    assert orders_of(sessions, patient) == []

    sign_in(client, PATIENT)
    token = csrf(client, "/my/visits")
    assert client.post(f"/staff/patients/{patient}/orders", data={**fields, "csrf_token": token}).status_code == 403
    assert orders_of(sessions, patient) == []
