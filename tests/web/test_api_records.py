"""Treatment records over HTTP: practitioners and the patient read a visit's records (another patient's visit is
404, the front desk and the administrator 403), every read audited by ids; only practitioners record, once the
visit is recorded as completed (409 before), bad input 422 naming every field at fault, nothing written either
way. A correction is a new record, listed first; a recall's lot lookup (practitioners and administrators, their
home clinic's visits) finds a visit by its current record only. An injected treatment's record carries its injection
map exactly, each bad point named by its site; the map's sites are public."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import TypeAdapter
from sqlalchemy import select

from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_injection_sites import InjectionSitesOut
from safewindow.web.api_records import LotVisitOut, RecordOut
from safewindow.web.api_visits import Refusals
from tests.visits import begun_visit
from tests.web.fuzz_as import headers_of, tag_schema, validate
from tests.web.test_api_demo import CLINIC, SIMRAN, TODAY, Demo, open_demo

RECORDS = TypeAdapter(list[RecordOut])
LOT_VISITS = TypeAdapter(list[LotVisitOut])
NOTE = "Glabella and forehead.\nReview in 2 weeks."


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("records")) as opened:
        yield opened


def record_body(**change: Any) -> dict[str, Any]:
    return {
        "product": "Botox 100U",
        "lot_number": "C3709C3",
        "expires_on": str(TODAY + timedelta(days=200)),
        "dose": "20 units",
        "areas": "glabella",
        "note": NOTE,
        "consent": True,
        **change,
    }


def completed_visit(demo: Demo, clinic_id: int = CLINIC, treatment: str = "botox") -> int:
    """A fresh patient's visit that began in the last days, recorded as completed by the front desk."""
    visit = begun_visit(demo.sessions, demo.new_patient(name="Recorded Patient"), clinic_id, treatment)
    demo.ok("POST", f"/api/v1/visits/{visit}/outcome", "front desk", json={"outcome": "completed"})
    return visit


def simran_s_completed_visit(demo: Demo) -> int:
    with UnitOfWork(demo.sessions) as uow:
        done = uow.session.scalars(
            select(models.Visit.id).where(
                models.Visit.patient_id == SIMRAN, models.Visit.status == models.VisitStatus.COMPLETED
            )
        ).first()
    assert done is not None, "the demo patient has a completed visit"
    return done


def records_written(demo: Demo, visit: int | None = None) -> int:
    where = [] if visit is None else [models.TreatmentRecord.visit_id == visit]
    return demo.count(models.TreatmentRecord, *where)


def write(demo: Demo, visit: int, who: str = "practitioner", **change: Any) -> dict[str, Any]:
    written: dict[str, Any] = demo.ok(
        "POST", f"/api/v1/visits/{visit}/records", who, status=201, json=record_body(**change)
    )
    return written


def test_a_practitioner_records_what_was_given_and_a_correction_is_listed_first(demo: Demo) -> None:
    visit = completed_visit(demo)
    path = f"/api/v1/visits/{visit}/records"
    assert demo.ok("GET", path, "practitioner") == []
    me = demo.ok("GET", "/api/v1/me", "practitioner")
    first = RecordOut.model_validate(write(demo, visit, lot_number=" c3709c3 ", product="  Botox 100U  "))
    assert (first.visit_id, first.product, first.lot_number, first.dose, first.areas, first.note) == (
        visit,
        "Botox 100U",
        "C3709C3",
        "20 units",
        "glabella",
        NOTE,
    )
    assert first.recorded_by == f"practitioner:{me['account_id']}" and first.expired_when_given is False
    corrected = write(demo, visit, who="aesthetician", lot_number="D1234", dose="24 units", note="")
    listed = demo.ok("GET", path, "practitioner")
    assert [r["id"] for r in listed] == [corrected["id"], first.id]
    assert listed[0] == corrected and set(listed[0]) == set(RecordOut.model_fields)
    assert RECORDS.validate_python(listed)[1] == first
    assert records_written(demo, visit) == 2


