"""Plans over HTTP, on a fresh migrated SQLite file with the demo clinics and sign-ins: the templates and
proposals are the CLI's JSON; staff plan for anyone and a patient only for themselves (another's is 404); a plan
is booked whole or not at all (409 with the reasons); recalls are for staff of the clinic; a move shows the
visits it makes unsafe with new times, and applies them together only when confirmed. Dates count from the
clinic's real today in America/Vancouver (clinic 1: Tue-Sat 09-17, closed 24 Dec - 1 Jan)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from safewindow.store import models
from safewindow.store.plan_models import Plan
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_api_clinics import cli_json
from tests.web.test_api_demo import CLAIRE, CLINIC, SIMRAN, TODAY, ZONE, Demo, open_demo

SERIES = "microneedling-series-then-botox"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("plans")) as opened:
        yield opened


def plan(demo: Demo, patient: int, who: str = "front desk", status: int = 200, **body: Any) -> Any:
    return demo.ok("POST", f"/api/v1/patients/{patient}/plans", who, status, json={"clinic": CLINIC, **body})


def day_of(start: str) -> date:
    return date.fromisoformat(start[:10])


def booked_series(demo: Demo, name: str) -> tuple[int, list[dict[str, Any]]]:
    patient = demo.new_patient(name)
    booked = plan(demo, patient, status=201, template=SERIES, book=True)
    return patient, sorted(booked["visits"], key=lambda v: v["start"])


def visit_start(demo: Demo, visit: int) -> str:
    start: str = demo.ok("GET", f"/api/v1/visits/{visit}", "front desk")["start"]
    return start


# --- Templates and proposals ----------------------------------------------------------------------------------------


def test_the_templates_are_public_and_the_cli_s_json(demo: Demo) -> None:
    templates = demo.ok("GET", "/api/v1/plans")
    assert templates == cli_json(demo, "plans")
    by_slug = {t["slug"]: t for t in templates}
    assert {SERIES, "event-ready", "botox-and-filler"} <= set(by_slug)
    assert by_slug["event-ready"]["needs_event"] is True and by_slug[SERIES]["needs_event"] is False
    assert by_slug[SERIES]["steps"] == [
        {"treatment": "microneedling", "count": 3, "optional": False},
        {"treatment": "botox", "count": 1, "optional": False},
    ]


def test_staff_propose_a_plan_that_writes_nothing_and_is_the_cli_s(demo: Demo) -> None:
    patient = demo.new_patient("Proposal Patient")
    before = demo.count(models.Visit)
    proposal = plan(demo, patient, template=SERIES)
    assert proposal["status"] in ("optimal", "feasible") and proposal["explanation"]
    visits = proposal["visits"]
    assert [v["treatment"] for v in visits] == ["microneedling"] * 3 + ["botox"]
    for v in visits:
        assert {"treatment", "start", "practitioner", "fit"} <= set(v)
        assert datetime.fromisoformat(v["start"]).utcoffset() == datetime.now(ZONE).utcoffset()
        assert v["fit"] in ("ideal", "allowed")
    days = [day_of(v["start"]) for v in visits]
    assert days[0] >= TODAY and days == sorted(days)
    assert all((b - a).days >= 28 for a, b in pairwise(days[:3]))  # the series' own spacing
    assert (days[3] - days[2]).days >= 14  # Botox at least 14 days after microneedling
    assert not any(date(2026, 12, 24) <= d <= date(2027, 1, 1) for d in days)  # the winter break
    assert demo.count(models.Visit) == before and demo.count(Plan) == 0
    command = cli_json(demo, "plan", SERIES, "--patient", str(patient), "--clinic", str(CLINIC))
    assert set(command) == set(proposal) and command["visits"] == visits


def test_a_plan_is_booked_whole_in_one_go(demo: Demo) -> None:
    patient = demo.new_patient("Booked Patient")
    booked = plan(demo, patient, status=201, template=SERIES, book=True)
    assert isinstance(booked["plan_id"], int) and len(booked["visits"]) == 4
    stored = demo.ok("GET", f"/api/v1/patients/{patient}/visits", "front desk")
    assert sorted((v["id"], v["start"]) for v in stored) == sorted((v["id"], v["start"]) for v in booked["visits"])
    assert all(v["status"] == "booked" for v in stored)
    with UnitOfWork(demo.sessions) as uow:
        row = uow.session.get(Plan, booked["plan_id"])
        assert row is not None and row.patient_id == patient and row.template == SERIES


def test_a_patient_plans_for_themselves_and_nobody_else(demo: Demo) -> None:
    mine = plan(demo, SIMRAN, "patient", template="botox-and-filler")
    assert mine["patient"] == SIMRAN and mine["status"] in ("optimal", "feasible", "infeasible")
    for patient in (CLAIRE, 99_999):
        response = demo.call(
            "POST", f"/api/v1/patients/{patient}/plans", "patient", json={"template": SERIES, "clinic": CLINIC}
        )
        assert response.status_code == 404
        assert response.json() == {"detail": [{"field": "patient", "problem": f"no patient {patient}"}]}
    assert (
        demo.call("POST", f"/api/v1/patients/{SIMRAN}/plans", json={"template": SERIES, "clinic": 1}).status_code == 401
    )
    assert (
        demo.call(
            "POST", "/api/v1/patients/99999/plans", "front desk", json={"template": SERIES, "clinic": 1}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"template": "microneedling-series-then-botx"}, "template", f"did you mean {SERIES}"),
        ({"template": "event-ready"}, "event", "needs the event's date"),
        ({"template": SERIES, "start": "2026-02-30"}, "start", "not a real date"),
        ({"template": SERIES, "event": "next week"}, "event", "YYYY-MM-DD"),
        ({"template": SERIES, "start": "2199-12-31"}, "start", "after the last day Fraser Valley Skin Studio books"),
        ({"template": SERIES, "clinic": 99}, "clinic", "no clinic 99"),
        ({"template": SERIES, "colour": "blue"}, "colour", ""),
    ],
)
def test_bad_plan_requests_are_422_naming_the_field(demo: Demo, body: dict[str, Any], field: str, words: str) -> None:
    response = demo.call("POST", f"/api/v1/patients/{SIMRAN}/plans", "front desk", json={"clinic": CLINIC, **body})
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["field"] == field and words in problem["problem"]


def test_a_plan_that_cannot_be_booked_is_409_with_its_reasons_and_books_nothing(demo: Demo) -> None:
    patient = demo.new_patient("Too Late Patient")
    event = (TODAY + timedelta(days=6)).isoformat()  # Botox and filler need two weeks before it
    proposal = plan(demo, patient, template="event-ready", event=event)
    assert proposal["status"] == "infeasible" and proposal["visits"] == [] and proposal["conflicts"]
    before = demo.count(models.Visit), demo.count(Plan)
    response = demo.call(
        "POST",
        f"/api/v1/patients/{patient}/plans",
        "front desk",
        json={"template": "event-ready", "clinic": CLINIC, "event": event, "book": True},
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail[0]["field"] == "plan-infeasible" and detail[0]["problem"] == proposal["explanation"]
    assert {"field", "problem", "kind", "evidence", "source"} == set(detail[0])
    assert (demo.count(models.Visit), demo.count(Plan)) == before


def test_an_idempotency_key_books_a_plan_once(demo: Demo) -> None:
    patient = demo.new_patient("Retry Patient")
    body = {"template": "botox-and-filler", "clinic": CLINIC, "book": True}
    headers = {"Idempotency-Key": f"plan-{patient}"}
    first = demo.call("POST", f"/api/v1/patients/{patient}/plans", "front desk", json=body, headers=headers)
    again = demo.call("POST", f"/api/v1/patients/{patient}/plans", "front desk", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(demo.ok("GET", f"/api/v1/patients/{patient}/visits", "front desk")) == 2


# --- Recalls ----------------------------------------------------------------------------------------------------------


def done_botox(demo: Demo, patient: int, days_ago: int, clinic: int = CLINIC) -> None:
    """A Botox visit completed `days_ago` days ago, as the clinic's records would hold it."""
    start = datetime.combine(TODAY - timedelta(days=days_ago), datetime.min.time(), ZONE).replace(hour=9)
    with UnitOfWork(demo.sessions, write=True) as uow:
        uow.session.add(
            models.Visit(
                patient_id=patient,
                clinic_id=clinic,
                treatment_slug="botox",
                practitioner_id=1 if clinic == CLINIC else 2,
                room_id=1 if clinic == CLINIC else 4,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                held_from=start,  # no buffers
                held_until=start + timedelta(minutes=30),
                status=models.VisitStatus.COMPLETED,
                created_by="test",
            )
        )
        uow.commit()


