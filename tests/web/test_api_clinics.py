"""Clinics over HTTP: the CLI's rows, public slots (rule-aware only for a patient the caller may see), and the
clinic administrator's hours, closures, staff and their time off, for their own clinic only, never stranding a
booked visit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from safewindow.cli.main import app as cli
from safewindow.cli.store_access import engine
from safewindow.store import models
from tests.web.test_api_demo import AESTHETICIAN, CLINIC, PHYSICIAN, SIMRAN, TODAY, Demo, open_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("clinics")) as opened:
        yield opened


def cli_json(demo: Demo, *args: str) -> Any:
    engine.cache_clear()  # the CLI keeps one engine per process: this one is for the demo's file
    try:
        result = CliRunner().invoke(cli, [*args, "--json"], env={"SAFEWINDOW_DATABASE_URL": demo.url})
    finally:
        engine.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("path", "command"),
    [
        ("/api/v1/clinics", ["clinics"]),
        ("/api/v1/clinics/2/practitioners", ["practitioners", "--clinic", "2"]),
        (f"/api/v1/patients/{SIMRAN}/visits", ["visits", "--patient", str(SIMRAN)]),
        ("/api/v1/patients", ["patients"]),
    ],
)
def test_the_rows_are_the_cli_s_json(demo: Demo, path: str, command: list[str]) -> None:
    assert demo.ok("GET", path, "front desk") == cli_json(demo, *command)


def test_one_clinic_is_its_row_and_an_unknown_one_is_404(demo: Demo) -> None:
    assert demo.ok("GET", "/api/v1/clinics/3") == demo.ok("GET", "/api/v1/clinics")[2]
    for path in ("/api/v1/clinics/99", "/api/v1/clinics/99/practitioners", "/api/v1/clinics/99/hours"):
        response = demo.call("GET", path)
        assert response.status_code == 404
        assert response.json() == {"detail": [{"field": "clinic", "problem": "no clinic 99"}]}


def test_slots_are_the_cli_s_and_rule_aware_for_a_patient(demo: Demo) -> None:
    first = (TODAY + timedelta(days=1)).isoformat()
    params = {"treatment": "botox", "from": first, "days": "14", "limit": "5"}
    anonymous = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params=params)
    assert anonymous and all(slot["fit"] is None for slot in anonymous)
    command = ["slots", "botox", "--clinic", str(CLINIC), "--from", first, "--days", "14", "--limit", "5"]
    assert anonymous == cli_json(demo, *command)
    mine = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", "patient", params={**params, "patient": SIMRAN})
    assert mine and all(slot["fit"] in ("ideal", "allowed") for slot in mine)
    assert mine == cli_json(demo, *command, "--patient", str(SIMRAN))


def test_slots_for_a_patient_need_a_caller_who_may_see_them(demo: Demo) -> None:
    params = {"treatment": "botox", "patient": SIMRAN}
    assert demo.call("GET", f"/api/v1/clinics/{CLINIC}/slots", params=params).status_code == 401
    assert demo.call("GET", f"/api/v1/clinics/{CLINIC}/slots", "other patient", params=params).status_code == 404
    assert demo.call("GET", f"/api/v1/clinics/{CLINIC}/slots", "front desk", params=params).status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"treatment": "botx"}, "treatment"),
        ({"treatment": "kybella"}, "treatment"),  # not offered at clinic 1
        ({"treatment": "botox", "from": "2026-13-01"}, "from"),
        ({"treatment": "botox", "days": "0"}, "days"),
        ({"treatment": "botox", "practitioner": str(AESTHETICIAN)}, "practitioner"),  # not qualified
        ({"treatment": "botox", "practitioner": "99"}, "practitioner"),
    ],
)
def test_bad_slot_questions_are_422_naming_the_field(demo: Demo, params: dict[str, str], field: str) -> None:
    response = demo.call("GET", f"/api/v1/clinics/{CLINIC}/slots", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_the_administrator_sets_opening_hours_but_never_strands_a_visit(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/hours"
    hours = demo.ok("GET", path)
    assert {"weekday": 1, "start": "09:00", "end": "17:00"} in hours
    saturday_too = [*hours, {"weekday": 6, "start": "10:00", "end": "14:00"}]
    assert demo.ok("PUT", path, "clinic admin", json={"hours": saturday_too}) == sorted(
        saturday_too, key=lambda h: (h["weekday"], h["start"])
    )
    assert demo.ok("PUT", path, "clinic admin", json={"hours": hours}) == hours

    visit = demo.book(demo.new_patient())
    weekday = demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["start"]
    day = TODAY.fromisoformat(weekday[:10]).weekday()
    without_that_day = [h for h in hours if h["weekday"] != day]
    refused = demo.call("PUT", path, "clinic admin", json={"hours": without_that_day})
    assert refused.status_code == 409
    problems = refused.json()["detail"]  # every booked visit on that weekday is named, ours among them
    assert {problem["field"] for problem in problems} == {"visit-outside-hours"}
    assert any(f"Visit {visit} " in problem["problem"] for problem in problems)
    assert demo.ok("GET", path) == hours  # nothing changed


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([{"weekday": 7, "start": "09:00", "end": "17:00"}], "hours"),
        ([{"weekday": 1, "start": "9:00", "end": "17:00"}], "hours"),
        ([{"weekday": 1, "start": "17:00", "end": "09:00"}], "hours"),
        ([{"weekday": 1, "start": "09:00", "end": "13:00"}, {"weekday": 1, "start": "12:00", "end": "17:00"}], "hours"),
    ],
)
def test_bad_hours_are_422(demo: Demo, hours: list[dict[str, Any]], field: str) -> None:
    response = demo.call("PUT", f"/api/v1/clinics/{CLINIC}/hours", "clinic admin", json={"hours": hours})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field


def test_an_administrator_changes_only_their_own_clinic(demo: Demo) -> None:
    hours = demo.ok("GET", "/api/v1/clinics/2/hours")
    response = demo.call("PUT", "/api/v1/clinics/2/hours", "clinic admin", json={"hours": hours})
    assert response.status_code == 403
    closure = {"first_day": "2030-01-02", "last_day": "2030-01-03", "reason": "Inventory"}
    assert demo.call("POST", "/api/v1/clinics/2/closures", "clinic admin", json=closure).status_code == 403
    assert demo.call("GET", "/api/v1/clinics/2/rule-adjustments", "clinic admin").status_code == 403


def test_closures_are_added_and_removed_and_close_the_slots(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/closures"
    day = demo.free_slot("botox", first=TODAY + timedelta(days=30))[:10]
    body = {"first_day": day, "last_day": day, "reason": "Staff training"}
    added = demo.ok("POST", path, "clinic admin", status=201, json=body)
    assert added == {"id": added["id"], **body}
    assert added in demo.ok("GET", path)
    slots = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "botox", "from": day, "days": 1})
    assert slots == []
    again = demo.call("POST", path, "clinic admin", json=body)
    assert (again.status_code, again.json()["detail"][0]["field"]) == (422, "first_day")
    assert demo.call("DELETE", f"{path}/{added['id']}", "clinic admin").status_code == 204
    assert demo.call("DELETE", f"{path}/{added['id']}", "clinic admin").status_code == 404
    assert added not in demo.ok("GET", path)


def test_a_closure_over_a_booked_visit_is_refused(demo: Demo) -> None:
    visit = demo.book(demo.new_patient())
    day = demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["start"][:10]
    body = {"first_day": day, "last_day": day, "reason": "Flood"}
    response = demo.call("POST", f"/api/v1/clinics/{CLINIC}/closures", "clinic admin", json=body)
    assert response.status_code == 409
    assert response.json()["detail"][0]["field"] == "visit-in-closure"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_day": "2030-01-05", "last_day": "2030-01-04", "reason": "x"}, "last_day"),
        ({"first_day": "2020-01-01", "last_day": "2020-01-02", "reason": "x"}, "last_day"),
        ({"first_day": "2030-01-01", "last_day": "2031-06-01", "reason": "x"}, "last_day"),
        ({"first_day": "2030-02-30", "last_day": "2030-03-01", "reason": "x"}, "first_day"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-01", "reason": "  "}, "reason"),
    ],
)
def test_bad_closures_are_422(demo: Demo, body: dict[str, str], field: str) -> None:
    response = demo.call("POST", f"/api/v1/clinics/{CLINIC}/closures", "clinic admin", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_staff_come_and_go_at_a_clinic_with_their_working_hours(demo: Demo) -> None:
    with demo.sessions() as session:
        newcomer = models.Practitioner(name="Noor Test", email="noor.test@example.com")
        newcomer.qualifications = [session.get(models.Qualification, "aesthetician")]  # type: ignore[list-item]
        session.add(newcomer)
        session.commit()
        newcomer_id = newcomer.id
    path = f"/api/v1/clinics/{CLINIC}/practitioners/{newcomer_id}"
    listed = lambda: [p["id"] for p in demo.ok("GET", f"/api/v1/clinics/{CLINIC}/practitioners")]  # noqa: E731
    assert newcomer_id not in listed()
    assert demo.ok("GET", f"{path}/hours", "front desk") == []

    shifts = [{"weekday": 2, "start": "09:00", "end": "12:00"}]
    assert demo.ok("PUT", f"{path}/hours", "clinic admin", json={"hours": shifts}) == shifts
    assert newcomer_id in listed()
    slot = demo.free_slot("chemical-peel-light", practitioner=newcomer_id)
    assert slot[11:13] in ("09", "10", "11")

    patient = demo.new_patient()
    visit = demo.book(patient, practitioner=newcomer_id)
    refused = demo.call("DELETE", path, "clinic admin")
    assert refused.status_code == 409 and refused.json()["detail"][0]["field"] == "visit-booked"
    demo.ok("POST", f"/api/v1/visits/{visit}/cancel", "front desk")
    assert demo.call("DELETE", path, "clinic admin").status_code == 204
    assert newcomer_id not in listed()
    assert demo.call("DELETE", path, "clinic admin").status_code == 404


def test_working_hours_may_not_overlap_the_practitioner_s_hours_at_another_clinic(demo: Demo) -> None:
    # Dr. Brar works at Mill Lake Medispa (clinic 3) on Wednesdays from 10:00.
    path = f"/api/v1/clinics/{CLINIC}/practitioners/{PHYSICIAN}/hours"
    hours = demo.ok("GET", path, "practitioner")
    clash = [*hours, {"weekday": 2, "start": "09:00", "end": "12:00"}]
    response = demo.call("PUT", path, "clinic admin", json={"hours": clash})
    assert response.status_code == 422 and "clinic 3" in response.json()["detail"][0]["problem"]
    assert demo.ok("PUT", path, "clinic admin", json={"hours": hours}) == hours


def test_settings_changes_are_audited_with_before_and_after(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/hours"
    hours = demo.ok("GET", path)
    demo.ok("PUT", path, "clinic admin", json={"hours": hours})
    [entry] = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "clinic", "limit": 1})
    assert entry["action"] == "clinic.hours-changed" and entry["entity_id"] == str(CLINIC)
    assert entry["detail"]["before"] == entry["detail"]["after"] == hours
    assert entry["actor"].startswith("clinic-admin:")


HANNAH = 6  # Hannah Dyck works at Mill Lake Medispa (clinic 3) only


def time_off_path(practitioner: int = PHYSICIAN, clinic: int = CLINIC) -> str:
    return f"/api/v1/clinics/{clinic}/practitioners/{practitioner}/time-off"


def test_time_off_is_added_listed_and_removed_and_closes_the_practitioner_s_slots(demo: Demo) -> None:
    day = demo.free_slot("botox", practitioner=PHYSICIAN, first=TODAY + timedelta(days=30))[:10]
    body = {"first_day": day, "last_day": day, "reason": "Course"}
    added = demo.ok("POST", time_off_path(), "clinic admin", status=201, json=body)
    next_day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    assert added == {
        "id": added["id"],
        "start": f"{day}T00:00:00-07:00",
        "end": f"{next_day}T00:00:00-07:00",
        "reason": "Course",
    }
    for who in ("front desk", "practitioner", "aesthetician", "clinic admin"):
        assert added in demo.ok("GET", time_off_path(), who)
    params = {"treatment": "botox", "practitioner": PHYSICIAN, "from": day, "days": 1}
    assert demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params=params) == []

    again = demo.call(
        "POST", time_off_path(), "clinic admin", json={**body, "start_time": "12:00", "end_time": "13:00"}
    )
    assert (again.status_code, again.json()["detail"][0]["field"]) == (422, "first_day")
    assert f"{day} 00:00 to {next_day} 00:00" in again.json()["detail"][0]["problem"]

    assert demo.call("DELETE", f"{time_off_path()}/{added['id']}", "clinic admin").status_code == 204
    assert demo.call("DELETE", f"{time_off_path()}/{added['id']}", "clinic admin").status_code == 404
    assert added not in demo.ok("GET", time_off_path(), "front desk")
    assert demo.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", params=params) != []

    [entry] = demo.ok("GET", "/api/v1/audit", "clinic admin", params={"entity": "practitioner", "limit": 1})
    assert entry["action"] == "practitioner.time-off-removed" and entry["entity_id"] == str(PHYSICIAN)
    assert entry["detail"] == {
        "clinic_id": CLINIC,
        "time_off": added["id"],
        "start": datetime.fromisoformat(added["start"]).astimezone(UTC).isoformat(),
        "end": datetime.fromisoformat(added["end"]).astimezone(UTC).isoformat(),
    }


def test_part_of_a_day_off_keeps_its_local_times(demo: Demo) -> None:
    body = {"first_day": "2027-02-02", "last_day": "2027-02-04", "start_time": "13:30", "end_time": "10:00"}
    added = demo.ok("POST", time_off_path(), "clinic admin", status=201, json=body)
    assert (added["start"], added["end"], added["reason"]) == (
        "2027-02-02T13:30:00-07:00",
        "2027-02-04T10:00:00-07:00",
        "",
    )
    assert demo.call("DELETE", f"{time_off_path()}/{added['id']}", "clinic admin").status_code == 204


def test_time_off_over_a_booked_visit_is_refused(demo: Demo) -> None:
    visit = demo.book(demo.new_patient(), practitioner=PHYSICIAN)
    day = demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["start"][:10]
    before = demo.ok("GET", time_off_path(), "front desk")
    response = demo.call("POST", time_off_path(), "clinic admin", json={"first_day": day, "last_day": day})
    assert response.status_code == 409
    # Other visits may share that day (the demo's, or this module's): each is named, ours among them.
    problems = response.json()["detail"]
    assert {problem["field"] for problem in problems} == {"visit-in-time-off"}
    assert any(f"Visit {visit} " in problem["problem"] for problem in problems)
    assert demo.ok("GET", time_off_path(), "front desk") == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_day": "2030-01-05", "last_day": "2030-01-04"}, "last_day"),
        ({"first_day": "2020-01-01", "last_day": "2020-01-02"}, "last_day"),
        ({"first_day": "2030-01-01", "last_day": "2031-06-01"}, "last_day"),
        ({"first_day": "2030-02-30", "last_day": "2030-03-01"}, "first_day"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-01", "start_time": "25:00"}, "start_time"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-01", "start_time": "12:00", "end_time": "11:00"}, "end_time"),
        ({"first_day": "2030-01-01", "last_day": "2030-01-01", "reason": "x" * 201}, "reason"),
        ({"last_day": "2030-01-01"}, "first_day"),
    ],
)
def test_bad_time_off_is_422(demo: Demo, body: dict[str, str], field: str) -> None:
    response = demo.call("POST", time_off_path(), "clinic admin", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_time_off_is_for_the_staff_of_the_clinic_where_they_work(demo: Demo) -> None:
    assert demo.call("GET", time_off_path()).status_code == 401
    assert demo.call("GET", time_off_path(), "patient").status_code == 403
    # Dr. Wiebe's conference is Sumas Mountain's (clinic 2) to read, not Fraser Valley's staff's.
    wiebe = demo.call("GET", time_off_path(2, clinic=2), "front desk")
    assert wiebe.status_code == 403 and wiebe.json()["detail"][0]["field"] == "clinic"
    body = {"first_day": "2030-01-02", "last_day": "2030-01-03"}
    assert demo.call("POST", time_off_path(2, clinic=2), "clinic admin", json=body).status_code == 403
    assert demo.call("DELETE", f"{time_off_path(2, clinic=2)}/1", "clinic admin").status_code == 403
    for method, sent in (("GET", None), ("POST", body), ("DELETE", None)):
        path = time_off_path(HANNAH) + ("/1" if method == "DELETE" else "")
        response = demo.call(method, path, "clinic admin", json=sent)
        assert response.status_code == 404, method
        assert response.json()["detail"][0] == {
            "field": "practitioner",
            "problem": "practitioner 6 does not work at clinic 1",
        }
    # Erin Friesen's vacation is hers: not Dr. Brar's to remove.
    [vacation] = demo.ok("GET", time_off_path(4), "front desk")
    assert vacation["reason"] == "Vacation"
    assert demo.call("DELETE", f"{time_off_path()}/{vacation['id']}", "clinic admin").status_code == 404