def test_a_product_past_its_expiry_is_recorded_and_marked(demo: Demo) -> None:
    visit = completed_visit(demo)
    written = write(demo, visit, expires_on="2020-01-31")
    assert (written["expires_on"], written["expired_when_given"]) == ("2020-01-31", True)
    assert write(demo, visit, expires_on=None)["expired_when_given"] is False


def test_nothing_is_recorded_until_the_visit_is_completed(demo: Demo) -> None:
    booked = demo.book(demo.new_patient())
    response = demo.call("POST", f"/api/v1/visits/{booked}/records", "practitioner", json=record_body())
    assert response.status_code == 409
    [reason] = Refusals.model_validate(response.json()).detail
    assert (reason.field, reason.kind) == ("visit-not-completed", None)
    assert f"Visit {booked} is booked" in reason.problem
    assert records_written(demo, booked) == 0

    missed = begun_visit(demo.sessions, demo.new_patient())
    demo.ok("POST", f"/api/v1/visits/{missed}/outcome", "front desk", json={"outcome": "no-show"})
    refused = demo.call("POST", f"/api/v1/visits/{missed}/records", "practitioner", json=record_body())
    assert refused.status_code == 409 and refused.json()["detail"][0]["field"] == "visit-not-completed"
    demo.ok("POST", f"/api/v1/visits/{missed}/outcome", "front desk", json={"outcome": "completed"})
    assert write(demo, missed)["visit_id"] == missed


def test_bad_input_is_422_naming_every_field_and_writes_nothing(demo: Demo) -> None:
    visit = completed_visit(demo)
    body = record_body(
        product="  ", lot_number="not a lot!", dose="x" * 101, areas="x" * 501, note="x" * 2001, consent=False
    )
    response = demo.call("POST", f"/api/v1/visits/{visit}/records", "practitioner", json=body)
    assert response.status_code == 422, response.text
    assert sorted(d["field"] for d in response.json()["detail"]) == sorted(
        ["product", "lot_number", "dose", "areas", "note", "consent"]
    )
    assert records_written(demo, visit) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent": False}, "consent"),
        ({"consent": None}, "consent"),
        ({"product": None}, "product"),
        ({"lot_number": "lot 12"}, "lot_number"),
        ({"lot_number": "L" * 65}, "lot_number"),
        ({"expires_on": "2027-02-30"}, "expires_on"),
        ({"note": "nul\x00here"}, "note"),
        ({"areas": "two\nlines"}, "areas"),
        ({"prescriber_id": 1}, "prescriber_id"),
    ],
)
def test_each_bad_field_is_named(demo: Demo, change: dict[str, Any], field: str) -> None:
    visit = simran_s_completed_visit(demo)
    before = records_written(demo, visit)
    body = {k: v for k, v in record_body(**change).items() if v is not None}
    response = demo.call("POST", f"/api/v1/visits/{visit}/records", "practitioner", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == [field]
    assert records_written(demo, visit) == before


def test_an_unknown_visit_is_404_and_writes_nothing(demo: Demo) -> None:
    before = records_written(demo)
    for method, kwargs in (("POST", {"json": record_body()}), ("GET", {})):
        response = demo.call(method, "/api/v1/visits/999999/records", "practitioner", **kwargs)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": [{"field": "visit", "problem": "no visit 999999"}]},
        )
    assert records_written(demo) == before
    assert demo.call("GET", "/api/v1/visits/0/records", "practitioner").status_code == 422


@pytest.mark.parametrize("who", ["front desk", "clinic admin", "patient", "other patient"])
def test_only_practitioners_record(demo: Demo, who: str) -> None:
    visit = simran_s_completed_visit(demo)
    before = records_written(demo)
    response = demo.call("POST", f"/api/v1/visits/{visit}/records", who, json=record_body())
    assert response.status_code == 403 and response.json()["detail"][0]["field"] == "role"
    assert records_written(demo) == before
    assert demo.call("POST", f"/api/v1/visits/{visit}/records", json=record_body()).status_code == 401


