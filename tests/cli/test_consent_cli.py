"""The consent commands as staff run them: a real process on a fresh SQLite file with the demo clinics, whose
demo forms are version 1 of each treatment that breaks the skin or is injected. A form's new version is written
from a file or standard input (the same words again write nothing); a signed paper form is recorded for the
version in use and covers the patient's upcoming visit; a newer version in use refuses it with exit code 3; bad
input exits with code 2 and a line naming the option; nothing is written on failure.

Each test changes forms of its own clinic and treatment, so the tests hold in any order and on any worker."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.store import models
from safewindow.store.consent_models import Consent, ConsentForm, ConsentWithdrawal
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.unit_of_work import UnitOfWork
from tests.cli.clinic_cli import ok, run

BOTOX_TITLE = "Consent to Botulinum toxin (Botox and similar)"
AT_THE_VISIT = "practitioner still confirms informed consent"
CLINIC_1_OFFERS = {
    "microneedling", "botox", "botox-touch-up", "dermal-filler", "chemical-peel-light", "ipl", "laser-nonablative"
}  # fmt: skip
FORM_KEYS = {"id", "clinic_id", "treatment", "version", "title", "body", "written_by", "written_at"}
SIGNATURE_KEYS = {
    "id", "patient_id", "clinic_id", "treatment", "treatment_name", "form", "signed_name", "signed_at", "signed_day",
    "on_paper", "recorded_by", "withdrawn_at", "withdrawn_by",
}  # fmt: skip
COVERAGE_KEYS = {"standing", "covered", "form_id", "form_version", "consent_id"}


@contextmanager
def store(env: dict[str, str]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def written(env: dict[str, str]) -> tuple[int, ...]:
    """How many forms, signatures, withdrawals and audit entries there are: a failed command adds none."""
    with store(env) as sessions, UnitOfWork(sessions) as uow:
        return tuple(
            uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (ConsentForm, Consent, ConsentWithdrawal, models.AuditEntry)
        )


def feed(env: dict[str, str], text: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`safewindow ARGS` with `text` on its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "safewindow.cli.main", *args],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def bad(env: dict[str, str], *args: str) -> str:
    """The one `error:` line of a command that must exit with code 2, having written nothing."""
    before = written(env)
    result = run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert written(env) == before
    return result.stderr.strip()


def new_patient(env: dict[str, str], name: str) -> str:
    return str(ok(env, "patients", "add", "--name", name, "--birth-date", "1990-01-01")["id"])


def form_in_use(env: dict[str, str], clinic: str, treatment: str) -> dict[str, Any] | None:
    rows = {row["treatment"]: row for row in ok(env, "consent-forms", "--clinic", clinic)}
    form: dict[str, Any] | None = rows[treatment]["form"]
    return form


def test_the_demo_clinic_s_forms_are_listed_per_treatment(env: dict[str, str]) -> None:
    rows = ok(env, "consent-forms", "--clinic", "1")
    assert {row["treatment"] for row in rows} == CLINIC_1_OFFERS
    assert all(set(row) == {"treatment", "treatment_name", "offered", "form"} and row["offered"] for row in rows)
    by_slug = {row["treatment"]: row for row in rows}
    botox = by_slug["botox"]["form"]
    assert set(botox) == FORM_KEYS
    assert (botox["version"], botox["title"], botox["written_by"]) == (1, BOTOX_TITLE, "demo-loader")
    assert by_slug["ipl"]["form"] is None and by_slug["chemical-peel-light"]["form"] is None

    shown = run(env, "consent-forms", "--clinic", "1")
    assert shown.returncode == 0, shown.stderr
    [botox_line] = [line for line in shown.stdout.splitlines() if "│ botox " in line]
    assert "│ 1 " in botox_line and "demo-loader" in botox_line
    [ipl_line] = [line for line in shown.stdout.splitlines() if "│ ipl " in line]
    assert "none: nothing to sign" in ipl_line
    assert bad(env, "consent-forms", "--clinic", "99") == "error: --clinic: no clinic 99"


def test_the_form_in_use_is_shown_and_a_treatment_without_one_shows_the_starter_draft(env: dict[str, str]) -> None:
    botox = ok(env, "consent-form", "--clinic", "1", "--treatment", "botox")
    assert set(botox) == {"clinic_id", "treatment", "treatment_name", "in_use", "title", "body", "form"}
    assert botox["in_use"] is True and botox["form"]["version"] == 1
    assert (botox["title"], botox["body"]) == (botox["form"]["title"], botox["form"]["body"])
    shown = run(env, "consent-form", "--clinic", "1", "--treatment", "botox")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("version 1 in use at clinic 1")
    assert BOTOX_TITLE in shown.stdout and botox["body"] in shown.stdout

    starter = ok(env, "consent-form", "--clinic", "1", "--treatment", "chemical-peel-light")
    assert (starter["in_use"], starter["form"], starter["title"]) == (False, None, "Consent to Light chemical peel")
    assert starter["body"].startswith("I ask Fraser Valley Skin Studio to treat me with Light chemical peel.")
    said = run(env, "consent-form", "--clinic", "1", "--treatment", "chemical-peel-light")
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith("DRAFT, not in use: the knowledge base's starter for Light chemical peel")
    assert AT_THE_VISIT in said.stdout and starter["body"] in said.stdout
    assert form_in_use(env, "1", "chemical-peel-light") is None  # showing the draft wrote nothing

    assert bad(env, "consent-form", "--clinic", "1", "--treatment", "hydrafacial").startswith(
        "error: --treatment: Fraser Valley Skin Studio does not offer 'hydrafacial'"
    )


def test_a_new_version_is_written_from_a_file_then_from_standard_input(env: dict[str, str], tmp_path: Path) -> None:
    body = tmp_path / "hydrafacial.txt"
    body.write_text("I ask Sumas Mountain Aesthetics for a HydraFacial.\n\nI may stop at any time.\n", encoding="utf-8")
    first = ok(env, "consent-form", "--clinic", "2", "--treatment", "hydrafacial", "--title", "HydraFacial consent",
               "--body-file", str(body))  # fmt: skip
    assert set(first) == FORM_KEYS | {"changed"}
    assert (first["changed"], first["version"], first["title"]) == (True, 1, "HydraFacial consent")
    assert first["body"] == "I ask Sumas Mountain Aesthetics for a HydraFacial.\n\nI may stop at any time."
    assert first["written_by"].startswith("cli:")

    piped = feed(env, "Version two.\r\nRead it first.\r\n", "consent-form", "--clinic", "2", "--treatment",
                 "hydrafacial", "--title", "HydraFacial consent", "--body-file", "-")  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("version 2 of the HydraFacial consent form is in use at clinic 2")
    shown = ok(env, "consent-form", "--clinic", "2", "--treatment", "hydrafacial")
    assert (shown["in_use"], shown["form"]["version"], shown["body"]) == (True, 2, "Version two.\nRead it first.")
    assert form_in_use(env, "2", "hydrafacial") == shown["form"]


def test_the_same_words_again_write_no_version(env: dict[str, str], tmp_path: Path) -> None:
    body = tmp_path / "dermaplaning.txt"
    body.write_text("Dermaplaning at Mill Lake Medispa.\n", encoding="utf-8")
    args = ("consent-form", "--clinic", "3", "--treatment", "dermaplaning", "--title", "Dermaplaning consent")
    assert ok(env, *args, "--body-file", str(body))["version"] == 1
    before = written(env)
    again = run(env, *args, "--body-file", str(body))
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("no change: version 1 in use has this title and text already")
    spaced = feed(env, "\n  Dermaplaning at Mill Lake Medispa.\r\n\n", *args[:-1], "  Dermaplaning   consent ",
                  "--body-file", "-", "--json")  # fmt: skip
    assert spaced.returncode == 0, spaced.stderr
    assert (json.loads(spaced.stdout)["changed"], json.loads(spaced.stdout)["version"]) == (False, 1)
    assert written(env) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--title", "T", "--body-file", "/nonexistent/form.txt"), "error: --body-file: cannot read /nonexistent/"),
        (("--title", "T", "--body-file", "EMPTY"), "error: --body-file: write what the patient agrees to"),
        (("--title", "T", "--body-file", "LATIN-1"), "error: --body-file: cannot read "),
        (("--title", "T", "--body-file", "."), "error: --body-file: cannot read ."),
        (("--title", "T"), "error: --body-file: give the new version's text"),
        (("--body-file", "EMPTY"), "error: --title: give the new version's title"),
        (("--title", " ", "--body-file", "BODY"), "error: --title: give the form a title"),
    ],
)
def test_a_bad_title_or_body_file_exits_2_naming_it_and_writes_nothing(
    env: dict[str, str], tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    (tmp_path / "empty.txt").write_text(" \n", encoding="utf-8")
    (tmp_path / "body.txt").write_text("Some words.", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("Café".encode("latin-1"))
    files = {"EMPTY": "empty.txt", "BODY": "body.txt", "LATIN-1": "latin.txt"}
    options = tuple(str(tmp_path / files[o]) if o in files else o for o in options)
    line = bad(env, "consent-form", "--clinic", "1", "--treatment", "ipl", *options)
    assert line.startswith(message), line
    assert form_in_use(env, "1", "ipl") is None


def test_a_paper_consent_covers_the_patient_s_upcoming_visit(env: dict[str, str]) -> None:
    simran = "1"  # the demo's patient, whose prescriber's order lets the clinic's nurses give her Botox
    [slot] = ok(env, "slots", "botox", "--clinic", "1", "--patient", simran, "--limit", "1")
    visit = ok(env, "book", "--patient", simran, "--treatment", "botox", "--clinic", "1", "--at", slot["start"][:16],
               "--practitioner", str(slot["practitioner"]))["id"]  # fmt: skip
    before = ok(env, "consents", simran)
    assert set(before) == {"patient_id", "name", "signatures", "upcoming"}
    assert (before["patient_id"], before["name"], before["signatures"]) == (1, "Simran Gill", [])
    [upcoming] = [row for row in before["upcoming"] if row["id"] == visit]
    assert set(upcoming["consent"]) == COVERAGE_KEYS
    assert (upcoming["consent"]["standing"], upcoming["consent"]["covered"]) == ("needed", False)

    signed = ok(env, "consent", simran, "--clinic", "1", "--treatment", "botox", "--name", " simran  GILL ",
                "--version", "1")  # fmt: skip
    assert set(signed) == SIGNATURE_KEYS
    assert (signed["patient_id"], signed["treatment"], signed["on_paper"]) == (1, "botox", True)
    assert (signed["signed_name"], signed["form"]["version"], signed["withdrawn_at"]) == ("simran GILL", 1, None)
    assert signed["recorded_by"].startswith("cli:")

    after = ok(env, "consents", simran)
    assert after["signatures"] == [signed]
    [upcoming] = [row for row in after["upcoming"] if row["id"] == visit]
    assert (upcoming["treatment"], upcoming["clinic"], upcoming["status"]) == ("botox", 1, "booked")
    assert upcoming["consent"] == {
        "standing": "signed",
        "covered": True,
        "form_id": signed["form"]["id"],
        "form_version": 1,
        "consent_id": signed["id"],
    }
    shown = run(env, "consents", simran)
    assert shown.returncode == 0, shown.stderr
    assert f"signed (consent {signed['id']})" in shown.stdout and "on paper" in shown.stdout
    assert AT_THE_VISIT in shown.stdout
    assert bad(env, "consents", "999999") == "error: PATIENT_ID: no patient 999999"
    assert bad(env, "consent", "999999", "--clinic", "1", "--treatment", "botox", "--name", "Simran Gill",
               "--version", "1") == "error: PATIENT_ID: no patient 999999"  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--treatment", "botox", "--name", "Claire Smith", "--version", "1"),
         "error: --name: type the full name the clinic has on file: Claire Penner"),
        (("--treatment", "botox", "--name", "Claire Penner"), "error: --version: say which version of the form"),
        (("--treatment", "botox", "--name", "Claire Penner", "--version", "1", "--signed-on", "12/11/2026"),
         "error: --signed-on: '12/11/2026' is not a date in YYYY-MM-DD form"),
        (("--treatment", "botox", "--name", "Claire Penner", "--version", "1", "--signed-on", "2026-11-10"),
         "error: --signed-on: version 1 of this form was put in use on 11 Nov 2026"),
        (("--treatment", "ipl", "--name", "Claire Penner", "--version", "1"),
         "error: --treatment: the clinic has no consent form for 'ipl'"),
        (("--treatment", "kybella", "--name", "Claire Penner", "--version", "1"), "error: --treatment: "),
    ],
)  # fmt: skip
def test_a_wrong_name_or_missing_version_exits_2_naming_it_and_writes_nothing(
    env: dict[str, str], options: tuple[str, ...], message: str
) -> None:
    claire = "2"
    line = bad(env, "consent", claire, "--clinic", "1", *options)
    assert line.startswith(message), line


def test_a_paper_form_recorded_later_keeps_the_day_written_on_it(env: dict[str, str]) -> None:
    signed = ok(env, "consent", "2", "--clinic", "1", "--treatment", "botox", "--name", "Claire Penner",
                "--version", "1", "--signed-on", "2026-11-12")  # fmt: skip
    assert (signed["on_paper"], signed["signed_day"]) == (True, "2026-11-12")


def test_a_form_changed_since_the_paper_was_printed_is_refused_with_3(env: dict[str, str], tmp_path: Path) -> None:
    claire = "2"
    body = tmp_path / "botox-v2.txt"
    body.write_text("Botox at Sumas Mountain Aesthetics, as revised.", encoding="utf-8")
    assert ok(env, "consent-form", "--clinic", "2", "--treatment", "botox", "--title", "Botox consent",
              "--body-file", str(body))["version"] == 2  # fmt: skip
    paper = ("consent", claire, "--clinic", "2", "--treatment", "botox", "--name", "Claire Penner")
    before = written(env)
    refused = run(env, *paper, "--version", "1", "--json")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    answer = json.loads(refused.stdout)
    assert answer["refused"] is True and [r["code"] for r in answer["reasons"]] == ["consent-form-changed"]
    said = run(env, *paper, "--version", "1")
    assert said.returncode == 3 and "consent-form-changed" in said.stdout and "Traceback" not in said.stderr
    assert written(env) == before
    assert ok(env, *paper, "--version", "2")["form"]["version"] == 2


def test_a_consent_withdrawn_twice_says_already_the_second_time(env: dict[str, str]) -> None:
    patient = new_patient(env, "Withdrawing Patient")
    signed = ok(env, "consent", patient, "--clinic", "1", "--treatment", "botox", "--name", "Withdrawing Patient",
                "--version", "1")  # fmt: skip
    consent = str(signed["id"])
    assert bad(env, "withdraw-consent", consent, "--patient", "1") == f"error: CONSENT_ID: no consent {consent}"
    first = ok(env, "withdraw-consent", consent)
    assert set(first) == SIGNATURE_KEYS | {"already_withdrawn"}
    assert first["already_withdrawn"] is False and first["withdrawn_by"].startswith("cli:")
    before = written(env)
    second = run(env, "withdraw-consent", consent, "--patient", patient)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"already withdrawn consent {consent}") and "nothing changed" in second.stdout
    again = ok(env, "withdraw-consent", consent)
    assert (again["already_withdrawn"], again["withdrawn_at"]) == (True, first["withdrawn_at"])
    assert written(env) == before
    [shown] = ok(env, "consents", patient)["signatures"]
    assert shown["withdrawn_at"] == first["withdrawn_at"]
    assert bad(env, "withdraw-consent", "999999") == "error: CONSENT_ID: no consent 999999"


@pytest.mark.parametrize("command", ["consent-forms", "consent-form", "consents", "consent"])
def test_the_help_says_a_practitioner_still_confirms_consent_at_the_visit(env: dict[str, str], command: str) -> None:
    result = run(env, command, "--help")
    assert result.returncode == 0, result.stderr
    assert AT_THE_VISIT in " ".join(result.stdout.split())
