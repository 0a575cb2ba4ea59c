"""The order commands as a user runs them: a real process on a fresh SQLite file (SAFEWINDOW_DATABASE_URL). Only a
prescriber in their own right writes or revokes an order (anyone else: exit code 3 with the reasons); bad input
exits with code 2 and one line naming the option; nothing is written either way. An order lets a registered nurse
be booked for Botox with the patient; revoking it lists her visits, still booked."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from safewindow.store import models
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.unit_of_work import UnitOfWork
from tests.cli.clinic_cli import TODAY, ok, run

PHYSICIAN = 1  # Dr. Anika Brar: prescribes and injects
NURSE = 4  # Erin Friesen, registered nurse at clinic 1: Botox only on a prescriber's order
AESTHETICIAN = 7  # Jasleen Bains: no injections at all
DEMO_NOTE = "Glabellar lines; assessed in person."
UNTIL = str(TODAY + timedelta(days=90))


def new_patient(env: dict[str, str], name: str = "Order Patient") -> int:
    patient: int = ok(env, "patients", "add", "--name", name, "--birth-date", "1990-01-01")["id"]
    return patient


def order_args(
    patient: int, *extra: str, treatment: str = "botox", by: int = PHYSICIAN, until: str = UNTIL
) -> tuple[str, ...]:
    return ("order", "--patient", str(patient), "--treatment", treatment, "--by", str(by), "--until", until, *extra)


def store_rows(env: dict[str, str], model: type[models.Base], *where: Any) -> int:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    finally:
        engine.dispose()


def audit_details(env: dict[str, str], order: int) -> list[tuple[str, str, dict[str, Any]]]:
    engine = make_engine(env["SAFEWINDOW_DATABASE_URL"])
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            entries = uow.session.scalars(
                select(models.AuditEntry)
                .where(models.AuditEntry.entity == "client_order", models.AuditEntry.entity_id == str(order))
                .order_by(models.AuditEntry.id)
            )
            return [(e.action, e.actor, dict(e.detail)) for e in entries]
    finally:
        engine.dispose()


def test_orders_lists_a_patient_s_orders(env: dict[str, str]) -> None:
    [demo_order] = ok(env, "orders", "--patient", "1")
    assert (demo_order["treatment"], demo_order["prescriber_id"], demo_order["note"]) == ("botox", 1, DEMO_NOTE)
    assert (demo_order["valid_until"], demo_order["revoked_at"]) == ("2027-05-10", None)
    shown = run(env, "orders", "--patient", "1")
    assert shown.returncode == 0 and "Dr. Anika Brar" in shown.stdout and "in force" in shown.stdout
    nobody = new_patient(env, "No Orders")
    assert ok(env, "orders", "--patient", str(nobody)) == []
    assert "No prescriber's orders" in run(env, "orders", "--patient", str(nobody)).stdout


def test_a_prescriber_writes_an_order_audited_without_its_note(env: dict[str, str]) -> None:
    patient = new_patient(env)
    written = ok(env, *order_args(patient, "--note", "  20 units, glabella  "))
    assert set(written) == {
        "id",
        "patient_id",
        "treatment",
        "prescriber_id",
        "prescriber",
        "valid_until",
        "note",
        "written_by",
        "written_at",
        "revoked_by",
        "revoked_at",
    }
    assert (written["patient_id"], written["prescriber"], written["valid_until"]) == (patient, "Dr. Anika Brar", UNTIL)
    assert written["note"] == "20 units, glabella" and written["written_by"].startswith("cli:")
    assert ok(env, "orders", "--patient", str(patient)) == [written]
    [(action, actor, detail)] = audit_details(env, written["id"])
    assert (action, actor) == ("order.written", written["written_by"])
    assert detail == {"patient_id": patient, "prescriber_id": PHYSICIAN, "valid_until": UNTIL}
    said = run(env, *order_args(patient))
    assert said.returncode == 0 and f"for patient {patient} until {UNTIL}" in said.stdout


@pytest.mark.parametrize("by", [NURSE, AESTHETICIAN])
def test_someone_who_does_not_prescribe_is_refused_with_3_and_nothing_written(env: dict[str, str], by: int) -> None:
    patient = new_patient(env)
    refused = run(env, *order_args(patient, "--json", by=by))
    assert refused.returncode == 3, refused.stderr
    assert [r["code"] for r in json.loads(refused.stdout)["reasons"]] == ["not-a-prescriber"]
    said = run(env, *order_args(patient, by=by))
    assert said.returncode == 3 and "not-a-prescriber" in said.stdout and "nothing was changed" in said.stdout
    assert ok(env, "orders", "--patient", str(patient)) == []
    assert store_rows(env, models.ClientOrder, models.ClientOrder.patient_id == patient) == 0


# One case per kind of problem: every field's checks are the service's, tested in tests/integration/test_orders.py;
# each case here is a process of its own.
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (order_args(1, treatment="botx"), "error: --treatment: no treatment 'botx'"),
        (order_args(1, until="2027-02-31"), "error: --until: '2027-02-31' is not a real date"),
        (order_args(1, until=str(TODAY - timedelta(days=1))), "error: --until: must be today"),
        (order_args(1, by=99), "error: --by: no practitioner 99"),
        (order_args(1, "--note", "x" * 2001), "error: --note: at most 2000 characters"),
        (("order", "--patient", "1", "--treatment", "botox", "--by", "1"), "error: Missing option '--until'"),
        (("revoke-order", "999999", "--by", "1"), "error: ORDER_ID: no order 999999"),
        (("orders", "--patient", "999"), "error: --patient: no patient 999"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    orders, audit = store_rows(env, models.ClientOrder), store_rows(env, models.AuditEntry)
    result = run(env, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert (store_rows(env, models.ClientOrder), store_rows(env, models.AuditEntry)) == (orders, audit)


def test_revoking_is_for_a_prescriber_and_idempotent(env: dict[str, str]) -> None:
    patient = new_patient(env)
    order = str(ok(env, *order_args(patient))["id"])
    refused = run(env, "revoke-order", order, "--by", str(AESTHETICIAN), "--json")
    assert refused.returncode == 3 and json.loads(refused.stdout)["reasons"][0]["code"] == "not-a-prescriber"
    assert ok(env, "orders", "--patient", str(patient))[0]["revoked_at"] is None

    revoked = ok(env, "revoke-order", order, "--by", str(PHYSICIAN))
    assert revoked["id"] == int(order) and revoked["uncovered"] == []
    assert revoked["revoked_by"].startswith("cli:") and revoked["revoked_at"]
    assert not revoked["already_revoked"]
    assert ok(env, "revoke-order", order, "--by", str(PHYSICIAN)) == revoked | {"already_revoked": True}
    assert [action for action, _, _ in audit_details(env, int(order))] == ["order.written", "order.revoked"]
    said = run(env, "revoke-order", order, "--by", str(PHYSICIAN))
    assert said.returncode == 0 and f"order {order}: botox for patient {patient}" in said.stdout
    assert "before: nothing changed" in " ".join(said.stdout.split())


def test_an_order_lets_the_nurse_book_and_revoking_it_warns_of_her_visit(env: dict[str, str]) -> None:
    # A time the nurse is free for Botox, as for the demo's patient whose order covers it; from tomorrow, so the
    # clock cannot pass the minimum notice between finding the time and booking it.
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    slots = ok(
        env, "slots", "botox", "--clinic", "1", "--practitioner", str(NURSE), "--patient", "1", "--from", tomorrow
    )
    at = slots[0]["start"][:16]
    patient = new_patient(env, "Nurse Patient")
    book = ("book", "--patient", str(patient), "--treatment", "botox", "--clinic", "1", "--at", at)
    refused = run(env, *book, "--practitioner", str(NURSE), "--json")
    assert refused.returncode == 3, refused.stderr
    assert [r["code"] for r in json.loads(refused.stdout)["reasons"]] == ["practitioner-needs-order"]
    assert store_rows(env, models.Visit, models.Visit.patient_id == patient) == 0

    order = str(ok(env, *order_args(patient))["id"])
    visit = ok(env, *book, "--practitioner", str(NURSE))
    assert (visit["practitioner"], visit["status"]) == (NURSE, "booked")

    said = run(env, "revoke-order", order, "--by", str(PHYSICIAN))
    assert said.returncode == 0, said.stderr
    warning = next(line for line in said.stdout.splitlines() if "warning" in line)
    assert "practitioner-needs-order" in warning and f"Visit {visit['id']}" in warning
    [row] = ok(env, "visits", "--patient", str(patient))
    assert row["status"] == "booked"
