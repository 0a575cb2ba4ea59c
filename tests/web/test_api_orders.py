"""Prescribers' orders over HTTP: practitioners and the patient read them (another patient's is 404, the front desk
and the administrator 403), every read audited by ids; only a practitioner's own account writes and revokes, as
that practitioner; a refusal is 409 with every reason, bad input 422 naming the field, nothing written either way.
An order is what lets a registered nurse be booked for Botox with the patient; revoking it leaves such visits
booked and lists them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import TypeAdapter
from sqlalchemy import update

from safewindow.services.accounts import create_account
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.store import models
from safewindow.store.account_models import Account, Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_orders import OrderOut, RevokedOut
from safewindow.web.api_visits import Refusals
from tests.web.fuzz_as import headers_of, tag_schema, validate
from tests.web.test_api_demo import CLAIRE, CLINIC, PHYSICIAN, SIMRAN, TODAY, Demo, open_demo

NURSE = 4  # Erin Friesen, registered nurse at clinic 1: gives Botox only on a prescriber's order
DEMO_NOTE = "Glabellar lines; assessed in person."  # the demo's order for Simran Gill, by Dr. Brar
NOTE = "Onabotulinumtoxin A, 20 units, glabella.\nReview in 2 weeks."
ORDERS = TypeAdapter(list[OrderOut])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("orders")) as opened:
        yield opened


def order_body(days: int = 90, **change: Any) -> dict[str, Any]:
    return {"treatment": "botox", "valid_until": str(TODAY + timedelta(days=days)), "note": NOTE, **change}


def orders_written(demo: Demo, patient: int | None = None) -> int:
    where = [] if patient is None else [models.ClientOrder.patient_id == patient]
    return demo.count(models.ClientOrder, *where)


def write(demo: Demo, patient: int, who: str = "practitioner", **change: Any) -> dict[str, Any]:
    written: dict[str, Any] = demo.ok(
        "POST", f"/api/v1/patients/{patient}/orders", who, status=201, json=order_body(**change)
    )
    return written


def nurse_botox(demo: Demo, patient: int) -> dict[str, Any]:
    """Botox with the registered nurse at a time she is free (found as for Simran, whose order covers it)."""
    at = demo.free_slot("botox", practitioner=NURSE, patient=SIMRAN)
    return {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": NURSE}


@pytest.mark.parametrize("who", ["practitioner", "aesthetician", "patient"])
def test_practitioners_and_the_patient_read_her_orders(demo: Demo, who: str) -> None:
    found = ORDERS.validate_python(demo.ok("GET", f"/api/v1/patients/{SIMRAN}/orders", who))
    demo_order = next(o for o in found if o.note == DEMO_NOTE)
    assert (demo_order.treatment, demo_order.prescriber_id, demo_order.prescriber) == (
        "botox",
        PHYSICIAN,
        "Dr. Anika Brar",
    )
    assert (demo_order.valid_until.isoformat(), demo_order.revoked_at) == ("2027-05-10", None)


def test_orders_are_listed_newest_first_revoked_ones_too(demo: Demo) -> None:
    patient = demo.new_patient()
    assert demo.ok("GET", f"/api/v1/patients/{patient}/orders", "practitioner") == []
    first = write(demo, patient, days=30)
    second = write(demo, patient, days=60, note="")
    demo.ok("POST", f"/api/v1/orders/{first['id']}/revoke", "practitioner")
    listed = demo.ok("GET", f"/api/v1/patients/{patient}/orders", "practitioner")
    assert [o["id"] for o in listed] == [second["id"], first["id"]]
    assert listed[0] == second and listed[1]["revoked_by"] is not None
    assert set(listed[0]) == set(OrderOut.model_fields)


@pytest.mark.parametrize("who", ["front desk", "clinic admin"])
def test_the_front_desk_and_the_administrator_may_not_read_orders(demo: Demo, who: str) -> None:
    before = len(demo.audit("patient-orders", SIMRAN))
    response = demo.call("GET", f"/api/v1/patients/{SIMRAN}/orders", who)
    assert response.status_code == 403
    assert response.json()["detail"][0]["field"] == "role"
    assert DEMO_NOTE not in response.text
    assert len(demo.audit("patient-orders", SIMRAN)) == before


def test_another_patient_s_orders_read_as_if_there_were_none(demo: Demo) -> None:
    mine = demo.call("GET", f"/api/v1/patients/{SIMRAN}/orders", "other patient")
    assert (mine.status_code, mine.json()) == (
        404,
        {"detail": [{"field": "patient", "problem": f"no patient {SIMRAN}"}]},
    )
    missing = demo.call("GET", "/api/v1/patients/999/orders", "other patient")
    assert missing.json() == {"detail": [{"field": "patient", "problem": "no patient 999"}]}
    assert demo.call("GET", "/api/v1/patients/999/orders", "practitioner").status_code == 404
    assert demo.call("GET", f"/api/v1/patients/{CLAIRE}/orders", "other patient").status_code == 200
    assert demo.call("GET", f"/api/v1/patients/{SIMRAN}/orders").status_code == 401


def test_every_read_is_audited_by_ids_and_no_note_reaches_the_log(demo: Demo) -> None:
    before = len([e for e in demo.audit("patient-orders", SIMRAN) if e["action"] == "patient-orders.read"])
    demo.ok("GET", f"/api/v1/patients/{SIMRAN}/orders", "practitioner")
    demo.ok("GET", f"/api/v1/patients/{SIMRAN}/orders", "patient")
    reads = [e for e in demo.audit("patient-orders", SIMRAN) if e["action"] == "patient-orders.read"]
    assert len(reads) == before + 2
    assert [e["actor"].split(":")[0] for e in reads[:2]] == ["patient", "practitioner"]
    assert all(e["detail"] == {} for e in reads)

    patient = demo.new_patient()
    order = write(demo, patient)
    demo.ok("POST", f"/api/v1/orders/{order['id']}/revoke", "practitioner")
    changes = demo.audit("client_order", order["id"])
    assert [e["action"] for e in changes] == ["order.revoked", "order.written"]
    assert changes[1]["detail"] == {
        "patient_id": patient,
        "prescriber_id": PHYSICIAN,
        "valid_until": order["valid_until"],
    }
    everything = demo.call("GET", "/api/v1/audit", "clinic admin", params={"limit": 1000}).text
    assert "Onabotulinumtoxin" not in everything and "glabella" not in everything.lower()


def test_a_practitioner_writes_an_order_as_themselves(demo: Demo) -> None:
    patient = demo.new_patient()
    me = demo.ok("GET", "/api/v1/me", "practitioner")
    written = OrderOut.model_validate(write(demo, patient, note=f"  {NOTE}  "))
    assert (written.patient_id, written.treatment, written.prescriber_id, written.prescriber) == (
        patient,
        "botox",
        PHYSICIAN,
        "Dr. Anika Brar",
    )
    assert (written.note, written.written_by) == (NOTE, f"practitioner:{me['account_id']}")
    assert written.valid_until == TODAY + timedelta(days=90) and written.revoked_at is None
    # The prescriber is who is signed in: a body naming another is bad input, and writes nothing.
    response = demo.call("POST", f"/api/v1/patients/{patient}/orders", "practitioner", json=order_body(prescriber_id=3))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "prescriber_id"
    assert orders_written(demo, patient) == 1


@pytest.mark.parametrize("who", ["front desk", "clinic admin", "patient", "other patient"])
def test_only_practitioners_write_and_revoke_orders(demo: Demo, who: str) -> None:
    before = orders_written(demo)
    response = demo.call("POST", f"/api/v1/patients/{SIMRAN}/orders", who, json=order_body())
    assert response.status_code == 403 and response.json()["detail"][0]["field"] == "role"
    assert orders_written(demo) == before
    order = write(demo, demo.new_patient())
    assert demo.call("POST", f"/api/v1/orders/{order['id']}/revoke", who).status_code == 403
    assert demo.ok("GET", f"/api/v1/patients/{order['patient_id']}/orders", "practitioner")[0]["revoked_at"] is None


def bearer_for(demo: Demo, email: str, practitioner: int) -> dict[str, str]:
    """A practitioner's account for `practitioner`, signed in."""
    with UnitOfWork(demo.sessions, write=True) as uow:
        create_account(
            uow.session, email=email, password=DEMO_PASSWORD, role=Role.PRACTITIONER, practitioner_id=practitioner
        )
        uow.commit()
    signed_in = demo.client.post("/api/v1/sessions", json={"email": email, "password": DEMO_PASSWORD})
    demo.client.cookies.clear()
    return {"Authorization": f"Bearer {signed_in.json()['token']}"}


