"""Who may call what: every role on every endpoint of /api/v1, with the status each must get, written out below.

Each call is set up so that it would succeed for a role allowed to make it (a fresh visit to cancel, a fresh
closure or time off to remove, a free time to book), so the status says what the role may do and nothing else. "The
patient" is Simran Gill and every patient-bound call is about her; "other patient" is another patient's
account asking about her, which answers 404 as if she did not exist. The table must name every operation in
the OpenAPI document: a new endpoint without its row fails here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select, update

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.admin import add_closure
from safewindow.services.consents import sign
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.services.orders import write_order
from safewindow.services.time_off import add_local_time_off
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.visits import first_free_visit
from tests.web.test_api_demo import CLINIC, EMAILS, PHYSICIAN, ROLES, SIMRAN, TODAY, Demo, open_demo

# fmt: off
MATRIX = """
method endpoint (under /api/v1)                                                     anon  pat other desk prac aest admin
GET    /advice                                                                         200  200  200  200  200  200  200
GET    /treatments                                                                     200  200  200  200  200  200  200
GET    /factors                                                                        200  200  200  200  200  200  200
GET    /rules                                                                          200  200  200  200  200  200  200
GET    /articles                                                                       200  200  200  200  200  200  200
GET    /articles/{slug}                                                                200  200  200  200  200  200  200
GET    /ping                                                                           200  200  200  200  200  200  200
POST   /sessions                                                                       201  201  201  201  201  201  201
DELETE /sessions                                                                       401  204  204  204  204  204  204
GET    /me                                                                             401  200  200  200  200  200  200
GET    /clinics                                                                        200  200  200  200  200  200  200
GET    /clinics/{clinic_id}                                                            200  200  200  200  200  200  200
GET    /clinics/{clinic_id}/practitioners                                              200  200  200  200  200  200  200
GET    /clinics/{clinic_id}/slots                                                      200  200  200  200  200  200  200
GET    /clinics/{clinic_id}/slots?patient=                                             401  200  404  200  200  200  200
GET    /clinics/{clinic_id}/hours                                                      200  200  200  200  200  200  200
PUT    /clinics/{clinic_id}/hours                                                      401  403  403  403  403  403  200
PUT    /clinics/{clinic_id}/hours(another-clinic)                                      401  403  403  403  403  403  403
GET    /clinics/{clinic_id}/closures                                                   200  200  200  200  200  200  200
POST   /clinics/{clinic_id}/closures                                                   401  403  403  403  403  403  201
DELETE /clinics/{clinic_id}/closures/{closure_id}                                      401  403  403  403  403  403  204
GET    /clinics/{clinic_id}/practitioners/{practitioner_id}/hours                      401  403  403  200  200  200  200
PUT    /clinics/{clinic_id}/practitioners/{practitioner_id}/hours                      401  403  403  403  403  403  200
DELETE /clinics/{clinic_id}/practitioners/{practitioner_id}                            401  403  403  403  403  403  204
GET    /clinics/{clinic_id}/practitioners/{practitioner_id}/time-off                   401  403  403  200  200  200  200
GET    /clinics/{clinic_id}/practitioners/{practitioner_id}/time-off(another-clinic)   401  403  403  403  403  403  403
POST   /clinics/{clinic_id}/practitioners/{practitioner_id}/time-off                   401  403  403  403  403  403  201
DELETE /clinics/{clinic_id}/practitioners/{practitioner_id}/time-off/{time_off_id}     401  403  403  403  403  403  204
GET    /clinics/{clinic_id}/treatments                                                 200  200  200  200  200  200  200
PUT    /clinics/{clinic_id}/treatments/{treatment}                                     401  403  403  403  403  403  200
PUT    /clinics/{clinic_id}/treatments/{treatment}(another-clinic)                     401  403  403  403  403  403  403
GET    /clinics/{clinic_id}/booking-policy                                             200  200  200  200  200  200  200
PUT    /clinics/{clinic_id}/booking-policy                                             401  403  403  403  403  403  200
GET    /clinics/{clinic_id}/consent-forms                                              200  200  200  200  200  200  200
GET    /clinics/{clinic_id}/consent-forms/{treatment}                                  200  200  200  200  200  200  200
PUT    /clinics/{clinic_id}/consent-forms/{treatment}                                  401  403  403  403  403  403  200
PUT    /clinics/{clinic_id}/consent-forms/{treatment}(another-clinic)                  401  403  403  403  403  403  403
GET    /clinics/{clinic_id}/rules                                                      200  200  200  200  200  200  200
PATCH  /clinics/{clinic_id}/rules/{rule_id}                                            401  403  403  403  403  403  200
GET    /clinics/{clinic_id}/rule-adjustments                                           401  403  403  403  403  403  200
GET    /patients                                                                       401  403  403  200  200  200  200
POST   /patients                                                                       401  403  403  201  201  201  201
GET    /patients/{patient_id}                                                          401  200  404  200  200  200  200
GET    /patients/{patient_id}/factors                                                  401  200  404  403  200  200  403
POST   /patients/{patient_id}/factors                                                  401  201  404  403  201  201  403
GET    /patients/{patient_id}/visits                                                   401  200  404  200  200  200  200
GET    /patients/{patient_id}/contact-preferences                                      401  200  404  200  200  200  200
PUT    /patients/{patient_id}/contact-preferences                                      401  200  404  200  200  200  200
GET    /patients/{patient_id}/consents                                                 401  200  404  200  200  200  200
POST   /patients/{patient_id}/consents                                                 401  201  404  422  422  422  422
POST   /patients/{patient_id}/consents(on_paper)                                       401  422  404  201  201  201  201
POST   /consents/{consent_id}/withdraw                                                 401  200  404  200  200  200  200
GET    /patients/{patient_id}/orders                                                   401  200  404  403  200  200  403
POST   /patients/{patient_id}/orders                                                   401  403  403  403  201  409  403
POST   /orders/{order_id}/revoke                                                       401  403  403  403  200  409  403
POST   /visits                                                                         401  201  404  201  201  201  201
POST   /visits(override_reason)                                                        401  403  403  403  201  409  403
GET    /visits/{visit_id}                                                              401  200  404  200  200  200  200
POST   /visits/{visit_id}/reschedule                                                   401  200  404  200  200  200  200
POST   /visits/{visit_id}/cancel                                                       401  200  404  200  200  200  200
POST   /visits/{visit_id}/outcome                                                      401  403  403  200  200  200  200
GET    /visits/{visit_id}/overrides                                                    401  403  403  403  200  200  200
GET    /visits/{visit_id}/records                                                      401  200  404  403  200  200  403
POST   /visits/{visit_id}/records                                                      401  403  403  403  201  201  403
GET    /lots/{lot_number}/visits                                                       401  403  403  403  200  200  200
GET    /injection-sites                                                                200  200  200  200  200  200  200
GET    /injection-sites?treatment=                                                     200  200  200  200  200  200  200
GET    /visits/{visit_id}/deposit                                                      401  200  404  200  200  200  200
GET    /visits/{visit_id}/deposit(another-clinic)                                      401  404  404  404  404  404  404
POST   /visits/{visit_id}/deposit                                                      401  403  403  201  201  201  201
POST   /visits/{visit_id}/deposit(another-clinic)                                      401  403  403  404  404  404  404
GET    /clinics/{clinic_id}/deposits                                                   401  403  403  200  200  200  200
GET    /clinics/{clinic_id}/deposits(another-clinic)                                   401  403  403  403  403  403  403
GET    /clinics/{clinic_id}/late-and-missed                                            401  403  403  200  200  200  200
GET    /clinics/{clinic_id}/late-and-missed(another-clinic)                            401  403  403  403  403  403  403
GET    /overrides                                                                      401  403  403  403  200  200  200
GET    /audit                                                                          401  403  403  403  403  403  200
"""
# fmt: on


def _rows() -> list[tuple[str, str, dict[str, int]]]:
    lines = [line.split() for line in MATRIX.strip().splitlines()[1:]]
    return [
        (method, f"/api/v1{endpoint}", dict(zip(ROLES, map(int, statuses), strict=True)))
        for method, endpoint, *statuses in lines
    ]


ROWS = _rows()
CASES = [(method, endpoint, who, statuses[who]) for method, endpoint, statuses in ROWS for who in ROLES]


@dataclass
class Call:
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    demo: Demo
    visit: int  # a booked visit of the patient's, at clinic 1
    elsewhere: int | None = None  # another patient's visit at clinic 2, once a row needs it
    days: Iterator[int] = field(default_factory=lambda: count(1))

    def fresh_practitioner(self, *, working: bool) -> int:
        with UnitOfWork(self.demo.sessions, write=True) as uow:
            number = next(self.days)
            person = models.Practitioner(name=f"Matrix {number}", email=f"matrix{number}@example.com")
            if working:
                person.hours = [models.PractitionerHours(clinic_id=CLINIC, weekday=1, starts=time(9), ends=time(12))]
            uow.session.add(person)
            uow.commit()
            return person.id

    def closure_day(self) -> date:
        return date(2031, 1, 1) + timedelta(days=next(self.days))


def _signed_out(world: World, who: str) -> Call:
    token = world.demo.sign_in(who) if who != "anonymous" else None
    return Call("/api/v1/sessions", headers=world.demo.headers(who, token))


def _hours(world: World, clinic: int) -> Call:
    return Call(
        f"/api/v1/clinics/{clinic}/hours", json={"hours": world.demo.ok("GET", f"/api/v1/clinics/{clinic}/hours")}
    )


def _closure(world: World) -> Call:
    day = world.closure_day()
    made = add_closure(
        world.demo.sessions, clinic_id=CLINIC, first_day=day, last_day=day, reason="Matrix", actor="test"
    )
    return Call(f"/api/v1/clinics/{CLINIC}/closures/{made.id}")


def _offer(world: World, clinic: int) -> Call:
    """Botox as the clinic offers it already: the change is allowed or not, and changes nothing."""
    (offer,) = [o for o in world.demo.ok("GET", f"/api/v1/clinics/{clinic}/treatments") if o["treatment"] == "botox"]
    body = {key: value for key, value in offer.items() if key not in ("treatment", "name")}
    return Call(f"/api/v1/clinics/{clinic}/treatments/botox", json=body)


def _time_off(world: World) -> Call:
    day = world.closure_day()
    made = add_local_time_off(
        world.demo.sessions,
        clinic_id=CLINIC,
        practitioner_id=PHYSICIAN,
        first_day=day,
        last_day=day,
        reason="Matrix",
        actor="test",
    )
    return Call(f"{TIME_OFF}/{made.id}")


def _factor(world: World) -> Call:
    with UnitOfWork(world.demo.sessions, write=True) as uow:
        uow.session.execute(
            update(models.PatientFactor).where(models.PatientFactor.patient_id == SIMRAN).values(active=False)
        )
        uow.commit()
    return Call(f"/api/v1/patients/{SIMRAN}/factors", json={"factor": "retinoids"})


def _contact(world: World) -> Call:
    """The patient's choices as they are: the change is allowed or not, and changes nothing."""
    path = f"/api/v1/patients/{SIMRAN}/contact-preferences"
    now = world.demo.ok("GET", path, "front desk")
    return Call(path, json={key: now[key] for key in ("phone", "email_reminders", "text_reminders")})


