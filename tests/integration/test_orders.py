"""Prescribers' client-specific orders on real SQLite and PostgreSQL. A registered nurse gives botox only on an
authorized prescriber's order for the patient: without one the booking is refused and no slot of theirs is
offered; with one they may, on visits up to its last day. Only a practitioner who gives the treatment in their
own right may write or revoke an order, or override its soft rules. Revoking reports the booked visits it leaves
uncovered (never refused), and the chart flags them. Audited by ids, never with what was ordered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Override, Refused, book, reschedule
from safewindow.services.chart import load_chart
from safewindow.services.errors import InputError, NotFound
from safewindow.services.orders import orderable_by, orders_of, revoke_order, write_order
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW

CLINIC = 1  # Fraser Valley Skin Studio
BRAR, SIDHU, FRIESEN, BAINS = 1, 3, 4, 7  # physician, nurse practitioner, registered nurse, aesthetician
UNTIL = date(2027, 1, 31)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _nurse_slot(sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, first_day: date) -> datetime:
    """The registered nurse's first botox slot for the patient from `first_day`."""
    found = find_slots_for(
        sessions,
        kb,
        treatment="botox",
        clinic_id=CLINIC,
        patient_id=patient,
        practitioner_id=FRIESEN,
        first_day=first_day,
        limit=1,
        now=NOW,
    )
    assert found, "the nurse has no free botox time from that day"
    return found[0].slot.start


def _book_nurse(
    sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, start: datetime, **extra: object
) -> models.Visit:
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=CLINIC,
        start=start,
        practitioner_id=FRIESEN,
        actor="front-desk",
        now=NOW,
        **extra,  # type: ignore[arg-type]
    ).visit


def _order(sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, **given: object) -> int:
    values: dict[str, object] = {
        "patient_id": patient,
        "treatment": "botox",
        "prescriber_id": BRAR,
        "valid_until": UNTIL,
        "note": "Glabellar lines, assessed in person.",
        "actor": "anika.brar@fraservalleyskin.example",
        "now": NOW,
    } | given
    return write_order(sessions, kb, **values).id  # type: ignore[arg-type]


def _count(sessions: sessionmaker[Session], model: type[models.Base]) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_without_an_order_the_nurse_is_refused_and_offers_no_slot(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient, visits = new_patient(), _count(sessions, models.Visit)
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=NOW.tzinfo)  # 10:00 in Abbotsford; the nurse works Fridays
    with pytest.raises(Refused) as refused:
        _book_nurse(sessions, kb, patient, friday)
    assert [p.code for p in refused.value.problems] == ["practitioner-needs-order"]
    assert "only on an authorized prescriber's order" in refused.value.problems[0].message
    assert "has none" in refused.value.problems[0].message
    assert _count(sessions, models.Visit) == visits

    with pytest.raises(InputError) as named:
        find_slots_for(
            sessions, kb, treatment="botox", clinic_id=CLINIC, patient_id=patient, practitioner_id=FRIESEN, now=NOW
        )
    assert named.value.field == "practitioner"
    offered = find_slots_for(sessions, kb, treatment="botox", clinic_id=CLINIC, patient_id=patient, limit=50, now=NOW)
    assert offered and all(o.slot.practitioner_id != str(FRIESEN) for o in offered)