def test_the_patient_reads_her_own_visit_s_records_and_nobody_else_s(demo: Demo) -> None:
    visit = simran_s_completed_visit(demo)
    written = write(demo, visit, lot_number="SIMRAN-1")
    path = f"/api/v1/visits/{visit}/records"
    assert demo.ok("GET", path, "patient")[0] == written
    mine = demo.call("GET", path, "other patient")
    assert (mine.status_code, mine.json()) == (404, {"detail": [{"field": "visit", "problem": f"no visit {visit}"}]})
    assert "SIMRAN-1" not in mine.text
    other = completed_visit(demo)
    assert demo.call("GET", f"/api/v1/visits/{other}/records", "patient").status_code == 404
    assert demo.call("GET", path).status_code == 401


@pytest.mark.parametrize("who", ["front desk", "clinic admin"])
def test_the_front_desk_and_the_administrator_may_not_read_records(demo: Demo, who: str) -> None:
    visit = simran_s_completed_visit(demo)
    write(demo, visit, note="Not for the front desk")
    before = len(demo.audit("visit-records", visit))
    response = demo.call("GET", f"/api/v1/visits/{visit}/records", who)
    assert response.status_code == 403 and response.json()["detail"][0]["field"] == "role"
    assert "Not for the front desk" not in response.text
    assert len(demo.audit("visit-records", visit)) == before


def test_every_read_is_audited_by_ids_and_nothing_given_reaches_the_log(demo: Demo) -> None:
    visit = simran_s_completed_visit(demo)
    written = write(demo, visit, product="Dysport Secret", lot_number="AUDIT-7", note="Left brow heavier")
    before = len(demo.audit("visit-records", visit))
    demo.ok("GET", f"/api/v1/visits/{visit}/records", "practitioner")
    demo.ok("GET", f"/api/v1/visits/{visit}/records", "patient")
    reads = demo.audit("visit-records", visit)
    assert len(reads) == before + 2
    assert [e["action"] for e in reads[:2]] == ["visit-records.read"] * 2
    assert [e["actor"].split(":")[0] for e in reads[:2]] == ["patient", "practitioner"]
    assert all(e["detail"] == {} for e in reads)

    demo.ok("GET", "/api/v1/lots/audit-7/visits", "clinic admin")
    [lot_read] = demo.audit("lot", "AUDIT-7")
    assert (lot_read["action"], lot_read["actor"].split(":")[0], lot_read["detail"]) == ("lot.read", "clinic-admin", {})

    changes = [e for e in demo.audit("visit", visit) if e["action"] == "visit.treatment-recorded"]
    assert changes and changes[0]["detail"]["record_id"] == written["id"]
    everything = demo.call("GET", "/api/v1/audit", "clinic admin", params={"limit": 1000}).text
    assert "Dysport Secret" not in everything and "Left brow" not in everything


def test_a_recall_finds_the_visit_by_its_current_record_only(demo: Demo) -> None:
    visit = completed_visit(demo)
    assert demo.ok("GET", "/api/v1/lots/RECALL-42/visits", "practitioner") == []
    write(demo, visit, lot_number="RECALL-42", product="Juvederm")
    [found] = LOT_VISITS.validate_python(demo.ok("GET", "/api/v1/lots/recall-42/visits", "practitioner"))
    current = demo.ok("GET", f"/api/v1/visits/{visit}/records", "practitioner")[0]
    assert (found.visit_id, found.product, found.record_id, found.clinic) == (
        visit,
        "Juvederm",
        current["id"],
        "Fraser Valley Skin Studio",
    )
    assert found.patient == "Recorded Patient" and found.day <= TODAY
    assert demo.ok("GET", "/api/v1/lots/RECALL-42/visits", "clinic admin") == [found.model_dump(mode="json")]
    # Corrected to another lot: the recall of the first no longer names the visit; the other does.
    write(demo, visit, lot_number="RECALL-43")
    assert demo.ok("GET", "/api/v1/lots/RECALL-42/visits", "practitioner") == []
    assert [v["visit_id"] for v in demo.ok("GET", "/api/v1/lots/RECALL-43/visits", "practitioner")] == [visit]


