"""FHIR ServiceRequest over HTTP: authorized prescribers' client-specific orders. The seed's patient, Simran Gill,
has a Botox order from Dr. Anika Brar (written 10 Nov 2026, covering visits up to 10 May 2027). Practitioners
read every patient's orders, a patient only their own; front desk and clinic admin are refused; every order
returned is audited. Orders written and revoked here are Claire Penner's, so Simran's stay as the seed has them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.fhir_values import TREATMENT_SYSTEM
from safewindow.services.orders import revoke_order, write_order
from safewindow.store import models
from tests.web.test_fhir import (
    ADMIN,
    FRONT_DESK,
    NOW,
    OTHER_PATIENT,
    PATIENT,
    PRACTITIONER,
    ClinicApp,
    entries,
    open_clinic,
    resource,
)

KB = default_knowledge_base()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("fhir-orders"))


def seed_order(clinic: ClinicApp) -> str:
    """The id of Simran's Botox order, as the practitioner finds it."""
    simran = clinic.id_of(models.Patient, "Simran Gill")
    found = entries(resource(clinic.get("/fhir/R4/ServiceRequest", PRACTITIONER, patient=f"Patient/{simran}")))
    assert len(found) == 1
    return str(found[0]["id"])


def claires_order(clinic: ClinicApp, *, valid_until: date = date(2027, 2, 1), now: datetime = NOW) -> int:
    order = write_order(
        clinic.sessions,
        KB,
        patient_id=clinic.id_of(models.Patient, "Claire Penner"),
        treatment="botox",
        prescriber_id=clinic.id_of(models.Practitioner, "Dr. Anika Brar"),
        valid_until=valid_until,
        note="Crow's feet.",
        actor="practitioner:test",
        now=now,
    )
    return order.id


