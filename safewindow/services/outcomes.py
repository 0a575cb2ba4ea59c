"""What happened at a visit, recorded by the clinic's staff once it has begun: the patient came and was treated
(completed) or did not come (no-show). One transaction, audited with what it was before.

The outcome is a fact, so it is never refused for its consequences; they are reported instead. A completed
visit is history: it starts recalls and counts in the timing rules of every later visit. A no-show is not: the
treatment did not happen, so its waits no longer hold the patient back. A mistaken outcome may be corrected
(completed to no-show or back); back in the history, the visit's waits hold again, and each later visit booked
meanwhile that they now forbid comes back with the rule it breaks, still booked, for staff to move or cancel
it. A cancelled visit has no outcome, and a visit that has not begun cannot have one yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services import webhooks
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.booking import Problem, Refused, audit_visit, dependents, lock_visit, write_visit
from safewindow.services.local_time import short_local
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork


class Outcome(StrEnum):
    COMPLETED = "completed"
    NO_SHOW = "no-show"


@dataclass(frozen=True, slots=True)
class Recorded:
    visit: models.Visit
    was: models.VisitStatus
    unsafe: tuple[Problem, ...]  # later visits of the patient this outcome makes unsafe

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.visit.id,
            "status": str(self.visit.status),
            "was": str(self.was),
            "unsafe": [p.as_dict() for p in self.unsafe],
        }


def record_outcome(
    session_factory: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    visit_id: int,
    outcome: Outcome,
    actor: str,
    now: datetime | None = None,
) -> Recorded:
    """Record that the visit was completed or a no-show. Recording the outcome it has already changes nothing
    and is not audited (a retried request)."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        visit = lock_visit(session, visit_id)
        if visit.status is models.VisitStatus.CANCELLED:
            raise Refused([Problem("visit-cancelled", f"Visit {visit_id} was cancelled: it has no outcome.")])
        zone = clinic_zone(visit.clinic.time_zone)
        if visit.start_at > now:
            begins = short_local(visit.start_at, visit.clinic.time_zone)
            raise Refused(
                [Problem("visit-not-begun", f"Visit {visit_id} begins on {begins}: record what happened once it has.")]
            )
        was = visit.status
        status = models.VisitStatus(outcome.value)
        if was is status:
            return Recorded(visit, was, ())
        kb = knowledge_for_clinic(session, visit.clinic_id, kb)
        day, today = clinic_day(visit.start_at, zone), clinic_day(now, zone)

        def set_status() -> None:
            visit.status = status

        def unsafe_if(was_on: date | None, then_on: date | None) -> list[Problem]:
            # The patient's diary holds their active visits: this one must be among them when it is read.
            return dependents(kb, session, visit, today, was_on=was_on, then_on=then_on, breaks="now breaks")

        if status is models.VisitStatus.NO_SHOW:  # out of the history
            unsafe = unsafe_if(day, None)
            write_visit(session, set_status)
        elif was is models.VisitStatus.NO_SHOW:  # back into it; holding its practitioner, room and device again,
            write_visit(session, set_status)  # which the database refuses if the time was booked meanwhile
            unsafe = unsafe_if(None, day)
        else:  # booked to completed: the history is the same
            write_visit(session, set_status)
            unsafe = []
        audit_visit(session, actor, f"visit.{outcome.value}", visit, was=str(was))
        webhooks.enqueue_visit_event(session, visit, outcome.value, now=now)  # the clinic's systems hear of it
        uow.commit()
        return Recorded(visit, was, tuple(unsafe))
