"""Deposits over HTTP: an offer asks one (`deposit_cents`, replaced with the whole offer) and a visit keeps the
amount it was booked with; staff of the visit's clinic read it and record each step the policy allows (taken,
applied, refunded, kept, waived), 409 with why for any other, 422 naming every field at fault, nothing written
either way; the patient reads their own visit's deposit only. A clinic's lists (deposits to act on, late
cancellations and no-shows) are its staff's, every read audited by ids. Who gets which status on each endpoint is
also in tests/web/test_role_matrix.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, get_args

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import TypeAdapter

from safewindow.domain.deposits import METHODS
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.accounts import create_account
from safewindow.services.booking import cancel
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_deposits import ClinicDepositOut, DepositOut, LateOrMissedOut, Method
from safewindow.web.api_visits import Refusals
from tests.visits import begun_visit, first_free_visit
from tests.web.fuzz_as import headers_of, tag_schema, validate
from tests.web.test_api_demo import CLINIC, SIMRAN, TODAY, ZONE, Demo, open_demo

SUMAS = 2  # asks $50 for Botox in the demo; its notice for changes is 24 hours
SUMAS_DESK = "sumas desk@demo.example"
BOTOX_DEPOSIT = 5000  # what this module's clinic 1 asks for Botox, as Sumas does
TO_ACT_ON = TypeAdapter(list[ClinicDepositOut])
LATE_AND_MISSED = TypeAdapter(list[LateOrMissedOut])


def offer_deposit(demo: Demo, treatment: str, cents: int, clinic: int = CLINIC) -> dict[str, Any]:
    """The treatment as the clinic offers it, with another deposit: the administrator replaces the whole offer."""
    path = f"/api/v1/clinics/{clinic}/treatments"
    (offer,) = [o for o in demo.ok("GET", path) if o["treatment"] == treatment]
    body = {k: v for k, v in offer.items() if k not in ("treatment", "name")} | {"deposit_cents": cents}
    saved: dict[str, Any] = demo.ok("PUT", f"{path}/{treatment}", "clinic admin", json=body)
    return saved


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo, with Botox at clinic 1 asking a deposit, and a front-desk account at Sumas Mountain."""
    with open_demo(tmp_path_factory.mktemp("deposits")) as opened:
        offer_deposit(opened, "botox", BOTOX_DEPOSIT)
        with UnitOfWork(opened.sessions, write=True) as uow:
            create_account(uow.session, email=SUMAS_DESK, password=DEMO_PASSWORD, role=Role.FRONT_DESK, clinic_id=SUMAS)
            uow.commit()
        signed_in = opened.client.post("/api/v1/sessions", json={"email": SUMAS_DESK, "password": DEMO_PASSWORD})
        opened.client.cookies.clear()
        opened.tokens["sumas desk"] = signed_in.json()["token"]
        yield opened


def path(visit: int) -> str:
    return f"/api/v1/visits/{visit}/deposit"


def step(demo: Demo, visit: int, who: str = "front desk", **body: Any) -> dict[str, Any]:
    recorded: dict[str, Any] = demo.ok("POST", path(visit), who, status=201, json=body)
    return recorded


def entries(demo: Demo, visit: int | None = None) -> int:
    where = [] if visit is None else [models.DepositEntry.visit_id == visit]
    return demo.count(models.DepositEntry, *where)


def begun_botox(demo: Demo, name: str, clinic: int = CLINIC) -> int:
    """A new patient's Botox visit, booked with the deposit, that began in the last days."""
    return begun_visit(demo.sessions, demo.new_patient(name=name), clinic_id=clinic, treatment="botox")


def to_act_on(demo: Demo, who: str = "front desk", clinic: int = CLINIC) -> dict[int, ClinicDepositOut]:
    found = TO_ACT_ON.validate_python(demo.ok("GET", f"/api/v1/clinics/{clinic}/deposits", who))
    return {line.visit_id: line for line in found}


def test_the_methods_documented_are_the_policy_s() -> None:
    assert get_args(Method) == METHODS