def test_an_order_lets_the_nurse_give_it_up_to_its_last_day(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    _order(sessions, kb, patient, valid_until=date(2026, 12, 4))
    offered = find_slots_for(sessions, kb, treatment="botox", clinic_id=CLINIC, patient_id=patient, limit=200, now=NOW)
    assert any(o.slot.practitioner_id == str(FRIESEN) for o in offered)

    visit = _book_nurse(sessions, kb, patient, _nurse_slot(sessions, kb, patient, date(2026, 12, 4)))
    assert visit.practitioner_id == FRIESEN

    _order(sessions, kb, patient, treatment="dermal-filler", valid_until=date(2027, 3, 1))  # another treatment
    with pytest.raises(Refused) as refused:
        # Tuesday 8 December, past the botox order's last day.
        _book_nurse(sessions, kb, patient, datetime(2026, 12, 8, 18, 0, tzinfo=NOW.tzinfo))
    codes = [p.code for p in refused.value.problems]
    assert "practitioner-needs-order" in codes
    assert any("covers visits to 2026-12-04" in p.message for p in refused.value.problems)


def test_the_nurse_slots_stop_on_the_orders_last_day(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    _order(sessions, kb, patient, valid_until=date(2026, 12, 2))
    found = find_slots_for(
        sessions,
        kb,
        treatment="botox",
        clinic_id=CLINIC,
        patient_id=patient,
        practitioner_id=FRIESEN,
        days=30,
        limit=500,
        now=NOW,
    )
    days = {o.slot.start.date() for o in found}
    assert days and max(days) <= date(2026, 12, 3)  # 2 Dec in Abbotsford, at most 3 Dec in UTC


@pytest.mark.parametrize(
    ("prescriber", "allowed"), [(BRAR, True), (SIDHU, True), (FRIESEN, False), (BAINS, False)], ids=str
)
def test_only_who_gives_it_in_their_own_right_may_order_it(
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    new_patient: Callable[..., int],
    prescriber: int,
    allowed: bool,
) -> None:
    patient, before = new_patient(), _count(sessions, models.ClientOrder)
    if allowed:
        _order(sessions, kb, patient, prescriber_id=prescriber)
        assert [o.prescriber_id for o in _orders(sessions, patient)] == [prescriber]
        return
    with pytest.raises(Refused) as refused:
        _order(sessions, kb, patient, prescriber_id=prescriber)
    assert [p.code for p in refused.value.problems] == ["not-a-prescriber"]
    assert _count(sessions, models.ClientOrder) == before


@pytest.mark.parametrize(
    ("practitioner", "clinic", "expected"),
    [
        (BRAR, None, ("botox", "botox-touch-up", "dermal-filler", "kybella")),
        (BRAR, 3, ("botox", "botox-touch-up", "dermal-filler")),  # Mill Lake offers no kybella
        (FRIESEN, None, ()),
        (BAINS, None, ()),
    ],
    ids=str,
)
def test_what_each_practitioner_may_order(
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    practitioner: int,
    clinic: int | None,
    expected: tuple[str, ...],
) -> None:
    with UnitOfWork(sessions) as uow:
        found = orderable_by(uow.session, kb, practitioner, clinic)
    assert found == expected


def _orders(sessions: sessionmaker[Session], patient: int) -> list:
    with UnitOfWork(sessions) as uow:
        return orders_of(uow.session, patient)


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"treatment": "no-such"}, "treatment"),
        ({"treatment": "microneedling"}, "treatment"),  # needs no prescriber's order
        ({"treatment": "rf-microneedling"}, "treatment"),  # clinic policy, and nobody gives it only on an order
        ({"valid_until": date(2026, 11, 24)}, "valid_until"),
        ({"valid_until": date(2029, 1, 1)}, "valid_until"),
        ({"note": "x" * 2001}, "note"),
        ({"patient_id": 9999}, "patient"),
        ({"prescriber_id": 9999}, "prescriber"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    new_patient: Callable[..., int],
    given: dict[str, object],
    field: str,
) -> None:
    patient, before = new_patient(), _count(sessions, models.ClientOrder)
    with pytest.raises(InputError) as error:
        _order(sessions, kb, patient, **given)
    assert error.value.field == field
    assert _count(sessions, models.ClientOrder) == before


