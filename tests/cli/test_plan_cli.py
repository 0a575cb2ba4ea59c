"""The plan commands as a user runs them: a real process on a fresh SQLite file (SAFEWINDOW_DATABASE_URL), exit
code 2 for bad input, 3 for a plan that cannot be booked, and nothing written either way. Dates are counted from
the clinic's today, so the tests hold whenever they run."""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import pairwise

import pytest

import safewindow  # noqa: F401  (pins zoneinfo to the tzdata package)
from tests.cli.clinic_cli import TODAY, ok, run


def new_patient(env: dict[str, str]) -> str:
    return str(ok(env, "patients", "add", "--name", "Plan Patient", "--birth-date", "1990-03-03")["id"])


def test_the_templates(env: dict[str, str]) -> None:
    templates = {t["slug"]: t for t in ok(env, "plans")}
    assert {"microneedling-series-then-botox", "event-ready", "botox-and-filler"} <= set(templates)
    assert templates["event-ready"]["needs_event"] is True
    assert all({"slug", "name", "needs_event"} <= set(t) for t in templates.values())
    assert "microneedling x3" in run(env, "plans").stdout


def test_propose_then_book_a_plan(env: dict[str, str]) -> None:
    patient = new_patient(env)
    proposal = ok(env, "plan", "microneedling-series-then-botox", "--patient", patient, "--clinic", "1")
    assert proposal["status"] == "optimal" and proposal["explanation"]
    visits = proposal["visits"]
    assert [v["treatment"] for v in visits] == ["microneedling"] * 3 + ["botox"]
    assert all({"treatment", "start", "practitioner", "fit"} <= set(v) for v in visits)
    days = [date.fromisoformat(v["start"][:10]) for v in visits]
    assert days[0] >= TODAY and all(v["start"].endswith("-07:00") for v in visits)
    assert [(b - a).days >= 28 for a, b in pairwise(days[:3])] == [True, True]
    assert (days[3] - days[2]).days >= 14
    assert ok(env, "visits", "--patient", patient) == []  # a proposal writes nothing

    booked = ok(env, "plan", "microneedling-series-then-botox", "--patient", patient, "--clinic", "1", "--book")
    assert isinstance(booked["plan_id"], int) and len(booked["visits"]) == 4
    stored = ok(env, "visits", "--patient", patient)
    assert sorted(v["start"] for v in stored) == sorted(v["start"] for v in booked["visits"])


def test_a_plan_that_cannot_be_made_is_explained_and_not_booked(env: dict[str, str]) -> None:
    patient = new_patient(env)
    soon = (TODAY + timedelta(days=5)).isoformat()  # Botox 14 days before the event cannot be
    proposal = ok(env, "plan", "event-ready", "--patient", patient, "--clinic", "1", "--event", soon)
    assert proposal["status"] == "infeasible" and proposal["visits"] == []
    assert "botox-peaks-before-event" in [c["rule"] for c in proposal["conflicts"]]
    refused = run(
        env, "plan", "event-ready", "--patient", patient, "--clinic", "1", "--event", soon, "--book", "--json"
    )
    assert refused.returncode == 3
    assert json.loads(refused.stdout)["reasons"][0]["code"] == "plan-infeasible"
    assert ok(env, "visits", "--patient", patient) == []


def test_recalls(env: dict[str, str]) -> None:
    # The demo's Claire Penner had Botox at Sumas Mountain (clinic 2) on 12 Aug 2026: due 10 Nov - 10 Dec.
    rows = ok(env, "recalls", "--clinic", "2", "--on", "2026-11-25")
    assert [(r["patient_name"], r["treatment"], r["due_start"], r["due_end"], r["status"]) for r in rows] == [
        ("Claire Penner", "botox", "2026-11-10", "2026-12-10", "due")
    ]
    assert ok(env, "recalls", "--clinic", "1", "--on", "2026-11-25") == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "event-reddy", "--patient", "1", "--clinic", "1"], "error: TEMPLATE: unknown plan template"),
        (["plan", "event-ready", "--patient", "1", "--clinic", "1"], "error: --event: the event-ready plan needs"),
        (
            ["plan", "event-ready", "--patient", "1", "--clinic", "1", "--event", "2027-02-30"],
            "error: --event: '2027-02-30' is not a real date",
        ),
        (["plan", "botox-and-filler", "--patient", "999", "--clinic", "1"], "error: --patient: no patient 999"),
        (["plan", "botox-and-filler", "--patient", "1", "--clinic", "9"], "error: --clinic: no clinic 9"),
        (["recalls", "--clinic", "1", "--on", "soon"], "error: --on: 'soon' is not a date"),
    ],
)
def test_bad_input_exits_2_with_one_line(env: dict[str, str], args: list[str], message: str) -> None:
    result = run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