def test_an_offer_asks_a_deposit_and_a_booked_visit_keeps_the_amount(demo: Demo) -> None:
    offers = f"/api/v1/clinics/{CLINIC}/treatments"
    assert offer_deposit(demo, "botox", 7550)["deposit_cents"] == 7550
    patient = demo.new_patient(name="Kept Amount")
    visit = demo.book(patient, "botox")
    booked = demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")
    assert (booked["id"], booked["deposit_cents"]) == (visit, 7550)
    assert demo.ok("GET", f"/api/v1/patients/{patient}/visits", "front desk")[0]["deposit_cents"] == 7550

    # PUT replaces the whole offer: a deposit left out is none.
    body = {"duration_minutes": 30, "permission": "may-inject", "room_kind": "treatment", "buffer_before_minutes": 5}
    assert demo.ok("PUT", f"{offers}/botox", "clinic admin", json=body)["deposit_cents"] == 0
    assert next(o for o in demo.ok("GET", offers) if o["treatment"] == "botox")["deposit_cents"] == 0
    deposit = DepositOut.model_validate(demo.ok("GET", path(visit), "front desk"))
    assert (deposit.amount_cents, deposit.state, deposit.todo, deposit.entries) == (7550, "due", "take", [])
    assert demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["deposit_cents"] == 7550
    later = demo.book(demo.new_patient(name="Booked Without"), "botox")
    assert demo.ok("GET", f"/api/v1/visits/{later}", "front desk")["deposit_cents"] == 0
    offer_deposit(demo, "botox", BOTOX_DEPOSIT)
    entries_of_audit = demo.audit("clinic", CLINIC)
    assert entries_of_audit[0]["detail"]["after"]["deposit_cents"] == BOTOX_DEPOSIT


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"deposit_cents": -1}, ["deposit_cents"]),
        ({"deposit_cents": 1_000_001}, ["deposit_cents"]),
        ({"deposit_cents": 1.5}, ["deposit_cents"]),
        ({"deposit_cents": "fifty"}, ["deposit_cents"]),
        ({"deposit_cents": 1_000_001, "duration_minutes": 0}, ["duration_minutes", "deposit_cents"]),
    ],
)
def test_a_bad_deposit_in_an_offer_is_422_naming_it(demo: Demo, change: dict[str, Any], fields: list[str]) -> None:
    url = f"/api/v1/clinics/{CLINIC}/treatments/botox"
    body = {"duration_minutes": 30, "permission": "may-inject", "room_kind": "treatment", **change}
    response = demo.call("PUT", url, "clinic admin", json=body)
    assert response.status_code == 422, response.text
    assert [problem["field"] for problem in response.json()["detail"]] == fields
    offered = next(o for o in demo.ok("GET", f"/api/v1/clinics/{CLINIC}/treatments") if o["treatment"] == "botox")
    assert offered["deposit_cents"] == BOTOX_DEPOSIT


def test_a_deposit_is_taken_then_applied_once_the_visit_is_completed(demo: Demo) -> None:
    visit = begun_botox(demo, "Applied Patient")
    assert demo.ok("GET", path(visit), "practitioner") == {
        "visit_id": visit,
        "amount_cents": BOTOX_DEPOSIT,
        "state": "due",
        "todo": "take",
        "allowed": ["taken", "waived"],
        "entries": [],
    }
    assert to_act_on(demo)[visit].todo == "take"
    taken = DepositOut.model_validate(step(demo, visit, step="taken", method="card", reference=" R-1001 "))
    assert (taken.state, taken.todo) == ("held", None)
    [entry] = taken.entries
    assert (entry.step, entry.amount_cents, entry.method, entry.reference) == ("taken", 5000, "card", "R-1001")
    me = demo.ok("GET", "/api/v1/me", "front desk")
    assert entry.recorded_by == f"front-desk:{me['account_id']}"
    assert visit not in to_act_on(demo)  # held for a booked visit: nothing to do

    demo.ok("POST", f"/api/v1/visits/{visit}/outcome", "front desk", json={"outcome": "completed"})
    assert demo.ok("GET", path(visit), "front desk")["todo"] == "apply"
    line = to_act_on(demo, "clinic admin")[visit]
    assert (line.patient, line.treatment, line.status, line.todo) == ("Applied Patient", "botox", "completed", "apply")
    applied = step(demo, visit, "clinic admin", step="applied")
    assert (applied["state"], applied["todo"]) == ("applied", None)
    assert [e["step"] for e in applied["entries"]] == ["taken", "applied"]
    assert visit not in to_act_on(demo)
    assert demo.ok("GET", path(visit), "practitioner") == applied


