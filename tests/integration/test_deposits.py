"""Deposits on real SQLite and PostgreSQL: a visit is booked with the deposit its clinic asks then, and keeps it;
staff record each step, and the store refuses what the policy does not allow (kept only after a late
cancellation or a no-show, applied only to a visit that happened) with nothing written; the ledger is
append-only in the database itself; the clinic's lists say what is left to do, and which visits were cancelled
late or missed. Audited by ids and amounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.deposits import State, Step, Todo
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Refused, book, cancel
from safewindow.services.deposits import deposit_of_visit, late_and_missed, record_step, to_act_on
from safewindow.services.errors import FieldProblems
from safewindow.services.offers import Offer, offers, set_offer
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

SUMAS = 2  # the demo clinic that asks deposits ($50 for botox) and 24 hours' notice for changes


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _book(sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, *, days_ahead: int = 3) -> models.Visit:
    first_day = NOW.date() + timedelta(days=days_ahead)
    (slot,) = find_slots_for(
        sessions, kb, treatment="botox", clinic_id=SUMAS, patient_id=patient, first_day=first_day, limit=1, now=NOW
    )
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=SUMAS,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="front-desk",
        now=NOW,
    ).visit


def _entries(sessions: sessionmaker[Session]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(models.DepositEntry)) or 0


def _take(sessions: sessionmaker[Session], visit: int) -> None:
    record_step(
        sessions, visit_id=visit, step=Step.TAKEN, actor="front-desk", method="card", reference="T-0042", now=NOW
    )


def test_a_visit_keeps_the_deposit_it_was_booked_with_and_a_late_cancellation_lets_the_clinic_keep_it(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _book(sessions, kb, new_patient())
    assert visit.deposit_cents == 5000
    with UnitOfWork(sessions) as uow:  # the clinic raises its deposit: booked visits keep theirs
        (botox,) = [o for o in offers(uow.session, SUMAS, kb) if o.treatment == "botox"]
    raised = Offer(**(botox.as_dict() | {"deposit_cents": 7500}))  # type: ignore[arg-type]
    set_offer(sessions, kb, clinic_id=SUMAS, offer=raised, actor="admin")
    with UnitOfWork(sessions) as uow:
        due = deposit_of_visit(uow.session, visit.id)
        listed = [d.deposit.visit_id for d in to_act_on(uow.session, SUMAS, now=NOW)]
    assert (due.amount_cents, due.state, due.todo) == (5000, State.DUE, Todo.TAKE)
    assert visit.id in listed

    _take(sessions, visit.id)
    with pytest.raises(Refused) as refused:  # still booked: nothing to keep
        record_step(sessions, visit_id=visit.id, step=Step.KEPT, actor="front-desk", now=NOW)
    assert refused.value.problems[0].code == "deposit-cannot-be-kept"

    cancel(sessions, kb, visit_id=visit.id, actor="front-desk", now=visit.start_at - timedelta(hours=3))
    with UnitOfWork(sessions) as uow:
        held = deposit_of_visit(uow.session, visit.id)
        day = visit.start_at.date()
        late = late_and_missed(uow.session, SUMAS, day - timedelta(days=1), day + timedelta(days=1))
    assert (held.state, held.todo) == (State.HELD, Todo.KEEP)
    assert [(row.visit_id, row.status, row.deposit_cents) for row in late] == [(visit.id, "cancelled", 5000)]

    kept = record_step(sessions, visit_id=visit.id, step=Step.KEPT, actor="front-desk", now=NOW)
    assert (kept.state, kept.todo) == (State.KEPT, None)
    goodwill = record_step(
        sessions, visit_id=visit.id, step=Step.REFUNDED, actor="admin", method="card", reason="first visit", now=NOW
    )
    assert goodwill.state is State.REFUNDED
    assert [(e.step, e.amount_cents, e.method, e.reference) for e in goodwill.entries] == [
        (Step.TAKEN, 5000, "card", "T-0042"),
        (Step.KEPT, 5000, None, ""),
        (Step.REFUNDED, 5000, "card", ""),
    ]
    with UnitOfWork(sessions) as uow:
        audit = uow.session.execute(
            select(models.AuditEntry.action, models.AuditEntry.detail)
            .where(models.AuditEntry.action.like("visit.deposit-%"), models.AuditEntry.entity_id == str(visit.id))
            .order_by(models.AuditEntry.id)
        ).all()
    assert [action for action, _ in audit] == ["visit.deposit-taken", "visit.deposit-kept", "visit.deposit-refunded"]
    assert all(set(detail) >= {"entry_id", "amount_cents"} and "reason" not in detail for _, detail in audit)


def test_cancelled_in_time_it_is_refunded_not_kept_and_a_visit_that_happened_counts_it(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    early, done = _book(sessions, kb, new_patient()), _book(sessions, kb, new_patient(), days_ahead=5)
    for visit in (early, done):
        _take(sessions, visit.id)
    cancel(sessions, kb, visit_id=early.id, actor="front-desk", now=NOW)
    before = _entries(sessions)
    with pytest.raises(Refused) as refused:
        record_step(sessions, visit_id=early.id, step=Step.KEPT, actor="front-desk", now=NOW)
    assert "cancelled within the clinic's notice" in refused.value.problems[0].message
    assert _entries(sessions) == before
    with UnitOfWork(sessions) as uow:
        assert deposit_of_visit(uow.session, early.id).todo is Todo.REFUND

    with pytest.raises(Refused):  # not yet happened
        record_step(sessions, visit_id=done.id, step=Step.APPLIED, actor="front-desk", now=NOW)
    after = done.end_at + timedelta(minutes=5)
    record_outcome(sessions, kb, visit_id=done.id, outcome=Outcome.COMPLETED, actor="nurse", now=after)
    with UnitOfWork(sessions) as uow:
        assert deposit_of_visit(uow.session, done.id).todo is Todo.APPLY
        assert {d.deposit.visit_id: d.deposit.todo for d in to_act_on(uow.session, SUMAS, now=NOW)} == {
            early.id: Todo.REFUND,
            done.id: Todo.APPLY,
        }
    applied = record_step(sessions, visit_id=done.id, step=Step.APPLIED, actor="front-desk", now=after)
    assert (applied.state, applied.todo) == (State.APPLIED, None)


def test_a_no_show_lets_the_clinic_keep_it_and_a_deposit_not_taken_may_be_waived_with_a_reason(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    missed, waived = _book(sessions, kb, new_patient()), _book(sessions, kb, new_patient(), days_ahead=6)
    _take(sessions, missed.id)
    later = missed.start_at + timedelta(minutes=20)
    record_outcome(sessions, kb, visit_id=missed.id, outcome=Outcome.NO_SHOW, actor="front-desk", now=later)
    assert record_step(sessions, visit_id=missed.id, step=Step.KEPT, actor="front-desk", now=later).state is State.KEPT
    with UnitOfWork(sessions) as uow:
        day = missed.start_at.date()
        (row,) = late_and_missed(uow.session, SUMAS, day, day + timedelta(days=1))
    assert (row.visit_id, row.status) == (missed.id, "no-show")

    before = _entries(sessions)
    with pytest.raises(FieldProblems) as problems:
        record_step(sessions, visit_id=waived.id, step=Step.WAIVED, actor="admin", method="cash", now=NOW)
    assert {field for field, _ in problems.value.problems} == {"method", "reason"}
    with pytest.raises(FieldProblems) as problems:
        record_step(sessions, visit_id=waived.id, step=Step.TAKEN, actor="admin", method="bitcoin", reference="x" * 65)
    assert {field for field, _ in problems.value.problems} == {"method", "reference"}
    assert _entries(sessions) == before
    done = record_step(sessions, visit_id=waived.id, step=Step.WAIVED, actor="admin", reason="regular client", now=NOW)
    assert (done.state, done.todo) == (State.WAIVED, None)
    with pytest.raises(Refused):
        _take(sessions, waived.id)


def test_a_visit_at_a_clinic_that_asks_no_deposit_has_none_to_record(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    slot = find_slots_for(sessions, kb, treatment="botox", clinic_id=1, patient_id=patient, limit=1, now=NOW)[0]
    visit = book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=1,
        start=slot.slot.start,
        practitioner_id=int(slot.slot.practitioner_id),
        actor="front-desk",
        now=NOW,
    ).visit
    assert visit.deposit_cents == 0
    with pytest.raises(Refused) as refused:
        _take(sessions, visit.id)
    assert "needs no deposit" in refused.value.problems[0].message


def test_the_ledger_is_append_only_in_the_database(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _book(sessions, kb, new_patient())
    _take(sessions, visit.id)
    for statement in ("UPDATE deposit_entries SET amount_cents = 1", "DELETE FROM deposit_entries"):
        with UnitOfWork(sessions, write=True) as uow, pytest.raises(DBAPIError, match="append-only"):
            uow.session.execute(text(statement))
    with UnitOfWork(sessions) as uow:
        assert deposit_of_visit(uow.session, visit.id).entries[0].amount_cents == 5000


def test_late_and_missed_is_bounded_by_the_clinics_days(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        demo = late_and_missed(uow.session, 3, date(2026, 11, 13), date(2026, 11, 13))
        assert [(row.patient, row.status) for row in demo] == [("Megan Thiessen", "no-show")]
        assert late_and_missed(uow.session, 3, date(2026, 11, 14), date(2026, 11, 30)) == []
