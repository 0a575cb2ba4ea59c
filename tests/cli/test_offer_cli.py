"""The offer and booking-policy commands as an administrator runs them: a real process on a fresh SQLite file
with the demo clinics. A change is saved and audited; a refused one exits with code 2 and an `error:` line for
each option at fault, and writes nothing."""

from __future__ import annotations

import getpass
import json
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from tests.cli.clinic_cli import ok, run

FRASER_VALLEY, SUMAS, MILL_LAKE = "1", "2", "3"
FIELDS = {
    "treatment",
    "name",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "permission",
    "room_kind",
    "device_kind",
    "active",
    "deposit_cents",
}


def _db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["SAFEWINDOW_DATABASE_URL"].removeprefix("sqlite:///"))


def written(env: dict[str, str]) -> tuple[list[Any], list[Any], int]:
    """Every offer and policy as stored, and how many audit entries: a refused command changes none of them."""
    with closing(_db(env)) as db:
        treatments = db.execute("SELECT * FROM clinic_treatments ORDER BY id").fetchall()
        policies = db.execute("SELECT * FROM booking_policies ORDER BY clinic_id").fetchall()
        [(audit,)] = db.execute("SELECT count(*) FROM audit_log").fetchall()
    return treatments, policies, audit


def audited(env: dict[str, str], action: str, clinic: str) -> list[tuple[str, dict[str, Any]]]:
    query = "SELECT actor, detail FROM audit_log WHERE action = ? AND entity = 'clinic' AND entity_id = ? ORDER BY id"
    with closing(_db(env)) as db:
        return [(actor, json.loads(detail)) for actor, detail in db.execute(query, (action, clinic))]