def test_a_visit_cancelled_in_time_has_its_deposit_refunded_not_kept(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(name="Cancelled In Time"), "botox")
    step(demo, visit, step="taken", method="e-transfer")
    demo.ok("POST", f"/api/v1/visits/{visit}/cancel", "front desk")
    assert to_act_on(demo)[visit].todo == "refund"
    kept = demo.call("POST", path(visit), "front desk", json={"step": "kept"})
    assert kept.status_code == 409
    [reason] = Refusals.model_validate(kept.json()).detail
    assert (reason.field, reason.kind) == ("deposit-cannot-be-kept", None)
    assert "cancelled within the clinic's notice" in reason.problem
    assert entries(demo, visit) == 1
    refunded = step(demo, visit, "practitioner", step="refunded", method="e-transfer", reference="ET-9")
    assert (refunded["state"], refunded["todo"]) == ("refunded", None)
    assert visit not in to_act_on(demo)


def test_a_missed_visit_s_deposit_may_be_kept_then_refunded_as_goodwill(demo: Demo) -> None:
    visit = begun_botox(demo, "Missed Patient")
    step(demo, visit, step="taken", method="cash")
    demo.ok("POST", f"/api/v1/visits/{visit}/outcome", "front desk", json={"outcome": "no-show"})
    assert to_act_on(demo)[visit].todo == "keep"
    assert step(demo, visit, step="kept")["state"] == "kept"
    missed = LATE_AND_MISSED.validate_python(demo.ok("GET", f"/api/v1/clinics/{CLINIC}/late-and-missed", "front desk"))
    [line] = [m for m in missed if m.visit_id == visit]
    assert (line.status, line.patient, line.deposit_cents) == ("no-show", "Missed Patient", BOTOX_DEPOSIT)
    assert TODAY - timedelta(days=15) <= line.day < TODAY
    goodwill = step(demo, visit, step="refunded", method="cash", reason="First visit; goodwill")
    assert goodwill["state"] == "refunded" and goodwill["entries"][-1]["reason"] == "First visit; goodwill"
    again = demo.call("POST", path(visit), "front desk", json={"step": "refunded", "method": "cash"})
    assert again.status_code == 409 and again.json()["detail"][0]["field"] == "deposit-cannot-be-refunded"


def test_a_deposit_not_taken_is_waived_with_a_reason(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(name="Waived Patient"), "botox")
    missing = demo.call("POST", path(visit), "front desk", json={"step": "waived"})
    assert missing.status_code == 422 and [d["field"] for d in missing.json()["detail"]] == ["reason"]
    waived = step(demo, visit, step="waived", reason="Long-standing patient")
    assert (waived["state"], waived["todo"], waived["entries"][0]["method"]) == ("waived", None, None)
    refused = demo.call("POST", path(visit), "front desk", json={"step": "taken", "method": "card"})
    assert refused.status_code == 409 and refused.json()["detail"][0]["field"] == "deposit-cannot-be-taken"
    assert entries(demo, visit) == 1


def test_a_visit_without_a_deposit_refuses_every_step(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(name="No Deposit"))  # a light peel: clinic 1 asks none
    assert demo.ok("GET", path(visit), "front desk") == {
        "visit_id": visit,
        "amount_cents": 0,
        "state": "none",
        "todo": None,
        "allowed": [],
        "entries": [],
    }
    refused = demo.call("POST", path(visit), "front desk", json={"step": "taken", "method": "card"})
    assert refused.status_code == 409
    assert (
        refused.json()["detail"][0]["problem"]
        == f"Visit {visit}'s deposit cannot be taken: this visit needs no deposit."
    )
    assert entries(demo, visit) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"step": "taken"}, ["method"]),
        ({"step": "applied", "method": "card"}, ["method"]),
        ({"step": "taken", "method": "cheque"}, ["method"]),
        ({"step": "paid"}, ["step"]),
        ({}, ["step"]),
        ({"step": "taken", "method": "card", "amount_cents": 100}, ["amount_cents"]),
        ({"step": "taken", "method": "card", "reference": "R\n1"}, ["reference"]),
        ({"step": "taken", "reference": "R" * 65, "reason": "x" * 501}, ["reference", "reason", "method"]),
    ],
)
def test_bad_input_is_422_naming_every_field_and_writes_nothing(
    demo: Demo, body: dict[str, Any], fields: list[str]
) -> None:
    visit = demo.book(demo.new_patient(name="Bad Input"), "botox")
    audit = len(demo.audit("visit", visit))
    response = demo.call("POST", path(visit), "front desk", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == fields
    assert entries(demo, visit) == 0 and len(demo.audit("visit", visit)) == audit


def test_an_unknown_visit_or_clinic_is_404(demo: Demo) -> None:
    before = entries(demo)
    body = {"step": "taken", "method": "card"}
    for method, kwargs in (("GET", {}), ("POST", {"json": body})):
        response = demo.call(method, path(999_999), "front desk", **kwargs)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": [{"field": "visit", "problem": "no visit 999999"}]},
        )
    assert entries(demo) == before
    for report in ("deposits", "late-and-missed"):
        missing = demo.call("GET", f"/api/v1/clinics/99/{report}", "front desk")
        assert (missing.status_code, missing.json()["detail"][0]["field"]) == (404, "clinic")
    assert demo.call("GET", path(0), "front desk").status_code == 422