def test_revoking_reports_the_visits_left_uncovered_and_the_chart_flags_them(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    order = _order(sessions, kb, patient)
    visit = _book_nurse(sessions, kb, patient, _nurse_slot(sessions, kb, patient, date(2026, 12, 1)))

    revoked = revoke_order(sessions, order_id=order, prescriber_id=SIDHU, actor="priya", now=NOW)
    assert revoked.order.revoked_by == "priya" and revoked.order.revoked_at is not None
    assert [p.code for p in revoked.uncovered] == ["practitioner-needs-order"]
    assert f"Visit {visit.id} (botox on " in revoked.uncovered[0].message

    with UnitOfWork(sessions) as uow:
        chart = load_chart(uow.session, kb, patient, now=NOW)
        status = uow.session.get(models.Visit, visit.id).status  # type: ignore[union-attr]
    assert status is models.VisitStatus.BOOKED  # a prescriber's decision is never refused for its consequences
    flagged = {v.visit_id: v.uncovered for v in chart.upcoming}
    assert flagged[visit.id] is not None and "Erin Friesen" in flagged[visit.id]  # type: ignore[operator]
    assert [o.in_force(NOW.date()) for o in chart.orders] == [False]

    again = revoke_order(sessions, order_id=order, prescriber_id=BRAR, actor="anika", now=NOW)
    assert again.uncovered == () and again.order.revoked_by == "priya"  # nothing changed, nothing audited
    assert again.already and not revoked.already
    assert [a for a, _ in _audit(sessions, order)] == ["order.written", "order.revoked"]


def test_another_order_in_force_keeps_the_visit_covered(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    first = _order(sessions, kb, patient)
    _order(sessions, kb, patient, prescriber_id=SIDHU, valid_until=date(2027, 2, 28))
    _book_nurse(sessions, kb, patient, _nurse_slot(sessions, kb, patient, date(2026, 12, 1)))
    assert revoke_order(sessions, order_id=first, prescriber_id=BRAR, actor="anika", now=NOW).uncovered == ()


def test_the_nurse_may_not_revoke_nor_override(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient("microneedling@2026-11-20")  # botox waits 14 days after it: a soft rule
    order = _order(sessions, kb, patient)
    with pytest.raises(Refused) as refused:
        revoke_order(sessions, order_id=order, prescriber_id=FRIESEN, actor="erin", now=NOW)
    assert [p.code for p in refused.value.problems] == ["not-a-prescriber"]

    soon = datetime(2026, 11, 27, 18, 0, tzinfo=NOW.tzinfo)  # Friday 10:00, a week after the microneedling
    with pytest.raises(Refused) as by_nurse:
        _book_nurse(sessions, kb, patient, soon, override=Override("Patient travels; reviewed.", FRIESEN))
    assert "override-not-qualified" in [p.code for p in by_nurse.value.problems]
    visit = _book_nurse(sessions, kb, patient, soon, override=Override("Patient travels; reviewed.", BRAR))
    assert visit.practitioner_id == FRIESEN


def test_unknown_order_is_not_found(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound) as error:
        revoke_order(sessions, order_id=424242, prescriber_id=BRAR, actor="anika", now=NOW)
    assert error.value.field == "order"


def test_the_audit_log_names_ids_and_never_what_was_ordered(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    order = _order(sessions, kb, patient, note="Secret dose note")
    ((action, detail),) = _audit(sessions, order)
    assert action == "order.written"
    assert detail == {"patient_id": patient, "prescriber_id": BRAR, "valid_until": UNTIL.isoformat()}
    assert "Secret" not in str(detail) and "botox" not in str(detail)


def test_the_demo_seed_patient_has_a_botox_order(sessions: sessionmaker[Session]) -> None:
    (order,) = _orders(sessions, 1)
    assert (order.treatment, order.prescriber, order.valid_until) == ("botox", "Dr. Anika Brar", date(2027, 5, 10))
    assert order.in_force(NOW.date()) and not order.in_force(date(2027, 5, 11))


def _audit(sessions: sessionmaker[Session], order: int) -> list[tuple[str, dict]]:
    with UnitOfWork(sessions) as uow:
        rows = uow.session.execute(
            select(models.AuditEntry.action, models.AuditEntry.detail)
            .where(models.AuditEntry.entity == "client_order", models.AuditEntry.entity_id == str(order))
            .order_by(models.AuditEntry.id)
        )
        return [(action, detail) for action, detail in rows]


def test_an_order_written_is_seen_by_a_booking_for_the_patient_right_after(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    # The order and the booking each take the patient's row: a booking that runs after the order commits sees it.
    patient = new_patient()
    start = NOW + timedelta(days=2, hours=2)  # Friday 27 Nov, 10:00 in Abbotsford
    with pytest.raises(Refused):
        _book_nurse(sessions, kb, patient, start)
    _order(sessions, kb, patient)
    assert _book_nurse(sessions, kb, patient, start).practitioner_id == FRIESEN


def test_moving_the_nurses_visit_past_the_orders_last_day_is_refused(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    _order(sessions, kb, patient, valid_until=date(2026, 12, 4))
    visit = _book_nurse(sessions, kb, patient, _nurse_slot(sessions, kb, patient, date(2026, 12, 1)))
    tuesday = datetime(2026, 12, 8, 18, 0, tzinfo=NOW.tzinfo)  # 10:00 on Tue 8 Dec, past the order's last day
    with pytest.raises(Refused) as refused:
        reschedule(sessions, kb, visit_id=visit.id, start=tuesday, actor="front-desk", now=NOW)
    assert "practitioner-needs-order" in [p.code for p in refused.value.problems]
    with UnitOfWork(sessions) as uow:
        assert uow.session.get(models.Visit, visit.id).start_at == visit.start_at  # type: ignore[union-attr]