def _consent_form(world: World, clinic: int) -> Call:
    """The clinic's Botox consent form as it is in use: the change is allowed or not, and changes nothing."""
    path = f"/api/v1/clinics/{clinic}/consent-forms/botox"
    form = world.demo.ok("GET", path)["form"]
    return Call(path, json={"title": form["title"], "body": form["body"]})


def _signature(world: World, *, on_paper: bool) -> Call:
    """The patient's signature on the Botox form in use: typed online, or a paper form staff record."""
    form = world.demo.ok("GET", f"/api/v1/clinics/{CLINIC}/consent-forms/botox")["form"]
    body = {
        "clinic_id": CLINIC,
        "treatment": "botox",
        "version": form["version"],
        "signed_name": "Simran Gill",
        "agreed": True,
        "on_paper": on_paper,
    }
    return Call(f"/api/v1/patients/{SIMRAN}/consents", json=body)


def _withdrawal(world: World) -> Call:
    """A fresh signature of the patient's, to withdraw."""
    form = world.demo.ok("GET", f"/api/v1/clinics/{CLINIC}/consent-forms/botox")["form"]
    signed = sign(
        world.demo.sessions,
        patient_id=SIMRAN,
        clinic_id=CLINIC,
        treatment="botox",
        version=form["version"],
        signed_name="Simran Gill",
        agreed=True,
        actor="test",
    )
    return Call(f"/api/v1/consents/{signed.id}/withdraw")


