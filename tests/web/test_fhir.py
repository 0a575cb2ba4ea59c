"""The FHIR R4 interface over HTTP, on a real SQLite store with the demo clinics: the CapabilityStatement, the
directory, roles and the audit log, and errors that are always OperationOutcomes (never a 500, never HTML).

`open_clinic` (a migrated store with the demo and its sign-ins, the app on it, a fixed clock) is shared with the
other FHIR, calendar and aftercare tests. Every FHIR answer is parsed back with fhir.resources' R4B models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.services.accounts import create_account, sign_in
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.store import migrate, models
from safewindow.store.account_models import Role
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web import dependencies
from safewindow.web.app import create_app
from safewindow.web.dependencies import today

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

NOW = datetime(2026, 11, 11, 18, 0, tzinfo=UTC)  # Wednesday 11 Nov 2026, 11:00 in Abbotsford (UTC-7)
TODAY = date(2026, 11, 11)
PATIENT = "patient@demo.example"  # Simran Gill: microneedling on 10 Nov 2026
OTHER_PATIENT = "claire@demo.example"  # Claire Penner, given an account here
FRONT_DESK = "frontdesk@demo.example"
PRACTITIONER = "practitioner@demo.example"  # Dr. Anika Brar
ADMIN = "admin@demo.example"
FHIR = "application/fhir+json"


@dataclass
class ClinicApp:
    sessions: sessionmaker[Session]
    client: TestClient
    tokens: dict[str, str]

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return {**auth, **extra}

    def get(self, path: str, who: str | None = None, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(who))

    def id_of(self, model: type[models.Patient] | type[models.Practitioner] | type[models.Clinic], name: str) -> int:
        with UnitOfWork(self.sessions) as uow:
            found = uow.session.scalar(select(model.id).where(model.name == name))
            assert found is not None, name
            return int(found)

    def audit(self, action: str) -> list[tuple[str, str]]:
        with UnitOfWork(self.sessions) as uow:
            rows = uow.session.scalars(
                select(models.AuditEntry).where(models.AuditEntry.action == action).order_by(models.AuditEntry.id)
            )
            return [(row.actor, row.entity_id) for row in rows]


def open_clinic(directory: Path) -> Iterator[ClinicApp]:
    url = f"sqlite:///{directory / 'safewindow.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions, write=True) as uow:
        load_demo(uow.session)
        ensure_demo_accounts(uow.session)
        claire = uow.session.scalar(select(models.Patient.id).where(models.Patient.name == "Claire Penner"))
        create_account(uow.session, email=OTHER_PATIENT, password=DEMO_PASSWORD, role=Role.PATIENT, patient_id=claire)
        uow.commit()
    app = create_app(sessions=sessions)
    app.dependency_overrides[today] = lambda: TODAY
    app.dependency_overrides[dependencies.now] = lambda: NOW
    tokens = {
        who: sign_in(sessions, who, DEMO_PASSWORD)[0]
        for who in (PATIENT, OTHER_PATIENT, FRONT_DESK, PRACTITIONER, ADMIN)
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ClinicApp(sessions, client, tokens)
    engine.dispose()


def resource(response: Any, status: int = 200, kind: str | None = None) -> dict[str, Any]:
    """The answer as FHIR JSON, after checking it parses as the R4B model its resourceType names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR)
    body: dict[str, Any] = response.json()
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    if kind is not None:
        assert body["resourceType"] == kind
    return body


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [entry["resource"] for entry in bundle.get("entry", [])]


def diagnostics(outcome: dict[str, Any]) -> list[str]:
    assert outcome["resourceType"] == "OperationOutcome"
    return [issue["diagnostics"] for issue in outcome["issue"]]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("fhir"))


def test_the_capability_statement_says_r4_json_and_what_each_resource_offers(clinic: ClinicApp) -> None:
    statement = resource(clinic.get("/fhir/R4/metadata"), kind="CapabilityStatement")
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    assert "application/fhir+json" in statement["format"]
    offered = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(offered) == {
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "HealthcareService",
        "Schedule",
        "Slot",
        "Appointment",
        "Procedure",
        "ServiceRequest",
        "Consent",
        "PlanDefinition",
    }
    assert {i["code"] for i in offered["Appointment"]["interaction"]} == {"read", "search-type", "create"}
    assert {p["name"] for p in offered["Slot"]["searchParam"]} >= {"service-type", "start", "patient", "schedule"}
    assert statement["implementation"]["url"] == "http://testserver/fhir/R4"