def test_staff_see_only_their_home_clinic_s_visits_with_a_lot(demo: Demo) -> None:
    here, there = completed_visit(demo), completed_visit(demo, clinic_id=2)
    for visit in (here, there):
        write(demo, visit, lot_number="BOTH-CLINICS")
    for who in ("practitioner", "clinic admin"):
        found = demo.ok("GET", "/api/v1/lots/BOTH-CLINICS/visits", who)
        assert [v["visit_id"] for v in found] == [here], who
    with UnitOfWork(demo.sessions) as uow:
        assert uow.session.get(models.Visit, there) is not None


@pytest.mark.parametrize("who", ["front desk", "patient", "other patient"])
def test_the_front_desk_and_patients_may_not_look_up_a_lot(demo: Demo, who: str) -> None:
    response = demo.call("GET", "/api/v1/lots/C3709C3/visits", who)
    assert response.status_code == 403 and response.json()["detail"][0]["field"] == "role"
    assert demo.call("GET", "/api/v1/lots/C3709C3/visits").status_code == 401


def test_a_lot_that_cannot_be_one_is_422_and_not_audited(demo: Demo) -> None:
    response = demo.call("GET", "/api/v1/lots/lot%2012/visits", "practitioner")
    assert response.status_code == 422 and [d["field"] for d in response.json()["detail"]] == ["lot_number"]
    assert demo.audit("lot", "LOT 12") == []


