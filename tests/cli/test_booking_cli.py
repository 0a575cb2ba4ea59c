"""The booking commands as a user runs them: a real process on a fresh SQLite file (SAFEWINDOW_DATABASE_URL),
exit code 2 for bad input, 3 for a refused change, and nothing written either way. Dates are counted from the
clinic's today, so the tests hold whenever they run."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from safewindow.store.database import make_engine, make_session_factory
from tests.cli.clinic_cli import TODAY, ok, run
from tests.visits import begun_visit


def weekday_after(days: int, weekday: int = 2) -> date:
    """The first given weekday (Wednesday by default: the demo studio is open) at least `days` from today."""
    day = TODAY + timedelta(days=days)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def test_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    environment = {**os.environ, "SAFEWINDOW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = run(environment, "clinics")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: the database is not up to date: run `safewindow db upgrade` first"


def test_demo_load_is_idempotent(env: dict[str, str]) -> None:
    before = ok(env, "patients")
    assert "nothing changed" in run(env, "demo", "load").stdout
    assert ok(env, "patients") == before


def test_listing_commands(env: dict[str, str]) -> None:
    clinics = ok(env, "clinics")
    assert len(clinics) == 3 and all({"id", "name"} <= set(c) for c in clinics)
    practitioners = ok(env, "practitioners", "--clinic", str(clinics[0]["id"]))
    assert practitioners and all({"id", "name"} <= set(p) for p in practitioners)
    assert any("physician" in p["qualifications"] for p in practitioners)


def test_patients_are_listed_by_name_and_found_by_part_of_it(env: dict[str, str]) -> None:
    everyone = ok(env, "patients")
    assert [p["name"] for p in everyone] == sorted(p["name"] for p in everyone)
    found = ok(env, "patients", "--search", "gIlL")
    assert found and all("gill" in p["name"].lower() or "gill" in (p["email"] or "") for p in found)
    assert ok(env, "patients", "--search", str(found[0]["id"]))[0] == found[0]


def book_botox(patient: int, day: date, *extra: str) -> tuple[str, ...]:
    return ("book", "--patient", str(patient), "--treatment", "botox", "--clinic", "1", "--at", f"{day}T10:00", *extra)


def test_book_refuse_override_reschedule_cancel(env: dict[str, str]) -> None:
    needled = TODAY - timedelta(days=3)
    patient = ok(
        env,
        "patients",
        "add",
        "--name",
        "Cli Patient",
        "--birth-date",
        "1990-03-03",
        "--history",
        f"microneedling@{needled}",
    )["id"]
    too_soon = weekday_after(1)  # at most 11 days after the microneedling
    visits_before = ok(env, "visits", "--patient", str(patient))

    refused = run(env, *book_botox(patient, too_soon), "--json")
    assert refused.returncode == 3
    reasons = json.loads(refused.stdout)["reasons"]
    assert [r["code"] for r in reasons] == ["microneedling-then-botox"] and reasons[0]["kind"] == "soft"
    assert ok(env, "visits", "--patient", str(patient)) == visits_before  # nothing written

    unqualified = run(env, *book_botox(patient, too_soon, "--override-reason", "travel", "--by", "7"), "--json")
    assert unqualified.returncode == 3
    assert "override-not-qualified" in [r["code"] for r in json.loads(unqualified.stdout)["reasons"]]

    visit = ok(env, *book_botox(patient, too_soon, "--override-reason", "travelling, risks discussed", "--by", "1"))
    assert visit["overrides"] == ["microneedling-then-botox"]
    assert visit["start"] == f"{too_soon}T10:00:00-07:00" and visit["end"] == f"{too_soon}T10:30:00-07:00"

    later = weekday_after(14)  # past the 14-day minimum: a move is checked again, the old override does not carry
    moved = run(env, "reschedule", str(visit["id"]), "--at", f"{later}T11:00", "--json")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert json.loads(moved.stdout)["start"] == f"{later}T11:00:00-07:00"

    assert ok(env, "cancel", str(visit["id"]))["status"] == "cancelled"
    again = run(env, "cancel", str(visit["id"]))
    assert again.returncode == 3 and "visit-not-booked" in again.stdout


def test_slots_are_rule_aware(env: dict[str, str]) -> None:
    needled = TODAY - timedelta(days=3)
    patient = ok(
        env,
        "patients",
        "add",
        "--name",
        "Slot Patient",
        "--birth-date",
        "1985-05-05",
        "--history",
        f"microneedling@{needled}",
    )["id"]
    slots = ok(env, "slots", "botox", "--clinic", "1", "--patient", str(patient), "--limit", "5", "--days", "60")
    assert slots, "the demo studio has free botox times within 60 days"
    first = date.fromisoformat(slots[0]["start"][:10])
    assert first >= needled + timedelta(days=14)
    assert {"start", "end", "practitioner", "room", "fit"} <= set(slots[0]) and slots[0]["fit"] == "ideal"
    assert slots[0]["start"].endswith("-07:00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["book", "--patient", "999", "--treatment", "botox", "--clinic", "1", "--at", "2027-01-06T10:00"],
            "error: --patient: no patient 999",
        ),
        (
            ["book", "--patient", "1", "--treatment", "botx", "--clinic", "1", "--at", "2027-01-06T10:00"],
            "error: --treatment: unknown treatment 'botx'; did you mean botox?",
        ),
        (
            ["book", "--patient", "1", "--treatment", "botox", "--clinic", "1", "--at", "6 Jan at ten"],
            "error: --at: '6 Jan at ten' is not a local time in YYYY-MM-DDTHH:MM form",
        ),
        (
            ["book", "--patient", "1", "--treatment", "botox", "--clinic", "9", "--at", "2027-01-06T10:00"],
            "error: --clinic: no clinic 9",
        ),
        (
            [
                "book",
                "--patient",
                "1",
                "--treatment",
                "botox",
                "--clinic",
                "1",
                "--at",
                "2027-01-06T10:00",
                "--override-reason",
                "because",
            ],
            "error: --by: an override names the practitioner",
        ),
        (
            ["slots", "botox", "--clinic", "1", "--practitioner", "7"],
            "error: --practitioner: Jasleen Bains is not qualified for botox",
        ),
        (["slots", "botox", "--clinic", "1", "--from", "2027-02-30"], "error: --from: '2027-02-30' is not a real date"),
        (
            ["patients", "add", "--name", "X", "--birth-date", "2999-01-01"],
            "error: --birth-date: 2999-01-01 is outside the dates",
        ),
        (
            ["patients", "add", "--name", "X", "--birth-date", "1990-01-01", "--factor", "pregnent"],
            "error: --factor: unknown factor 'pregnent'; did you mean pregnancy?",
        ),
        (["visits", "--patient", "abc"], "error: Invalid value for '--patient'"),
        (["cancel", "999"], "error: --visit: no visit 999"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(env: dict[str, str], args: list[str], message: str) -> None:
    before = ok(env, "patients")
    result = run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert ok(env, "patients") == before


def _begun_visit(env: dict[str, str]) -> int:
    """A botox visit that began in the last days, on the commands' database."""
    sessions = make_session_factory(make_engine(env["SAFEWINDOW_DATABASE_URL"]))
    patient = ok(env, "patients", "add", "--name", "Came Or Not", "--birth-date", "1990-01-01")["id"]
    return begun_visit(sessions, patient)


def test_outcome_records_what_happened_at_a_visit_that_has_begun(env: dict[str, str]) -> None:
    visit = str(_begun_visit(env))
    assert ok(env, "outcome", visit, "no-show") == {
        "id": int(visit),
        "status": "no-show",
        "was": "booked",
        "unsafe": [],
    }
    said = run(env, "outcome", visit, "completed")
    assert said.returncode == 0 and f"completed visit {visit} (was no-show)" in said.stdout
    wrong = run(env, "outcome", visit, "maybe")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr and "maybe" in wrong.stderr
    unknown = run(env, "outcome", "999999", "completed")
    assert unknown.returncode == 2 and "no visit 999999" in unknown.stderr + unknown.stdout
    patient = ok(env, "patients", "add", "--name", "Not Yet", "--birth-date", "1990-01-01")["id"]
    future = ok(env, *book_botox(patient, weekday_after(7)))["id"]
    early = run(env, "outcome", str(future), "completed", "--json")
    assert early.returncode == 3 and json.loads(early.stdout)["reasons"][0]["code"] == "visit-not-begun"
