"""A practitioner's time off on real SQLite and PostgreSQL: added, listed and removed, audited without its
reason; a booking into it is refused; adding it over a booked visit, at this clinic or another where they work,
is refused listing the visit and writes nothing; each bad input names its field; whole days start and end at
the clinic's midnight, whatever the clocks do. A booking and a change of time off that race each see the other:
tests/integration/test_setup_races.py (PostgreSQL only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import Booked, Refused, book
from safewindow.services.errors import InputError, NotFound
from safewindow.services.time_off import (
    add_local_time_off,
    add_time_off,
    local_span,
    remove_time_off,
    upcoming_time_off,
)
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork

ZONE = ZoneInfo("America/Vancouver")
NOW = datetime(2026, 11, 12, 17, 0, tzinfo=UTC)  # Thursday 12 Nov 2026, 10:00 at the clinic
FRASER_VALLEY, SUMAS, MILL_LAKE = 1, 2, 3
BRAR = 1  # Dr. Anika Brar: Fraser Valley on Tuesdays and Thursdays, Mill Lake on Wednesdays and Fridays
WIEBE = 2  # Dr. Thomas Wiebe: Sumas only, off for a conference on 27 Nov 2026
HANNAH = 6  # Hannah Dyck: Mill Lake only
SIMRAN = 1


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


def whole_days(first: date, last: date) -> tuple[datetime, datetime]:
    return local_span(first, last, None, None, ZONE)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def botox(
    sessions: sessionmaker[Session], kb: KnowledgeBase, patient: int, clinic: int, day: date, hour: int = 10
) -> Booked:
    return book(
        sessions,
        kb,
        patient_id=patient,
        treatment="botox",
        clinic_id=clinic,
        start=local(day, hour),
        practitioner_id=BRAR,
        actor="test",
        now=NOW,
    )


def give(sessions: sessionmaker[Session], first: date, last: date, **changes: object) -> models.TimeOff:
    start, end = whole_days(first, last)
    arguments: dict[str, object] = {
        "clinic_id": FRASER_VALLEY,
        "practitioner_id": BRAR,
        "start": start,
        "end": end,
        "reason": "Surgery",
        "actor": "clinic-admin:5",
        "now": NOW,
    }
    return add_time_off(sessions, **{**arguments, **changes})  # type: ignore[arg-type]


def time_off_of(sessions: sessionmaker[Session], practitioner: int) -> list[tuple[datetime, datetime, str]]:
    with UnitOfWork(sessions) as work:
        return [(t.start_at, t.end_at, t.reason) for t in upcoming_time_off(work.session, practitioner, now=NOW)]


def audited(sessions: sessionmaker[Session]) -> list[models.AuditEntry]:
    with UnitOfWork(sessions) as work:
        query = select(models.AuditEntry).where(models.AuditEntry.action.like("practitioner.time-off-%"))
        return list(work.session.scalars(query.order_by(models.AuditEntry.id)))


def test_time_off_is_added_listed_removed_and_audited_without_its_reason(sessions: sessionmaker[Session]) -> None:
    entry = give(sessions, date(2026, 12, 3), date(2026, 12, 4), reason="  Knee surgery  ")
    start, end = datetime(2026, 12, 3, 7, tzinfo=UTC), datetime(2026, 12, 5, 7, tzinfo=UTC)
    assert (entry.start_at, entry.end_at, entry.reason) == (start, end, "Knee surgery")
    assert (start, end, "Knee surgery") in time_off_of(sessions, BRAR)
    with UnitOfWork(sessions) as work:  # the demo's time off of others is theirs; past time off is not upcoming
        assert upcoming_time_off(work.session, WIEBE, now=datetime(2026, 11, 28, 8, tzinfo=UTC)) == []
        assert len(upcoming_time_off(work.session, WIEBE, now=NOW)) == 1

    remove_time_off(sessions, clinic_id=FRASER_VALLEY, practitioner_id=BRAR, time_off_id=entry.id, actor="x")
    assert time_off_of(sessions, BRAR) == []
    detail = {"clinic_id": FRASER_VALLEY, "time_off": entry.id, "start": start.isoformat(), "end": end.isoformat()}
    assert [(a.actor, a.action, a.entity, a.entity_id, a.detail) for a in audited(sessions)] == [
        ("clinic-admin:5", "practitioner.time-off-added", "practitioner", str(BRAR), detail),
        ("x", "practitioner.time-off-removed", "practitioner", str(BRAR), detail),
    ]
    assert all("surgery" not in str(a.detail).lower() for a in audited(sessions))
    with pytest.raises(NotFound) as again:
        remove_time_off(sessions, clinic_id=FRASER_VALLEY, practitioner_id=BRAR, time_off_id=entry.id, actor="x")
    assert again.value.field == "time_off"


def test_it_is_removed_only_by_a_clinic_where_they_work_and_only_their_own(sessions: sessionmaker[Session]) -> None:
    entry = give(sessions, date(2026, 12, 3), date(2026, 12, 3))
    for clinic, practitioner, field in ((SUMAS, BRAR, "practitioner"), (FRASER_VALLEY, 7, "time_off")):
        with pytest.raises(NotFound) as refused:
            remove_time_off(sessions, clinic_id=clinic, practitioner_id=practitioner, time_off_id=entry.id, actor="x")
        assert refused.value.field == field
    # Mill Lake, where Dr. Brar works too, may.
    remove_time_off(sessions, clinic_id=MILL_LAKE, practitioner_id=BRAR, time_off_id=entry.id, actor="x")
    assert time_off_of(sessions, BRAR) == []


def test_a_booking_into_time_off_is_refused_for_it(sessions: sessionmaker[Session], kb: KnowledgeBase) -> None:
    # Tuesday 1 Dec 2026 is one of Dr. Brar's days at Fraser Valley; the time off is read by the cached setup.
    entry = give(sessions, date(2026, 12, 1), date(2026, 12, 1))
    with pytest.raises(Refused) as refused:
        botox(sessions, kb, SIMRAN, FRASER_VALLEY, date(2026, 12, 1))
    assert [p.code for p in refused.value.problems] == ["practitioner-off"]
    assert "Dr. Anika Brar is off" in refused.value.problems[0].message
    remove_time_off(sessions, clinic_id=FRASER_VALLEY, practitioner_id=BRAR, time_off_id=entry.id, actor="x")
    assert botox(sessions, kb, SIMRAN, FRASER_VALLEY, date(2026, 12, 1)).visit.id


def test_time_off_over_booked_visits_at_any_clinic_is_refused_listing_them(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    here = botox(sessions, kb, SIMRAN, FRASER_VALLEY, date(2026, 12, 1)).visit  # Tuesday at Fraser Valley
    there = botox(sessions, kb, new_patient(), MILL_LAKE, date(2026, 12, 2), 11).visit  # Wednesday at Mill Lake
    with pytest.raises(Refused) as refused:
        give(sessions, date(2026, 12, 1), date(2026, 12, 2))
    assert [p.code for p in refused.value.problems] == ["visit-in-time-off"] * 2
    assert [p.message for p in refused.value.problems] == [
        f"Visit {here.id} at Fraser Valley Skin Studio at 2026-12-01T10:00:00-07:00 is booked with them during "
        "the time off; move or cancel it first.",
        f"Visit {there.id} at Mill Lake Medispa at 2026-12-02T11:00:00-07:00 is booked with them during "
        "the time off; move or cancel it first.",
    ]

    def off_on_wednesday_from(start_time: time) -> models.TimeOff:
        return add_local_time_off(
            sessions,
            clinic_id=FRASER_VALLEY,
            practitioner_id=BRAR,
            first_day=date(2026, 12, 2),
            last_day=date(2026, 12, 2),
            start_time=start_time,
            end_time=time(17),
            reason="",
            actor="x",
            now=NOW,
        )

    # Part of a day that only touches the Mill Lake visit (11:00-11:30) is refused for it alone.
    with pytest.raises(Refused) as afternoon:
        off_on_wednesday_from(time(11, 15))
    assert [p.message.split(" at ")[0] for p in afternoon.value.problems] == [f"Visit {there.id}"]
    assert time_off_of(sessions, BRAR) == [] and audited(sessions) == []
    # Back-to-back is no overlap: off from the end of the Mill Lake visit.
    off_on_wednesday_from(time(11, 30))
    assert time_off_of(sessions, BRAR) == [
        (local(date(2026, 12, 2), 11) + timedelta(minutes=30), local(date(2026, 12, 2), 17), "")
    ]


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"clinic_id": 99}, "clinic", "no clinic 99"),
        ({"practitioner_id": 99}, "practitioner", "no practitioner 99"),
        ({"practitioner_id": HANNAH}, "practitioner", "practitioner 6 does not work at clinic 1"),
        (
            {"start": local(date(2026, 12, 3)), "end": local(date(2026, 12, 3), 9)},
            "end",
            "2026-12-03 09:00 is not after the start, 2026-12-03 10:00",
        ),
        ({"end": local(date(2026, 12, 3), 0)}, "end", "is not after the start"),
        ({"start": local(date(2026, 11, 1)), "end": NOW}, "end", "2026-11-12 10:00 has passed"),
        ({"end": local(date(2027, 12, 5), 0)}, "end", "time off may last a year at most"),
        ({"reason": "x" * 201}, "reason", "keep the reason to 200 characters"),
        ({"start": datetime(2026, 12, 3, 9)}, "start", "needs its time zone"),
    ],
)
def test_each_bad_input_names_its_field_and_writes_nothing(
    sessions: sessionmaker[Session], changes: dict[str, object], field: str, problem: str
) -> None:
    with pytest.raises(InputError) as error:
        give(sessions, date(2026, 12, 3), date(2026, 12, 3), **changes)
    assert error.value.field == field and problem in error.value.problem
    assert time_off_of(sessions, BRAR) == [] and audited(sessions) == []


def test_a_year_and_an_empty_reason_are_allowed(sessions: sessionmaker[Session]) -> None:
    start = local(date(2026, 12, 3), 0)
    entry = give(sessions, date(2026, 12, 3), date(2026, 12, 3), end=start + timedelta(days=366), reason="   ")
    assert entry.reason == "" and entry.end_at - entry.start_at == timedelta(days=366)


def test_overlapping_time_off_is_refused_naming_the_one_there(sessions: sessionmaker[Session]) -> None:
    # The demo has Dr. Wiebe at a conference from 27 Nov 2026 00:00 to 28 Nov 00:00.
    def wiebe(first: date, last: date, start_time: time | None = None) -> models.TimeOff:
        return add_local_time_off(
            sessions,
            clinic_id=SUMAS,
            practitioner_id=WIEBE,
            first_day=first,
            last_day=last,
            start_time=start_time,
            reason="Family",
            actor="x",
            now=NOW,
        )

    for first, last, start_time in (
        (date(2026, 11, 26), date(2026, 11, 27), None),
        (date(2026, 11, 27), date(2026, 11, 30), time(16)),
    ):
        with pytest.raises(InputError) as error:
            wiebe(first, last, start_time)
        assert error.value.field == "first_day"
        assert error.value.problem == "they are off already from 2026-11-27 00:00 to 2026-11-28 00:00"
    assert len(time_off_of(sessions, WIEBE)) == 1
    wiebe(date(2026, 11, 28), date(2026, 11, 29))  # from the moment the conference ends
    with pytest.raises(InputError) as inside:
        give(sessions, date(2026, 11, 29), date(2026, 11, 29), clinic_id=SUMAS, practitioner_id=WIEBE)
    assert inside.value.field == "start" and "2026-11-28 00:00 to 2026-11-30 00:00" in inside.value.problem
    assert [reason for *_, reason in time_off_of(sessions, WIEBE)] == ["Conference", "Family"]


@pytest.mark.parametrize(
    ("days", "times", "field"),
    [
        ((date(2026, 12, 4), date(2026, 12, 3)), (None, None), "last_day"),
        ((date(2026, 12, 3), date(2026, 12, 3)), (time(13), time(12)), "end_time"),
        ((date(2026, 12, 3), date(2026, 12, 3)), (time(13), time(13)), "end_time"),
        ((date(2026, 3, 8), date(2026, 3, 8)), (time(2, 30), None), "start_time"),  # the clocks skipped 02:00-03:00
        ((date(2026, 3, 7), date(2026, 3, 8)), (None, time(2, 15)), "end_time"),
    ],
)
def test_local_days_and_times_name_their_field(
    days: tuple[date, date], times: tuple[time | None, time | None], field: str
) -> None:
    with pytest.raises(InputError) as error:
        local_span(*days, *times, ZONE)
    assert error.value.field == field


def test_the_span_s_problems_name_the_local_fields(sessions: sessionmaker[Session]) -> None:
    def local_time_off(first: date, last: date) -> models.TimeOff:
        return add_local_time_off(
            sessions,
            clinic_id=FRASER_VALLEY,
            practitioner_id=BRAR,
            first_day=first,
            last_day=last,
            reason="",
            actor="x",
            now=NOW,
        )

    for first, last in ((date(2026, 11, 1), date(2026, 11, 11)), (date(2027, 1, 1), date(2028, 1, 2))):
        with pytest.raises(InputError) as error:
            local_time_off(first, last)
        assert error.value.field == "last_day"
    with pytest.raises(NotFound) as unknown:
        add_local_time_off(
            sessions,
            clinic_id=FRASER_VALLEY,
            practitioner_id=HANNAH,
            first_day=date(2026, 12, 3),
            last_day=date(2026, 12, 3),
            reason="",
            actor="x",
        )
    assert unknown.value.field == "practitioner"
    # Today counts: off from this morning, though the morning has passed.
    entry = local_time_off(date(2026, 11, 12), date(2026, 11, 12))
    assert entry.start_at == local(date(2026, 11, 12), 0) < NOW


@pytest.mark.parametrize(
    ("first", "last", "hours", "now"),
    [
        # BC's last change of the clocks: 8 Mar 2026 has 23 hours (02:00 PST became 03:00 PDT).
        (date(2026, 3, 7), date(2026, 3, 8), 47, datetime(2026, 3, 1, tzinfo=UTC)),
        # Where the clocks used to go back: BC has kept UTC-7 since 1 Nov 2026, so both days have 24 hours.
        (date(2026, 10, 31), date(2026, 11, 1), 48, datetime(2026, 10, 1, tzinfo=UTC)),
        (date(2027, 3, 13), date(2027, 3, 14), 48, NOW),
    ],
)
def test_whole_days_start_and_end_at_the_clinic_s_midnight(
    sessions: sessionmaker[Session], first: date, last: date, hours: int, now: datetime
) -> None:
    add_local_time_off(
        sessions,
        clinic_id=FRASER_VALLEY,
        practitioner_id=BRAR,
        first_day=first,
        last_day=last,
        reason="Away",
        actor="x",
        now=now,
    )
    with UnitOfWork(sessions) as work:
        [entry] = work.session.scalars(select(models.TimeOff).where(models.TimeOff.practitioner_id == BRAR)).all()
        count = work.session.scalar(select(func.count()).select_from(models.TimeOff))
    start, end = entry.start_at.astimezone(ZONE), entry.end_at.astimezone(ZONE)
    assert (start.date(), start.time(), end.date(), end.time()) == (first, time(0), last + timedelta(days=1), time(0))
    assert entry.end_at - entry.start_at == timedelta(hours=hours)
    assert count == 3  # the demo's two and this one
