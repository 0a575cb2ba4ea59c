"""The slot service reads the first week the patient's rules allow before the whole span, since reading a busy
diary costs more than searching it. Its answer must be the one a single search over the whole span gives, on
real SQLite and PostgreSQL, for patients whose rules open at once, in two weeks, or not within the span."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.domain.history import clinic_day
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.admin import knowledge_for_clinic
from safewindow.services.booking import book
from safewindow.services.clinic_view import load_patient
from safewindow.services.errors import InputError
from safewindow.services.slots import _search, find_slots_for
from safewindow.store.unit_of_work import UnitOfWork

KB = default_knowledge_base()
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
CLINIC = 1
ZONE = clinic_zone("America/Vancouver")


@pytest.mark.parametrize("treatment", ["botox", "microneedling", "dermal-filler", "chemical-peel-light"])
def test_reading_the_first_week_first_gives_the_single_searchs_answer(
    sessions: sessionmaker[Session], new_patient: Callable[..., int], treatment: str
) -> None:
    patients = [
        None,
        new_patient(),
        new_patient("microneedling@2026-11-24"),  # botox waits two weeks
        new_patient("botox@2026-11-10"),  # botox again only after the span
    ]
    for start in ("2026-11-26T17:00", "2026-11-27T18:00", "2026-12-01T17:30"):  # a fuller diary ahead
        book(
            sessions, KB, patient_id=new_patient(), treatment="botox", clinic_id=CLINIC,
            start=datetime.fromisoformat(start).replace(tzinfo=UTC), actor="t", now=NOW,
        )  # fmt: skip
    for patient in patients:
        for limit in (1, 10, 60):
            whole = single_search(sessions, treatment, patient, limit)
            for first_look in (1, 7, 30):
                asked = {"treatment": treatment, "clinic_id": CLINIC, "patient_id": patient, "limit": limit}
                stepped = find_slots_for(sessions, KB, days=30, first_look=first_look, now=NOW, **asked)  # type: ignore[arg-type]
                assert [s.as_dict() for s in stepped] == whole, (patient, limit, first_look)


def single_search(sessions: sessionmaker[Session], treatment: str, patient: int | None, limit: int) -> list[object]:
    """The reference: one search over the whole span from today, its diary read at once."""
    with UnitOfWork(sessions) as uow:
        session = uow.session
        kb = knowledge_for_clinic(session, CLINIC, KB)
        person = load_patient(session, patient) if patient is not None else None
        today = clinic_day(NOW, ZONE)
        found = _search(
            session, kb, treatment, CLINIC, ZONE, person, None, today, today + timedelta(days=29), limit, NOW
        )
        return [s.as_dict() for s in found]


def test_an_unknown_treatment_is_still_refused_by_name(
    sessions: sessionmaker[Session], new_patient: Callable[..., int]
) -> None:
    with pytest.raises(InputError) as refused:
        find_slots_for(sessions, KB, treatment="botx", clinic_id=CLINIC, patient_id=new_patient(), now=NOW)
    assert refused.value.field == "treatment"
