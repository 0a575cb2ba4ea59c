"""Patients over HTTP: staff list and add them; the chart is full for practitioners and the patient, limited
(no factors, no treatments had elsewhere) for the front desk and the administrator; factors are read and
recorded by practitioners and the patient; another patient's record is 404; every read is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from safewindow.store import models
from tests.web.test_api_demo import CLAIRE, SIMRAN, Demo, open_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("patients")) as opened:
        yield opened


AVNEET = 3  # sensitive skin; a chemical peel at Mill Lake and a booked hydrafacial
NEW = {"name": "Asha Grewal", "birth_date": "1990-05-05", "email": "asha@example.com", "history": ["botox@2026-09-01"]}


def reads_of(demo: Demo, entity: str, entity_id: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = demo.ok(
        "GET", "/api/v1/audit", "clinic admin", params={"entity": entity, "entity_id": str(entity_id)}
    )
    return [e for e in entries if e["action"] == f"{entity}.read"]


def test_the_limited_chart_leaves_out_factors_and_treatments_had_elsewhere(demo: Demo) -> None:
    limited = demo.ok("GET", f"/api/v1/patients/{AVNEET}", "front desk")
    assert limited["chart"] == "limited"
    assert set(limited) == {"chart", "id", "name", "birth_date", "email", "phone", "visits", "warnings"}
    assert (limited["name"], limited["phone"]) == ("Avneet Dhillon", "+17785550119")
    assert [v["treatment"] for v in limited["visits"]] == ["chemical-peel-light", "hydrafacial"]
    assert [w["code"] for w in limited["warnings"]] == ["factors-on-file"]
    assert "sensitive" not in str(limited)
    assert demo.ok("GET", f"/api/v1/patients/{AVNEET}", "clinic admin") == limited


@pytest.mark.parametrize("who", ["practitioner", "aesthetician"])
def test_practitioners_see_the_full_chart(demo: Demo, who: str) -> None:
    full = demo.ok("GET", f"/api/v1/patients/{AVNEET}", who)
    assert full["chart"] == "full"
    assert [f["factor"] for f in full["factors"]] == ["sensitive-skin"]
    assert full["prior_treatments"] == []
    limited = demo.ok("GET", f"/api/v1/patients/{AVNEET}", "front desk")
    assert {k: v for k, v in full.items() if k not in ("factors", "prior_treatments", "chart")} == {
        k: v for k, v in limited.items() if k != "chart"
    }


def test_a_patient_sees_their_own_full_chart_and_no_one_else_s(demo: Demo) -> None:
    mine = demo.ok("GET", f"/api/v1/patients/{SIMRAN}", "patient")
    assert (mine["chart"], mine["name"]) == ("full", "Simran Gill")
    for path in (
        f"/api/v1/patients/{CLAIRE}",
        f"/api/v1/patients/{CLAIRE}/visits",
        f"/api/v1/patients/{CLAIRE}/factors",
    ):
        response = demo.call("GET", path, "patient")
        assert response.status_code == 404
        assert response.json() == {"detail": [{"field": "patient", "problem": f"no patient {CLAIRE}"}]}
    # A patient that does not exist answers the same as one that is not theirs.
    assert demo.call("GET", "/api/v1/patients/999", "patient").json() == {
        "detail": [{"field": "patient", "problem": "no patient 999"}]
    }
    assert demo.call("GET", "/api/v1/patients/999", "front desk").status_code == 404


def test_every_read_of_a_chart_is_audited_by_ids_only(demo: Demo) -> None:
    before = len(reads_of(demo, "patient", CLAIRE))
    demo.ok("GET", f"/api/v1/patients/{CLAIRE}", "front desk")
    demo.ok("GET", f"/api/v1/patients/{CLAIRE}", "other patient")
    entries = reads_of(demo, "patient", CLAIRE)
    assert len(entries) == before + 2
    assert {e["actor"].split(":")[0] for e in entries[:2]} == {"front-desk", "patient"}
    assert all(e["detail"] == {} for e in entries)
    demo.ok("GET", f"/api/v1/patients/{CLAIRE}/visits", "practitioner")
    assert reads_of(demo, "patient-visits", CLAIRE)
    demo.ok("GET", "/api/v1/patients", "front desk")
    assert demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "patients"})


def test_staff_find_patients_by_name_e_mail_or_number_a_page_at_a_time(demo: Demo) -> None:
    everyone = demo.ok("GET", "/api/v1/patients", "front desk", params={"limit": 500})
    assert len(everyone) >= 4
    assert [(p["name"], p["id"]) for p in everyone] == sorted((p["name"], p["id"]) for p in everyone)
    pages = [
        demo.ok("GET", "/api/v1/patients", "front desk", params={"limit": 3, "offset": offset})
        for offset in range(0, len(everyone) + 3, 3)
    ]
    assert [p for page in pages for p in page] == everyone and pages[-1] == []
    assert [p["name"] for p in demo.ok("GET", "/api/v1/patients", "front desk", params={"q": "DHILL"})] == [
        "Avneet Dhillon"
    ]
    assert [p["id"] for p in demo.ok("GET", "/api/v1/patients", "front desk", params={"q": str(AVNEET)})] == [AVNEET]
    assert demo.ok("GET", "/api/v1/patients", "front desk", params={"q": "%"}) == []  # typed text, not a pattern
    searched = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "patients", "entity_id": "search"})
    assert searched and all("DHILL" not in str(e) for e in searched)  # who searched, never for whom


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"offset": -1}, "offset")]
)
def test_a_page_out_of_bounds_is_refused_naming_the_field(demo: Demo, params: dict[str, int], field: str) -> None:
    response = demo.call("GET", "/api/v1/patients", "front desk", params=params)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["detail"]] == [field]


def test_the_audit_log_pages_back_by_id(demo: Demo) -> None:
    for _ in range(3):
        demo.ok("GET", "/api/v1/patients", "front desk")  # each list read is an entry
    audit = "/api/v1/audit"
    newest = demo.ok("GET", audit, "clinic admin", params={"limit": 6})  # this read is logged after these
    first = demo.ok("GET", audit, "clinic admin", params={"limit": 3, "before": newest[0]["id"] + 1})
    second = demo.ok("GET", audit, "clinic admin", params={"limit": 3, "before": first[-1]["id"]})
    assert first + second == newest
    response = demo.call("GET", audit, "clinic admin", params={"before": 0})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "before"


def test_staff_add_patients_with_treatments_had_elsewhere(demo: Demo) -> None:
    added = demo.ok("POST", "/api/v1/patients", "front desk", status=201, json=NEW)
    assert added == {"id": added["id"], "name": "Asha Grewal", "birth_date": "1990-05-05", "email": "asha@example.com"}
    assert added in demo.ok("GET", "/api/v1/patients", "clinic admin")
    full = demo.ok("GET", f"/api/v1/patients/{added['id']}", "practitioner")
    assert full["prior_treatments"] == [{"treatment": "botox", "day": "2026-09-01", "area": "face"}]
    assert [w["code"] for w in full["warnings"]] == []


def test_a_patient_added_with_a_mobile_number_keeps_it_for_text_reminders(demo: Demo) -> None:
    added = demo.ok("POST", "/api/v1/patients", "front desk", status=201, json={**NEW, "phone": "(604) 555-0133"})
    chosen = demo.ok("GET", f"/api/v1/patients/{added['id']}/contact-preferences", "front desk")
    assert (chosen["phone"], chosen["text_reminders"]) == ("+16045550133", False)  # texts are still the patient's call


def test_only_a_practitioner_records_factors_when_adding_a_patient(demo: Demo) -> None:
    body = {**NEW, "factors": ["sensitive-skin"]}
    for who in ("front desk", "clinic admin"):
        response = demo.call("POST", "/api/v1/patients", who, json=body)
        assert response.status_code == 403, who
    added = demo.ok("POST", "/api/v1/patients", "practitioner", status=201, json=body)
    [factor] = demo.ok("GET", f"/api/v1/patients/{added['id']}/factors", "practitioner")
    assert (factor["factor"], factor["active"]) == ("sensitive-skin", True)
    assert factor["recorded_by"].startswith("practitioner:")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "  ", "birth_date": "1990-01-01"}, "name"),
        ({"name": "A", "birth_date": "1990-02-30"}, "birth_date"),
        ({"name": "A", "birth_date": "2999-01-01"}, "birth_date"),
        ({"name": "A", "birth_date": "1990-01-01", "email": "not-an-address"}, "email"),
        ({"name": "A", "birth_date": "1990-01-01", "phone": "555"}, "phone"),
        ({"name": "A", "birth_date": "1990-01-01", "history": ["botx@2026-01-01"]}, "history"),
        ({"name": "A", "birth_date": "1990-01-01", "history": ["botox@2999-01-01"]}, "history"),
        ({"name": "A\x00", "birth_date": "1990-01-01"}, "name"),
        ({"birth_date": "1990-01-01"}, "name"),
        ({"name": "A", "birth_date": "1990-01-01", "diagnosis": "x"}, "diagnosis"),
    ],
)
def test_bad_patients_are_422_naming_the_field(demo: Demo, body: dict[str, Any], field: str) -> None:
    response = demo.call("POST", "/api/v1/patients", "front desk", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_factors_are_for_practitioners_and_the_patient_only(demo: Demo) -> None:
    for who in ("front desk", "clinic admin"):
        assert demo.call("GET", f"/api/v1/patients/{AVNEET}/factors", who).status_code == 403
        body = {"factor": "retinoids"}
        assert demo.call("POST", f"/api/v1/patients/{AVNEET}/factors", who, json=body).status_code == 403
    assert demo.call("POST", f"/api/v1/patients/{SIMRAN}/factors", "other patient", json=body).status_code == 404


def test_the_patient_and_a_practitioner_record_factors(demo: Demo) -> None:
    patient = demo.ok("POST", "/api/v1/patients", "front desk", status=201, json=NEW)["id"]
    body = {"factor": "retinoids"}
    recorded = demo.ok("POST", f"/api/v1/patients/{SIMRAN}/factors", "patient", status=201, json=body)
    assert (recorded["factor"], recorded["recorded_by"]) == ("retinoids", "patient:1")
    again = demo.call("POST", f"/api/v1/patients/{SIMRAN}/factors", "practitioner", json=body)
    assert (again.status_code, again.json()["detail"][0]["field"]) == (422, "factor")
    demo.ok("POST", f"/api/v1/patients/{patient}/factors", "aesthetician", status=201, json={"factor": "hsv"})
    assert [f["factor"] for f in demo.ok("GET", f"/api/v1/patients/{patient}/factors", "practitioner")] == ["hsv"]
    # The front desk learns that factors matter, not which.
    limited = demo.ok("GET", f"/api/v1/patients/{patient}", "front desk")
    assert [w["code"] for w in limited["warnings"]] == ["factors-on-file"]
    # The audit says a factor was recorded, never which one.
    entries = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "patient", "entity_id": str(patient)})
    [entry] = [e for e in entries if e["action"] == "patient.factor-recorded"]
    assert entry["detail"] == {}
    with demo.sessions() as session:
        assert session.get(models.Patient, patient) is not None
    for bad in ("pregnant", "hsv,retinoids", ""):
        response = demo.call("POST", f"/api/v1/patients/{patient}/factors", "practitioner", json={"factor": bad})
        assert (response.status_code, response.json()["detail"][0]["field"]) == (422, "factor"), bad