def test_clinics_and_their_services_are_public(clinic: ClinicApp) -> None:
    fraser = clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")
    location = resource(clinic.get(f"/fhir/R4/Location/{fraser}"), kind="Location")
    assert location["name"] == "Fraser Valley Skin Studio"
    assert {"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": "America/Vancouver"} in location[
        "extension"
    ]
    assert location["hoursOfOperation"][0] == {
        "daysOfWeek": ["tue"],
        "openingTime": "09:00:00",
        "closingTime": "17:00:00",
    }
    found = entries(resource(clinic.get("/fhir/R4/Location", name="sumas")))
    assert [r["name"] for r in found] == ["Sumas Mountain Aesthetics"]

    services = entries(resource(clinic.get("/fhir/R4/HealthcareService", location=f"Location/{fraser}")))
    assert len(services) == 7
    botox = entries(resource(clinic.get("/fhir/R4/HealthcareService", **{"service-type": "botox"})))
    assert len(botox) == 3 and all(s["type"][0]["coding"][0]["code"] == "botox" for s in botox)
    one = resource(clinic.get(f"/fhir/R4/HealthcareService/{botox[0]['id']}"), kind="HealthcareService")
    assert one["name"].startswith("Botulinum toxin")


def test_practitioners_roles_and_schedules_need_a_sign_in(clinic: ClinicApp) -> None:
    brar = clinic.id_of(models.Practitioner, "Dr. Anika Brar")
    fraser = clinic.id_of(models.Clinic, "Fraser Valley Skin Studio")
    for path in (f"/fhir/R4/Practitioner/{brar}", "/fhir/R4/PractitionerRole", f"/fhir/R4/Schedule/{brar}-{fraser}"):
        outcome = resource(clinic.get(path), 401, "OperationOutcome")
        assert outcome["issue"][0]["code"] == "login"

    practitioner = resource(clinic.get(f"/fhir/R4/Practitioner/{brar}", PATIENT), kind="Practitioner")
    assert practitioner["name"][0]["text"] == "Dr. Anika Brar"
    assert practitioner["qualification"][0]["code"]["coding"][0]["code"] == "physician"

    roles = entries(resource(clinic.get("/fhir/R4/PractitionerRole", PATIENT, practitioner=f"Practitioner/{brar}")))
    assert sorted(r["id"] for r in roles) == sorted(
        f"{brar}-{c}" for c in (fraser, clinic.id_of(models.Clinic, "Mill Lake Medispa"))
    )
    role = resource(clinic.get(f"/fhir/R4/PractitionerRole/{brar}-{fraser}", PATIENT), kind="PractitionerRole")
    assert [t["daysOfWeek"] for t in role["availableTime"]] == [["tue"], ["thu"]]

    schedule = resource(clinic.get(f"/fhir/R4/Schedule/{brar}-{fraser}", PATIENT), kind="Schedule")
    assert {a["reference"] for a in schedule["actor"]} == {f"Practitioner/{brar}", f"Location/{fraser}"}
    assert "botox" in {s["coding"][0]["code"] for s in schedule["serviceType"]}
    # An aesthetician's schedule offers no injections.
    bains = clinic.id_of(models.Practitioner, "Jasleen Bains")
    theirs = resource(clinic.get(f"/fhir/R4/Schedule/{bains}-{fraser}", PATIENT), kind="Schedule")
    assert "botox" not in {s["coding"][0]["code"] for s in theirs["serviceType"]}
    injecting = entries(
        resource(clinic.get("/fhir/R4/Schedule", PATIENT, actor=f"Location/{fraser}", **{"service-type": "botox"}))
    )
    assert f"{bains}-{fraser}" not in {s["id"] for s in injecting} and f"{brar}-{fraser}" in {
        s["id"] for s in injecting
    }


def test_a_patient_reads_their_own_record_and_another_patients_is_not_found(clinic: ClinicApp) -> None:
    simran = clinic.id_of(models.Patient, "Simran Gill")
    claire = clinic.id_of(models.Patient, "Claire Penner")
    own = resource(clinic.get(f"/fhir/R4/Patient/{simran}", PATIENT), kind="Patient")
    assert own["name"][0]["text"] == "Simran Gill" and own["birthDate"] == "1991-04-17"

    hidden = resource(clinic.get(f"/fhir/R4/Patient/{claire}", PATIENT), 404, "OperationOutcome")
    missing = resource(clinic.get("/fhir/R4/Patient/999999", FRONT_DESK), 404, "OperationOutcome")
    assert hidden["issue"][0]["code"] == missing["issue"][0]["code"] == "not-found"

    # Searching, a patient finds only themselves, whatever they ask for.
    assert [p["id"] for p in entries(resource(clinic.get("/fhir/R4/Patient", PATIENT)))] == [str(simran)]
    assert entries(resource(clinic.get("/fhir/R4/Patient", PATIENT, name="Claire"))) == []


