"""The outbox on real SQLite and PostgreSQL: a change to a visit is recorded in the caller's transaction and
written as mail by the worker's first step, a move or a cancellation drops what was pending for the visit, and
the opt-out holds back non-essential mail only.
Times are local Abbotsford times; the demo's clinic 1 opens Tue-Sat 09-17 and is on UTC-7."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book, cancel, reschedule
from safewindow.services.calendar_files import (
    FeedOwner,
    feed_for,
    issue_feed_token,
    resolve_feed_token,
    revoke_feed_token,
)
from safewindow.services.mail_choices import set_opt_out
from safewindow.services.notifications import (
    FINAL_WORD,
    plan_changed,
    recall_due,
    record_visit_change,
    write_mail_for_changes,
    write_visit_mail,
)
from safewindow.services.offers import Offer, Policy, offers, set_booking_policy, set_offer
from safewindow.store import models
from safewindow.store.outbox_models import CalendarFeed, OutboxMessage, OwnerKind, VisitChange
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.worker import RunReport, _claim

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
CLINIC = 1
EMAIL = "asha.grewal@example.com"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
def asha(new_patient: Callable[..., int]) -> Callable[..., int]:
    """A patient with an e-mail address (or none), as the notifications need."""

    def make(email: str | None = EMAIL) -> int:
        return new_patient(name="Asha Grewal", email=email)

    return make


def book_at(sessions: sessionmaker[Session], patient: int, at: str, treatment: str = "botox") -> models.Visit:
    """Book at clinic 1 at `at` (local time); the mail waits for the worker."""
    return book(
        sessions, KB, patient_id=patient, treatment=treatment, clinic_id=CLINIC, start=local(at), actor="t", now=NOW
    ).visit


def booked(sessions: sessionmaker[Session], patient: int, treatment: str, at: str) -> int:
    """Book, then write the booking's mail as the worker's first step does."""
    visit = book_at(sessions, patient, at, treatment)
    write_mail_for_changes(sessions, kb=KB)
    return visit.id


def enqueue(sessions: sessionmaker[Session], visit_id: int, event: str, **extra: object) -> list[str]:
    with UnitOfWork(sessions, write=True) as uow:
        visit = uow.session.get(models.Visit, visit_id)
        assert visit is not None
        keys = [m.delivery_key for m in write_visit_mail(uow.session, visit, event, now=NOW, **extra)]  # type: ignore[arg-type]
        uow.commit()
        return keys


def changes(sessions: sessionmaker[Session]) -> list[tuple[int, int, str]]:
    with UnitOfWork(sessions) as uow:
        rows = uow.session.scalars(select(VisitChange).order_by(VisitChange.id))
        return [(c.visit_id, c.visit_version, c.event) for c in rows]


def pending(sessions: sessionmaker[Session], **where: object) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        query = select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.due_at, OutboxMessage.id)
        return list(uow.session.scalars(query))


def kinds_and_times(rows: list[OutboxMessage]) -> list[tuple[str, datetime]]:
    return [(m.kind, m.due_at) for m in rows]


def test_a_booking_writes_the_confirmation_reminders_and_aftercare(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()
    visit = booked(sessions, patient, "botox", "2026-12-01T10:00")
    rows = pending(sessions, visit_id=visit)
    assert kinds_and_times(rows) == [
        ("visit-booked", NOW),
        ("reminder-48h", utc(2026, 11, 29, 17, 0)),
        ("reminder-2h", utc(2026, 12, 1, 15, 0)),
        ("aftercare", utc(2026, 12, 2, 2, 0)),  # day 0, 19:00 in Abbotsford
        ("aftercare", utc(2026, 12, 2, 16, 0)),  # day 1, 09:00
        ("aftercare", utc(2026, 12, 4, 16, 0)),  # day 3
        ("aftercare", utc(2026, 12, 15, 16, 0)),  # day 14, the end of the usual recovery time
    ]
    assert {m.recipient for m in rows} == {EMAIL} and {m.patient_id for m in rows} == {patient}
    assert [m.essential for m in rows] == [True, False, False, True, True, True, True]
    assert len({m.delivery_key for m in rows}) == len(rows)

    confirmation = rows[0]
    assert confirmation.ics is not None and confirmation.ics_method == "REQUEST"
    [event] = Calendar.from_ical(confirmation.ics).events
    assert event.start == utc(2026, 12, 1, 17, 0) and event.uid == f"visit-{visit}@safewindow"
    assert "Tuesday 1 December 2026 at 10:00" in confirmation.body
    assert "Botox" not in confirmation.subject  # subjects show on lock screens: no treatment in them
    assert "To cancel or move it, sign in and open My visits, or contact the clinic." in confirmation.body
    assert confirmation.body.rstrip().endswith("Telephone 604-555-0100")

    for aftercare in rows[3:]:
        assert aftercare.body.rstrip().endswith(FINAL_WORD)
        assert "If you have any concerns, contact Fraser Valley Skin Studio." in aftercare.body
        assert "Call the clinic now if you notice any of these (or 911 where it says so):" in aftercare.body
        assert "call 911" in aftercare.body  # botulinum toxin's urgent sign
    assert "Stay upright" in rows[3].body


def test_the_confirmation_gives_the_clinics_notice_for_changes_made_online(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    set_booking_policy(sessions, clinic_id=1, policy=Policy(120, 90, 15, 48 * 60), actor="admin")
    visit = booked(sessions, asha(), "botox", "2026-12-01T10:00")
    confirmation = pending(sessions, visit_id=visit)[0]
    assert confirmation.kind == "visit-booked"
    assert (
        "To cancel or move it, sign in and open My visits until 48 hours before it begins; "
        "after that, please call the clinic." in confirmation.body
    )


def test_the_confirmation_states_the_deposit_the_clinic_asks_and_when_it_may_keep_it(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    without = booked(sessions, asha(), "botox", "2026-12-01T10:00")
    assert "deposit" not in pending(sessions, visit_id=without)[0].body
    with UnitOfWork(sessions) as uow:
        (botox,) = [o for o in offers(uow.session, CLINIC, KB) if o.treatment == "botox"]
    asked = Offer(**(botox.as_dict() | {"deposit_cents": 5000}))  # type: ignore[arg-type]
    set_offer(sessions, KB, clinic_id=CLINIC, offer=asked, actor="admin")
    set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(120, 90, 15, 24 * 60), actor="admin")
    visit = booked(sessions, asha(), "botox", "2026-12-02T10:00")
    confirmation = pending(sessions, visit_id=visit)[0]
    assert (
        "Fraser Valley Skin Studio asks a $50.00 deposit to hold this visit; the clinic will contact you to take "
        "it. If the visit is cancelled less than 24 hours before it begins, or missed, the clinic may keep it; "
        "otherwise it counts toward your visit, or is refunded if you cancel." in confirmation.body.replace("\n", " ")
    )


def test_filler_aftercare_says_to_call_the_clinic_or_emergency_services(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    visit = booked(sessions, asha(), "dermal-filler", "2026-12-01T10:00")
    aftercare = [m for m in pending(sessions, visit_id=visit) if m.kind == "aftercare"]
    assert aftercare
    for message in aftercare:
        assert "call the clinic or emergency services (911) at once" in message.body


def test_enqueueing_the_same_event_twice_writes_it_once(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    visit = booked(sessions, asha(), "botox", "2026-12-01T10:00")
    before = len(pending(sessions, visit_id=visit))
    assert enqueue(sessions, visit, "booked") == []
    assert len(pending(sessions, visit_id=visit)) == before


def test_a_change_lives_and_dies_with_the_callers_transaction_and_its_mail_is_written_once(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()

    def add_visit(session: Session) -> models.Visit:
        visit = models.Visit(
            patient_id=patient,
            clinic_id=CLINIC,
            treatment_slug="microneedling",
            practitioner_id=1,
            start_at=local("2026-12-02T10:00"),
            end_at=local("2026-12-02T11:00"),
            held_from=local("2026-12-02T10:00"),  # no buffers
            held_until=local("2026-12-02T11:00"),
            created_by="test",
        )
        session.add(visit)
        session.flush()
        record_visit_change(session, visit, "booked", now=NOW)
        return visit

    with UnitOfWork(sessions, write=True) as uow:
        add_visit(uow.session)
        assert uow.session.scalar(select(func.count()).select_from(VisitChange)) == 1
        uow.rollback()
    assert changes(sessions) == []
    assert write_mail_for_changes(sessions, kb=KB) == 0
    assert pending(sessions, patient_id=patient) == []

    with UnitOfWork(sessions, write=True) as uow:
        visit_id = add_visit(uow.session).id
        uow.commit()
    assert changes(sessions) == [(visit_id, 1, "booked")]
    assert pending(sessions, patient_id=patient) == []  # nothing rendered in the booking's transaction
    assert write_mail_for_changes(sessions, kb=KB) == 7
    assert changes(sessions) == []
    assert write_mail_for_changes(sessions, kb=KB) == 0  # written once, however often the worker runs
    assert len(pending(sessions, patient_id=patient)) == 7


def test_a_booking_records_one_change_and_renders_no_mail(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()
    visit = book_at(sessions, patient, "2026-12-01T10:00")
    assert changes(sessions) == [(visit.id, 1, "booked")]
    assert pending(sessions, patient_id=patient) == []


def test_a_change_superseded_before_its_mail_was_written_writes_nothing(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()
    visit = book_at(sessions, patient, "2026-12-01T10:00")
    reschedule(sessions, KB, visit_id=visit.id, start=local("2026-12-08T11:00"), actor="t", now=NOW)
    assert [event for _, _, event in changes(sessions)] == ["booked", "rescheduled"]
    write_mail_for_changes(sessions, kb=KB)
    rows = pending(sessions, visit_id=visit.id)
    assert all(f"visit-{visit.id}-v2-" in m.delivery_key for m in rows)  # nothing for the time that no longer holds
    assert kinds_and_times(rows)[:3] == [
        ("visit-moved", NOW),
        ("reminder-48h", utc(2026, 12, 6, 18, 0)),
        ("reminder-2h", utc(2026, 12, 8, 16, 0)),
    ]
    assert "(it was Tuesday 1 December 2026 at 10:00)" in rows[0].body


def test_each_transaction_writes_at_most_its_batch_oldest_first_and_a_round_goes_on_until_none_wait(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    visits = [book_at(sessions, asha(email=f"p{n}@example.com"), f"2026-12-0{n + 1}T10:00").id for n in range(3)]
    write_mail_for_changes(sessions, kb=KB, batch=2, rounds=1)
    assert [visit for visit, _, _ in changes(sessions)] == visits[2:]
    assert {m.visit_id for m in pending(sessions)} == set(visits[:2])
    book_at(sessions, asha(email="p3@example.com"), "2026-12-04T10:00")
    write_mail_for_changes(sessions, kb=KB, batch=1)  # a transaction each, until none is left
    assert changes(sessions) == []
    assert len({m.visit_id for m in pending(sessions)}) == 4


def test_an_older_change_writes_nothing_after_another_worker_wrote_the_newer_one(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    """Two workers: one held the booking's change while the other wrote the move's mail and deleted its change.
    The booking's change, written last, must not bring back the confirmation and reminders of the old time."""
    visit = book_at(sessions, asha(), "2026-12-01T10:00")
    reschedule(sessions, KB, visit_id=visit.id, start=local("2026-12-08T11:00"), actor="t", now=NOW)
    with UnitOfWork(sessions, write=True) as uow:  # the other worker, on the move's change alone
        session = uow.session
        moved = session.scalars(select(VisitChange).where(VisitChange.event == "rescheduled")).one()
        current = session.get(models.Visit, visit.id)
        assert current is not None
        write_visit_mail(session, current, moved.event, now=NOW, kb=KB, was=moved.was)
        session.delete(moved)
        uow.commit()
    assert [event for _, _, event in changes(sessions)] == ["booked"]
    assert write_mail_for_changes(sessions, kb=KB) == 0
    assert changes(sessions) == []
    rows = pending(sessions, visit_id=visit.id)
    assert rows and all(f"visit-{visit.id}-v2-" in m.delivery_key for m in rows)


