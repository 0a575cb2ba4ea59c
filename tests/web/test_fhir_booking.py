"""FHIR scheduling over HTTP: rule-aware Slots, Appointments booked through the same rules as every channel
(an unsafe one is 409 with every reason, and nothing is written), Procedures, and the timing rules as one
PlanDefinition. The seed's patient, Simran Gill, had microneedling on 10 Nov 2026: no Botox before 24 Nov."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.fhir_values import IDEAL_WINDOW_URL, SLOT_FIT_URL, TIMING_RULE_URL, TREATMENT_SYSTEM
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_fhir import (
    FHIR,
    FRONT_DESK,
    OTHER_PATIENT,
    PATIENT,
    PRACTITIONER,
    ClinicApp,
    diagnostics,
    entries,
    open_clinic,
    resource,
)

KB = default_knowledge_base()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("fhir-booking"))


def visits(clinic: ClinicApp) -> int:
    with UnitOfWork(clinic.sessions) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(models.Visit)) or 0)


def appointment(
    patient: int, *, start: str | None = None, clinic_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "booked",
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
        **extra,
    }
    if start is not None:
        body["start"] = start
        body["serviceType"] = [{"coding": [{"system": TREATMENT_SYSTEM, "code": "botox"}]}]
    if clinic_id is not None:
        body["participant"].append({"actor": {"reference": f"Location/{clinic_id}"}, "status": "accepted"})
    return body


def post(clinic: ClinicApp, body: object, who: str = PATIENT, **headers: str) -> Any:
    content = body if isinstance(body, str) else json.dumps(body)
    sent = clinic.headers(who, **{"Content-Type": FHIR, **headers})
    return clinic.client.post("/fhir/R4/Appointment", content=content, headers=sent)


def slots(clinic: ClinicApp, who: str = PATIENT, **params: Any) -> list[dict[str, Any]]:
    fraser = clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")
    query = {"service-type": "botox", "location": f"Location/{fraser}", **params}
    return entries(resource(clinic.get("/fhir/R4/Slot", who, **query)))


def test_the_timing_rules_are_one_plan_definition(clinic: ClinicApp) -> None:
    plan = resource(clinic.get("/fhir/R4/PlanDefinition/timing-rules"), kind="PlanDefinition")
    assert plan["version"] == KB.version and plan["status"] == "active"
    actions = {a["id"]: a for a in plan["action"]}
    related = actions["botox"]["relatedAction"]
    after_needling = next(r for r in related if r["actionId"] == "microneedling")
    assert after_needling["relationship"] == "after-start"
    assert after_needling["offsetRange"]["low"] == {
        "value": 14,
        "unit": "days",
        "system": "http://unitsofmeasure.org",
        "code": "d",
    }
    extensions = {e["url"]: e for e in after_needling["extension"]}
    window = extensions[IDEAL_WINDOW_URL]["valueRange"]
    assert (window["low"]["value"], window["high"]["value"]) == (14, 28)
    details = {
        e["url"]: next(v for k, v in e.items() if k.startswith("value"))
        for e in extensions[TIMING_RULE_URL]["extension"]
    }
    assert details["id"] == "microneedling-then-botox" and details["kind"] == "soft"
    assert details["evidence"] == "practice" and details["source"].startswith("practice:")
    # Every interval rule, for every pair of treatments it joins, is a related action.
    expected = sum(len(rule.after) * len(rule.before) for rule in KB.rules)
    assert sum(len(a.get("relatedAction", [])) for a in plan["action"]) == expected

    found = resource(clinic.get("/fhir/R4/PlanDefinition", url=plan["url"]))
    assert [p["id"] for p in entries(found)] == ["timing-rules"]
    assert entries(resource(clinic.get("/fhir/R4/PlanDefinition", _id="other"))) == []


def test_slots_for_a_patient_wait_for_the_safe_window(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    anyone = slots(clinic, _count=3)
    # 11 Nov is Remembrance Day (a BC statutory holiday): the first free Botox slots are on Thursday 12 Nov.
    assert anyone[0]["start"].startswith("2026-11-12T09:00:00-07:00")
    assert all("extension" not in s for s in anyone)

    before = len(clinic.audit("patient.read"))
    hers = slots(clinic, patient=f"Patient/{simran}", _count=3)
    assert hers[0]["start"].startswith("2026-11-24T") and all(s["start"] >= "2026-11-24" for s in hers)
    assert {"url": SLOT_FIT_URL, "valueCode": "ideal"} in hers[0]["extension"]
    assert clinic.audit("patient.read")[before:] == [(clinic.audit("patient.read")[-1][0], str(simran))]

    # Another patient's slots: not found, as their record would be.
    claire = clinic.id_of(models.Patient, "Claire Penner")
    hidden = clinic.get("/fhir/R4/Slot", PATIENT, **{"service-type": "botox", "location": "1", "patient": claire})
    assert resource(hidden, 404, "OperationOutcome")["issue"][0]["code"] == "not-found"


def test_slots_within_a_day_and_read_back_by_id(clinic: ClinicApp) -> None:
    tuesday = slots(clinic, start=["ge2026-12-01", "lt2026-12-02"], _count=100)
    assert tuesday and all(s["start"].startswith("2026-12-01T") for s in tuesday)
    one = resource(clinic.get(f"/fhir/R4/Slot/{tuesday[0]['id']}", PATIENT), kind="Slot")
    assert one["status"] == "free" and one["start"] == tuesday[0]["start"]
    assert one["schedule"]["reference"].startswith("Schedule/")


def test_an_unsafe_appointment_is_refused_with_every_reason_and_nothing_written(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    fraser = clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")
    count = visits(clinic)
    # Friday 20 Nov at 08:00: the clinic is not open yet, and it is ten days after microneedling.
    refused = post(clinic, appointment(simran, start="2026-11-20T08:00:00-07:00", clinic_id=fraser))
    outcome = resource(refused, 409, "OperationOutcome")
    codes = [issue["details"]["coding"][0]["code"] for issue in outcome["issue"]]
    assert "outside-opening-hours" in codes and "microneedling-then-botox" in codes
    rule = next(i for i in outcome["issue"] if i["details"]["coding"][0]["code"] == "microneedling-then-botox")
    assert rule["code"] == "business-rule" and "wait until 2026-11-24" in rule["diagnostics"]
    assert "kind soft" in rule["details"]["text"] and "evidence practice" in rule["details"]["text"]
    assert visits(clinic) == count


def test_a_safe_appointment_from_a_slot_is_booked_and_read_back(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    offered = slots(clinic, patient=simran, _count=1)[0]
    response = post(clinic, appointment(simran, slot=[{"reference": f"Slot/{offered['id']}"}]))
    booked = resource(response, 201, "Appointment")
    assert booked["status"] == "booked" and booked["start"] == offered["start"]
    assert response.headers["location"] == f"http://testserver/fhir/R4/Appointment/{booked['id']}/_history/1"
    assert response.headers["etag"] == 'W/"1"'
    actors = {p["actor"]["reference"].split("/")[0]: p["actor"]["reference"] for p in booked["participant"]}
    assert actors["Patient"] == f"Patient/{simran}" and set(actors) == {"Patient", "Practitioner", "Location"}

    again = resource(clinic.get(f"/fhir/R4/Appointment/{booked['id']}", PATIENT), kind="Appointment")
    assert again["start"] == booked["start"] and again["serviceType"][0]["coding"][0]["code"] == "botox"
    assert resource(clinic.get(f"/fhir/R4/Slot/{offered['id']}", PATIENT))["status"] == "busy"
    # The same slot again: the booking refuses it.
    taken = resource(post(clinic, appointment(simran, slot=[{"reference": f"Slot/{offered['id']}"}])), 409)
    assert taken["issue"]


def test_staff_book_for_a_patient_and_a_patient_cannot_book_for_another(clinic: ClinicApp) -> None:
    claire = clinic.id_of(models.Patient, "Claire Penner")
    fraser = clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")
    count = visits(clinic)
    hidden = post(clinic, appointment(claire, start="2026-12-03T10:00:00-07:00", clinic_id=fraser), who=PATIENT)
    assert resource(hidden, 404, "OperationOutcome")["issue"][0]["code"] == "not-found"
    assert visits(clinic) == count

    response = post(
        clinic,
        appointment(claire, start="2026-12-03T10:00:00-07:00", clinic_id=fraser),
        who=FRONT_DESK,
        Prefer="return=OperationOutcome",
    )
    outcome = resource(response, 201, "OperationOutcome")
    assert outcome["issue"][0]["severity"] == "information" and visits(clinic) == count + 1


@pytest.mark.parametrize(
    ("body", "headers", "status", "expected"),
    [
        ("{not json", {}, 400, "not JSON"),
        ({"resourceType": "Patient"}, {}, 400, "must be an Appointment"),
        ({"resourceType": "Appointment", "status": "booked", "start": "2026-12-03T10:00:00"}, {}, 400, "start"),
        ({"resourceType": "Appointment", "status": "booked", "participant": []}, {}, 422, "Patient"),
        ("{}", {"Content-Type": "text/plain"}, 415, "application/fhir+json"),
    ],
)
def test_malformed_appointments_are_refused_before_anything_is_booked(
    clinic: ClinicApp, body: object, headers: dict[str, str], status: int, expected: str
) -> None:
    count = visits(clinic)
    outcome = resource(post(clinic, body, who=FRONT_DESK, **headers), status, "OperationOutcome")
    assert expected in " ".join(diagnostics(outcome)) and visits(clinic) == count


def test_what_the_booking_does_not_know_is_unprocessable(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    no_start = appointment(
        simran, clinic_id=1, serviceType=[{"coding": [{"system": TREATMENT_SYSTEM, "code": "botox"}]}]
    )
    assert "Appointment.start" in diagnostics(resource(post(clinic, no_start), 422))[0]
    unknown = appointment(simran, clinic_id=1, start="2026-12-03T10:00:00-07:00")
    unknown["serviceType"] = [{"coding": [{"system": TREATMENT_SYSTEM, "code": "botx"}]}]
    assert "botx" in diagnostics(resource(post(clinic, unknown), 422))[0]
    not_offered = appointment(simran, clinic_id=1, start="2026-12-03T10:00:00-07:00")
    not_offered["serviceType"] = [{"coding": [{"system": TREATMENT_SYSTEM, "code": "kybella"}]}]
    assert "does not offer" in diagnostics(resource(post(clinic, not_offered), 422))[0]


def test_a_change_with_the_session_cookie_needs_its_csrf_token(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    body = json.dumps(appointment(simran, start="2026-12-04T10:00:00-07:00", clinic_id=1))
    clinic.client.cookies.set("sw_session", clinic.tokens[PATIENT])
    try:
        response = clinic.client.post("/fhir/R4/Appointment", content=body, headers={"Content-Type": FHIR})
    finally:
        clinic.client.cookies.clear()
    assert resource(response, 403, "OperationOutcome")["issue"][0]["code"] == "forbidden"


def test_appointments_and_procedures_are_searched_within_what_the_user_may_see(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    claire = clinic.id_of(models.Patient, "Claire Penner")
    before = len(clinic.audit("visit.read"))
    own = entries(resource(clinic.get("/fhir/R4/Appointment", PATIENT)))
    assert own and {
        p["actor"]["reference"] for a in own for p in a["participant"] if "Patient" in p["actor"]["reference"]
    } == {f"Patient/{simran}"}
    assert [entity for _, entity in clinic.audit("visit.read")[before:]] == [a["id"] for a in own]
    assert resource(clinic.get("/fhir/R4/Appointment", PATIENT, patient=claire), 404)["issue"][0]["code"] == "not-found"

    # Claire's visits, seen by staff: two completed ones in August, which are also Procedures.
    theirs = entries(resource(clinic.get("/fhir/R4/Appointment", PRACTITIONER, patient=claire, date="2026-08")))
    assert [a["status"] for a in theirs] == ["fulfilled", "fulfilled"]
    done = entries(resource(clinic.get("/fhir/R4/Procedure", PRACTITIONER, patient=f"Patient/{claire}")))
    assert [p["code"]["coding"][0]["code"] for p in done] == ["botox", "botox-touch-up"]
    assert done[0]["performedPeriod"]["start"] == "2026-08-12T11:00:00-07:00"
    later = entries(resource(clinic.get("/fhir/R4/Procedure", PRACTITIONER, patient=claire, date="gt2026-08-20")))
    assert [p["code"]["coding"][0]["code"] for p in later] == ["botox-touch-up"]

    # A visit that has not happened is an Appointment, not a Procedure; another patient's is not found.
    booked = next(a for a in own if a["status"] == "booked")
    assert resource(clinic.get(f"/fhir/R4/Procedure/{booked['id']}", PATIENT), 404)["issue"][0]["code"] == "not-found"
    assert (
        resource(clinic.get(f"/fhir/R4/Appointment/{theirs[0]['id']}", PATIENT), 404)["resourceType"]
        == "OperationOutcome"
    )
    assert resource(clinic.get(f"/fhir/R4/Procedure/{done[0]['id']}", OTHER_PATIENT), kind="Procedure")
