"""A clinic's rule adjustments over HTTP: the administrator tightens any rule and the clinic's bookings and slots
follow at once; loosening goes no further than the knowledge base's source (422 naming the field), and a rule
hard in the knowledge base only ever tightens; every change is logged and audited with before and after."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.web.test_api_demo import CLINIC, PHYSICIAN, TODAY, Demo, open_demo

RULE = "microneedling-then-botox"  # soft, at least 14 days, ideally 14-28
PATH = f"/api/v1/clinics/{CLINIC}/rules/{RULE}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("rules")) as opened:
        yield opened


def rule_at(demo: Demo, clinic: int, rule_id: str = RULE) -> dict[str, Any]:
    rules = demo.ok("GET", f"/api/v1/clinics/{clinic}/rules")["rules"]
    found: dict[str, Any] = next(r for r in rules if r["id"] == rule_id)
    return found


def refused_fields(demo: Demo, path: str, body: dict[str, Any]) -> list[str]:
    response = demo.call("PATCH", path, "clinic admin", json=body)
    assert response.status_code == 422, response.text
    return [item["field"] for item in response.json()["detail"]]


def test_a_tightened_minimum_refuses_bookings_before_it_and_allows_them_after(demo: Demo) -> None:
    yesterday = TODAY - timedelta(days=1)
    patient = demo.new_patient(history=[f"microneedling@{yesterday}"])
    changed = demo.ok("PATCH", PATH, "clinic admin", json={"min": 28, "ideal_start": "28 days"})
    assert (changed["min"], changed["ideal"]) == ("28 days", ["28 days", "28 days"])
    assert "this clinic set min 28 days (the source says 14 days)" in changed["source"]
    try:
        # Allowed by the knowledge base (14 days on), not by this clinic (28 days on).
        between = demo.free_slot("botox", practitioner=PHYSICIAN, first=yesterday + timedelta(days=14), days=14)
        body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": between, "practitioner": PHYSICIAN}
        response = demo.call("POST", "/api/v1/visits", "front desk", json=body)
        assert response.status_code == 409, response.text
        [reason] = response.json()["detail"]
        assert reason["field"] == RULE
        assert f"wait until {yesterday + timedelta(days=28)}" in reason["problem"]
        assert "this clinic set min 28 days" in reason["source"]

        safe = demo.ok(
            "GET", f"/api/v1/clinics/{CLINIC}/slots", "front desk", params={"treatment": "botox", "patient": patient}
        )
        assert date.fromisoformat(safe[0]["start"][:10]) >= yesterday + timedelta(days=28)
        at = demo.free_slot("botox", practitioner=PHYSICIAN, first=yesterday + timedelta(days=28))
        demo.ok("POST", "/api/v1/visits", "front desk", status=201, json={**body, "at": at})
        # Another clinic keeps the knowledge base's rule.
        assert rule_at(demo, 2)["min"] == "14 days"
        assert demo.ok("GET", "/api/v1/clinics/2/rules")["version"] == demo.ok("GET", "/api/v1/rules")["version"]
    finally:
        demo.ok("PATCH", PATH, "clinic admin", json={"ideal_start": 14, "min": 14})  # back to the source
    assert rule_at(demo, CLINIC) == rule_at(demo, 2)


def test_a_soft_rule_loosens_only_back_to_its_source(demo: Demo) -> None:
    demo.ok("PATCH", PATH, "clinic admin", json={"min": 21, "ideal_start": 21, "ideal_end": "21 days"})
    demo.ok("PATCH", PATH, "clinic admin", json={"min": 14, "ideal_start": 14, "ideal_end": 28})  # undone: allowed
    assert refused_fields(demo, PATH, {"min": 13}) == ["min"]
    assert refused_fields(demo, PATH, {"ideal_end": "29 days"}) == ["ideal_end"]
    assert refused_fields(demo, PATH, {"min": "10 days", "ideal_end": "2 months"}) == ["min", "ideal_end"]
    response = demo.call("PATCH", PATH, "clinic admin", json={"min": 10})
    [problem] = response.json()["detail"]
    assert "below the knowledge base's 14 days" in problem["problem"]
    assert rule_at(demo, CLINIC)["min"] == "14 days"


def test_a_rule_hard_in_the_knowledge_base_only_tightens(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/rules/botox-repeat"  # hard: at least 90 days (the product label)
    demo.ok("PATCH", path, "clinic admin", json={"min": "100 days", "ideal_start": "100 days"})
    assert refused_fields(demo, path, {"min": 95, "ideal_start": 95}) == ["min", "ideal_start"]
    assert refused_fields(demo, path, {"min": 80}) == ["min"]
    assert refused_fields(demo, path, {"kind": "soft"}) == ["kind"]
    assert rule_at(demo, CLINIC, "botox-repeat")["min"] == "100 days"


def test_a_soft_rule_made_hard_has_no_override_here(demo: Demo) -> None:
    patient = demo.new_patient(history=[f"microneedling@{TODAY - timedelta(days=1)}"])
    assert demo.ok("PATCH", PATH, "clinic admin", json={"kind": "hard"})["kind"] == "hard"
    try:
        at = demo.free_slot("botox", practitioner=PHYSICIAN, first=TODAY, days=12)
        body = {"patient": patient, "treatment": "botox", "clinic": CLINIC, "at": at, "practitioner": PHYSICIAN}
        response = demo.call("POST", "/api/v1/visits", "practitioner", json={**body, "override_reason": "travelling"})
        assert response.status_code == 409
        assert [item["field"] for item in response.json()["detail"]] == [RULE, "hard-rule"]
    finally:
        demo.ok("PATCH", PATH, "clinic admin", json={"kind": "soft"})  # soft in the knowledge base: allowed


def test_session_limits_allow_fewer_sessions_never_more(demo: Demo) -> None:
    kybella = f"/api/v1/clinics/{CLINIC}/rules/kybella-course-limit"  # hard, 6
    assert demo.ok("PATCH", kybella, "clinic admin", json={"max_sessions": 4})["max_sessions"] == 4
    assert refused_fields(demo, kybella, {"max_sessions": 5}) == ["max_sessions"]
    touch_up = f"/api/v1/clinics/{CLINIC}/rules/touch-up-once-per-treatment"  # soft, 1
    assert refused_fields(demo, touch_up, {"max_sessions": 2}) == ["max_sessions"]
    assert refused_fields(demo, touch_up, {"min": 3}) == ["min"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "rule"),
        ({"min": "two weeks"}, "min"),
        ({"min": "9999 days", "ideal_start": "9999 days", "ideal_end": "9999 days"}, "min"),
        ({"min": 21}, "min"),  # past the ideal window's start
        ({"ideal_start": 27, "ideal_end": 20}, "ideal_end"),
        ({"max_sessions": 1}, "max_sessions"),  # an interval rule has none
        ({"kind": "medium"}, "kind"),
        ({"source": "my own"}, "source"),
    ],
)
def test_bad_changes_are_422_naming_the_field(demo: Demo, body: dict[str, Any], field: str) -> None:
    assert refused_fields(demo, PATH, body)[0] == field


def test_an_unknown_rule_is_404(demo: Demo) -> None:
    response = demo.call("PATCH", f"/api/v1/clinics/{CLINIC}/rules/no-such-rule", "clinic admin", json={"min": 1})
    assert response.status_code == 404
    assert response.json()["detail"][0]["field"] == "rule"


def test_every_change_is_logged_and_audited_with_before_and_after(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/rules/microneedling-series"  # soft, at least 28 days, ideally 28-42
    demo.ok("PATCH", path, "clinic admin", json={"min": 35, "ideal_start": 35})
    demo.ok("PATCH", path, "clinic admin", json={"min": 35, "ideal_start": 35})  # no change: not logged again
    log = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/rule-adjustments", "clinic admin")
    mine = [row for row in log if row["rule"] == "microneedling-series"]
    assert [(r["field"], r["before"], r["after"]) for r in mine] == [
        ("min", "28 days", "35 days"),
        ("ideal_start", "28 days", "35 days"),
    ]
    assert all(r["by"].startswith("clinic-admin:") and r["clinic"] == CLINIC for r in mine)
    audited = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "rule-adjustment"})
    details = [e["detail"] for e in audited if e["detail"]["rule"] == "microneedling-series"]
    assert {(d["field"], d["before"], d["after"], d["clinic_id"]) for d in details} == {
        ("min", "28 days", "35 days", CLINIC),
        ("ideal_start", "28 days", "35 days", CLINIC),
    }
    assert demo.ok("GET", f"/api/v1/clinics/{CLINIC}/rules")["version"].startswith(
        demo.ok("GET", "/api/v1/rules")["version"] + "+clinic-1."
    )
