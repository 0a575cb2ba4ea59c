"""The time-off commands as a user runs them: a real process on a fresh SQLite file (SAFEWINDOW_DATABASE_URL),
exit code 2 for bad input, 3 for a refused change (a booked visit in the time off, at any clinic where they work,
or time off there already), and nothing written either way. Dates are counted from the clinic's today, so the
tests hold whenever they run."""

from __future__ import annotations

import getpass
import json
import sqlite3
from contextlib import closing
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from tests.cli.clinic_cli import TODAY, ok, run

ZONE = ZoneInfo("America/Vancouver")  # every demo clinic's
FRASER_VALLEY, SUMAS, MILL_LAKE = "1", "2", "3"
BRAR = "1"  # Fraser Valley on Tuesdays and Thursdays, Mill Lake on Wednesdays and Fridays
SIDHU = "3"  # Fraser Valley and Sumas
GREWAL = "5"  # Sumas and Mill Lake
HANNAH = "6"  # Mill Lake only
JANZEN = "8"  # Sumas only


def midnight(day: date) -> str:
    return datetime.combine(day, time(0), ZONE).isoformat()


def written(env: dict[str, str]) -> tuple[int, int]:
    """How many time off rows and audit entries the database holds: a refused or bad command adds neither."""
    path = env["SAFEWINDOW_DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as db:
        [(time_off,)] = db.execute("SELECT count(*) FROM practitioner_time_off").fetchall()
        [(audit,)] = db.execute("SELECT count(*) FROM audit_log").fetchall()
    return time_off, audit


def audit_actors(env: dict[str, str], action: str, practitioner: str) -> list[str]:
    path = env["SAFEWINDOW_DATABASE_URL"].removeprefix("sqlite:///")
    query = "SELECT actor FROM audit_log WHERE action = ? AND entity = 'practitioner' AND entity_id = ? ORDER BY id"
    with closing(sqlite3.connect(path)) as db:
        return [actor for (actor,) in db.execute(query, (action, practitioner))]


def test_add_list_remove_round_trip(env: dict[str, str]) -> None:
    first, last = TODAY + timedelta(days=20), TODAY + timedelta(days=21)
    assert ok(env, "time-off", "list", "--practitioner", SIDHU) == []
    assert "No upcoming time off" in run(env, "time-off", "list", "--practitioner", SIDHU).stdout

    add = ("time-off", "add", "--practitioner", SIDHU, "--clinic", SUMAS, "--from", str(first), "--to", str(last))
    added = ok(env, *add, "--reason", "  Knee surgery ")
    assert set(added) == {"id", "start", "end", "reason"}
    assert (added["start"], added["end"], added["reason"]) == (
        midnight(first),
        midnight(last + timedelta(days=1)),
        "Knee surgery",
    )
    assert ok(env, "time-off", "list", "--practitioner", SIDHU) == [added]
    shown = run(env, "time-off", "list", "--practitioner", SIDHU)
    assert shown.returncode == 0 and "Knee surgery" in shown.stdout and midnight(first) in shown.stdout

    # Part of a day, given at her other clinic: from --start on the first day until --end on the last.
    later = TODAY + timedelta(days=40)
    hours = ok(
        env,
        *("time-off", "add", "--practitioner", SIDHU, "--clinic", FRASER_VALLEY, "--from", str(later)),
        *("--start", "13:00", "--end", "15:30"),
    )
    one_pm = datetime.combine(later, time(13), ZONE)
    assert (hours["start"], hours["end"], hours["reason"]) == (
        one_pm.isoformat(),
        (one_pm + timedelta(hours=2.5)).isoformat(),
        "",
    )
    said = run(env, *add[:6], "--from", str(later + timedelta(days=1)))
    assert said.returncode == 0 and said.stdout.startswith("added time off "), said.stdout + said.stderr
    listed = ok(env, "time-off", "list", "--practitioner", SIDHU)
    assert [row["id"] for row in listed[:2]] == [added["id"], hours["id"]] and len(listed) == 3
    whole_day = listed[2]
    assert (whole_day["start"], whole_day["end"]) == (
        midnight(later + timedelta(days=1)),
        midnight(later + timedelta(days=2)),
    )

    for entry in listed:
        removed = run(env, "time-off", "remove", str(entry["id"]), "--practitioner", SIDHU)
        assert removed.returncode == 0 and f"removed time off {entry['id']}" in removed.stdout
    assert ok(env, "time-off", "list", "--practitioner", SIDHU) == []
    again = run(env, "time-off", "remove", str(added["id"]), "--practitioner", SIDHU)
    assert (
        again.returncode == 2 and again.stderr == f"error: TIME_OFF_ID: no time off {added['id']} of practitioner 3\n"
    )

    # Whoever is at the command line is on each change, in the audit log.
    me = f"cli:{getpass.getuser()}"
    assert audit_actors(env, "practitioner.time-off-added", SIDHU) == [me] * 3
    assert audit_actors(env, "practitioner.time-off-removed", SIDHU) == [me] * 3


def test_time_off_over_a_booked_visit_at_another_clinic_is_refused_naming_it(env: dict[str, str]) -> None:
    patient = str(ok(env, "patients", "add", "--name", "Time Off Patient", "--birth-date", "1990-03-03")["id"])
    wednesday = TODAY + timedelta(days=8)
    wednesday += timedelta(days=(2 - wednesday.weekday()) % 7)  # Dr. Brar's day at Mill Lake
    visit = ok(
        env,
        *("book", "--patient", patient, "--treatment", "botox", "--clinic", MILL_LAKE),
        *("--at", f"{wednesday}T11:00", "--practitioner", BRAR),
    )
    before = written(env)

    # Given at Fraser Valley, where she works too: her time off holds at Mill Lake as well.
    add = ("time-off", "add", "--practitioner", BRAR, "--clinic", FRASER_VALLEY, "--from", str(wednesday))
    refused = run(env, *add, "--json")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    [reason] = json.loads(refused.stdout)["reasons"]
    assert reason["code"] == "visit-in-time-off"
    assert reason["message"].startswith(f"Visit {visit['id']} at Mill Lake Medispa at {wednesday}T11:00:00")
    said = run(env, *add)
    assert said.returncode == 3 and "Refused" in said.stdout and "Mill Lake Medispa" in said.stdout
    assert written(env) == before
    assert ok(env, "time-off", "list", "--practitioner", BRAR) == []

    # Off from the end of the visit is no overlap.
    after = ok(env, *add, "--start", "11:30")
    assert after["start"] == datetime.combine(wednesday, time(11, 30), ZONE).isoformat()
    assert run(env, "time-off", "remove", str(after["id"]), "--practitioner", BRAR).returncode == 0


def test_time_off_over_time_off_is_bad_input_naming_the_one_there(env: dict[str, str]) -> None:
    day = TODAY + timedelta(days=30)
    add = ("time-off", "add", "--practitioner", JANZEN, "--clinic", SUMAS)
    there = ok(env, *add, "--from", str(day))
    before = written(env)

    refused = run(env, *add, "--from", str(day - timedelta(days=1)), "--to", str(day), "--json")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (
        f"error: --from: they are off already from {day} 00:00 to {day + timedelta(days=1)} 00:00"
    )
    said = run(env, *add, "--from", str(day), "--start", "12:00")
    assert said.returncode == 2 and "they are off already" in said.stderr
    assert written(env) == before
    assert ok(env, "time-off", "list", "--practitioner", JANZEN) == [there]
    assert run(env, "time-off", "remove", str(there["id"]), "--practitioner", JANZEN).returncode == 0


NEXT_YEAR = TODAY.year + 1
ADD = ("time-off", "add", "--practitioner", GREWAL, "--clinic", SUMAS)
DAY = str(TODAY + timedelta(days=50))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*ADD, "--from", f"{NEXT_YEAR}-02-30"), f"error: --from: '{NEXT_YEAR}-02-30' is not a real date"),
        ((*ADD, "--from", "next monday"), "error: --from: 'next monday' is not a date in YYYY-MM-DD form"),
        ((*ADD, "--from", DAY, "--to", "2020-01-01"), "error: --to: 2020-01-01 is before the first day"),
        ((*ADD, "--from", DAY, "--start", "9am"), "error: --start: '9am' is not a time like 09:00"),
        ((*ADD, "--from", DAY, "--end", "24:00"), "error: --end: '24:00' is not a time like 09:00"),
        ((*ADD, "--from", DAY, "--start", "13:00", "--end", "12:00"), "error: --end: 12:00 on"),
        ((*ADD, "--from", DAY, "--reason", "x" * 201), "error: --reason: keep the reason to 200 characters"),
        ((*ADD[:5], "9", "--from", DAY), "error: --clinic: no clinic 9"),
        (
            ("time-off", "add", "--practitioner", HANNAH, "--clinic", SUMAS, "--from", DAY),
            "error: --practitioner: practitioner 6 does not work at clinic 2",
        ),
        (("time-off", "add", "--clinic", SUMAS, "--from", DAY), "error: Missing option '--practitioner'"),
        (("time-off", "list", "--practitioner", "abc"), "error: Invalid value for '--practitioner'"),
        (("time-off", "remove", "999", "--practitioner", GREWAL), "error: TIME_OFF_ID: no time off 999"),
    ],
)
def test_bad_input_exits_2_naming_the_option_and_writes_nothing(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    before = written(env)
    result = run(env, *args, "--json") if args[1] == "add" else run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert written(env) == before


def test_a_day_that_has_passed_is_named_by_the_option_given(env: dict[str, str]) -> None:
    past = str(TODAY - timedelta(days=3))
    alone = run(env, *ADD, "--from", past)
    assert alone.returncode == 2 and alone.stderr.startswith("error: --from: ") and "has passed" in alone.stderr
    both = run(env, *ADD, "--from", past, "--to", past)
    assert both.returncode == 2 and both.stderr.startswith("error: --to: ") and "has passed" in both.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("time-off", "list", "--practitioner", "99"),
        ("time-off", "add", "--practitioner", "99", "--clinic", SUMAS, "--from", DAY),
        ("time-off", "remove", "1", "--practitioner", "99"),
    ],
)
def test_an_unknown_practitioner_exits_2(env: dict[str, str], args: tuple[str, ...]) -> None:
    before = written(env)
    result = run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == "error: --practitioner: no practitioner 99\n"
    assert written(env) == before
