"""FHIR Consent over HTTP: patients' signatures on the demo clinics' consent forms. A signature is an active Consent
(scope treatment, category LOINC 59284-0) until the patient withdraws it, then inactive; the exact words signed
travel in sourceAttachment, base64, with their SHA-1 hash. Practitioners and the front desk read every patient's,
a patient only their own (another patient's is 404); the clinic admin is refused; every consent returned is
audited. Every answer is parsed back with fhir.resources' R4B models (tests/web/test_fhir.py `resource`)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.consent import Consent

from safewindow.domain.consent import Form, Signature
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import fhir_consents
from safewindow.services.consents import form_for, sign, withdraw, write_form
from safewindow.services.fhir_values import TREATMENT_SYSTEM
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_fhir import (
    ADMIN,
    FRONT_DESK,
    OTHER_PATIENT,
    PATIENT,
    PRACTITIONER,
    ClinicApp,
    entries,
    open_clinic,
    resource,
)

KB = default_knowledge_base()
ZONE = ZoneInfo("America/Vancouver")
SIGNED = datetime(2026, 11, 11, 17, 30, tzinfo=UTC)  # 10:30 in Abbotsford, half an hour before the app's now
WRITTEN = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
WORDS = "I consent to dermal filler — café, naïve, 100 %.\n\nRisks: bruising; rarely, a blocked vessel."


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("fhir-consents"))


def fraser(clinic: ClinicApp) -> int:
    return clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")


def signs(clinic: ClinicApp, patient: str, treatment: str = "botox", *, now: datetime = SIGNED) -> int:
    """The patient's signature on the clinic's form in use for the treatment, as they sign it online."""
    with UnitOfWork(clinic.sessions) as uow:
        form = form_for(uow.session, fraser(clinic), treatment)
    assert form is not None, treatment
    signed = sign(
        clinic.sessions,
        patient_id=clinic.id_of(models.Patient, patient),
        clinic_id=fraser(clinic),
        treatment=treatment,
        version=form.version,
        signed_name=patient,
        agreed=True,
        actor="patient:test",
        now=now,
    )
    return signed.id


def read(clinic: ClinicApp, ident: int, who: str = PRACTITIONER) -> dict[str, Any]:
    return resource(clinic.get(f"/fhir/R4/Consent/{ident}", who), kind="Consent")


def test_a_signature_is_a_treatment_consent_carrying_the_exact_words_signed(clinic: ClinicApp) -> None:
    written = write_form(
        clinic.sessions,
        clinic_id=fraser(clinic),
        treatment="dermal-filler",
        title="Consent to dermal filler",
        body=WORDS,
        actor="clinic-admin:test",
        now=WRITTEN,
    )
    simran = clinic.id_of(models.Patient, "Simran Gill")
    ident = signs(clinic, "Simran Gill", "dermal-filler")
    found = read(clinic, ident)
    Consent.model_validate(found)
    assert (found["id"], found["status"]) == (str(ident), "active")
    assert found["scope"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment", "display": "Treatment"}
    ]
    assert found["category"][0]["coding"] == [
        {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
    ]
    assert found["patient"] == {"reference": f"Patient/{simran}"}  # ppc-5: a treatment consent names its patient
    assert found["performer"] == [{"reference": f"Patient/{simran}"}]
    signed_at = datetime.fromisoformat(str(found["dateTime"]))  # on the clinic's clock, with its offset
    assert signed_at == SIGNED and signed_at.utcoffset() == SIGNED.astimezone(ZONE).utcoffset()
    # ppc-1: a policy or a policyRule. fhir.resources does not check invariants, so this test does.
    assert found["policyRule"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN", "display": "opt-in"}
    ]
    name = KB.treatments["dermal-filler"].name
    assert found["provision"] == {  # what is permitted: the treatment, coded as everywhere else
        "type": "permit",
        "code": [{"coding": [{"system": TREATMENT_SYSTEM, "code": "dermal-filler", "display": name}], "text": name}],
    }

    attachment = found["sourceAttachment"]
    assert isinstance(attachment, dict)
    words = base64.b64decode(attachment["data"], validate=True)
    assert words.decode("utf-8") == WORDS == written.form.body
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(words).digest()).decode()
    assert (attachment["contentType"], attachment["title"], attachment["size"]) == (
        "text/plain; charset=utf-8",
        "Consent to dermal filler",
        len(WORDS.encode("utf-8")),
    )
    created = datetime.fromisoformat(attachment["creation"])
    assert created == WRITTEN and created.utcoffset() == WRITTEN.astimezone(ZONE).utcoffset()


def test_the_hash_is_sha1_of_the_words_in_base64() -> None:
    """A hand-checked vector: SHA-1("abc") is a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d (FIPS 180-1)."""
    form = Form(7, 1, "botox", 3, "Consent to Botox", "abc", "clinic-admin:1", WRITTEN)
    signature = Signature(9, 4, form, "Pat Doe", date(2026, 11, 11), SIGNED, False, "patient:5")
    built = fhir_consents.consent(signature, KB, ZONE)
    assert built.sourceAttachment is not None
    assert built.sourceAttachment.hash == base64.b64decode("qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
    assert bytes.fromhex("a9993e364706816aba3e25717850c26c9cd0d89d") == base64.b64decode("qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
    assert built.sourceAttachment.data == b"abc" and built.status == "active"
    withdrawn = Signature(9, 4, form, "Pat Doe", date(2026, 11, 11), SIGNED, False, "patient:5", SIGNED, "patient:5")
    assert fhir_consents.consent(withdrawn, KB, ZONE).status == "inactive"


def test_a_withdrawn_consent_is_inactive(clinic: ClinicApp) -> None:
    ident = signs(clinic, "Simran Gill")
    assert read(clinic, ident)["status"] == "active"
    withdraw(clinic.sessions, ident, actor="patient:test")
    assert read(clinic, ident)["status"] == "inactive"
    simran = clinic.id_of(models.Patient, "Simran Gill")
    found = entries(resource(clinic.get("/fhir/R4/Consent", FRONT_DESK, patient=str(simran), _id=str(ident))))
    assert [(r["id"], r["status"]) for r in found] == [(str(ident), "inactive")]


def test_staff_search_a_patients_consents_newest_first(clinic: ClinicApp) -> None:
    claire = clinic.id_of(models.Patient, "Claire Penner")
    older = signs(clinic, "Claire Penner", now=datetime(2026, 11, 3, 18, 0, tzinfo=UTC))
    newer = signs(clinic, "Claire Penner", "microneedling", now=datetime(2026, 11, 4, 18, 0, tzinfo=UTC))
    for patient in (f"Patient/{claire}", str(claire), f"http://testserver/fhir/R4/Patient/{claire}"):
        for who in (PRACTITIONER, FRONT_DESK):
            bundle = resource(clinic.get("/fhir/R4/Consent", who, patient=patient), kind="Bundle")
            found = entries(bundle)
            assert bundle["total"] == len(found) and {r["patient"]["reference"] for r in found} == {f"Patient/{claire}"}
            ids = [int(r["id"]) for r in found]
            assert ids.index(newer) < ids.index(older), (patient, who)
    paged = resource(clinic.get("/fhir/R4/Consent", PRACTITIONER, patient=str(claire), _count="1"))
    assert len(entries(paged)) == 1 and paged["total"] >= 2
    assert any(link["relation"] == "next" for link in paged["link"])
    assert [int(r["id"]) for r in entries(resource(clinic.get("/fhir/R4/Consent", PRACTITIONER, _id=str(older))))] == [
        older
    ]


def test_a_patient_reads_their_own_and_another_patients_is_not_found(clinic: ClinicApp) -> None:
    simran, claire = clinic.id_of(models.Patient, "Simran Gill"), clinic.id_of(models.Patient, "Claire Penner")
    mine, theirs = signs(clinic, "Simran Gill"), signs(clinic, "Claire Penner")
    assert read(clinic, mine, PATIENT)["patient"] == {"reference": f"Patient/{simran}"}
    hidden = resource(clinic.get(f"/fhir/R4/Consent/{theirs}", PATIENT), 404, "OperationOutcome")
    missing = resource(clinic.get("/fhir/R4/Consent/999999", PRACTITIONER), 404, "OperationOutcome")
    assert hidden["issue"][0]["code"] == missing["issue"][0]["code"] == "not-found"
    assert hidden["issue"][0]["diagnostics"] == f"no Consent {theirs}"
    # Searching, a patient finds only their own, whatever they ask for.
    own = entries(resource(clinic.get("/fhir/R4/Consent", PATIENT)))
    assert own and {r["patient"]["reference"] for r in own} == {f"Patient/{simran}"}
    assert entries(resource(clinic.get("/fhir/R4/Consent", PATIENT, _id=str(theirs)))) == []
    searched = resource(clinic.get("/fhir/R4/Consent", PATIENT, patient=f"Patient/{claire}"), 404, "OperationOutcome")
    assert searched["issue"][0]["code"] == "not-found"
    read(clinic, theirs, OTHER_PATIENT)  # Claire reads her own


def test_the_clinic_admin_is_refused_and_a_sign_in_is_needed(clinic: ClinicApp) -> None:
    ident = signs(clinic, "Simran Gill")
    for path in (f"/fhir/R4/Consent/{ident}", "/fhir/R4/Consent"):
        refused = resource(clinic.get(path, ADMIN), 403, "OperationOutcome")
        assert refused["issue"][0]["code"] == "forbidden"
        assert resource(clinic.get(path), 401, "OperationOutcome")["issue"][0]["code"] == "login"
    read(clinic, ident, FRONT_DESK)


def test_every_consent_returned_is_audited_by_id(clinic: ClinicApp) -> None:
    ident = str(signs(clinic, "Simran Gill"))
    before = len(clinic.audit("consent.read"))
    read(clinic, int(ident), PATIENT)
    entries(resource(clinic.get("/fhir/R4/Consent", FRONT_DESK, _id=ident)))
    resource(clinic.get(f"/fhir/R4/Consent/{ident}", ADMIN), 403)  # refused: nothing read
    resource(clinic.get("/fhir/R4/Consent/999999", PRACTITIONER), 404)  # nothing found: nothing read
    logged = clinic.audit("consent.read")[before:]
    assert [entity for _, entity in logged] == [ident, ident]
    assert logged[0][0].startswith("patient:") and logged[1][0].startswith("front-desk:")


def test_the_capability_statement_offers_consent(clinic: ClinicApp) -> None:
    statement = resource(clinic.get("/fhir/R4/metadata"), kind="CapabilityStatement")
    offered = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {i["code"] for i in offered["Consent"]["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in offered["Consent"]["searchParam"]} == {"_id", "patient"}


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "/fhir/R4/Consent", {"status": "active"}, 400, "not-supported"),
        ("GET", "/fhir/R4/Consent", {"patient": "Practitioner/1"}, 400, "invalid"),
        ("GET", "/fhir/R4/Consent", {"patient": ""}, 400, "invalid"),
        ("GET", "/fhir/R4/Consent/not-a-number", {}, 404, "not-found"),
        ("GET", "/fhir/R4/Consent", {"_format": "xml"}, 406, "not-supported"),
        ("POST", "/fhir/R4/Consent", {}, 405, "not-supported"),
        ("DELETE", "/fhir/R4/Consent/1", {}, 405, "not-supported"),
    ],
)
def test_errors_are_operation_outcomes(
    clinic: ClinicApp, method: str, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = clinic.client.request(method, path, params=params, headers=clinic.headers(PRACTITIONER))
    outcome = resource(response, status, "OperationOutcome")
    assert outcome["issue"][0]["code"] == code
