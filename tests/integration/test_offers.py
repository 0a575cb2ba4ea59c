"""What a clinic offers and its booking policy, set by its administrator, on real SQLite and PostgreSQL: a change
applies to the next booking and slot search and never to a visit already booked; a refused change names every
field at fault and writes nothing; each change is audited with its values before and after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Booked, Refused, book
from safewindow.services.errors import FieldProblems, InputError, NotFound
from safewindow.services.offers import Offer, Policy, booking_policy, offers, set_booking_policy, set_offer
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1  # Fraser Valley Skin: botox 30 minutes, 5 before and 10 after, may-inject, a treatment room


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _botox(sessions: sessionmaker[Session], kb: KnowledgeBase) -> Offer:
    with UnitOfWork(sessions) as uow:
        (offer,) = [o for o in offers(uow.session, CLINIC, kb) if o.treatment == "botox"]
    return offer


def _first_slot(sessions: sessionmaker[Session], kb: KnowledgeBase, treatment: str = "botox") -> tuple[datetime, int]:
    """The first free time and who is free then."""
    found = find_slots_for(sessions, kb, treatment=treatment, clinic_id=CLINIC, limit=1, now=NOW)
    assert found, f"no {treatment} slot"
    return found[0].slot.start, int(found[0].slot.practitioner_id)


def _book(sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, slot: tuple[datetime, int]) -> Booked:
    start, practitioner = slot
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=start,
        practitioner_id=practitioner,
        actor="t",
        now=NOW,
    )


def _audit(sessions: sessionmaker[Session], action: str) -> list[models.AuditEntry]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(models.AuditEntry).where(models.AuditEntry.action == action)))


def test_a_longer_visit_with_longer_buffers_applies_to_the_next_booking_only(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    before = _book(sessions, kb, new_patient(), _first_slot(sessions, kb)).visit
    botox = _botox(sessions, kb)
    assert (botox.duration_minutes, botox.buffer_before_minutes, botox.buffer_after_minutes) == (30, 5, 10)
    longer = Offer(
        **{**botox.as_dict(), "duration_minutes": 45, "buffer_before_minutes": 15, "buffer_after_minutes": 20}
    )
    assert set_offer(sessions, kb, clinic_id=CLINIC, offer=longer, actor="admin") == longer

    after = _book(sessions, kb, new_patient(name="Second Patient"), _first_slot(sessions, kb)).visit
    assert (after.end_at - after.start_at, after.start_at - after.held_from, after.held_until - after.end_at) == (
        timedelta(minutes=45),
        timedelta(minutes=15),
        timedelta(minutes=20),
    )
    with UnitOfWork(sessions) as uow:
        kept = uow.session.get(models.Visit, before.id)
        assert kept is not None
        assert (kept.end_at - kept.start_at, kept.held_until - kept.end_at) == (
            timedelta(minutes=30),
            timedelta(minutes=10),
        )
    (entry,) = _audit(sessions, "clinic.treatment-changed")
    assert (entry.actor, entry.entity_id) == ("admin", str(CLINIC))
    assert entry.detail["before"]["duration_minutes"] == 30 and entry.detail["after"]["duration_minutes"] == 45


def test_a_treatment_no_longer_offered_cannot_be_booked_and_its_booked_visits_stay(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    start, practitioner = _first_slot(sessions, kb)
    booked = _book(sessions, kb, new_patient(), (start, practitioner)).visit
    set_offer(
        sessions, kb, clinic_id=CLINIC, offer=Offer(**{**_botox(sessions, kb).as_dict(), "active": False}), actor="a"
    )
    with pytest.raises(InputError, match="does not offer 'botox'") as refused:
        _book(sessions, kb, new_patient(name="Late Patient"), (start + timedelta(days=1), practitioner))
    assert refused.value.field == "treatment"
    with UnitOfWork(sessions) as uow:
        visit = uow.session.get(models.Visit, booked.id)
        assert visit is not None and visit.status == models.VisitStatus.BOOKED
    assert not _botox(sessions, kb).active


def test_a_treatment_not_offered_before_becomes_bookable(sessions: sessionmaker[Session], kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="does not offer 'kybella'"):
        _first_slot(sessions, kb, "kybella")
    kybella = Offer("kybella", "", 30, 10, 15, "may-inject", "treatment", None, True)
    saved = set_offer(sessions, kb, clinic_id=CLINIC, offer=kybella, actor="admin")
    assert saved.name == kb.treatments["kybella"].name
    found = find_slots_for(sessions, kb, treatment="kybella", clinic_id=CLINIC, limit=3, now=NOW)
    assert [s.slot.end - s.slot.start for s in found] == [timedelta(minutes=30)] * 3
    (entry,) = _audit(sessions, "clinic.treatment-offered")
    assert entry.detail["before"] is None and entry.detail["after"]["permission"] == "may-inject"


def test_a_refused_offer_names_every_field_at_fault_and_writes_nothing(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    botox = _botox(sessions, kb)
    wrong = Offer("botox", "", 0, 121, -1, None, "sauna", "time-machine", True)
    with pytest.raises(FieldProblems) as refused:
        set_offer(sessions, kb, clinic_id=CLINIC, offer=wrong, actor="admin")
    fields = [field for field, _ in refused.value.problems]
    assert fields == [
        "duration_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "permission",
        "room_kind",
        "device_kind",
    ]
    assert "Botox" in dict(refused.value.problems)["permission"]  # it injects: someone must be allowed to
    for offer, field in (
        (Offer(**{**botox.as_dict(), "treatment": "no-such-treatment"}), "treatment"),
        (Offer(**{**botox.as_dict(), "permission": "may-fly"}), "permission"),
    ):
        with pytest.raises(FieldProblems) as refused:
            set_offer(sessions, kb, clinic_id=CLINIC, offer=offer, actor="admin")
        assert refused.value.field == field
    assert _botox(sessions, kb) == botox
    assert not _audit(sessions, "clinic.treatment-changed") and not _audit(sessions, "clinic.treatment-offered")


def test_a_spa_treatment_may_need_no_permission_and_an_unchanged_offer_is_not_audited(
    sessions: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    dermaplaning = Offer("dermaplaning", "", 30, 5, 5, None, "treatment", None, True)
    set_offer(sessions, kb, clinic_id=CLINIC, offer=dermaplaning, actor="admin")
    set_offer(sessions, kb, clinic_id=CLINIC, offer=dermaplaning, actor="admin")
    assert len(_audit(sessions, "clinic.treatment-offered")) == 1
    assert not _audit(sessions, "clinic.treatment-changed")


def test_another_clinic_or_none_is_not_found(sessions: sessionmaker[Session], kb: KnowledgeBase) -> None:
    with pytest.raises(NotFound):
        set_offer(sessions, kb, clinic_id=999, offer=_botox(sessions, kb), actor="admin")
    with pytest.raises(NotFound):
        set_booking_policy(sessions, clinic_id=999, policy=Policy(60, 30, 15, 0), actor="admin")


def test_the_booking_policy_governs_notice_horizon_and_the_slot_grid(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    with UnitOfWork(sessions) as uow:
        was = booking_policy(uow.session, CLINIC)
    soon = _first_slot(sessions, kb)
    set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(3 * 24 * 60, 7, 30, 1440), actor="admin")

    with pytest.raises(Refused) as refused:
        _book(sessions, kb, new_patient(), soon)
    assert [p.code for p in refused.value.problems] == ["too-soon"], refused.value.problems
    found = find_slots_for(sessions, kb, treatment="botox", clinic_id=CLINIC, days=60, limit=500, now=NOW)
    assert found
    assert all(s.slot.start >= NOW + timedelta(days=3) for s in found)
    assert all(s.slot.start.astimezone(UTC).minute in (0, 30) for s in found)  # whole and half hours only
    last_day = max(s.slot.start.astimezone(s.zone).date() for s in found)
    assert last_day == NOW.date() + timedelta(days=7)  # today (25 Nov, local) and 7 days on, a Wednesday too
    (entry,) = _audit(sessions, "clinic.booking-policy-changed")
    assert entry.detail == {
        "before": was.as_dict(),
        "after": {
            "min_notice_minutes": 4320,
            "horizon_days": 7,
            "slot_step_minutes": 30,
            "change_notice_minutes": 1440,
        },
    }


def test_a_refused_policy_names_every_field_and_writes_nothing(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions) as uow:
        was = booking_policy(uow.session, CLINIC)
    with pytest.raises(FieldProblems) as refused:
        set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(-1, 0, 7, 20_161), actor="admin")
    assert [f for f, _ in refused.value.problems] == [
        "min_notice_minutes",
        "horizon_days",
        "slot_step_minutes",
        "change_notice_minutes",
    ]
    with UnitOfWork(sessions) as uow:
        assert booking_policy(uow.session, CLINIC) == was
        assert not uow.session.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "clinic.booking-policy-changed")
        )


def test_a_clinic_without_a_policy_reads_the_defaults_and_may_set_one(sessions: sessionmaker[Session]) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        policy = uow.session.get(models.BookingPolicy, CLINIC)
        uow.session.delete(policy)
        uow.commit()
    with UnitOfWork(sessions) as uow:
        assert booking_policy(uow.session, CLINIC) == Policy(120, 90, 15, 0)
    assert set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(60, 30, 10, 60), actor="a") == Policy(
        60, 30, 10, 60
    )
    with UnitOfWork(sessions) as uow:
        assert booking_policy(uow.session, CLINIC) == Policy(60, 30, 10, 60)


def test_a_time_nobody_may_take_is_explained_by_whoever_came_nearest(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    """Booked with no practitioner named, at a time only someone working then could take but for the notice:
    the reason is the notice, not that the first practitioner by id does not work then."""
    start, _ = _first_slot(sessions, kb)
    set_booking_policy(sessions, clinic_id=CLINIC, policy=Policy(3 * 24 * 60, 90, 15, 0), actor="admin")
    with pytest.raises(Refused) as refused:
        book(
            sessions, kb, patient_id=new_patient(), treatment="botox", clinic_id=CLINIC, start=start, actor="t", now=NOW
        )
    assert [p.code for p in refused.value.problems] == ["too-soon"]