def _booking(world: World) -> Call:
    at = world.demo.free_slot("chemical-peel-light", patient=SIMRAN)
    return Call(
        "/api/v1/visits", json={"patient": SIMRAN, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
    )


def _override(world: World) -> Call:
    patient = world.demo.new_patient(history=[f"microneedling@{TODAY - timedelta(days=1)}"])
    at = world.demo.free_slot("botox", practitioner=PHYSICIAN, first=TODAY, days=12)
    body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": PHYSICIAN}
    return Call("/api/v1/visits", json={**body, "override_reason": "travelling; risks discussed"})


def _outcome(world: World) -> Call:
    """The patient's visit that has happened (the demo's), recorded again as completed: it stays as it is."""
    with UnitOfWork(world.demo.sessions) as uow:
        done = uow.session.scalars(
            select(models.Visit.id).where(
                models.Visit.patient_id == SIMRAN, models.Visit.status == models.VisitStatus.COMPLETED
            )
        ).first()
    assert done is not None, "the demo patient has a completed visit"
    return Call(f"/api/v1/visits/{done}/outcome", json={"outcome": "completed"})


def _record(world: World) -> Call:
    """What was given at the patient's completed visit (the demo's): a practitioner records it, or corrects it."""
    done = _outcome(world).path.removesuffix("/outcome")
    body = {"product": "Botox 100U", "lot_number": "MATRIX-1", "consent": True}
    return Call(f"{done}/records", json=body)


def _revoke(world: World) -> Call:
    """A fresh order of Dr. Brar's for the patient: she has the demo's too, so no visit is left uncovered."""
    order = write_order(
        world.demo.sessions,
        default_knowledge_base(),
        patient_id=SIMRAN,
        treatment="botox",
        prescriber_id=PHYSICIAN,
        valid_until=TODAY + timedelta(days=30),
        actor="test",
    )
    return Call(f"/api/v1/orders/{order.id}/revoke")


def _deposit_due(world: World) -> Call:
    """A fresh booked visit of the patient's whose deposit is due (clinic 1 asks none: it is set on the visit)."""
    visit = world.demo.book(SIMRAN)
    with UnitOfWork(world.demo.sessions, write=True) as uow:
        uow.session.execute(update(models.Visit).where(models.Visit.id == visit).values(deposit_cents=5000))
        uow.commit()
    return Call(f"/api/v1/visits/{visit}/deposit", json={"step": "taken", "method": "card"})


def _elsewhere(world: World) -> int:
    """A visit of another patient's at Sumas Mountain (clinic 2), where none of the demo's staff work."""
    if world.elsewhere is None:
        patient = world.demo.new_patient(name="Sumas Patient")
        world.elsewhere = first_free_visit(world.demo.sessions, patient, clinic_id=2, treatment="botox").id
    return world.elsewhere


def _reschedule(world: World) -> Call:
    visit = world.demo.book(SIMRAN, practitioner=PHYSICIAN)
    at = world.demo.free_slot("chemical-peel-light", patient=SIMRAN, practitioner=PHYSICIAN)
    return Call(f"/api/v1/visits/{visit}/reschedule", json={"at": at})


TIME_OFF = f"/api/v1/clinics/{CLINIC}/practitioners/{PHYSICIAN}/time-off"
NEW_PATIENT = {"name": "Matrix Patient", "birth_date": "1990-01-01"}
SHIFT = [{"weekday": 3, "start": "09:00", "end": "12:00"}]
ARRANGE: dict[str, Callable[[World, str], Call]] = {
    "/api/v1/advice": lambda w, who: Call("/api/v1/advice", params={"treatment": "botox"}),
    "/api/v1/articles/{slug}": lambda w, who: Call("/api/v1/articles/botox-aftercare"),
    "POST /api/v1/sessions": lambda w, who: Call(
        "/api/v1/sessions", json={"email": EMAILS.get(who, EMAILS["patient"]), "password": DEMO_PASSWORD}
    ),
    "DELETE /api/v1/sessions": _signed_out,
    "/api/v1/clinics/{clinic_id}/slots": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "botox"}
    ),
    "/api/v1/clinics/{clinic_id}/slots?patient=": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "botox", "patient": SIMRAN}
    ),
    "PUT /api/v1/clinics/{clinic_id}/hours": lambda w, who: _hours(w, CLINIC),
    "PUT /api/v1/clinics/{clinic_id}/hours(another-clinic)": lambda w, who: _hours(w, 2),
    "POST /api/v1/clinics/{clinic_id}/closures": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/closures",
        json={"first_day": str(d := w.closure_day()), "last_day": str(d), "reason": "Matrix"},
    ),
    "/api/v1/clinics/{clinic_id}/closures/{closure_id}": lambda w, who: _closure(w),
    "GET /api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/hours": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/practitioners/{PHYSICIAN}/hours"
    ),
    "PUT /api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/hours": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/practitioners/{w.fresh_practitioner(working=False)}/hours", json={"hours": SHIFT}
    ),
    "/api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/practitioners/{w.fresh_practitioner(working=True)}"
    ),
    "GET /api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off": lambda w, who: Call(TIME_OFF),
    # Dr. Wiebe works at Sumas Mountain (clinic 2) only: not the staff of clinic 1's to read.
    "GET /api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off(another-clinic)": lambda w, who: Call(
        "/api/v1/clinics/2/practitioners/2/time-off"
    ),
    "POST /api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off": lambda w, who: Call(
        TIME_OFF, json={"first_day": str(d := w.closure_day()), "last_day": str(d), "reason": "Matrix"}
    ),
    "/api/v1/clinics/{clinic_id}/practitioners/{practitioner_id}/time-off/{time_off_id}": lambda w, who: _time_off(w),
    "PUT /api/v1/clinics/{clinic_id}/treatments/{treatment}": lambda w, who: _offer(w, CLINIC),
    "PUT /api/v1/clinics/{clinic_id}/treatments/{treatment}(another-clinic)": lambda w, who: _offer(w, 2),
    "PUT /api/v1/clinics/{clinic_id}/booking-policy": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/booking-policy", json=w.demo.ok("GET", f"/api/v1/clinics/{CLINIC}/booking-policy")
    ),
    "/api/v1/clinics/{clinic_id}/rules/{rule_id}": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/rules/microneedling-then-botox", json={"min": "14 days"}
    ),
    "GET /api/v1/clinics/{clinic_id}/consent-forms/{treatment}": lambda w, who: Call(
        f"/api/v1/clinics/{CLINIC}/consent-forms/botox"
    ),
    "PUT /api/v1/clinics/{clinic_id}/consent-forms/{treatment}": lambda w, who: _consent_form(w, CLINIC),
    "PUT /api/v1/clinics/{clinic_id}/consent-forms/{treatment}(another-clinic)": lambda w, who: _consent_form(w, 2),
    "POST /api/v1/patients/{patient_id}/consents": lambda w, who: _signature(w, on_paper=False),
    "POST /api/v1/patients/{patient_id}/consents(on_paper)": lambda w, who: _signature(w, on_paper=True),
    "/api/v1/consents/{consent_id}/withdraw": lambda w, who: _withdrawal(w),
    "POST /api/v1/patients": lambda w, who: Call("/api/v1/patients", json=NEW_PATIENT),
    "GET /api/v1/patients/{patient_id}/factors": lambda w, who: Call(f"/api/v1/patients/{SIMRAN}/factors"),
    "POST /api/v1/patients/{patient_id}/factors": lambda w, who: _factor(w),
    "PUT /api/v1/patients/{patient_id}/contact-preferences": lambda w, who: _contact(w),
    "POST /api/v1/patients/{patient_id}/orders": lambda w, who: Call(
        f"/api/v1/patients/{SIMRAN}/orders", json={"treatment": "botox", "valid_until": str(TODAY + timedelta(days=30))}
    ),
    "/api/v1/orders/{order_id}/revoke": lambda w, who: _revoke(w),
    "POST /api/v1/visits": lambda w, who: _booking(w),
    "POST /api/v1/visits(override_reason)": lambda w, who: _override(w),
    "GET /api/v1/visits/{visit_id}": lambda w, who: Call(f"/api/v1/visits/{w.visit}"),
    "/api/v1/visits/{visit_id}/reschedule": lambda w, who: _reschedule(w),
    "/api/v1/visits/{visit_id}/cancel": lambda w, who: Call(f"/api/v1/visits/{w.demo.book(SIMRAN)}/cancel"),
    "/api/v1/visits/{visit_id}/outcome": lambda w, who: _outcome(w),
    "/api/v1/visits/{visit_id}/overrides": lambda w, who: Call(f"/api/v1/visits/{w.visit}/overrides"),
    "POST /api/v1/visits/{visit_id}/records": lambda w, who: _record(w),
    "/api/v1/lots/{lot_number}/visits": lambda w, who: Call("/api/v1/lots/MATRIX-1/visits"),
    "/api/v1/injection-sites?treatment=": lambda w, who: Call("/api/v1/injection-sites", params={"treatment": "botox"}),
    "POST /api/v1/visits/{visit_id}/deposit": lambda w, who: _deposit_due(w),
    "GET /api/v1/visits/{visit_id}/deposit(another-clinic)": lambda w, who: Call(
        f"/api/v1/visits/{_elsewhere(w)}/deposit"
    ),
    "POST /api/v1/visits/{visit_id}/deposit(another-clinic)": lambda w, who: Call(
        f"/api/v1/visits/{_elsewhere(w)}/deposit", json={"step": "taken", "method": "card"}
    ),
    "GET /api/v1/clinics/{clinic_id}/deposits(another-clinic)": lambda w, who: Call("/api/v1/clinics/2/deposits"),
    "GET /api/v1/clinics/{clinic_id}/late-and-missed(another-clinic)": lambda w, who: Call(
        "/api/v1/clinics/2/late-and-missed"
    ),
}