def test_the_same_key_records_once(demo: Demo) -> None:
    visit = completed_visit(demo)
    key = {"Idempotency-Key": f"record-{visit}"}
    path = f"/api/v1/visits/{visit}/records"
    first = demo.call("POST", path, "practitioner", json=record_body(), headers=key)
    again = demo.call("POST", path, "practitioner", json=record_body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = demo.call("POST", path, "practitioner", json=record_body(dose="30 units"), headers=key)
    assert other.status_code == 422 and other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert records_written(demo, visit) == 1


# Schemathesis on the records endpoints as a practitioner (the only role that gets past the role checks on all
# of them): for inputs generated from the schema, never a 5xx, and every response as documented.
fuzzed, schema = tag_schema("treatment records")


@pytest.fixture(scope="module")
def practitioner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(fuzzed, tmp_path_factory.mktemp("records-fuzz"), "practitioner")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_records_api_conforms_to_its_schema_for_a_practitioner(
    case: schemathesis.Case, practitioner: dict[str, str]
) -> None:
    validate(case, practitioner)


# --- The injection map ----------------------------------------------------------------------------------------


def test_the_injection_map_is_kept_exactly_and_read_back_in_drawing_order(demo: Demo) -> None:
    visit = completed_visit(demo)
    points = [
        {"site": "glabella", "amount": 20},
        {"site": "crows-feet-left", "amount": 2.25},
        {"site": "forehead", "amount": "2.5"},
    ]
    written = write(demo, visit, injection_points=points)
    drawn = [
        {"site": "forehead", "amount": 2.5, "unit": "units"},
        {"site": "glabella", "amount": 20, "unit": "units"},
        {"site": "crows-feet-left", "amount": 2.25, "unit": "units"},
    ]
    assert written["injection_points"] == drawn
    [listed] = demo.ok("GET", f"/api/v1/visits/{visit}/records", "practitioner")
    assert listed == written and RecordOut.model_validate(listed).injection_points[0].amount == 2.5
    assert write(demo, visit)["injection_points"] == []  # a correction without a map has none


BAD_POINTS = {
    "unknown site": ([{"site": "nowhere", "amount": 4}], "injection_points.nowhere"),
    "a filler's site": ([{"site": "temple-right", "amount": 1}], "injection_points.temple-right"),
    "zero": ([{"site": "glabella", "amount": 0}], "injection_points.glabella"),
    "negative": ([{"site": "glabella", "amount": -4}], "injection_points.glabella"),
    "not a number": ([{"site": "glabella", "amount": "abc"}], "injection_points.glabella"),
    "three places": ([{"site": "glabella", "amount": 2.555}], "injection_points.glabella"),
    "three places as text": ([{"site": "glabella", "amount": "2.555"}], "injection_points.glabella"),
    "over the cap": ([{"site": "glabella", "amount": 101}], "injection_points.glabella"),
    "twice": ([{"site": "forehead", "amount": 4}, {"site": "forehead", "amount": 4}], "injection_points.forehead"),
    "a boolean": ([{"site": "glabella", "amount": True}], "injection_points"),
    "no amount": ([{"site": "glabella"}], "injection_points"),
    "an extra key": ([{"site": "glabella", "amount": 4, "depth": "deep"}], "injection_points"),
}


@pytest.mark.parametrize(("points", "field"), BAD_POINTS.values(), ids=BAD_POINTS)
def test_each_bad_point_is_named_and_nothing_is_written(demo: Demo, points: list[Any], field: str) -> None:
    visit, before = completed_visit(demo), demo.count(models.InjectionPoint)
    good = {"site": "corrugator-right", "amount": 4}  # never named, nor written without the others
    response = demo.call(
        "POST", f"/api/v1/visits/{visit}/records", "practitioner", json=record_body(injection_points=[good, *points])
    )
    assert response.status_code == 422, response.text
    assert {d["field"] for d in response.json()["detail"]} == {field}
    assert (records_written(demo, visit), demo.count(models.InjectionPoint)) == (0, before)


def test_a_bad_point_is_named_with_the_other_fields_at_fault(demo: Demo) -> None:
    visit = completed_visit(demo)
    body = record_body(lot_number="not a lot!", consent=False, injection_points=[{"site": "glabella", "amount": 0}])
    response = demo.call("POST", f"/api/v1/visits/{visit}/records", "practitioner", json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["detail"]] == ["lot_number", "consent", "injection_points.glabella"]
    assert records_written(demo, visit) == 0


def test_a_treatment_not_injected_has_no_map_and_nothing_is_written(demo: Demo) -> None:
    visit = completed_visit(demo, treatment="chemical-peel-light")
    body = record_body(product="Glycolic 30%", injection_points=[{"site": "forehead", "amount": 1}])
    response = demo.call("POST", f"/api/v1/visits/{visit}/records", "practitioner", json=body)
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["field"] == "injection_points" and "not injected" in problem["problem"]
    assert records_written(demo, visit) == 0
    assert write(demo, visit, product="Glycolic 30%")["injection_points"] == []


def test_the_injection_sites_are_public(demo: Demo) -> None:
    every = InjectionSitesOut.model_validate(demo.ok("GET", "/api/v1/injection-sites"))
    assert [m.category for m in every.measures] == ["toxin", "filler", "injectable"]
    toxin = every.measures[0]
    assert (toxin.unit, toxin.most_per_site) == ("units", 100) and "botox" in toxin.treatments
    assert [s.id for s in every.sites][:2] == ["forehead", "temple-right"]  # drawing order, top first
    glabella = next(s for s in every.sites if s.id == "glabella")
    assert (glabella.name, glabella.x, glabella.y, glabella.categories) == (
        "Glabellar lines (procerus)",
        100,
        88,
        ["toxin"],
    )

    botox = InjectionSitesOut.model_validate(demo.ok("GET", "/api/v1/injection-sites", params={"treatment": "botox"}))
    assert botox.measures == [toxin]
    assert botox.sites == [s for s in every.sites if "toxin" in s.categories]
    filler = demo.ok("GET", "/api/v1/injection-sites", params={"treatment": "dermal-filler"})
    assert filler["measures"][0]["unit"] == "mL" and "temple-right" in [s["id"] for s in filler["sites"]]
    assert demo.ok("GET", "/api/v1/injection-sites", params={"treatment": "microneedling"}) == {
        "measures": [],
        "sites": [],
    }


def test_an_unknown_treatment_s_sites_are_404_naming_it(demo: Demo) -> None:
    response = demo.call("GET", "/api/v1/injection-sites", params={"treatment": "botx"})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": [{"field": "treatment", "problem": "no treatment 'botx'"}]},
    )