def test_the_practitioner_reads_the_seed_patients_botox_order(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    brar = clinic.id_of(models.Practitioner, "Dr. Anika Brar")
    ident = seed_order(clinic)
    order = resource(clinic.get(f"/fhir/R4/ServiceRequest/{ident}", PRACTITIONER), kind="ServiceRequest")
    ServiceRequest.model_validate(order)  # it parses back as the R4B model
    assert order["status"] == "active" and order["intent"] == "order"
    assert order["subject"] == {"reference": f"Patient/{simran}"}
    assert order["requester"] == {"reference": f"Practitioner/{brar}", "display": "Dr. Anika Brar"}
    assert order["code"]["coding"] == [
        {"system": TREATMENT_SYSTEM, "code": "botox", "display": KB.treatments["botox"].name}
    ]
    assert order["occurrencePeriod"] == {"start": "2026-11-10", "end": "2027-05-10"}
    written = datetime(2026, 11, 10, 11, 30, tzinfo=ZoneInfo("America/Vancouver"))  # the seed's, local time
    authored = datetime.fromisoformat(order["authoredOn"])  # on the clinic's clock, with its offset
    assert authored == written and authored.utcoffset() == written.utcoffset()
    assert "note" not in order  # what was ordered stays in the chart: no notes leave through FHIR


def test_the_patient_reads_and_searches_their_own_order(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    ident = seed_order(clinic)
    own = resource(clinic.get(f"/fhir/R4/ServiceRequest/{ident}", PATIENT), kind="ServiceRequest")
    assert own["subject"]["reference"] == f"Patient/{simran}" and own["status"] == "active"
    # Searching, a patient finds only their own orders, whatever they ask for.
    claires_order(clinic)
    mine = entries(resource(clinic.get("/fhir/R4/ServiceRequest", PATIENT)))
    assert [r["id"] for r in mine] == [ident]
    bundle = resource(clinic.get("/fhir/R4/ServiceRequest", PATIENT, patient=str(simran), status="active"))
    assert bundle["total"] == 1 and [r["id"] for r in entries(bundle)] == [ident]
    assert entries(resource(clinic.get("/fhir/R4/ServiceRequest", PATIENT, status="revoked"))) == []


def test_another_patients_order_is_not_found(clinic: ClinicApp) -> None:
    claire = clinic.id_of(models.Patient, "Claire Penner")
    theirs = claires_order(clinic)
    hidden = resource(clinic.get(f"/fhir/R4/ServiceRequest/{theirs}", PATIENT), 404, "OperationOutcome")
    missing = resource(clinic.get("/fhir/R4/ServiceRequest/999999", PRACTITIONER), 404, "OperationOutcome")
    assert hidden["issue"][0]["code"] == missing["issue"][0]["code"] == "not-found"
    assert hidden["issue"][0]["diagnostics"] == f"no ServiceRequest {theirs}"
    searched = resource(clinic.get("/fhir/R4/ServiceRequest", PATIENT, patient=f"Patient/{claire}"), 404)
    assert searched["issue"][0]["code"] == "not-found"
    assert entries(resource(clinic.get("/fhir/R4/ServiceRequest", PATIENT, _id=str(theirs)))) == []
    # Claire reads her own.
    resource(clinic.get(f"/fhir/R4/ServiceRequest/{theirs}", OTHER_PATIENT), kind="ServiceRequest")


@pytest.mark.parametrize("who", [FRONT_DESK, ADMIN])
def test_front_desk_and_clinic_admin_are_refused(clinic: ClinicApp, who: str) -> None:
    ident = seed_order(clinic)
    for path in (f"/fhir/R4/ServiceRequest/{ident}", "/fhir/R4/ServiceRequest"):
        refused = resource(clinic.get(path, who), 403, "OperationOutcome")
        assert refused["issue"][0]["code"] == "forbidden" and refused["issue"][0]["severity"] == "error"


def test_a_sign_in_is_needed(clinic: ClinicApp) -> None:
    outcome = resource(clinic.get("/fhir/R4/ServiceRequest"), 401, "OperationOutcome")
    assert outcome["issue"][0]["code"] == "login"


def test_a_revoked_order_is_revoked_and_an_ended_one_completed(clinic: ClinicApp) -> None:
    claire = clinic.id_of(models.Patient, "Claire Penner")
    revoked = claires_order(clinic)
    revoke_order(
        clinic.sessions,
        order_id=revoked,
        prescriber_id=clinic.id_of(models.Practitioner, "Dr. Anika Brar"),
        actor="practitioner:test",
        now=NOW,
    )
    ended = claires_order(clinic, valid_until=date(2026, 11, 10), now=datetime(2026, 11, 1, 18, 0, tzinfo=UTC))
    last_day = claires_order(clinic, valid_until=date(2026, 11, 11))  # today is its last day: still in force

    def status(ident: int) -> str:
        found = resource(clinic.get(f"/fhir/R4/ServiceRequest/{ident}", PRACTITIONER), kind="ServiceRequest")
        return str(found["status"])

    assert (status(revoked), status(ended), status(last_day)) == ("revoked", "completed", "active")
    ServiceRequest.model_validate(
        resource(clinic.get(f"/fhir/R4/ServiceRequest/{revoked}", PRACTITIONER), kind="ServiceRequest")
    )

    def search(**params: str) -> set[int]:
        found = entries(resource(clinic.get("/fhir/R4/ServiceRequest", PRACTITIONER, patient=str(claire), **params)))
        return {int(r["id"]) for r in found}

    assert revoked in search(status="revoked") and revoked not in search(status="active")
    assert search(status="completed") == {ended}
    assert {last_day} <= search(status="active") and ended not in search(status="active,revoked")
    assert search(_id=f"{revoked},{ended}") == {revoked, ended}


def test_every_order_returned_is_audited(clinic: ClinicApp) -> None:
    ident = seed_order(clinic)
    before = len(clinic.audit("client_order.read"))
    resource(clinic.get(f"/fhir/R4/ServiceRequest/{ident}", PATIENT))
    entries(resource(clinic.get("/fhir/R4/ServiceRequest", PRACTITIONER, _id=ident)))
    resource(clinic.get(f"/fhir/R4/ServiceRequest/{ident}", FRONT_DESK), 403)  # refused: nothing read
    logged = clinic.audit("client_order.read")[before:]
    assert [entity for _, entity in logged] == [ident, ident]
    assert logged[0][0].startswith("patient:") and logged[1][0].startswith("practitioner:")


def test_the_capability_statement_offers_service_request(clinic: ClinicApp) -> None:
    statement = resource(clinic.get("/fhir/R4/metadata"), kind="CapabilityStatement")
    offered = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {i["code"] for i in offered["ServiceRequest"]["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in offered["ServiceRequest"]["searchParam"]} == {"_id", "patient", "status"}


@pytest.mark.parametrize(
    ("method", "params", "status", "code"),
    [
        ("GET", {"status": "maybe"}, 400, "invalid"),
        ("GET", {"code": "botox"}, 400, "not-supported"),
        ("GET", {"patient": "Practitioner/1"}, 400, "invalid"),
        ("POST", {}, 405, "not-supported"),
        ("DELETE", {}, 405, "not-supported"),
    ],
)
def test_errors_are_operation_outcomes(
    clinic: ClinicApp, method: str, params: dict[str, str], status: int, code: str
) -> None:
    path = "/fhir/R4/ServiceRequest" + ("/1" if method == "DELETE" else "")
    response = clinic.client.request(method, path, params=params, headers=clinic.headers(PRACTITIONER))
    outcome = resource(response, status, "OperationOutcome")
    assert outcome["issue"][0]["code"] == code
