"""Plans on real SQLite and PostgreSQL: propose and book a whole plan in one transaction, propagate a move to
the visits it makes unsafe, and list recalls from what actually happened. Times are local Abbotsford times; the
demo's Fraser Valley Skin Studio (clinic 1) opens Tue-Sat 09-17 and closes 24 Dec - 1 Jan; Dr. Brar (1) works
there Tue and Thu, Priya Sidhu (3) Wed, Fri and Sat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.admin import adjust_rule
from safewindow.services.booking import Refused, book, reschedule
from safewindow.services.errors import InputError
from safewindow.services.notifications import Kind as NoticeKind
from safewindow.services.plans import book_plan, propose_plan
from safewindow.services.propagation import apply_move, plan_move
from safewindow.services.recalls import RecallStatus, recalls_for
from safewindow.store import models
from safewindow.store.outbox_models import OutboxMessage
from safewindow.store.plan_models import Plan, PlanVisit
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.invariants import assert_invariants

KB = default_knowledge_base()
PLANS = default_plans()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
TODAY = date(2026, 11, 25)
CLINIC = 1


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def shown(instant: datetime) -> str:
    return instant.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def count(sessions: sessionmaker[Session], model: type[models.Base]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def booking(sessions: sessionmaker[Session], patient: int, treatment: str, at: str) -> models.Visit:
    start = local(at)
    return book(
        sessions, KB, patient_id=patient, treatment=treatment, clinic_id=CLINIC, start=start, actor="test", now=NOW
    ).visit


def test_propose_then_book_the_series_in_one_transaction(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    proposal = propose_plan(
        sessions, KB, PLANS, template="microneedling-series-then-botox", patient_id=patient, clinic_id=CLINIC, now=NOW
    )
    result = proposal.as_dict()
    assert result["status"] == "optimal"
    # From 11:00 today (two hours' notice), then 28 days apart; 23 Dec is the last open day before the break.
    assert [(v["treatment"], v["start"], v["practitioner"], v["fit"]) for v in result["visits"]] == [
        ("microneedling", "2026-11-25T11:00:00-07:00", 3, "ideal"),
        ("microneedling", "2026-12-23T09:00:00-07:00", 3, "ideal"),
        ("microneedling", "2027-01-20T09:00:00-07:00", 3, "ideal"),
        ("botox", "2027-02-03T09:00:00-07:00", 3, "ideal"),
    ]
    assert result["recall"] == {"treatment": "botox", "due_start": "2027-05-04", "due_end": "2027-06-03"}
    assert count(sessions, models.Visit) == 8  # the demo's: a proposal writes nothing

    booked = book_plan(sessions, KB, proposal, actor="test", now=NOW)
    with UnitOfWork(sessions) as uow:
        plan = uow.session.get(Plan, booked.plan_id)
        assert plan is not None and plan.template == "microneedling-series-then-botox" and plan.status == "active"
        rows = uow.session.scalars(select(PlanVisit).where(PlanVisit.plan_id == plan.id).order_by(PlanVisit.visit_id))
        assert [(r.step, r.session) for r in rows] == [(0, 1), (0, 2), (0, 3), (1, 1)]
        visits = uow.session.scalars(select(models.Visit).where(models.Visit.patient_id == patient))
        assert sorted(shown(v.start_at) for v in visits) == [
            "2026-11-25T11:00",
            "2026-12-23T09:00",
            "2027-01-20T09:00",
            "2027-02-03T09:00",
        ]
        audit = uow.session.scalars(select(models.AuditEntry).where(models.AuditEntry.action == "plan.booked"))
        assert [a.entity_id for a in audit] == [str(plan.id)]
    assert_invariants(sessions, KB, TODAY)


def test_a_visit_taken_meanwhile_books_nothing_of_the_plan(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient, rival = new_patient(), new_patient()
    proposal = propose_plan(
        sessions, KB, PLANS, template="microneedling-series-then-botox", patient_id=patient, clinic_id=CLINIC, now=NOW
    )
    third = proposal.result.visits[2].slot
    book(
        sessions,
        KB,
        patient_id=rival,
        treatment="microneedling",
        clinic_id=CLINIC,
        start=third.start,
        practitioner_id=int(third.practitioner_id),
        actor="test",
        now=NOW,
    )
    before = count(sessions, models.Visit), count(sessions, Plan), count(sessions, models.AuditEntry)
    with pytest.raises(Refused) as error:
        book_plan(sessions, KB, proposal, actor="test", now=NOW)
    codes = [p.code for p in error.value.problems]
    assert codes[0] == "plan-visit-refused" and "practitioner-busy" in codes
    assert "2027-01-20T09:00:00-07:00" in error.value.problems[0].message
    assert (count(sessions, models.Visit), count(sessions, Plan), count(sessions, models.AuditEntry)) == before


def test_an_event_plan_and_bad_input(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    patient = new_patient()
    proposal = propose_plan(
        sessions,
        KB,
        PLANS,
        template="event-ready",
        patient_id=patient,
        clinic_id=CLINIC,
        event=date(2027, 1, 30),
        now=NOW,
    ).as_dict()
    assert proposal["status"] == "optimal"
    # Which of the two injections comes first that day is the solver's tie: each fits with the buffers between.
    assert sorted((v["start"][:10], v["treatment"]) for v in proposal["visits"]) == [
        ("2026-11-25", "microneedling"),
        ("2026-12-09", "botox"),  # 14 days later, a Wednesday: Priya Sidhu
        ("2026-12-09", "dermal-filler"),
    ]
    with pytest.raises(InputError, match="needs the event's date"):
        propose_plan(sessions, KB, PLANS, template="event-ready", patient_id=patient, clinic_id=CLINIC, now=NOW)
    with pytest.raises(InputError, match="did you mean event-ready"):
        propose_plan(sessions, KB, PLANS, template="event-reddy", patient_id=patient, clinic_id=CLINIC, now=NOW)
    with pytest.raises(InputError, match="no patient 999"):
        propose_plan(sessions, KB, PLANS, template="botox-and-filler", patient_id=999, clinic_id=CLINIC, now=NOW)


def test_moving_the_microneedling_a_week_later_replans_the_botox_it_makes_too_early(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    needling = booking(sessions, patient, "microneedling", "2026-12-01T10:00")  # a Tuesday: Dr. Brar
    botox = booking(sessions, patient, "botox", "2026-12-16T10:00")  # a Wednesday: Priya Sidhu
    with pytest.raises(Refused):  # a plain move is still refused
        reschedule(sessions, KB, visit_id=needling.id, start=local("2026-12-08T10:00"), actor="test", now=NOW)

    audited = count(sessions, models.AuditEntry)
    proposal = plan_move(sessions, KB, visit_id=needling.id, start=local("2026-12-08T10:00"), now=NOW)
    assert proposal.status.value == "optimal"
    assert [(a.visit_id, [p.code for p in a.reasons]) for a in proposal.unsafe] == [
        (botox.id, ["microneedling-then-botox"])
    ]
    # 14 days after 8 Dec is Tue 22 Dec; Priya Sidhu keeps the visit and works Wednesdays.
    assert [(r.visit_id, shown(r.start), r.practitioner_id) for r in proposal.replanned] == [
        (botox.id, "2026-12-23T09:00", 3)
    ]
    assert count(sessions, models.AuditEntry) == audited  # a proposal writes nothing
    with UnitOfWork(sessions) as uow:
        stored = uow.session.get(models.Visit, botox.id)
        assert stored is not None and shown(stored.start_at) == "2026-12-16T10:00"

    moved = apply_move(
        sessions,
        KB,
        visit_id=needling.id,
        start=local("2026-12-08T10:00"),
        replanned={r.visit_id: r.start for r in proposal.replanned},
        actor="test",
        now=NOW,
    )
    assert [(b.visit.id, shown(b.visit.start_at)) for b in moved] == [
        (needling.id, "2026-12-08T10:00"),
        (botox.id, "2026-12-23T09:00"),
    ]
    with UnitOfWork(sessions) as uow:
        changed = list(uow.session.scalars(select(models.AuditEntry).where(models.AuditEntry.action == "plan.changed")))
        assert [(a.entity, a.entity_id, a.detail["trigger_visit"]) for a in changed] == [
            ("patient", str(patient), needling.id)
        ]
        assert {m["visit_id"] for m in changed[0].detail["moves"]} == {needling.id, botox.id}
    assert_invariants(sessions, KB, TODAY)


def test_moving_the_botox_earlier_replans_the_microneedling_before_it(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    needling = booking(sessions, patient, "microneedling", "2026-12-03T10:00")  # a Thursday: Dr. Brar
    botox = booking(sessions, patient, "botox", "2026-12-17T10:00")
    proposal = plan_move(sessions, KB, visit_id=botox.id, start=local("2026-12-10T10:00"), now=NOW)
    assert [a.visit_id for a in proposal.unsafe] == [needling.id]
    # At least 14 days before 10 Dec: 26 Nov at the latest, Thursday, Dr. Brar's day.
    assert [(r.visit_id, shown(r.start)) for r in proposal.replanned] == [(needling.id, "2026-11-26T09:00")]
    apply_move(sessions, KB, visit_id=botox.id, start=local("2026-12-10T10:00"), actor="test", now=NOW)
    assert_invariants(sessions, KB, TODAY)


def test_a_move_that_affects_nothing_and_one_that_cannot_be_made_safe(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient("botox@2026-11-10")
    needling = booking(sessions, patient, "microneedling", "2026-12-01T10:00")
    calm = plan_move(sessions, KB, visit_id=needling.id, start=local("2026-12-03T10:00"), now=NOW)
    assert (calm.unsafe, calm.replanned, calm.status.value) == ((), (), "optimal")
    # 20 Nov is too soon after the Botox had elsewhere on 10 Nov, and that visit cannot move.
    stuck = plan_move(sessions, KB, visit_id=needling.id, start=local("2026-11-20T10:00"), now=NOW)
    assert stuck.status.value == "infeasible"
    assert [p.code for p in stuck.problems] == ["botox-then-microneedling"]
    with pytest.raises(Refused):
        apply_move(sessions, KB, visit_id=needling.id, start=local("2026-11-20T10:00"), actor="test", now=NOW)


def _done(session: Session, patient: int, treatment: str, at: str, clinic: int = CLINIC) -> None:
    start = local(at)
    practitioner, room = (1, 1) if clinic == CLINIC else (2, 4)
    session.add(
        models.Visit(
            patient_id=patient,
            clinic_id=clinic,
            treatment_slug=treatment,
            practitioner_id=practitioner,
            room_id=room,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            held_from=start,  # no buffers
            held_until=start + timedelta(minutes=30),
            status=models.VisitStatus.COMPLETED,
            created_by="test",
        )
    )


def test_recalls_from_what_actually_happened(sessions: sessionmaker[Session], new_patient: Callable[..., int]) -> None:
    touched_up, pregnant, rebooked, overdue, soon, elsewhere = (new_patient() for _ in range(6))
    with UnitOfWork(sessions, write=True) as uow:
        _done(uow.session, touched_up, "botox", "2026-08-20T09:00")
        _done(uow.session, touched_up, "botox-touch-up", "2026-09-03T09:00")  # does not restart the count
        _done(uow.session, pregnant, "botox", "2026-08-20T10:00")
        uow.session.add(models.PatientFactor(patient_id=pregnant, factor_id="pregnancy", recorded_by="test"))
        _done(uow.session, rebooked, "botox", "2026-08-20T11:00")
        _done(uow.session, overdue, "botox", "2026-05-05T09:00")
        _done(uow.session, soon, "botox", "2026-09-10T09:00")
        _done(uow.session, elsewhere, "botox", "2026-08-20T09:00", clinic=2)
        uow.commit()
    booking(sessions, rebooked, "botox", "2026-12-01T10:00")  # 103 days on: the recall is answered

    items = recalls_for(sessions, KB, PLANS.recalls, clinic_id=CLINIC, now=NOW)
    assert [(i.patient_id, i.status, i.due_start.isoformat(), i.due_end.isoformat()) for i in items] == [
        (overdue, RecallStatus.OVERDUE, "2026-08-03", "2026-09-02"),
        (touched_up, RecallStatus.DUE, "2026-11-18", "2026-12-18"),
        (soon, RecallStatus.UPCOMING, "2026-12-09", "2027-01-08"),
    ]
    for item in items:
        assert item.first_slot is not None
        first = item.first_slot.slot.start.astimezone(ZONE).date()
        assert first >= max(item.due_start, TODAY)
    assert items[2].first_slot is not None
    assert items[2].first_slot.as_dict()["start"].startswith("2026-12-09")
    # A month later the upcoming one is due, and the due one overdue.
    later = recalls_for(sessions, KB, PLANS.recalls, clinic_id=CLINIC, on=date(2026, 12, 20), now=NOW)
    assert [(i.patient_id, i.status) for i in later] == [
        (overdue, RecallStatus.OVERDUE),
        (touched_up, RecallStatus.OVERDUE),
        (soon, RecallStatus.DUE),
    ]


def test_moving_a_planned_visit_tells_the_patient_the_plan_changed(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    patient = new_patient(email="plan.patient@example.com")
    proposal = propose_plan(
        sessions, KB, PLANS, template="microneedling-series-then-botox", patient_id=patient, clinic_id=CLINIC, now=NOW
    )
    booked = book_plan(sessions, KB, proposal, actor="test", now=NOW)
    with UnitOfWork(sessions) as uow:
        first = min(
            uow.session.scalars(select(models.Visit).where(models.Visit.patient_id == patient)),
            key=lambda v: v.start_at,
        )
    # A week later: the second session (23 Dec) is then too soon, so it is re-planned with it.
    apply_move(sessions, KB, visit_id=first.id, start=first.start_at + timedelta(days=7), actor="test", now=NOW)
    with UnitOfWork(sessions) as uow:
        notices = list(
            uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == str(NoticeKind.PLAN_CHANGED)))
        )
    assert [(n.recipient, n.patient_id) for n in notices] == [("plan.patient@example.com", patient)]
    assert booked.plan_id
    assert_invariants(sessions, KB, TODAY)


def test_a_proposal_goes_by_the_clinics_tightened_rules(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    """Every channel (the CLI too) passes the knowledge base as shipped: the service applies the clinic's own."""
    adjust_rule(
        sessions,
        KB,
        clinic_id=CLINIC,
        rule_id="microneedling-then-botox",
        changes={"min": "21", "ideal_start": "21 days"},
        actor="clinic-admin:5",
        now=NOW,
    )
    proposal = propose_plan(
        sessions,
        KB,
        PLANS,
        template="microneedling-series-then-botox",
        patient_id=new_patient(),
        clinic_id=CLINIC,
        now=NOW,
    ).as_dict()
    assert proposal["status"] == "optimal"
    days = [date.fromisoformat(v["start"][:10]) for v in proposal["visits"]]
    assert days[3] - days[2] >= timedelta(days=21)  # 14 by the knowledge base, 21 at this clinic
