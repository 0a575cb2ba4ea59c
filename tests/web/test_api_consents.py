"""Consent forms and signatures over HTTP. Anyone reads a clinic's forms; its administrator writes them (a new version
only when the words change); the patient signs the version in use online, staff record only paper forms the patient
signed, and a patient never claims one; a form changed since it was read is 409 `consent-form-changed` with nothing
signed; staff read and withdraw any patient's signatures, the patient her own, another patient gets 404. Each
upcoming visit says whether its consent is on file. Reads are audited by ids, changes by the service by ids. Who
gets which status is also in tests/web/test_role_matrix.py.

The demo's clinic 1 has a form (version 1, the knowledge base's starter) for microneedling, botox, botox-touch-up
and dermal-filler, and none for the treatments that neither break the skin nor inject. Tests may run in any order
and on either worker, so each reads the version in use rather than assuming one, and each treatment has one use:
botox for the patient's own signatures, dermal-filler for a changed form, botox-touch-up for writing forms,
microneedling for the coverage of a visit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.consents import sign
from safewindow.store.consent_models import Consent, ConsentForm
from safewindow.web.api_consents import (
    ClinicFormRow,
    FormVersionsOut,
    PatientConsentsOut,
    SignatureOut,
    WithdrawnOut,
    WrittenOut,
)
from safewindow.web.api_visits import Refusals
from tests.web.test_api_demo import CLINIC, SIMRAN, TODAY, ZONE, Demo, open_demo

KB = default_knowledge_base()
FORMS = f"/api/v1/clinics/{CLINIC}/consent-forms"
SIGNATURES = f"/api/v1/patients/{SIMRAN}/consents"
STAFF = ("front desk", "practitioner", "aesthetician", "clinic admin")
WITH_A_FORM = {"microneedling", "botox", "botox-touch-up", "dermal-filler"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("consents")) as opened:
        yield opened


def in_use(demo: Demo, treatment: str, clinic: int = CLINIC) -> dict[str, Any]:
    form: dict[str, Any] = demo.ok("GET", f"/api/v1/clinics/{clinic}/consent-forms/{treatment}")["form"]
    return form


def signature_body(demo: Demo, treatment: str = "botox", name: str = "Simran Gill", **change: Any) -> dict[str, Any]:
    body = {
        "clinic_id": CLINIC,
        "treatment": treatment,
        "version": in_use(demo, treatment)["version"],
        "signed_name": name,
        "agreed": True,
        "on_paper": False,
    }
    return {**body, **change}


def signatures(demo: Demo, patient: int = SIMRAN) -> int:
    return demo.count(Consent, Consent.patient_id == patient)


def versions(demo: Demo, treatment: str) -> int:
    return demo.count(ConsentForm, ConsentForm.clinic_id == CLINIC, ConsentForm.treatment_slug == treatment)


def new_version(demo: Demo, treatment: str, words: str) -> dict[str, Any]:
    body = {"title": f"Consent to {treatment}", "body": words}
    written: dict[str, Any] = demo.ok("PUT", f"{FORMS}/{treatment}", "clinic admin", json=body)["form"]
    return written


def audit_actions(demo: Demo, entity: str, entity_id: object, action: str) -> list[dict[str, Any]]:
    return [e for e in demo.audit(entity, entity_id) if e["action"] == action]


# --- Forms ------------------------------------------------------------------------------------------------------


def test_anyone_reads_each_offered_treatment_with_its_form_in_use(demo: Demo) -> None:
    rows = [ClinicFormRow.model_validate(row) for row in demo.ok("GET", FORMS)]
    offered = {o["treatment"]: o for o in demo.ok("GET", f"/api/v1/clinics/{CLINIC}/treatments")}
    assert [row.treatment for row in rows] == list(offered)  # each offer, in the offers' order (by name)
    assert {row.treatment for row in rows if row.form is not None} == WITH_A_FORM
    for row in rows:
        assert (row.name, row.active) == (offered[row.treatment]["name"], offered[row.treatment]["active"])
        if row.form is not None:
            assert (row.form.clinic_id, row.form.treatment) == (CLINIC, row.treatment)
    for row in demo.ok("GET", FORMS):
        if row["form"] is not None:
            assert row["form"] == in_use(demo, row["treatment"])
    for who in ("patient", "front desk"):
        assert demo.ok("GET", FORMS, who) == demo.ok("GET", FORMS)


def test_the_form_in_use_comes_with_its_earlier_versions_newest_first(demo: Demo) -> None:
    first = in_use(demo, "botox-touch-up")
    second = new_version(demo, "botox-touch-up", "Second words.")
    third = new_version(demo, "botox-touch-up", "Third words.")
    found = demo.ok("GET", f"{FORMS}/botox-touch-up")
    FormVersionsOut.model_validate(found)
    assert found["form"] == third and third["version"] == second["version"] + 1
    assert found["earlier_versions"][:2] == [second, first]
    assert second["body"] == "Second words." and third["body"] == "Third words."


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        (f"{FORMS}/chemical-peel-light", 404, "treatment"),  # offered, but the clinic asks no written consent
        (f"{FORMS}/kybella", 404, "treatment"),  # not offered here
        ("/api/v1/clinics/999999/consent-forms/botox", 404, "clinic"),
        ("/api/v1/clinics/999999/consent-forms", 404, "clinic"),
        (f"{FORMS}/Not%20A%20Slug", 422, "treatment"),
        ("/api/v1/clinics/0/consent-forms", 422, "clinic_id"),
    ],
)
def test_no_form_or_no_clinic_is_404_and_a_bad_id_422(demo: Demo, path: str, status: int, field: str) -> None:
    response = demo.call("GET", path)
    assert response.status_code == status, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]


def test_the_administrator_writes_a_new_version_and_the_same_words_change_nothing(demo: Demo) -> None:
    before = in_use(demo, "botox-touch-up")
    body = {"title": "  Consent to a  touch-up ", "body": "\r\nI agree to a touch-up.\r\nWith aftercare.\n\n"}
    answered = demo.ok("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=body)
    written = WrittenOut.model_validate(answered)
    me = demo.ok("GET", "/api/v1/me", "clinic admin")
    assert written.changed is True and written.form.version == before["version"] + 1
    assert (written.form.title, written.form.body) == (
        "Consent to a touch-up",
        "I agree to a touch-up.\nWith aftercare.",
    )
    assert written.form.written_by == f"clinic-admin:{me['account_id']}"
    assert in_use(demo, "botox-touch-up") == answered["form"]
    count = versions(demo, "botox-touch-up")

    again = demo.ok("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=body)
    assert again == {"form": answered["form"], "changed": False}
    assert versions(demo, "botox-touch-up") == count

    [entry, *_] = audit_actions(demo, "clinic", CLINIC, "clinic.consent-form-written")
    assert entry["actor"] == f"clinic-admin:{me['account_id']}"
    assert entry["detail"] == {
        "form_id": written.form.id,
        "treatment": "botox-touch-up",
        "version": written.form.version,
        "before_version": before["version"],
    }


@pytest.mark.parametrize("who", ["front desk", "practitioner", "aesthetician", "patient", "other patient"])
def test_only_the_clinics_administrator_writes_its_forms(demo: Demo, who: str) -> None:
    count = versions(demo, "botox-touch-up")
    body = {"title": "Not theirs", "body": "Not theirs to write."}
    refused = demo.call("PUT", f"{FORMS}/botox-touch-up", who, json=body)
    assert (refused.status_code, refused.json()["detail"][0]["field"]) == (403, "role")
    assert demo.call("PUT", f"{FORMS}/botox-touch-up", json=body).status_code == 401
    elsewhere = demo.call("PUT", "/api/v1/clinics/2/consent-forms/botox", "clinic admin", json=body)
    assert (elsewhere.status_code, elsewhere.json()["detail"][0]["field"]) == (403, "clinic")
    assert versions(demo, "botox-touch-up") == count
    assert in_use(demo, "botox", clinic=2)["title"] != "Not theirs"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"title": "   ", "body": "Words."}, ["title"]),
        ({"title": "Title", "body": " \n\n "}, ["body"]),
        ({"title": "", "body": ""}, ["title", "body"]),
        ({"title": "T" * 201, "body": "Words."}, ["title"]),
        ({"title": "Title", "body": "w" * 20_001}, ["body"]),
        ({"title": "Two\nlines", "body": "Words."}, ["title"]),
        ({"title": "Title", "body": "nul\x00here"}, ["body"]),
        ({"title": "Title"}, ["body"]),
        ({"title": "Title", "body": "Words.", "version": 9}, ["version"]),
    ],
)
def test_a_bad_form_is_422_naming_each_field_and_writes_nothing(
    demo: Demo, body: dict[str, Any], fields: list[str]
) -> None:
    count = versions(demo, "botox-touch-up")
    response = demo.call("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == fields
    assert versions(demo, "botox-touch-up") == count


def test_a_treatment_the_clinic_does_not_offer_gets_no_form(demo: Demo) -> None:
    body = {"title": "Kybella", "body": "Words."}
    response = demo.call("PUT", f"{FORMS}/kybella", "clinic admin", json=body)
    assert (response.status_code, response.json()["detail"][0]["field"]) == (404, "treatment")
    assert versions(demo, "kybella") == 0


# --- Signatures -------------------------------------------------------------------------------------------------


def test_the_patient_signs_the_form_in_use_and_reads_her_signature(demo: Demo) -> None:
    form = in_use(demo, "botox")
    before = signatures(demo)
    answered = demo.ok("POST", SIGNATURES, "patient", status=201, json=signature_body(demo, name="  simran   GILL "))
    signed = SignatureOut.model_validate(answered)
    me = demo.ok("GET", "/api/v1/me", "patient")
    assert (signed.patient_id, signed.clinic_id, signed.treatment, signed.form.id) == (
        SIMRAN,
        CLINIC,
        "botox",
        form["id"],
    )
    assert answered["form"] == form  # the exact words signed
    assert (signed.signed_name, signed.on_paper, signed.withdrawn_at) == ("simran GILL", False, None)
    assert signed.recorded_by == f"patient:{me['account_id']}"
    assert signed.treatment_name == KB.treatments["botox"].name
    assert signatures(demo) == before + 1

    mine = demo.ok("GET", SIGNATURES, "patient")
    PatientConsentsOut.model_validate(mine)
    assert mine["patient_id"] == SIMRAN and mine["consents"][0] == answered  # newest first
    for who in STAFF:
        assert demo.ok("GET", SIGNATURES, who) == mine, who

    [entry, *_] = audit_actions(demo, "patient", SIMRAN, "patient.consent-signed")
    assert entry["detail"] == {"consent_id": signed.id, "form_id": form["id"], "on_paper": False}


def test_a_form_changed_since_it_was_read_is_409_and_nothing_is_signed(demo: Demo) -> None:
    read = signature_body(demo, "dermal-filler")
    new_version(demo, "dermal-filler", f"New words after version {read['version']}.")
    before = signatures(demo)
    response = demo.call("POST", SIGNATURES, "patient", json=read)
    assert response.status_code == 409, response.text
    [reason] = Refusals.model_validate(response.json()).detail
    assert (reason.field, reason.kind, reason.evidence, reason.source) == ("consent-form-changed", None, None, None)
    assert f"after version {read['version']} was read" in reason.problem
    assert signatures(demo) == before
    # Read again, it signs.
    again = demo.ok("POST", SIGNATURES, "patient", status=201, json=signature_body(demo, "dermal-filler"))
    assert again["form"]["body"] == f"New words after version {read['version']}."


def test_a_patient_signs_online_only_and_staff_record_paper_forms_only(demo: Demo) -> None:
    before = signatures(demo)
    claimed = demo.call("POST", SIGNATURES, "patient", json=signature_body(demo, on_paper=True))
    assert (claimed.status_code, [d["field"] for d in claimed.json()["detail"]]) == (422, ["on_paper"])
    for who in STAFF:
        typed = demo.call("POST", SIGNATURES, who, json=signature_body(demo))
        assert (typed.status_code, [d["field"] for d in typed.json()["detail"]]) == (422, ["on_paper"]), who
    assert signatures(demo) == before


@pytest.mark.parametrize("who", STAFF)
def test_staff_record_a_paper_form_the_patient_signed(demo: Demo, who: str) -> None:
    patient = demo.new_patient(name="Paper Patient")
    path = f"/api/v1/patients/{patient}/consents"
    recorded = demo.ok("POST", path, who, status=201, json=signature_body(demo, name="Paper Patient", on_paper=True))
    me = demo.ok("GET", "/api/v1/me", who)
    assert (recorded["patient_id"], recorded["on_paper"], recorded["recorded_by"]) == (
        patient,
        True,
        f"{me['role']}:{me['account_id']}",
    )
    assert [c["id"] for c in demo.ok("GET", path, "front desk")["consents"]] == [recorded["id"]]
    [entry] = audit_actions(demo, "patient", patient, "patient.consent-signed")
    assert entry["detail"] == {"consent_id": recorded["id"], "form_id": recorded["form"]["id"], "on_paper": True}


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"agreed": False}, ["agreed"]),
        ({"agreed": False, "signed_name": "Someone Else"}, ["agreed", "signed_name"]),
        ({"signed_name": "Someone Else"}, ["signed_name"]),
        ({"signed_name": "   "}, ["signed_name"]),
        ({"signed_name": "S" * 201}, ["signed_name"]),
        ({"signed_name": "Simran\nGill"}, ["signed_name"]),
        ({"agreed": "sure"}, ["agreed"]),
        ({"version": 0}, ["version"]),
        ({"version": None}, ["version"]),
        ({"clinic_id": 999999}, ["clinic_id"]),
        ({"clinic_id": 0}, ["clinic_id"]),
        ({"treatment": "chemical-peel-light"}, ["treatment"]),  # offered, no form
        ({"treatment": "kybella"}, ["treatment"]),  # not offered at clinic 1
        ({"treatment": ""}, ["treatment"]),
        ({"on_paper": "maybe"}, ["on_paper"]),
        ({"witness": "Dr. Brar"}, ["witness"]),
    ],
)
def test_a_bad_signature_is_422_naming_each_field_and_signs_nothing(
    demo: Demo, change: dict[str, Any], fields: list[str]
) -> None:
    before = signatures(demo)
    body = {k: v for k, v in {**signature_body(demo), **change}.items() if v is not None}
    response = demo.call("POST", SIGNATURES, "patient", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == fields
    assert signatures(demo) == before


def test_the_name_must_be_the_one_on_file(demo: Demo) -> None:
    response = demo.call("POST", SIGNATURES, "patient", json=signature_body(demo, name="Simran G."))
    assert response.json() == {
        "detail": [{"field": "signed_name", "problem": "type the full name the clinic has on file: Simran Gill"}]
    }


def test_another_patient_unknown_patients_and_the_anonymous_get_nothing(demo: Demo) -> None:
    before = signatures(demo)
    for method, body in (("GET", None), ("POST", signature_body(demo))):
        other = demo.call(method, SIGNATURES, "other patient", json=body)
        assert (other.status_code, other.json()) == (
            404,
            {"detail": [{"field": "patient", "problem": f"no patient {SIMRAN}"}]},
        )
        assert demo.call(method, SIGNATURES, json=body).status_code == 401
    unknown = "/api/v1/patients/999999/consents"
    for method, body in (("GET", None), ("POST", signature_body(demo, on_paper=True))):
        missing = demo.call(method, unknown, "front desk", json=body)
        assert (missing.status_code, missing.json()["detail"][0]["field"]) == (404, "patient"), method
    assert demo.call("GET", "/api/v1/patients/0/consents", "front desk").status_code == 422
    assert signatures(demo) == before


# --- Withdrawing ------------------------------------------------------------------------------------------------


def simran_signs(demo: Demo, treatment: str = "botox") -> int:
    signed: dict[str, Any] = demo.ok("POST", SIGNATURES, "patient", status=201, json=signature_body(demo, treatment))
    return int(signed["id"])


def test_the_patient_withdraws_her_own_and_again_changes_nothing(demo: Demo) -> None:
    consent = simran_signs(demo)
    path = f"/api/v1/consents/{consent}/withdraw"
    answered = demo.ok("POST", path, "patient")
    done = WithdrawnOut.model_validate(answered)
    me = demo.ok("GET", "/api/v1/me", "patient")
    assert done.already_withdrawn is False and done.consent.id == consent
    assert done.consent.withdrawn_at is not None and done.consent.withdrawn_by == f"patient:{me['account_id']}"
    again = demo.ok("POST", path, "front desk")
    assert again == {**answered, "already_withdrawn": True}
    listed = {c["id"]: c for c in demo.ok("GET", SIGNATURES, "patient")["consents"]}
    assert listed[consent] == answered["consent"]
    [latest, *_] = audit_actions(demo, "patient", SIMRAN, "patient.consent-withdrawn")
    assert latest["detail"] == {"consent_id": consent}


@pytest.mark.parametrize("who", STAFF)
def test_staff_withdraw_any_patients_consent(demo: Demo, who: str) -> None:
    consent = simran_signs(demo)
    done = demo.ok("POST", f"/api/v1/consents/{consent}/withdraw", who)
    me = demo.ok("GET", "/api/v1/me", who)
    assert (done["already_withdrawn"], done["consent"]["withdrawn_by"]) == (False, f"{me['role']}:{me['account_id']}")


def test_another_patients_consent_and_an_unknown_one_are_404(demo: Demo) -> None:
    consent = simran_signs(demo)
    for who, ident in (("other patient", consent), ("patient", 999999), ("front desk", 999999)):
        response = demo.call("POST", f"/api/v1/consents/{ident}/withdraw", who)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": [{"field": "consent", "problem": f"no consent {ident}"}]},
        ), who
    assert demo.call("POST", f"/api/v1/consents/{consent}/withdraw").status_code == 401
    assert demo.call("POST", "/api/v1/consents/0/withdraw", "front desk").status_code == 422
    listed = {c["id"]: c for c in demo.ok("GET", SIGNATURES, "patient")["consents"]}
    assert listed[consent]["withdrawn_at"] is None


# --- Upcoming visits --------------------------------------------------------------------------------------------


def test_each_upcoming_visit_says_whether_its_consent_is_on_file(demo: Demo) -> None:
    patient = demo.new_patient(name="Covered Patient")
    path = f"/api/v1/patients/{patient}/consents"
    needing = demo.book(patient, "microneedling")
    without_form = demo.book(patient, "chemical-peel-light")

    def standing() -> dict[int, tuple[str, bool, int | None]]:
        found = PatientConsentsOut.model_validate(demo.ok("GET", path, "front desk"))
        return {u.visit_id: (u.consent.standing, u.consent.covered, u.consent.consent_id) for u in found.upcoming}

    assert standing() == {needing: ("needed", False, None), without_form: ("no-form", True, None)}
    on_paper = signature_body(demo, "microneedling", name="Covered Patient", on_paper=True)
    first = demo.ok("POST", path, "front desk", status=201, json=on_paper)["id"]
    assert standing()[needing] == ("signed", True, first)

    new_version(demo, "microneedling", "Microneedling, as the clinic now words it.")
    assert standing()[needing] == ("new-version", False, first)
    on_paper = signature_body(demo, "microneedling", name="Covered Patient", on_paper=True)
    second = demo.ok("POST", path, "front desk", status=201, json=on_paper)["id"]
    assert standing()[needing] == ("signed", True, second)

    demo.ok("POST", f"/api/v1/consents/{second}/withdraw", "practitioner")
    assert standing() == {needing: ("withdrawn", False, second), without_form: ("no-form", True, None)}

    found = demo.ok("GET", path, "front desk")
    [upcoming] = [u for u in found["upcoming"] if u["visit_id"] == needing]
    visit = demo.ok("GET", f"/api/v1/visits/{needing}", "front desk")
    assert (upcoming["start"], upcoming["clinic"], upcoming["treatment"]) == (
        visit["start"],
        CLINIC,
        "microneedling",
    )
    assert upcoming["consent"]["form_version"] == in_use(demo, "microneedling")["version"]
    assert [c["id"] for c in found["consents"]] == [second, first]


# --- Audit and retries ------------------------------------------------------------------------------------------


def test_reads_are_audited_by_ids_and_no_words_reach_the_log(demo: Demo) -> None:
    patient = demo.new_patient(name="Audited Patient")
    sign(
        demo.sessions,
        patient_id=patient,
        clinic_id=CLINIC,
        treatment="botox",
        version=in_use(demo, "botox")["version"],
        signed_name="Audited Patient",
        agreed=True,
        on_paper=True,
        actor="front-desk:test",
    )
    path = f"/api/v1/patients/{patient}/consents"
    demo.ok("GET", path, "practitioner")
    demo.ok("GET", path, "clinic admin")
    reads = demo.audit("patient-consents", patient)
    assert [(e["action"], e["actor"].split(":")[0], e["detail"]) for e in reads] == [
        ("patient-consents.read", "clinic-admin", {}),
        ("patient-consents.read", "practitioner", {}),
    ]
    demo.ok("GET", FORMS)  # the clinic's published forms: not a patient's record, not audited
    assert len(demo.audit("patient-consents", patient)) == 2
    everything = demo.call("GET", "/api/v1/audit", "clinic admin", params={"limit": 1000}).text
    assert "Audited Patient" not in everything and "Botulinum" not in everything


def test_the_same_key_signs_once(demo: Demo) -> None:
    before = signatures(demo)
    key = {"Idempotency-Key": "consent-botox-once"}
    body = signature_body(demo)
    first = demo.call("POST", SIGNATURES, "patient", json=body, headers=key)
    again = demo.call("POST", SIGNATURES, "patient", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = demo.call("POST", SIGNATURES, "patient", json={**body, "signed_name": "Simran  Gill"}, headers=key)
    assert other.status_code == 422 and other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert signatures(demo) == before + 1

    path = f"/api/v1/consents/{first.json()['id']}/withdraw"
    withdrawn = demo.call("POST", path, "patient", headers={"Idempotency-Key": "withdraw-once"})
    replayed = demo.call("POST", path, "patient", headers={"Idempotency-Key": "withdraw-once"})
    assert withdrawn.json() == replayed.json() and replayed.json()["already_withdrawn"] is False
    assert replayed.headers["idempotent-replayed"] == "true"


def test_a_change_written_from_an_older_version_is_409_and_replaces_nothing(demo: Demo) -> None:
    start = versions(demo, "botox-touch-up")
    mine = {"title": "Mine", "body": "My words.", "based_on_version": start}
    assert demo.ok("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=mine)["form"]["version"] == start + 1
    theirs = {"title": "Theirs", "body": "Their words.", "based_on_version": start}
    refused = demo.call("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=theirs)
    assert refused.status_code == 409, refused.text
    assert "consent-form-changed" in refused.text
    assert versions(demo, "botox-touch-up") == start + 1
    bad = demo.call("PUT", f"{FORMS}/botox-touch-up", "clinic admin", json=mine | {"based_on_version": -1})
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "based_on_version")


def test_a_paper_form_carries_the_day_written_on_it_and_only_a_day_it_could_have_been_signed(demo: Demo) -> None:
    patient = demo.new_patient(name="Dated Paper")
    path = f"/api/v1/patients/{patient}/consents"
    in_use_from = datetime.fromisoformat(in_use(demo, "botox")["written_at"]).astimezone(ZONE).date()
    body = signature_body(demo, name="Dated Paper", on_paper=True, signed_on=in_use_from.isoformat())
    for bad in ((in_use_from - timedelta(days=1)).isoformat(), (TODAY + timedelta(days=1)).isoformat(), "25/11/2026"):
        response = demo.call("POST", path, "front desk", json={**body, "signed_on": bad})
        assert (response.status_code, [d["field"] for d in response.json()["detail"]]) == (422, ["signed_on"]), bad
    online = demo.call("POST", SIGNATURES, "patient", json=signature_body(demo, signed_on=TODAY.isoformat()))
    assert (online.status_code, [d["field"] for d in online.json()["detail"]]) == (422, ["signed_on"])
    assert signatures(demo, patient) == 0

    recorded = demo.ok("POST", path, "front desk", status=201, json=body)
    assert (recorded["signed_day"], recorded["on_paper"]) == (in_use_from.isoformat(), True)
    assert [c["signed_day"] for c in demo.ok("GET", path, "practitioner")["consents"]] == [in_use_from.isoformat()]
