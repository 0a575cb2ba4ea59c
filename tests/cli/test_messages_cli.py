"""`safewindow messages` as the front desk runs it: a real process on a fresh SQLite file with the demo clinics. It
shows how a patient hears from the clinic; options change only the choices given, the rest stays as it was.
Bad input exits with code 2 and a line naming the option, and nothing is written."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.patients import add_patient
from safewindow.store.database import make_engine, make_session_factory
from tests.cli.clinic_cli import TODAY, ok, run

SIMRAN = "1"  # the demo's patient, with a mobile number and e-mail reminders only


def new_patient(env: dict[str, str], name: str) -> str:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        patient = add_patient(
            make_session_factory(engine),
            default_knowledge_base(),
            name=name,
            birth_date="1990-01-01",
            email="messages.patient@example.com",
            actor="test",
            today=TODAY,
        )
    finally:
        engine.dispose()
    return str(patient.id)


def written(env: dict[str, str]) -> tuple[list[Any], ...]:
    """The patients' numbers, their preferences, the outbox and the audit log: a refused command changes none."""
    with closing(sqlite3.connect(env["SAFEWINDOW_DATABASE_URL"].removeprefix("sqlite:///"))) as db:
        return tuple(
            db.execute(query).fetchall()
            for query in (
                "SELECT id, phone FROM patients ORDER BY id",
                "SELECT * FROM notification_preferences ORDER BY patient_id",
                "SELECT id FROM outbox ORDER BY id",
                "SELECT id FROM audit_log ORDER BY id",
            )
        )


def refused(env: dict[str, str], *args: str) -> list[str]:
    """The lines a command that must exit with code 2 wrote to stderr, having written nothing."""
    before = written(env)
    result = run(env, "messages", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and written(env) == before
    return result.stderr.splitlines()


def test_without_options_it_shows_the_patient_s_choices(env: dict[str, str]) -> None:
    shown = run(env, "messages", SIMRAN)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Patient 1 hears from the clinic:",
        "  e-mail: simran.gill@example.com",
        "  mobile: +1 604-555-0142",
        "  reminders and recalls by e-mail: yes",
        "  visit reminders by text message: no",
    ]
    assert ok(env, "messages", SIMRAN) == {
        "patient_id": 1,
        "email": "simran.gill@example.com",
        "phone": "+16045550142",
        "email_reminders": True,
        "text_reminders": False,
    }


def test_a_number_and_texts_are_set_and_shown(env: dict[str, str]) -> None:
    patient = new_patient(env, "Texting Patient")
    assert ok(env, "messages", patient)["phone"] is None
    assert ok(env, "messages", patient, "--phone", "604 555 0111", "--texts") == {
        "patient_id": int(patient),
        "email": "messages.patient@example.com",
        "phone": "+16045550111",
        "email_reminders": True,
        "text_reminders": True,
    }
    shown = run(env, "messages", patient, "--no-texts")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "saved"
    assert "mobile: +1 604-555-0111" in shown.stdout and "by text message: no" in shown.stdout


def test_an_option_alone_changes_only_its_choice(env: dict[str, str]) -> None:
    patient = new_patient(env, "Quiet Patient")
    ok(env, "messages", patient, "--phone", "+1 778 555 0123", "--texts")
    quiet = ok(env, "messages", patient, "--no-email-reminders")
    assert (quiet["phone"], quiet["email_reminders"], quiet["text_reminders"]) == ("+17785550123", False, True)
    again = ok(env, "messages", patient, "--email-reminders")
    assert (again["phone"], again["email_reminders"], again["text_reminders"]) == ("+17785550123", True, True)
    assert ok(env, "messages", patient) == again


def test_an_empty_phone_removes_the_number_once_texts_are_off(env: dict[str, str]) -> None:
    patient = new_patient(env, "Moving Patient")
    ok(env, "messages", patient, "--phone", "604-555-0177", "--texts")
    assert refused(env, patient, "--phone", "") == ["error: --phone: text reminders need a mobile number"]
    removed = ok(env, "messages", patient, "--phone", "", "--no-texts")
    assert (removed["phone"], removed["text_reminders"]) == (None, False)


def test_a_bad_number_exits_2_naming_phone_and_writes_nothing(env: dict[str, str]) -> None:
    patient = new_patient(env, "Typo Patient")
    ok(env, "messages", patient, "--phone", "604 555 0188")
    [line] = refused(env, patient, "--phone", "12", "--json")
    assert line.startswith("error: --phone: '12' is not a valid telephone number"), line
    [line] = refused(env, patient, "--phone", "12", "--texts")
    assert line.startswith("error: --phone: "), line
    assert ok(env, "messages", patient)["phone"] == "+16045550188"


def test_an_unknown_patient_exits_2(env: dict[str, str]) -> None:
    assert refused(env, "999999") == ["error: PATIENT_ID: no patient 999999"]
    assert refused(env, "999999", "--texts", "--phone", "604 555 0111") == ["error: PATIENT_ID: no patient 999999"]


def test_a_patient_added_with_a_number_shows_it_and_a_bad_one_adds_no_one(env: dict[str, str]) -> None:
    added = ok(env, "patients", "add", "--name", "Navdeep Sandhu", "--birth-date", "1988-03-03", "--phone",
               "778 555 0177", "--json")  # fmt: skip
    assert ok(env, "messages", str(added["id"]), "--json")["phone"] == "+17785550177"
    before = written(env)
    bad = run(env, "patients", "add", "--name", "No One", "--birth-date", "1988-03-03", "--phone", "12")
    assert bad.returncode == 2 and "--phone" in bad.stderr and "Traceback" not in bad.stderr
    assert written(env) == before