def test_staff_search_patients_and_every_record_returned_is_audited(clinic: ClinicApp) -> None:
    before = len(clinic.audit("patient.read"))
    found = entries(resource(clinic.get("/fhir/R4/Patient", FRONT_DESK, name="gil")))
    assert [p["name"][0]["text"] for p in found] == ["Simran Gill"]
    born = entries(resource(clinic.get("/fhir/R4/Patient", PRACTITIONER, birthdate="1984-09-02")))
    assert [p["name"][0]["text"] for p in born] == ["Claire Penner"]
    logged = clinic.audit("patient.read")[before:]
    assert [entity for _, entity in logged] == [found[0]["id"], born[0]["id"]]
    assert logged[0][0].startswith("front-desk:") and logged[1][0].startswith("practitioner:")


def test_searches_page_with_count_and_offset(clinic: ClinicApp) -> None:
    first = resource(clinic.get("/fhir/R4/Patient", FRONT_DESK, _count=2))
    assert first["total"] == 5 and len(entries(first)) == 2
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = resource(clinic.client.get(following, headers=clinic.headers(FRONT_DESK)))
    assert [p["id"] for p in entries(second)] != [p["id"] for p in entries(first)] and len(entries(second)) == 2


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "code"),
    [
        ("GET", "/fhir/R4/Patient", {"nickname": "x"}, 400, "not-supported"),
        ("GET", "/fhir/R4/Patient", {"birthdate": "yesterday"}, 400, "invalid"),
        ("GET", "/fhir/R4/Patient", {"_count": "-1"}, 400, "invalid"),
        ("GET", "/fhir/R4/Patient/abc", {}, 404, "not-found"),
        ("GET", "/fhir/R4/Patient", {"_format": "xml"}, 406, "not-supported"),
        ("GET", "/fhir/R4/Observation", {}, 404, "not-supported"),
        ("DELETE", "/fhir/R4/Patient/1", {}, 405, "not-supported"),
        ("PUT", "/fhir/R4/Appointment/1", {}, 405, "not-supported"),
        ("GET", "/fhir/R4/Slot", {"location": "1"}, 400, "required"),
        ("GET", "/fhir/R4/Slot", {"service-type": "botox"}, 400, "required"),
        ("GET", "/fhir/R4/Slot", {"service-type": "botox", "location": "1", "start": "ge2026-13-01"}, 400, "invalid"),
        ("GET", "/fhir/R4/Slot", {"service-type": "botox", "location": "999"}, 404, "not-found"),
        ("GET", "/fhir/R4/Slot", {"service-type": "kybella", "location": "1"}, 400, "invalid"),
        ("GET", "/fhir/R4/Slot/1-1-202613011700-botox", {}, 404, "not-found"),
        ("GET", "/fhir/R4/Appointment", {"status": "maybe"}, 400, "invalid"),
        ("GET", "/fhir/R4/Appointment", {"date": "soon"}, 400, "invalid"),
        ("GET", "/fhir/R4/Procedure", {"patient": "Practitioner/1"}, 400, "invalid"),
        ("GET", "/fhir/R4/PlanDefinition/other", {}, 404, "not-found"),
    ],
)
def test_errors_are_operation_outcomes_with_their_status(
    clinic: ClinicApp, method: str, path: str, params: dict[str, str], status: int, code: str
) -> None:
    response = clinic.client.request(method, path, params=params, headers=clinic.headers(FRONT_DESK))
    outcome = resource(response, status, "OperationOutcome")
    assert outcome["issue"][0]["code"] == code and outcome["issue"][0]["severity"] == "error"


SEARCHES = ["Patient", "Practitioner", "PractitionerRole", "Location", "HealthcareService", "Schedule", "Slot"]
SEARCHES += ["Appointment", "Procedure", "PlanDefinition"]
NAMES = ["_id", "name", "birthdate", "date", "start", "patient", "location", "schedule", "service-type", "status"]
NAMES += ["_count", "_offset", "actor", "practitioner", "code", "active", "url", "_format"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(SEARCHES),
    params=st.lists(st.tuples(st.sampled_from(NAMES), st.text(max_size=30)), max_size=4),
    ident=st.one_of(st.none(), st.text(max_size=30)),
)
def test_no_query_makes_a_server_error(
    clinic: ClinicApp, kind: str, params: list[tuple[str, str]], ident: str | None
) -> None:
    path = f"/fhir/R4/{kind}" + (f"/{quote(ident, safe='')}" if ident is not None else "")
    response = clinic.client.get(path, params=params, headers=clinic.headers(FRONT_DESK))
    assert response.status_code < 500, response.text
    if response.headers["content-type"].startswith(FHIR):
        resource(response, response.status_code)
