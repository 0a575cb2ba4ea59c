"""The treatment-record commands as a user runs them: a real process on a fresh SQLite file
(SAFEWINDOW_DATABASE_URL). What was given is recorded once the visit is completed (before: exit code 3, nothing
written); recording again corrects it, listed first; `lot` finds the visit by its current record only. An injected
treatment's record takes its injection map, `--point SITE=AMOUNT`, and `records` shows it; `injection-sites` lists
the sites, the same JSON as the API. Bad input exits with code 2 and a line naming the option (a point's, with its
site); nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.patients import add_patient
from safewindow.store import models
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.app import create_app
from tests.cli.clinic_cli import TODAY, ok, run
from tests.visits import begun_visit
from tests.web.test_api_demo import TestClient  # with the warning about httpx silenced

LOT = ("--product", "Botox 100U", "--lot", "C3709C3")


@contextmanager
def store(env: dict[str, str]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def visit_of(env: dict[str, str], name: str, *, completed: bool = True) -> str:
    """A new patient's visit that began in the last days, recorded as completed (or left booked)."""
    with store(env) as sessions:
        kb = default_knowledge_base()
        patient = add_patient(sessions, kb, name=name, birth_date="1990-01-01", actor="test", today=TODAY).id
        visit = begun_visit(sessions, patient)
        if completed:
            record_outcome(sessions, kb, visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    return str(visit)


@pytest.fixture(scope="module")
def completed(env: dict[str, str]) -> str:
    return visit_of(env, "Bad Input Patient")


def rows(env: dict[str, str], model: type[models.Base], *where: Any) -> int:
    with store(env) as sessions, UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_record_correct_and_find_by_lot(env: dict[str, str]) -> None:
    visit = visit_of(env, "Lot Patient")
    first = ok(env, "record", visit, *LOT[:3], "c3709c3", "--expires", "2020-01-31", "--dose", "20 units", "--consent")
    assert (first["visit_id"], first["lot_number"], first["dose"]) == (int(visit), "C3709C3", "20 units")
    assert first["expired_when_given"] is True and first["recorded_by"].startswith("cli:")
    [found] = ok(env, "lot", "C3709C3")
    assert (found["visit_id"], found["patient"], found["record_id"]) == (int(visit), "Lot Patient", first["id"])
    assert ok(env, "lot", "C3709C3", "--clinic", "2") == []

    said = run(env, "record", visit, "--product", "Botox 100U", "--lot", "D-1234", "--consent")
    assert said.returncode == 0, said.stderr
    assert "of visit" in said.stdout and "lot D-1234" in said.stdout
    corrected, original = ok(env, "records", visit)
    assert (corrected["lot_number"], original) == ("D-1234", first)
    shown = run(env, "records", visit)
    assert shown.returncode == 0 and "current" in shown.stdout and "amended" in shown.stdout
    assert ok(env, "lot", "C3709C3") == []
    assert "No visit's record names lot C3709C3" in run(env, "lot", "c3709c3").stdout


def test_a_visit_not_completed_is_refused_with_3_and_nothing_written(env: dict[str, str]) -> None:
    visit = visit_of(env, "Booked Patient", completed=False)
    refused = run(env, "record", visit, *LOT, "--consent", "--json")
    assert refused.returncode == 3, refused.stderr
    assert [r["code"] for r in json.loads(refused.stdout)["reasons"]] == ["visit-not-completed"]
    assert rows(env, models.TreatmentRecord, models.TreatmentRecord.visit_id == int(visit)) == 0


# One case per kind of problem: every field's checks are the service's; each case here is a process of its own.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("record", "VISIT", *LOT), "error: --consent: confirm that the patient gave informed consent"),
        (("record", "VISIT", "--product", "Botox", "--lot", "lot 1", "--consent"), "error: --lot: give the lot"),
        (("record", "VISIT", *LOT, "--expires", "2027-02-31", "--consent"), "error: --expires: '2027-02-31' is not"),
        (("record", "999999", *LOT, "--consent"), "error: VISIT_ID: no visit 999999"),
        (("lot", "lot 1"), "error: LOT: give the lot number as printed"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    env: dict[str, str], completed: str, args: tuple[str, ...], message: str
) -> None:
    records, audit = rows(env, models.TreatmentRecord), rows(env, models.AuditEntry)
    result = run(env, *(completed if arg == "VISIT" else arg for arg in args))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert (rows(env, models.TreatmentRecord), rows(env, models.AuditEntry)) == (records, audit)


def test_the_injection_map_is_recorded_and_shown(env: dict[str, str]) -> None:
    visit = visit_of(env, "Map Patient")
    points = ("--point", "glabella=20", "--point", " forehead = 2.5 ")
    recorded = ok(env, "record", visit, *LOT, "--consent", *points)
    assert recorded["injection_points"] == [
        {"site": "forehead", "amount": 2.5, "unit": "units"},
        {"site": "glabella", "amount": 20, "unit": "units"},
    ]
    said = run(env, "record", visit, *LOT, "--consent", "--point", "glabella=4")
    assert said.returncode == 0 and "injected: glabella 4 (4 units)" in said.stdout, said.stderr
    corrected, original = ok(env, "records", visit)
    assert (corrected["injection_points"], original) == ([{"site": "glabella", "amount": 4, "unit": "units"}], recorded)
    shown = run(env, "records", visit).stdout
    assert "glabella 4 (4 units)" in shown and "forehead 2.5, glabella 20 (22.5 units)" in shown


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (("--point", "glabella"), "error: --point: give SITE=AMOUNT, such as glabella=20, not 'glabella'"),
        (("--point", "=20"), "error: --point: give SITE=AMOUNT"),
        (("--point", "glabella=abc"), "error: --point glabella: give the amount in units as a number"),
        (("--point", "temple-right=1"), "error: --point temple-right: not a site for Botulinum toxin"),
        (("--point", "glabella=2.555"), "error: --point glabella: give the amount to at most two decimal places"),
    ],
)
def test_a_bad_point_exits_2_naming_it_and_writes_nothing(
    env: dict[str, str], completed: str, points: tuple[str, ...], message: str
) -> None:
    records = rows(env, models.TreatmentRecord)
    result = run(env, "record", completed, *LOT, "--consent", *points)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert rows(env, models.TreatmentRecord) == records


def test_the_injection_sites_are_listed_as_the_api_lists_them(env: dict[str, str]) -> None:
    with TestClient(create_app()) as client:
        for treatment in (None, "botox", "microneedling"):
            asked = () if treatment is None else ("--treatment", treatment)
            params = {} if treatment is None else {"treatment": treatment}
            assert ok(env, "injection-sites", *asked) == client.get("/api/v1/injection-sites", params=params).json()
    listed = run(env, "injection-sites", "--treatment", "botox").stdout
    assert "toxin (botox, botox-touch-up): in units, at most 100 at one site" in listed and "glabella" in listed
    assert "temple-right" not in listed
    said = run(env, "injection-sites", "--treatment", "microneedling")
    assert said.returncode == 0 and "Microneedling is not injected, so it has no injection map." in said.stdout
    unknown = run(env, "injection-sites", "--treatment", "botx")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: --treatment: unknown treatment 'botx'")