def refused(env: dict[str, str], *args: str) -> list[str]:
    """The `error:` lines of a command that must exit 2, having printed and written nothing else."""
    before = written(env)
    result = run(env, *args, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert written(env) == before
    lines = result.stderr.splitlines()
    assert all(line.startswith("error: ") for line in lines), result.stderr
    return lines


def test_offers_lists_each_treatment_the_clinic_offers(env: dict[str, str]) -> None:
    listed = ok(env, "offers", "--clinic", MILL_LAKE)
    assert all(set(offer) == FIELDS for offer in listed)
    assert [offer["name"] for offer in listed] == sorted(offer["name"] for offer in listed)
    assert len(listed) == 8 and "ipl" not in {offer["treatment"] for offer in listed}
    [rf] = [offer for offer in listed if offer["treatment"] == "rf-microneedling"]
    assert rf == {
        "treatment": "rf-microneedling",
        "name": rf["name"],
        "duration_minutes": 75,
        "buffer_before_minutes": 10,
        "buffer_after_minutes": 15,
        "permission": "may-use-energy-devices",
        "room_kind": "treatment",
        "device_kind": "rf-microneedling",
        "active": True,
        "deposit_cents": 0,
    }
    table = run(env, "offers", "--clinic", MILL_LAKE)
    assert table.returncode == 0 and "Dermaplaning" in table.stdout and "rf-microneedling" in table.stdout


def test_changing_an_offer_shows_in_the_list_and_is_audited(env: dict[str, str]) -> None:
    botox = ("offer", "botox", "--clinic", FRASER_VALLEY, "--permission", "may-inject", "--room", "treatment")
    saved = ok(env, *botox, "--duration", "40", "--before", "5", "--after", "10")
    assert (saved["treatment"], saved["duration_minutes"], saved["active"]) == ("botox", 40, True)
    [listed] = [offer for offer in ok(env, "offers", "--clinic", FRASER_VALLEY) if offer["treatment"] == "botox"]
    assert listed == saved
    [(actor, detail)] = audited(env, "clinic.treatment-changed", FRASER_VALLEY)
    assert actor == f"cli:{getpass.getuser()}"
    assert (detail["before"]["duration_minutes"], detail["after"]["duration_minutes"]) == (30, 40)

    # The whole offer is replaced: buffers left out are none.
    again = ok(env, *botox, "--duration", "40")
    assert (again["buffer_before_minutes"], again["buffer_after_minutes"]) == (0, 0)
    said = run(env, *botox, "--duration", "30", "--before", "5", "--after", "10")
    assert said.returncode == 0 and said.stdout.startswith("saved Botulinum toxin"), said.stdout + said.stderr
    assert len(audited(env, "clinic.treatment-changed", FRASER_VALLEY)) == 3


def test_a_new_offer_is_added_and_may_be_not_offered(env: dict[str, str]) -> None:
    assert "dermaplaning" not in {offer["treatment"] for offer in ok(env, "offers", "--clinic", FRASER_VALLEY)}
    dermaplaning = ("offer", "dermaplaning", "--clinic", FRASER_VALLEY, "--duration", "30", "--room", "treatment")
    saved = ok(env, *dermaplaning, "--not-offered")
    assert saved == {
        "treatment": "dermaplaning",
        "name": "Dermaplaning",
        "duration_minutes": 30,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "permission": None,
        "room_kind": "treatment",
        "device_kind": None,
        "active": False,
        "deposit_cents": 0,
    }
    assert saved in ok(env, "offers", "--clinic", FRASER_VALLEY)
    [(_, detail)] = audited(env, "clinic.treatment-offered", FRASER_VALLEY)
    assert detail == {"before": None, "after": saved}
    assert ok(env, *dermaplaning)["active"] is True


def test_a_refused_offer_names_every_option_at_fault_and_writes_nothing(env: dict[str, str]) -> None:
    lines = refused(env, "offer", "botox", "--clinic", FRASER_VALLEY, "--duration", "0", "--room", "sauna")
    assert [line.split(":")[1].strip() for line in lines] == ["--duration", "--permission", "--room"]
    assert lines[2] == "error: --room: the clinic has no 'sauna' room"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no-such-thing", "--duration", "30"), "error: SLUG: 'no-such-thing' is not a treatment"),
        (("dermaplaning", "--duration", "30", "--before", "999"), "error: --before: must be 0 to"),
        (("dermaplaning", "--duration", "30", "--after", "-1"), "error: --after: must be 0 to"),
        (("botox", "--duration", "30", "--permission", "nope"), "error: --permission: 'nope' is not a permission"),
        (("dermaplaning", "--duration", "30", "--device", "sauna"), "error: --device: the clinic has no 'sauna'"),
        (("botox",), "error: Missing option '--duration'"),
    ],
)
def test_bad_offer_input_exits_2_naming_the_option(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    [line] = refused(env, "offer", "--clinic", FRASER_VALLEY, *args)
    assert line.startswith(message), line


def test_the_booking_policy_is_read_and_replaced(env: dict[str, str]) -> None:
    policy = ("booking-policy", "--clinic", SUMAS)
    assert ok(env, *policy) == {
        "min_notice_minutes": 240,
        "horizon_days": 120,
        "slot_step_minutes": 15,
        "change_notice_minutes": 1440,
    }
    said = run(env, *policy)
    assert said.returncode == 0 and "240 minutes" in said.stdout and "120 days" in said.stdout
    assert "until 1440 minutes before it" in said.stdout

    new = ("--notice-minutes", "60", "--horizon-days", "30", "--step-minutes", "10", "--change-notice-minutes", "0")
    assert ok(env, *policy, *new) == {
        "min_notice_minutes": 60,
        "horizon_days": 30,
        "slot_step_minutes": 10,
        "change_notice_minutes": 0,
    }
    assert ok(env, *policy)["slot_step_minutes"] == 10
    [(_, detail)] = audited(env, "clinic.booking-policy-changed", SUMAS)
    assert (detail["before"]["horizon_days"], detail["after"]["horizon_days"]) == (120, 30)


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("--step-minutes", "15"), ["--notice-minutes", "--horizon-days", "--change-notice-minutes"]),
        (("--notice-minutes", "60", "--horizon-days", "30"), ["--step-minutes", "--change-notice-minutes"]),
        (
            (
                "--notice-minutes",
                "-1",
                "--horizon-days",
                "0",
                "--step-minutes",
                "7",
                "--change-notice-minutes",
                "20161",
            ),
            ["--notice-minutes", "--horizon-days", "--step-minutes", "--change-notice-minutes"],
        ),
    ],
)
def test_a_bad_policy_exits_2_naming_each_option(
    env: dict[str, str], args: tuple[str, ...], options: list[str]
) -> None:
    lines = refused(env, "booking-policy", "--clinic", MILL_LAKE, *args)
    assert [line.split(":")[1].strip() for line in lines] == options


def test_a_step_that_does_not_divide_an_hour_is_refused(env: dict[str, str]) -> None:
    args = ("--notice-minutes", "60", "--horizon-days", "30", "--step-minutes", "7", "--change-notice-minutes", "0")
    [line] = refused(env, "booking-policy", "--clinic", MILL_LAKE, *args)
    assert line == "error: --step-minutes: must be one of 5, 10, 15, 20, 30, 60 minutes"


@pytest.mark.parametrize(
    "args",
    [
        ("offers", "--clinic", "9"),
        ("offer", "dermaplaning", "--clinic", "9", "--duration", "30"),
        ("booking-policy", "--clinic", "9"),
        (
            "booking-policy",
            "--clinic",
            "9",
            "--notice-minutes",
            "60",
            "--horizon-days",
            "30",
            "--step-minutes",
            "15",
            "--change-notice-minutes",
            "0",
        ),
    ],
)
def test_an_unknown_clinic_exits_2(env: dict[str, str], args: tuple[str, ...]) -> None:
    assert refused(env, *args) == ["error: --clinic: no clinic 9"]