def test_recalls_come_from_what_happened_with_the_first_safe_time(demo: Demo) -> None:
    overdue, due, soon, elsewhere = (demo.new_patient(f"Recall {n}") for n in ("Overdue", "Due", "Soon", "Away"))
    done_botox(demo, overdue, 150)  # due 90-120 days after: overdue
    done_botox(demo, due, 100)
    done_botox(demo, soon, 75)  # due in 15 days: upcoming
    done_botox(demo, elsewhere, 100, clinic=2)
    rows = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/recalls", "front desk")
    mine = [r for r in rows if r["patient"] in (overdue, due, soon, elsewhere)]
    assert [(r["patient"], r["status"]) for r in mine] == [(overdue, "overdue"), (due, "due"), (soon, "upcoming")]
    for row in mine:
        assert row["treatment"] == "botox"
        assert date.fromisoformat(row["due_end"]) - date.fromisoformat(row["due_start"]) == timedelta(days=30)
        slot = row["first_slot"]
        assert slot is not None and slot["fit"] in ("ideal", "allowed")
        assert day_of(slot["start"]) >= max(TODAY, date.fromisoformat(row["due_start"]))
    assert [r["patient"] for r in cli_json(demo, "recalls", "--clinic", str(CLINIC))] == [r["patient"] for r in rows]
    later = (TODAY + timedelta(days=20)).isoformat()
    shifted = demo.ok("GET", f"/api/v1/clinics/{CLINIC}/recalls", "front desk", params={"on": later})
    assert {r["patient"]: r["status"] for r in shifted if r["patient"] == soon} == {soon: "due"}