def arrange(world: World, method: str, endpoint: str, who: str) -> Call:
    """The call, ready for `who`: the arrangement for the method and endpoint, or for the endpoint, or the
    endpoint itself with the demo's ids filled in."""
    for key in (f"{method} {endpoint}", endpoint):
        if key in ARRANGE:
            return ARRANGE[key](world, who)
    path = endpoint.format(clinic_id=CLINIC, patient_id=SIMRAN, visit_id=world.visit)
    assert "{" not in path, f"{method} {endpoint} needs an arrangement"
    return Call(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_demo(tmp_path_factory.mktemp("matrix")) as demo:
        yield World(demo, visit=demo.book(SIMRAN))


@pytest.mark.parametrize(("method", "endpoint", "who", "status"), CASES)
def test_each_role_gets_the_status_in_the_table(
    world: World, method: str, endpoint: str, who: str, status: int
) -> None:
    call = arrange(world, method, endpoint, who)
    headers = call.headers or world.demo.headers(who)
    response = world.demo.client.request(method, call.path, json=call.json, params=call.params, headers=headers)
    world.demo.client.cookies.clear()  # a sign-in sets the cookie; the next call must not ride on it
    assert response.status_code == status, f"{who}: {method} {call.path}: {response.text}"
    if status >= 400:
        assert all({"field", "problem"} <= set(item) for item in response.json()["detail"])


# The routers whose every operation is in the table, by their OpenAPI tag. A router joins with its rows (and an
# arrangement where a call needs one), then its tag here.
TABLED_TAGS = {
    "api",
    "sessions",
    "clinics",
    "patients",
    "orders",
    "treatment records",
    "injection sites",
    "visits",
    "deposits",
    "contact",
    "consents",
    "audit",
}


def test_the_table_names_every_operation_of_the_api(world: World) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in world.demo.client.get("/openapi.json").json()["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
        if TABLED_TAGS & set(operation.get("tags", ()))
    }
    tabled = {(method, endpoint.split("(")[0].split("?")[0]) for method, endpoint, _ in ROWS}
    assert tabled == documented
