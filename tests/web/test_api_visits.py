"""Visits over HTTP: book, move and cancel with the booking's every check; a refusal is 409 listing every reason;
`Idempotency-Key` books once however often a request is retried; only a practitioner sends an override, and the
booking still checks they are qualified and the rule is soft."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from safewindow.store import models
from safewindow.web.api_visits import BookedOut, Refusals
from tests.visits import begun_visit
from tests.web.test_api_demo import CLINIC, PHYSICIAN, SIMRAN, TODAY, Demo, next_weekday, open_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("visits")) as opened:
        yield opened


def after_microneedling(demo: Demo) -> int:
    """A new patient who had microneedling yesterday: Botox is blocked (soft) for another 13 days."""
    return demo.new_patient(history=[f"microneedling@{TODAY - timedelta(days=1)}"])


def blocked_botox(demo: Demo, patient: int) -> dict[str, Any]:
    """A free time with Dr. Brar (qualified for Botox) while the patient's Botox is still blocked."""
    at = demo.free_slot("botox", practitioner=PHYSICIAN, first=TODAY, days=12)
    return {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": PHYSICIAN}


def visits_of(demo: Demo, patient: int) -> int:
    return demo.count(models.Visit, models.Visit.patient_id == patient, models.Visit.status == "booked")


def test_staff_book_move_and_cancel_a_visit(demo: Demo) -> None:
    patient = demo.new_patient()
    at = demo.free_slot("chemical-peel-light", patient=patient, practitioner=PHYSICIAN)
    body = {"patient": patient, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at, "practitioner": 1}
    booked = demo.ok("POST", "/api/v1/visits", "front desk", status=201, json=body)
    assert BookedOut.model_validate(booked).model_dump(mode="json") is not None
    assert (booked["patient"], booked["status"], booked["start"][:16]) == (patient, "booked", at)
    assert booked["overrides"] == [] and booked["start"].endswith(("-07:00", "-08:00"))
    assert demo.ok("GET", f"/api/v1/visits/{booked['id']}", "front desk") == {
        k: v for k, v in booked.items() if k not in ("warnings", "overrides")
    }

    later = demo.free_slot(
        "chemical-peel-light", patient=patient, practitioner=PHYSICIAN, first=TODAY + timedelta(days=20)
    )
    moved = demo.ok("POST", f"/api/v1/visits/{booked['id']}/reschedule", "practitioner", json={"at": later})
    assert (moved["id"], moved["start"][:16]) == (booked["id"], later)

    cancelled = demo.ok("POST", f"/api/v1/visits/{booked['id']}/cancel", "clinic admin")
    assert cancelled == {"id": booked["id"], "status": "cancelled"}
    again = demo.call("POST", f"/api/v1/visits/{booked['id']}/cancel", "front desk")
    assert again.status_code == 409 and again.json()["detail"][0]["field"] == "visit-not-booked"


def test_a_patient_books_and_cancels_for_themselves_only(demo: Demo) -> None:
    at = demo.free_slot("chemical-peel-light", patient=SIMRAN)
    body = {"patient": SIMRAN, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
    booked = demo.ok("POST", "/api/v1/visits", "patient", status=201, json=body)
    assert booked["patient"] == SIMRAN
    for method, path, payload in (
        ("POST", "/api/v1/visits", body),
        ("GET", f"/api/v1/visits/{booked['id']}", None),
        ("POST", f"/api/v1/visits/{booked['id']}/cancel", None),
        ("POST", f"/api/v1/visits/{booked['id']}/reschedule", {"at": at}),
    ):
        response = demo.call(method, path, "other patient", json=payload)
        assert response.status_code == 404, path
    assert demo.ok("POST", f"/api/v1/visits/{booked['id']}/cancel", "patient")["status"] == "cancelled"


def test_a_refusal_is_409_listing_every_reason_and_books_nothing(demo: Demo) -> None:
    patient = after_microneedling(demo)
    monday = next_weekday(0, TODAY)
    body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": f"{monday}T10:00"}
    response = demo.call("POST", "/api/v1/visits", "front desk", json=body)
    assert response.status_code == 409
    detail = Refusals.model_validate(response.json()).detail
    codes = [item.field for item in detail]
    assert "outside-opening-hours" in codes and "microneedling-then-botox" in codes
    timing = next(item for item in detail if item.field == "microneedling-then-botox")
    assert (timing.kind, timing.evidence) == ("soft", "practice")
    assert timing.source and "wait until" in timing.problem
    availability = next(item for item in detail if item.field == "outside-opening-hours")
    assert (availability.kind, availability.evidence, availability.source) == (None, None, None)
    assert visits_of(demo, patient) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"at": "tomorrow at ten"}, "at"),
        ({"treatment": "botx"}, "treatment"),
        ({"clinic": 99}, "clinic"),
        ({"patient": 999}, "patient"),
        ({"practitioner": 99}, "practitioner"),
        ({"patient": 0}, "patient"),
        ({"clinic": 2**40}, "clinic"),
        ({"override_reason": "   "}, "override_reason"),
    ],
)
def test_bad_bookings_are_422_naming_the_field(demo: Demo, change: dict[str, Any], field: str) -> None:
    body = {"patient": SIMRAN, "treatment": "botox", "clinic": CLINIC, "at": f"{next_weekday(1, TODAY)}T10:00"}
    response = demo.call("POST", "/api/v1/visits", "practitioner", json={**body, **change})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_the_same_key_and_request_answer_the_same_and_book_once(demo: Demo) -> None:
    patient = demo.new_patient()
    at = demo.free_slot("chemical-peel-light", patient=patient)
    body = {"patient": patient, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
    key = {"Idempotency-Key": f"book-{patient}"}
    first = demo.call("POST", "/api/v1/visits", "front desk", json=body, headers=key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    # The same request, its keys in another order: the same answer, and still one visit.
    again = demo.call("POST", "/api/v1/visits", "front desk", json=dict(reversed(body.items())), headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert visits_of(demo, patient) == 1

    other = demo.call("POST", "/api/v1/visits", "front desk", json={**body, "treatment": "botox"}, headers=key)
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert visits_of(demo, patient) == 1


def test_keys_belong_to_one_account(demo: Demo) -> None:
    key = {"Idempotency-Key": "shared-key"}
    for who in ("front desk", "practitioner"):
        patient = demo.new_patient()
        at = demo.free_slot("chemical-peel-light", patient=patient)
        body = {"patient": patient, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
        assert demo.call("POST", "/api/v1/visits", who, json=body, headers=key).status_code == 201, who
        assert visits_of(demo, patient) == 1


def test_a_refusal_is_replayed_too_and_bad_input_frees_the_key(demo: Demo) -> None:
    patient = after_microneedling(demo)
    body = blocked_botox(demo, patient)
    key = {"Idempotency-Key": f"refused-{patient}"}
    refused = demo.call("POST", "/api/v1/visits", "front desk", json=body, headers=key)
    replayed = demo.call("POST", "/api/v1/visits", "front desk", json=body, headers=key)
    assert refused.status_code == replayed.status_code == 409
    assert refused.json() == replayed.json() and replayed.headers["idempotent-replayed"] == "true"

    key = {"Idempotency-Key": f"fixed-{patient}"}
    peel = {**body, "treatment": "chemical-peel-light", "at": "soon"}
    assert demo.call("POST", "/api/v1/visits", "front desk", json=peel, headers=key).status_code == 422
    peel["at"] = demo.free_slot("chemical-peel-light", patient=patient)
    assert demo.call("POST", "/api/v1/visits", "front desk", json=peel, headers=key).status_code == 201
    assert visits_of(demo, patient) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "with space", "tab\there"])
def test_a_malformed_key_is_422(demo: Demo, key: str) -> None:
    body = {"patient": SIMRAN, "treatment": "botox", "clinic": CLINIC, "at": "2030-01-01T10:00"}
    response = demo.call("POST", "/api/v1/visits", "front desk", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 422


@pytest.mark.parametrize("who", ["front desk", "clinic admin", "patient"])
def test_only_a_practitioner_may_send_an_override(demo: Demo, who: str) -> None:
    patient = SIMRAN if who == "patient" else after_microneedling(demo)
    body = {**blocked_botox(demo, patient), "override_reason": "travelling; risks discussed"}
    before = visits_of(demo, patient)
    assert demo.call("POST", "/api/v1/visits", who, json=body).status_code == 403
    assert visits_of(demo, patient) == before


def test_a_practitioner_not_qualified_for_the_treatment_may_not_override(demo: Demo) -> None:
    patient = after_microneedling(demo)
    body = {**blocked_botox(demo, patient), "override_reason": "travelling; risks discussed"}
    response = demo.call("POST", "/api/v1/visits", "aesthetician", json=body)
    assert response.status_code == 409
    codes = [item["field"] for item in response.json()["detail"]]
    assert codes == ["microneedling-then-botox", "override-not-qualified"]
    assert visits_of(demo, patient) == 0


def test_a_qualified_practitioner_overrides_a_soft_rule_with_a_reason(demo: Demo) -> None:
    patient = after_microneedling(demo)
    body = {**blocked_botox(demo, patient), "override_reason": "travelling; risks discussed"}
    booked = demo.ok("POST", "/api/v1/visits", "practitioner", status=201, json=body)
    assert booked["overrides"] == ["microneedling-then-botox"]
    [override] = demo.ok("GET", f"/api/v1/visits/{booked['id']}/overrides", "aesthetician")
    assert (override["visit"], override["rule"], override["practitioner"]) == (
        booked["id"],
        "microneedling-then-botox",
        PHYSICIAN,
    )
    assert override["reason"] == "travelling; risks discussed"
    assert override in demo.ok("GET", "/api/v1/overrides", "clinic admin", params={"clinic": CLINIC})
    assert override in demo.ok("GET", "/api/v1/overrides", "practitioner")
    for who in ("front desk", "patient"):
        assert demo.call("GET", f"/api/v1/visits/{booked['id']}/overrides", who).status_code == 403
    # Dr. Brar works at clinics 1 and 3, not at clinic 2; the administrator only at clinic 1.
    assert demo.call("GET", "/api/v1/overrides", "practitioner", params={"clinic": 2}).status_code == 403
    assert demo.call("GET", "/api/v1/overrides", "clinic admin", params={"clinic": 3}).status_code == 403
    assert demo.call("GET", "/api/v1/overrides", "practitioner", params={"clinic": 3}).status_code == 200


def test_a_hard_rule_has_no_override(demo: Demo) -> None:
    patient = demo.new_patient(history=[f"botox@{TODAY - timedelta(days=30)}"])
    at = demo.free_slot("botox", practitioner=PHYSICIAN)
    body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": PHYSICIAN}
    response = demo.call("POST", "/api/v1/visits", "practitioner", json={**body, "override_reason": "patient insists"})
    assert response.status_code == 409
    assert [item["field"] for item in response.json()["detail"]] == ["botox-repeat", "hard-rule"]
    assert response.json()["detail"][0]["kind"] == "hard"


def test_moving_a_visit_into_a_blocked_window_needs_an_override_too(demo: Demo) -> None:
    patient = after_microneedling(demo)
    at = demo.free_slot("botox", practitioner=PHYSICIAN, first=TODAY + timedelta(days=14), days=30)
    body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": PHYSICIAN}
    booked = demo.ok("POST", "/api/v1/visits", "front desk", status=201, json=body)
    sooner = blocked_botox(demo, patient)["at"]
    path = f"/api/v1/visits/{booked['id']}/reschedule"
    assert demo.call("POST", path, "front desk", json={"at": sooner}).status_code == 409
    assert demo.call("POST", path, "front desk", json={"at": sooner, "override_reason": "x"}).status_code == 403
    moved = demo.ok("POST", path, "practitioner", json={"at": sooner, "override_reason": "travelling"})
    assert (moved["start"][:16], moved["overrides"]) == (sooner, ["microneedling-then-botox"])


def test_unknown_visits_are_404(demo: Demo) -> None:
    for method, path in (
        ("GET", "/api/v1/visits/999999"),
        ("POST", "/api/v1/visits/999999/cancel"),
        ("GET", "/api/v1/visits/999999/overrides"),
    ):
        response = demo.call(method, path, "clinic admin")
        assert response.status_code == 404, path
        assert response.json() == {"detail": [{"field": "visit", "problem": "no visit 999999"}]}


def test_staff_record_what_happened_at_a_visit_and_a_patient_may_not(demo: Demo) -> None:
    visit = begun_visit(demo.sessions, demo.new_patient(name="Came Or Not"))
    path = f"/api/v1/visits/{visit}/outcome"
    assert demo.call("POST", path, "patient", json={"outcome": "completed"}).status_code == 403
    bad = demo.call("POST", path, "front desk", json={"outcome": "maybe"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "outcome"
    missed = demo.ok("POST", path, "front desk", json={"outcome": "no-show"})
    assert missed == {"id": visit, "status": "no-show", "was": "booked", "unsafe": []}
    corrected = demo.ok("POST", path, "practitioner", json={"outcome": "completed"})
    assert (corrected["status"], corrected["was"]) == ("completed", "no-show")
    assert demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["status"] == "completed"

    future = demo.book(SIMRAN)
    early = demo.call("POST", f"/api/v1/visits/{future}/outcome", "front desk", json={"outcome": "completed"})
    assert early.status_code == 409 and early.json()["detail"][0]["field"] == "visit-not-begun"
    assert (
        demo.call("POST", "/api/v1/visits/999999/outcome", "front desk", json={"outcome": "no-show"}).status_code == 404
    )