def test_workers_writing_at_once_leave_only_each_visits_latest_mail(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    """Several workers each take small batches at the same time: every change is written or superseded once,
    and what waits to be sent is each visit's mail as it now stands, never an older version's."""
    final: dict[int, int] = {}
    for n in range(6):
        patient = asha(email=f"patient-{n}@example.com")
        visit = book_at(sessions, patient, f"2026-12-0{1 + n % 3}T1{n // 3}:00")
        final[visit.id] = 1
        if n % 2:
            moved = reschedule(
                sessions, KB, visit_id=visit.id, start=visit.start_at + timedelta(days=7), actor="t", now=NOW
            )
            final[visit.id] = moved.visit.version
        if n % 3 == 0:
            final[visit.id] = cancel(sessions, KB, visit_id=visit.id, actor="t", now=NOW).version
    assert len(changes(sessions)) == 6 + 3 + 2
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            while changes(sessions):
                write_mail_for_changes(sessions, kb=KB, batch=2)
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and changes(sessions) == []
    for visit, version in final.items():
        rows = pending(sessions, visit_id=visit)
        assert rows and all(f"visit-{visit}-v{version}-" in m.delivery_key for m in rows), (visit, version)


def test_the_worker_holds_a_visits_mail_while_a_newer_change_waits(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    """A move committed after the worker wrote this round's mail: the old confirmation must not go out."""
    visit = booked(sessions, asha(), "botox", "2026-12-01T10:00")
    confirmation = pending(sessions, visit_id=visit)[0]
    reschedule(sessions, KB, visit_id=visit, start=local("2026-12-08T11:00"), actor="t", now=NOW)
    assert _claim(sessions, confirmation.id, NOW, RunReport()) is None
    write_mail_for_changes(sessions, kb=KB)
    assert confirmation.delivery_key not in {m.delivery_key for m in pending(sessions, visit_id=visit)}
    moved = pending(sessions, visit_id=visit)[0]
    assert moved.kind == "visit-moved"
    claimed = _claim(sessions, moved.id, NOW, RunReport())
    assert claimed is not None and claimed.delivery_key == f"visit-{visit}-v2-visit-moved"


def _mark_sent(sessions: sessionmaker[Session], message_id: int) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        row = uow.session.get(OutboxMessage, message_id)
        assert row is not None
        row.sent_at = NOW
        uow.commit()


def test_a_move_drops_the_visits_pending_mail_and_sends_the_new_time(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    visit = booked(sessions, asha(), "botox", "2026-12-01T10:00")
    confirmation = pending(sessions, visit_id=visit)[0]
    _mark_sent(sessions, confirmation.id)
    reschedule(sessions, KB, visit_id=visit, start=local("2026-12-08T11:00"), actor="t", now=NOW)
    write_mail_for_changes(sessions, kb=KB)

    rows = pending(sessions, visit_id=visit)
    sent = [m for m in rows if m.sent_at is not None]
    assert [m.delivery_key for m in sent] == [f"visit-{visit}-v1-visit-booked"]  # what went out stays
    unsent = [m for m in rows if m.sent_at is None]
    assert all(f"visit-{visit}-v2-" in m.delivery_key for m in unsent)
    assert kinds_and_times(unsent)[:3] == [
        ("visit-moved", NOW),
        ("reminder-48h", utc(2026, 12, 6, 18, 0)),
        ("reminder-2h", utc(2026, 12, 8, 16, 0)),
    ]
    moved = unsent[0]
    assert "Tuesday 8 December 2026 at 11:00" in moved.body and "Tuesday 1 December 2026 at 10:00" in moved.body
    assert moved.ics is not None
    [event] = Calendar.from_ical(moved.ics).events
    assert (event.uid, event.sequence, event.start) == (f"visit-{visit}@safewindow", 1, utc(2026, 12, 8, 18, 0))
    assert {m.due_at for m in unsent if m.kind == "aftercare"} >= {utc(2026, 12, 9, 2, 0), utc(2026, 12, 9, 16, 0)}


def test_a_cancellation_drops_pending_mail_and_sends_a_cancel(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    visit = booked(sessions, asha(), "microneedling", "2026-12-02T10:00")
    cancel(sessions, KB, visit_id=visit, actor="t", now=NOW)
    write_mail_for_changes(sessions, kb=KB)
    [only] = pending(sessions, visit_id=visit)
    assert only.kind == "visit-cancelled" and only.ics_method == "CANCEL" and only.essential
    assert only.ics is not None
    calendar = Calendar.from_ical(only.ics)
    assert calendar["METHOD"] == "CANCEL"
    assert str(calendar.events[0]["STATUS"]) == "CANCELLED"


def test_the_opt_out_holds_back_reminders_and_recalls_not_care(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()
    visit = booked(sessions, patient, "botox", "2026-12-01T10:00")
    with UnitOfWork(sessions, write=True) as uow:
        recall = recall_due(
            uow.session, patient_id=patient, clinic_id=CLINIC, treatment_slug="botox", due_on=date(2027, 3, 1), now=NOW
        )
        assert recall is not None and not recall.essential
        assert recall.due_at == utc(2027, 3, 1, 16, 0)  # 09:00 in Abbotsford
        uow.commit()
    with UnitOfWork(sessions, write=True) as uow:
        set_opt_out(uow.session, patient, True, now=NOW)
        uow.commit()
    kinds = [m.kind for m in pending(sessions, patient_id=patient)]
    assert "reminder-48h" not in kinds and "reminder-2h" not in kinds and "recall" not in kinds
    assert kinds.count("aftercare") == 4 and "visit-booked" in kinds

    later = booked(sessions, patient, "microneedling", "2026-12-17T10:00")
    assert [m.kind for m in pending(sessions, visit_id=later)] == ["visit-booked"] + ["aftercare"] * 4
    with UnitOfWork(sessions, write=True) as uow:
        again = recall_due(
            uow.session, patient_id=patient, clinic_id=CLINIC, treatment_slug="botox", due_on=date(2027, 3, 2), now=NOW
        )
        assert again is None
        changed = plan_changed(uow.session, patient_id=patient, clinic_id=CLINIC, plan_id=5, plan_version=2, now=NOW)
        assert changed is not None and changed.essential  # a changed plan is care, not marketing
        uow.commit()
    assert visit != later


def test_a_patient_without_an_email_address_gets_nothing(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha(email=None)
    booked(sessions, patient, "botox", "2026-12-01T10:00")
    assert pending(sessions, patient_id=patient) == []


def test_a_calendar_feed_token_is_stored_hashed_resolved_and_revoked(
    sessions: sessionmaker[Session], asha: Callable[..., int]
) -> None:
    patient = asha()
    visit = booked(sessions, patient, "botox", "2026-12-01T10:00")
    with UnitOfWork(sessions, write=True) as uow:
        token = issue_feed_token(uow.session, FeedOwner(OwnerKind.PATIENT, patient))
        practitioner_token = issue_feed_token(uow.session, FeedOwner(OwnerKind.PRACTITIONER, 1))
        uow.commit()
    with UnitOfWork(sessions) as uow:
        stored = list(uow.session.scalars(select(CalendarFeed.token_hash)))
        assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored
        owner = resolve_feed_token(uow.session, token)
        assert owner == FeedOwner(OwnerKind.PATIENT, patient)
        calendar = Calendar.from_ical(feed_for(uow.session, owner, KB, now=NOW))
        assert [e.uid for e in calendar.events] == [f"visit-{visit}@safewindow"]
        assert calendar.events[0].start == utc(2026, 12, 1, 17, 0)
        by_practitioner = resolve_feed_token(uow.session, practitioner_token)
        assert by_practitioner is not None
        data = feed_for(uow.session, by_practitioner, KB, now=NOW)
        assert b"Asha" not in data and b"Grewal" not in data
        assert resolve_feed_token(uow.session, "not-a-token") is None
    with UnitOfWork(sessions, write=True) as uow:
        assert revoke_feed_token(uow.session, token, now=NOW)
        uow.commit()
    with UnitOfWork(sessions) as uow:
        assert resolve_feed_token(uow.session, token) is None
        assert resolve_feed_token(uow.session, practitioner_token) is not None