def test_a_practitioner_account_linked_to_no_practitioner_may_not_order(demo: Demo) -> None:
    bearer = bearer_for(demo, "unlinked@demo.example", PHYSICIAN)
    with UnitOfWork(demo.sessions, write=True) as uow:  # the link gone, as when a practitioner's record is removed
        uow.session.execute(
            update(Account).where(Account.email == "unlinked@demo.example").values(practitioner_id=None)
        )
        uow.commit()
    order = write(demo, demo.new_patient())
    before = orders_written(demo)
    for path in (f"/api/v1/patients/{SIMRAN}/orders", f"/api/v1/orders/{order['id']}/revoke"):
        response = demo.client.post(path, json=order_body(), headers=bearer)
        assert response.status_code == 403, path
        assert response.json()["detail"] == [
            {"field": "role", "problem": "only a practitioner's own account may write or revoke orders"}
        ]
    assert orders_written(demo) == before
    assert demo.client.get(f"/api/v1/patients/{SIMRAN}/orders", headers=bearer).status_code == 200


def test_a_practitioner_no_longer_active_may_not_order(demo: Demo) -> None:
    with UnitOfWork(demo.sessions, write=True) as uow:
        physician = uow.session.get(models.Qualification, "physician")
        assert physician is not None
        retired = models.Practitioner(
            name="Dr. Retired", email="retired@example.com", active=False, qualifications=[physician]
        )
        uow.session.add(retired)
        uow.commit()
        retired_id = retired.id
    bearer = bearer_for(demo, "retired@demo.example", retired_id)
    patient = demo.new_patient()
    response = demo.client.post(f"/api/v1/patients/{patient}/orders", json=order_body(), headers=bearer)
    assert response.status_code == 403 and response.json()["detail"][0]["field"] == "prescriber"
    assert orders_written(demo, patient) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"treatment": "botx"}, "treatment"),
        ({"treatment": "hydrafacial"}, "treatment"),  # needs no prescriber's order
        ({"treatment": ""}, "treatment"),
        ({"valid_until": "in three months"}, "valid_until"),
        ({"valid_until": "2027-02-30"}, "valid_until"),
        ({"valid_until": str(TODAY - timedelta(days=1))}, "valid_until"),
        ({"valid_until": str(TODAY + timedelta(days=800))}, "valid_until"),
        ({"note": "x" * 2001}, "note"),
        ({"note": "nul\x00here"}, "note"),
        ({"valid_until": None}, "valid_until"),
    ],
)
def test_bad_orders_are_422_naming_the_field_and_write_nothing(demo: Demo, change: dict[str, Any], field: str) -> None:
    before = orders_written(demo, SIMRAN)
    body = {k: v for k, v in order_body(**change).items() if v is not None}
    response = demo.call("POST", f"/api/v1/patients/{SIMRAN}/orders", "practitioner", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]
    assert orders_written(demo, SIMRAN) == before


