"""`safewindow when` and friends, run as a user runs them: a real process, its exit code and its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "safewindow.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def when_json(*args: str) -> dict[str, object]:
    result = run("when", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_seed_question() -> None:
    data = when_json("botox", "--history", "microneedling@2026-11-10", "--today", "2026-11-11")
    assert data["treatment"] == "botox" and data["allowed"] is True
    assert (data["earliest"], data["earliest_bookable"]) == ("2026-11-24", "2026-11-24")
    assert (data["ideal_start"], data["ideal_end"]) == ("2026-11-24", "2026-12-08")
    assert "verdict" not in data
    reason = data["reasons"][0]  # type: ignore[index]
    assert reason["rule"] == "microneedling-then-botox" and reason["severity"] == "info"
    assert reason["evidence"] == "practice" and "seed article" in reason["source"]


def test_earliest_bookable_is_not_before_the_clinic_s_today() -> None:
    data = when_json("botox", "--history", "microneedling@2026-01-10")
    today = datetime.now(ZoneInfo("America/Vancouver")).date()
    assert data["earliest"] == "2026-01-24"
    assert data["earliest_bookable"] == max(today, date(2026, 1, 24)).isoformat()


def test_history_may_repeat_and_hold_a_comma_separated_list() -> None:
    data = when_json(
        "botox",
        "--history",
        "microneedling@2026-11-10,dermal-filler@2026-11-20",
        "--history",
        "botox@2026-09-01",
        "--today",
        "2026-11-25",
    )
    assert data["earliest"] == "2026-11-30"  # the botox repeat: 1 Sep + 90 days
    assert {r["rule"] for r in data["reasons"]} >= {"microneedling-then-botox", "botox-repeat"}  # type: ignore


def test_a_proposed_date_gets_a_verdict() -> None:
    too_soon = when_json(
        "botox", "--history", "microneedling@2026-11-10", "--on", "2026-11-20", "--today", "2026-11-11"
    )
    assert too_soon["verdict"] == "block"
    assert (
        when_json("botox", "--history", "microneedling@2026-11-10", "--on", "2026-11-30", "--today", "2026-11-11")[
            "verdict"
        ]
        == "ok"
    )
    assert (
        when_json("botox", "--history", "microneedling@2026-11-10", "--on", "2026-12-20", "--today", "2026-11-11")[
            "verdict"
        ]
        == "warn"
    )


def test_a_blocking_factor() -> None:
    data = when_json("botox", "--factor", "pregnancy", "--today", "2026-11-11")
    assert data["allowed"] is False and data["earliest"] is None and data["earliest_bookable"] is None
    assert data["reasons"][0]["kind"] == "hard"  # type: ignore[index]


def test_people_get_a_table_that_ends_with_the_practitioner_s_word() -> None:
    result = run("when", "botox", "--history", "microneedling@2026-11-10", "--today", "2026-11-11")
    assert result.returncode == 0
    assert "2026-11-24" in result.stdout and "2026-12-08" in result.stdout
    assert result.stdout.strip().endswith("A qualified practitioner makes the final decision.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["botx"], "error: --treatment: unknown treatment 'botx'; did you mean botox?"),
        (
            ["botox", "--factor", "pregnant"],
            "error: --factor: unknown factor 'pregnant'; did you mean pregnancy?",
        ),
        (
            ["botox", "--history", "microneedling@2026/11/10"],
            "error: --history: '2026/11/10' is not a date in YYYY-MM-DD form",
        ),
        (
            ["botox", "--history", "microneedling@2026-02-30"],
            "error: --history: '2026-02-30' is not a real date",
        ),
        (["botox", "--history", "microneedling@2026-11-10,"], "error: --history: empty history item"),
        (["botox", "--history", "microneedling"], "error: --history: 'microneedling' is not SLUG@YYYY-MM-DD"),
        (
            ["botox", "--history", "microneedlin@2026-11-10"],
            "error: --history: unknown treatment 'microneedlin'; did you mean microneedling?",
        ),
        (["botox", "--on", "tomorrow"], "error: --on: 'tomorrow' is not a date in YYYY-MM-DD form"),
        (["botox", "--zone", "Mars/Olympus"], "error: --zone: 'Mars/Olympus' is not a known time zone"),
        ([], "error: Missing argument 'treatment'."),
        (["botox", "--bogus"], "error: No such option: --bogus"),
        (["botox", "--on"], "error: Option '--on' requires an argument."),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args: list[str], message: str) -> None:
    result = run("when", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_catalogue_commands() -> None:
    treatments = json.loads(run("treatments", "--json").stdout)
    assert {"slug": "botox", "prescriber": "authorized-prescriber"}.items() <= next(
        t for t in treatments if t["slug"] == "botox"
    ).items()
    factors = json.loads(run("factors", "--json").stdout)
    isotretinoin = next(f for f in factors if f["id"] == "isotretinoin")
    assert isotretinoin["disagreement"] and isotretinoin["question"]
    rules = json.loads(run("rules", "--json").stdout)
    assert rules["version"] and all(r["source"] and r["evidence"] for r in rules["rules"])
    seed = next(r for r in rules["rules"] if r["id"] == "microneedling-then-botox")
    assert (seed["min"], seed["ideal"], seed["kind"]) == ("14 days", ["14 days", "28 days"], "soft")


def test_rules_check_proves_the_base_consistent() -> None:
    result = run("rules", "check")
    assert result.returncode == 0, result.stdout
    assert "is consistent" in result.stdout