def test_the_patient_reads_her_own_visit_s_deposit_and_records_nothing(demo: Demo) -> None:
    offer_deposit(demo, "chemical-peel-light", 2500)
    try:
        visit = demo.book(SIMRAN)
    finally:
        offer_deposit(demo, "chemical-peel-light", 0)
    mine = demo.ok("GET", path(visit), "patient")
    assert (mine["visit_id"], mine["amount_cents"], mine["state"]) == (visit, 2500, "due")
    other = demo.call("GET", path(visit), "other patient")
    assert (other.status_code, other.json()) == (404, {"detail": [{"field": "visit", "problem": f"no visit {visit}"}]})
    for who in ("patient", "other patient"):
        response = demo.call("POST", path(visit), who, json={"step": "waived", "reason": "please"})
        assert response.status_code == 403 and response.json()["detail"][0]["field"] == "role"
        for report in ("deposits", "late-and-missed"):
            assert demo.call("GET", f"/api/v1/clinics/{CLINIC}/{report}", who).status_code == 403
    assert demo.call("GET", path(visit)).status_code == 401
    assert demo.call("POST", path(visit), json={"step": "waived", "reason": "x"}).status_code == 401
    assert entries(demo, visit) == 0


def test_staff_keep_the_deposits_of_their_own_clinic_only(demo: Demo) -> None:
    """Sumas Mountain asks $50 for Botox: a late cancellation there lets it keep the deposit. Clinic 1's staff
    neither see that visit (404) nor its lists (403), and Sumas Mountain's front desk not clinic 1's."""
    patient = demo.new_patient(name="Late Canceller")
    booked = first_free_visit(demo.sessions, patient, clinic_id=SUMAS, treatment="botox")
    visit = booked.id
    assert demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["deposit_cents"] == 5000
    step(demo, visit, "sumas desk", step="taken", method="card")
    cancel(
        demo.sessions,
        default_knowledge_base(),
        visit_id=visit,
        actor="test",
        now=booked.start_at - timedelta(hours=1),  # within Sumas Mountain's 24 hours' notice
    )
    assert to_act_on(demo, "sumas desk", SUMAS)[visit].todo == "keep"
    day = str(booked.start_at.astimezone(ZONE).date())
    report = f"/api/v1/clinics/{SUMAS}/late-and-missed"
    late = demo.ok("GET", report, "sumas desk", params={"from": str(TODAY), "to": day})
    assert [(m["visit_id"], m["status"], m["deposit_cents"]) for m in late] == [(visit, "cancelled", 5000)]

    for who in ("front desk", "practitioner", "clinic admin"):
        for method, kwargs in (("GET", {}), ("POST", {"json": {"step": "kept"}})):
            response = demo.call(method, path(visit), who, **kwargs)
            assert (response.status_code, response.json()["detail"][0]["field"]) == (404, "visit"), who
        for listed in ("deposits", "late-and-missed"):
            response = demo.call("GET", f"/api/v1/clinics/{SUMAS}/{listed}", who)
            assert (response.status_code, response.json()["detail"][0]["field"]) == (403, "clinic"), who
    assert entries(demo, visit) == 1
    here = demo.book(demo.new_patient(name="Clinic One"), "botox")
    assert demo.call("GET", path(here), "sumas desk").status_code == 404
    assert demo.call("GET", f"/api/v1/clinics/{CLINIC}/deposits", "sumas desk").status_code == 403
    assert step(demo, visit, "sumas desk", step="kept")["state"] == "kept"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-30"}, "from"),
        ({"from": "yesterday", "to": "today"}, "from"),
        ({"from": "2027-01-10", "to": "2027-01-09"}, "to"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),
        ({"from": "2026-01-01-01"}, "from"),
    ],
)
def test_a_report_s_days_are_checked(demo: Demo, params: dict[str, str], field: str) -> None:
    response = demo.call("GET", f"/api/v1/clinics/{CLINIC}/late-and-missed", "front desk", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_a_report_covers_the_days_asked_a_year_at_most(demo: Demo) -> None:
    report = f"/api/v1/clinics/{CLINIC}/late-and-missed"
    assert demo.ok("GET", report, "front desk", params={"from": "2024-01-01", "to": "2024-12-31"}) == []  # 366 days
    visit = begun_botox(demo, "Dated No-show")
    demo.ok("POST", f"/api/v1/visits/{visit}/outcome", "front desk", json={"outcome": "no-show"})
    [day] = [m["day"] for m in demo.ok("GET", report, "front desk") if m["visit_id"] == visit]
    that_day = demo.ok("GET", report, "front desk", params={"from": day, "to": day})
    assert visit in [m["visit_id"] for m in that_day] and {m["day"] for m in that_day} == {day}
    since = demo.ok("GET", report, "front desk", params={"from": str(TODAY)})  # to: today
    assert visit not in [m["visit_id"] for m in since]


def test_reads_are_audited_by_ids_and_a_step_without_its_words(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(name="Audited Patient"), "botox")
    recorded = step(demo, visit, step="waived", reason="Sister of the owner")
    demo.ok("GET", path(visit), "practitioner")
    [read] = demo.audit("visit-deposit", visit)
    assert (read["action"], read["actor"].split(":")[0], read["detail"]) == ("visit-deposit.read", "practitioner", {})
    [waived] = [e for e in demo.audit("visit", visit) if e["action"] == "visit.deposit-waived"]
    assert waived["detail"]["entry_id"] == recorded["entries"][0]["id"]
    assert waived["detail"]["amount_cents"] == BOTOX_DEPOSIT
    for report in ("deposits", "late-and-missed"):
        before = len(demo.audit(f"clinic-{report}", CLINIC))
        demo.ok("GET", f"/api/v1/clinics/{CLINIC}/{report}", "front desk")
        reads = demo.audit(f"clinic-{report}", CLINIC)
        assert len(reads) == before + 1
        assert (reads[0]["action"], reads[0]["detail"]) == (f"clinic-{report}.read", {})
    everything = demo.call("GET", "/api/v1/audit", "clinic admin", params={"limit": 1000}).text
    assert "Sister of the owner" not in everything and "Audited Patient" not in everything


def test_the_same_key_records_once(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(name="Retried Patient"), "botox")
    key = {"Idempotency-Key": f"deposit-{visit}"}
    body = {"step": "taken", "method": "card", "reference": "R-7"}
    first = demo.call("POST", path(visit), "front desk", json=body, headers=key)
    again = demo.call("POST", path(visit), "front desk", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert entries(demo, visit) == 1
    other = demo.call("POST", path(visit), "front desk", json={**body, "reference": "R-8"}, headers=key)
    assert other.status_code == 422 and other.json()["detail"][0]["field"] == "Idempotency-Key"
    # A refusal is kept too: the retry gets it again, even once the step would be allowed.
    applied = {"Idempotency-Key": f"apply-{visit}"}
    refused = demo.call("POST", path(visit), "front desk", json={"step": "applied"}, headers=applied)
    assert refused.status_code == 409
    assert demo.call("POST", path(visit), "front desk", json={"step": "applied"}, headers=applied).json() == (
        refused.json()
    )
    assert entries(demo, visit) == 1


# Schemathesis on the deposit endpoints as the front desk (allowed on all of them): for inputs generated from the
# schema, never a 5xx, and every response as documented.
fuzzed, schema = tag_schema("deposits")


@pytest.fixture(scope="module")
def front_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(fuzzed, tmp_path_factory.mktemp("deposits-fuzz"), "front desk")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_deposits_api_conforms_to_its_schema_for_the_front_desk(
    case: schemathesis.Case, front_desk: dict[str, str]
) -> None:
    validate(case, front_desk)
