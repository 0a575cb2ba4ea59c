"""The deposit commands as the front desk runs them: a real process on a fresh SQLite file with the demo clinics,
where Sumas Mountain (clinic 2) asks $50 to hold a Botox visit. `offer --deposit` sets the amount in dollars (left
out: none, as the whole offer is replaced); a visit booked there keeps it; `deposit` records each step the policy
allows, and refuses any other with exit code 3 and nothing written; `deposits` and `late-and-missed` list what is
left to do and who cancelled late or did not come. Bad input exits with code 2 and a line naming the option."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.patients import add_patient
from safewindow.store.database import make_engine, make_session_factory
from tests.cli.clinic_cli import TODAY, ok, run
from tests.visits import begun_visit

SUMAS = "2"
KYBELLA = ("offer", "kybella", "--clinic", SUMAS, "--duration", "30", "--before", "10", "--after", "15")
KYBELLA_NEEDS = ("--permission", "may-inject", "--room", "treatment")


@contextmanager
def store(env: dict[str, str]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def new_patient(env: dict[str, str], name: str) -> int:
    with store(env) as sessions:
        return add_patient(
            sessions, default_knowledge_base(), name=name, birth_date="1990-01-01", actor="test", today=TODAY
        ).id


def written(env: dict[str, str]) -> tuple[list[Any], list[Any], int]:
    """The deposit ledger, the offers, and how many audit entries: a refused command changes none of them."""
    with closing(sqlite3.connect(env["SAFEWINDOW_DATABASE_URL"].removeprefix("sqlite:///"))) as db:
        ledger = db.execute("SELECT * FROM deposit_entries ORDER BY id").fetchall()
        offers = db.execute("SELECT * FROM clinic_treatments ORDER BY id").fetchall()
        [(audit,)] = db.execute("SELECT count(*) FROM audit_log").fetchall()
    return ledger, offers, audit


def refused_with(env: dict[str, str], code: int, *args: str) -> Any:
    """What a command that must exit with `code` said (its JSON for 3, its stderr lines for 2), having written
    nothing."""
    before = written(env)
    result = run(env, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and written(env) == before
    return json.loads(result.stdout) if code == 3 else result.stderr.splitlines()


def test_an_offer_asks_a_deposit_in_dollars_shown_in_the_list(env: dict[str, str]) -> None:
    saved = ok(env, *KYBELLA, *KYBELLA_NEEDS, "--deposit", "$75.5")
    assert (saved["treatment"], saved["deposit_cents"]) == ("kybella", 7550)
    listed = run(env, "offers", "--clinic", SUMAS)
    assert listed.returncode == 0 and "$75.50" in listed.stdout and "$100.00" in listed.stdout
    said = run(env, *KYBELLA, *KYBELLA_NEEDS)  # the whole offer is replaced: a deposit left out is none
    assert said.returncode == 0 and said.stdout.startswith("saved Kybella"), said.stdout + said.stderr
    assert "deposit" not in said.stdout
    assert ok(env, *KYBELLA, *KYBELLA_NEEDS, "--deposit", "50")["deposit_cents"] == 5000
    [kybella] = [offer for offer in ok(env, "offers", "--clinic", SUMAS) if offer["treatment"] == "kybella"]
    assert kybella["deposit_cents"] == 5000

    lines = refused_with(env, 2, *KYBELLA, "--deposit", "5O", "--duration", "0", "--json")
    assert lines == [
        "error: --duration: must be 1 to 480 minutes",
        "error: --permission: Kybella (deoxycholic acid) needs a permission: choose who may do it",
        "error: --deposit: give the deposit in dollars, e.g. 50 or 50.00 (0: none)",
    ]
    [line] = refused_with(env, 2, *KYBELLA, *KYBELLA_NEEDS, "--deposit", "10000.01", "--json")
    assert line == "error: --deposit: must be 0 (none) to $10,000.00"


def test_a_deposit_is_taken_at_booking_and_kept_when_the_patient_does_not_come(env: dict[str, str]) -> None:
    patient = str(new_patient(env, "Deposit Patient"))
    tomorrow = (TODAY + timedelta(days=1)).isoformat()  # the clock cannot pass the notice before it is booked
    [slot] = ok(env, "slots", "botox", "--clinic", SUMAS, "--patient", patient, "--from", tomorrow, "--limit", "1")
    booked = ok(
        env, "book", "--patient", patient, "--treatment", "botox", "--clinic", SUMAS, "--at", slot["start"][:16]
    )
    visit = str(booked["id"])
    assert (booked["clinic"], booked["deposit_cents"]) == (2, 5000)
    assert ok(env, "deposit", visit) == {
        "visit_id": int(visit),
        "amount_cents": 5000,
        "state": "due",
        "todo": "take",
        "allowed": ["taken", "waived"],
        "entries": [],
    }
    refused = refused_with(env, 3, "deposit", visit, "--step", "applied", "--json")
    assert refused["refused"] is True
    assert [r["code"] for r in refused["reasons"]] == ["deposit-cannot-be-applied"]
    taken = ok(env, "deposit", visit, "--step", "taken", "--method", "card", "--reference", "R-1001")
    assert (taken["state"], taken["todo"]) == ("held", None)
    [entry] = taken["entries"]
    assert (entry["step"], entry["method"], entry["reference"], entry["amount_cents"]) == (
        "taken",
        "card",
        "R-1001",
        5000,
    )
    assert entry["recorded_by"].startswith("cli:")

    with store(env) as sessions:
        missed = begun_visit(sessions, new_patient(env, "Missed Patient"), clinic_id=2)
    said = run(env, "deposit", str(missed), "--step", "taken", "--method", "cash")
    assert said.returncode == 0 and "recorded taken" in said.stdout and "$50.00: held" in said.stdout, said.stdout
    with store(env) as sessions:
        record_outcome(sessions, default_knowledge_base(), visit_id=missed, outcome=Outcome.NO_SHOW, actor="test")
    [line] = [line for line in ok(env, "deposits", "--clinic", SUMAS) if line["visit_id"] == missed]
    assert (line["visit_id"], line["patient"], line["status"], line["todo"]) == (
        missed,
        "Missed Patient",
        "no-show",
        "keep",
    )
    table = run(env, "deposits", "--clinic", SUMAS)
    assert table.returncode == 0 and "Missed Patient" in table.stdout and "keep" in table.stdout
    [late] = [late for late in ok(env, "late-and-missed", "--clinic", SUMAS) if late["visit_id"] == missed]
    assert (late["visit_id"], late["status"], late["deposit_cents"]) == (missed, "no-show", 5000)
    shown = run(env, "late-and-missed", "--clinic", SUMAS, "--from", late["day"], "--to", late["day"])
    assert shown.returncode == 0 and "no-show" in shown.stdout and "$50.00" in shown.stdout
    kept = ok(env, "deposit", str(missed), "--step", "kept")
    assert (kept["state"], [e["step"] for e in kept["entries"]]) == ("kept", ["taken", "kept"])
    assert missed not in [line["visit_id"] for line in ok(env, "deposits", "--clinic", SUMAS)]


@pytest.fixture(scope="module")
def booked(env: dict[str, str]) -> str:
    """A visit booked at Sumas Mountain, its deposit due."""
    with store(env) as sessions:
        return str(begun_visit(sessions, new_patient(env, "Bad Input Patient"), clinic_id=2))


# One case per kind of problem: every field's checks are the service's; each case is a process of its own.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deposit", "VISIT", "--step", "taken"), "error: --method: say how the money changed hands"),
        (("deposit", "VISIT", "--step", "paid"), "error: Invalid value for '--step'"),
        (("deposit", "VISIT", "--method", "card"), "error: --step: --method, --reference and --reason describe"),
        (("deposit", "999999", "--step", "kept"), "error: VISIT_ID: no visit 999999"),
        (("deposits", "--clinic", "9"), "error: --clinic: no clinic 9"),
        (("late-and-missed", "--clinic", SUMAS, "--from", "2027-03-02", "--to", "2027-03-01"), "error: --to: "),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    env: dict[str, str], booked: str, args: tuple[str, ...], message: str
) -> None:
    [line] = refused_with(env, 2, *(booked if arg == "VISIT" else arg for arg in args), "--json")
    assert line.startswith(message), line