def test_a_body_that_is_not_json_is_bad_input(demo: Demo) -> None:
    response = demo.call(
        "POST",
        f"/api/v1/patients/{SIMRAN}/orders",
        "practitioner",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422  # as for every body of the API: FastAPI's own answer, in our shape
    assert all({"field", "problem"} <= set(d) for d in response.json()["detail"])


def test_a_practitioner_who_is_no_prescriber_is_refused_with_409(demo: Demo) -> None:
    patient = demo.new_patient()
    response = demo.call("POST", f"/api/v1/patients/{patient}/orders", "aesthetician", json=order_body())
    assert response.status_code == 409
    [reason] = Refusals.model_validate(response.json()).detail
    assert (reason.field, reason.kind) == ("not-a-prescriber", None)
    assert "Jasleen Bains" in reason.problem
    assert orders_written(demo, patient) == 0
    order = write(demo, patient)
    refused = demo.call("POST", f"/api/v1/orders/{order['id']}/revoke", "aesthetician")
    assert refused.status_code == 409 and refused.json()["detail"][0]["field"] == "not-a-prescriber"
    assert demo.ok("GET", f"/api/v1/patients/{patient}/orders", "practitioner")[0]["revoked_at"] is None


def test_an_unknown_patient_or_order_is_404(demo: Demo) -> None:
    before = orders_written(demo)
    response = demo.call("POST", "/api/v1/patients/999/orders", "practitioner", json=order_body())
    assert (response.status_code, response.json()) == (
        404,
        {"detail": [{"field": "patient", "problem": "no patient 999"}]},
    )
    assert orders_written(demo) == before
    response = demo.call("POST", "/api/v1/orders/999999/revoke", "practitioner")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": [{"field": "order", "problem": "no order 999999"}]},
    )
    assert demo.call("POST", "/api/v1/orders/0/revoke", "practitioner").status_code == 422