def test_recalls_are_for_staff_of_the_clinic(demo: Demo) -> None:
    path = f"/api/v1/clinics/{CLINIC}/recalls"
    assert demo.call("GET", path).status_code == 401
    assert demo.call("GET", path, "patient").status_code == 403
    assert demo.call("GET", "/api/v1/clinics/2/recalls", "front desk").status_code == 403
    assert demo.call("GET", "/api/v1/clinics/99/recalls", "front desk").status_code == 404
    response = demo.call("GET", path, "front desk", params={"on": "soon"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "on"


# --- Moving a visit with the visits it makes unsafe -------------------------------------------------------------------


def test_a_move_shows_the_visits_it_makes_unsafe_and_moves_them_only_together(demo: Demo) -> None:
    _, visits = booked_series(demo, "Move Patient")
    third, botox = visits[2], visits[3]
    # The third microneedling a day or two later, with its practitioner: the Botox is now under 14 days after it.
    at = demo.free_slot(
        "microneedling", practitioner=third["practitioner"], first=day_of(third["start"]) + timedelta(days=1)
    )
    assert (day_of(botox["start"]) - date.fromisoformat(at[:10])).days < 14
    audited = demo.count(models.AuditEntry)
    proposal = demo.ok("POST", f"/api/v1/visits/{third['id']}/move-plan", "front desk", json={"at": at})
    assert proposal["status"] in ("optimal", "feasible") and proposal["start"].startswith(at)
    [unsafe] = proposal["unsafe"]
    assert unsafe["visit"] == botox["id"] and [r["code"] for r in unsafe["reasons"]] == ["microneedling-then-botox"]
    [replanned] = proposal["replanned"]
    assert replanned["visit"] == botox["id"] and replanned["was"] == botox["start"]
    assert (day_of(replanned["start"]) - date.fromisoformat(at[:10])).days >= 14
    assert demo.count(models.AuditEntry) == audited and visit_start(demo, third["id"]) == third["start"]

    refused = demo.call("POST", f"/api/v1/visits/{third['id']}/move", "front desk", json={"at": at})
    assert refused.status_code == 409
    assert [(d["field"], str(botox["id"]) in d["problem"]) for d in refused.json()["detail"]] == [
        ("dependent-visit", True)
    ]
    assert visit_start(demo, third["id"]) == third["start"] and visit_start(demo, botox["id"]) == botox["start"]

    body = {"at": at, "confirm_replan": True, "replanned": [{"visit": botox["id"], "at": replanned["start"][:16]}]}
    moved = demo.ok("POST", f"/api/v1/visits/{third['id']}/move", "front desk", json=body)
    assert [(m["id"], m["start"]) for m in moved["moved"]] == [
        (third["id"], proposal["start"]),
        (botox["id"], replanned["start"]),
    ]
    assert visit_start(demo, third["id"]) == proposal["start"] and visit_start(demo, botox["id"]) == replanned["start"]


def test_a_move_that_affects_nothing_needs_no_confirmation(demo: Demo) -> None:
    _, visits = booked_series(demo, "Calm Patient")
    botox = visits[3]
    at = demo.free_slot("botox", practitioner=botox["practitioner"], first=day_of(botox["start"]) + timedelta(days=1))
    proposal = demo.ok("POST", f"/api/v1/visits/{botox['id']}/move-plan", "practitioner", json={"at": at})
    assert (proposal["unsafe"], proposal["replanned"], proposal["problems"]) == ([], [], [])
    moved = demo.ok("POST", f"/api/v1/visits/{botox['id']}/move", "front desk", json={"at": at})
    assert [m["id"] for m in moved["moved"]] == [botox["id"]] and moved["moved"][0]["start"][:16] == at


def test_moves_are_for_staff_and_bad_input_is_422(demo: Demo) -> None:
    visit = demo.book(demo.new_patient("Guarded Patient"))
    for path in (f"/api/v1/visits/{visit}/move-plan", f"/api/v1/visits/{visit}/move"):
        assert demo.call("POST", path, json={"at": "2030-01-01T10:00"}).status_code == 401
        assert demo.call("POST", path, "patient", json={"at": "2030-01-01T10:00"}).status_code == 403
        missing = demo.call("POST", path.replace(str(visit), "99999"), "front desk", json={"at": "2030-01-01T10:00"})
        assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "visit"
        for at in ("tomorrow", "9999-12-31T23:59", "1850-01-01T10:00"):
            bad = demo.call("POST", path, "front desk", json={"at": at})
            assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "at", at
    unknown = demo.call(
        "POST",
        f"/api/v1/visits/{visit}/move",
        "front desk",
        json={
            "at": "2030-01-01T10:00",
            "confirm_replan": True,
            "replanned": [{"visit": 99999, "at": "2030-01-02T10:00"}],
        },
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "replanned"