def test_revoking_is_idempotent_and_audited_once(demo: Demo) -> None:
    order = write(demo, demo.new_patient())
    revoked = RevokedOut.model_validate(demo.ok("POST", f"/api/v1/orders/{order['id']}/revoke", "practitioner"))
    assert (revoked.id, revoked.uncovered) == (order["id"], [])
    assert revoked.revoked_by == order["written_by"] and revoked.revoked_at is not None
    assert not revoked.already_revoked
    again = RevokedOut.model_validate(demo.ok("POST", f"/api/v1/orders/{order['id']}/revoke", "practitioner"))
    assert again == revoked.model_copy(update={"already_revoked": True})
    actions = [e["action"] for e in demo.audit("client_order", order["id"])]
    assert actions.count("order.revoked") == 1


def test_an_order_lets_a_registered_nurse_be_booked_and_revoking_it_lists_her_visit(demo: Demo) -> None:
    patient = demo.new_patient()
    body = nurse_botox(demo, patient)
    refused = demo.call("POST", "/api/v1/visits", "front desk", json=body)
    assert refused.status_code == 409, refused.text
    assert [d["field"] for d in refused.json()["detail"]] == ["practitioner-needs-order"]
    assert demo.count(models.Visit, models.Visit.patient_id == patient) == 0

    order = write(demo, patient)
    booked = demo.ok("POST", "/api/v1/visits", "front desk", status=201, json=body)
    assert (booked["practitioner"], booked["treatment"]) == (NURSE, "botox")

    revoked = demo.ok("POST", f"/api/v1/orders/{order['id']}/revoke", "practitioner")
    [uncovered] = revoked["uncovered"]
    assert uncovered["code"] == "practitioner-needs-order"
    assert f"Visit {booked['id']}" in uncovered["message"] and "Erin Friesen" in uncovered["message"]
    assert demo.ok("GET", f"/api/v1/visits/{booked['id']}", "front desk")["status"] == "booked"
    assert demo.ok("POST", f"/api/v1/orders/{order['id']}/revoke", "practitioner")["uncovered"] == []
    # Without an order again, the nurse is not bookable for the patient.
    again = demo.call("POST", "/api/v1/visits", "front desk", json=nurse_botox(demo, patient))
    assert again.status_code == 409
    assert "practitioner-needs-order" in [d["field"] for d in again.json()["detail"]]


def test_the_same_key_writes_one_order(demo: Demo) -> None:
    patient = demo.new_patient()
    key = {"Idempotency-Key": f"order-{patient}"}
    path = f"/api/v1/patients/{patient}/orders"
    first = demo.call("POST", path, "practitioner", json=order_body(), headers=key)
    again = demo.call("POST", path, "practitioner", json=order_body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert orders_written(demo, patient) == 1
    other = demo.call("POST", path, "practitioner", json=order_body(days=10), headers=key)
    assert other.status_code == 422 and other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert orders_written(demo, patient) == 1


def test_a_change_made_with_the_cookie_needs_the_csrf_token(demo: Demo) -> None:
    patient = demo.new_patient()
    signed_in = demo.client.post(
        "/api/v1/sessions", json={"email": "practitioner@demo.example", "password": DEMO_PASSWORD}
    )
    csrf = signed_in.json()["csrf_token"]
    path = f"/api/v1/patients/{patient}/orders"
    try:
        forged = demo.client.post(path, json=order_body(), headers={"X-CSRF-Token": "forged"})
        assert forged.status_code == 403 and forged.json()["detail"][0]["field"] == "csrf_token"
        assert orders_written(demo, patient) == 0
        assert demo.client.post(path, json=order_body(), headers={"X-CSRF-Token": csrf}).status_code == 201
    finally:
        demo.client.cookies.clear()


# Schemathesis on the orders endpoints as a prescriber (the administrator's run in test_api_schemathesis_auth only
# gets 403 here): for inputs generated from the schema, never a 5xx, and every response as documented.
fuzzed, schema = tag_schema("orders")


@pytest.fixture(scope="module")
def prescriber(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(fuzzed, tmp_path_factory.mktemp("orders-fuzz"), "practitioner")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_orders_api_conforms_to_its_schema_for_a_prescriber(
    case: schemathesis.Case, prescriber: dict[str, str]
) -> None:
    validate(case, prescriber)
