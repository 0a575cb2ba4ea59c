"""A treatment record's injection map on real SQLite and PostgreSQL: amounts kept exactly, in drawing order, with
the record; any bad point named by its site and nothing written; a correction carries its own map; the
database itself refuses a site twice in one record and an amount of nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.chart import load_chart
from safewindow.services.errors import FieldProblems
from safewindow.services.treatment_records import records_of_patient, records_of_visit
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.integration.conftest import NOW
from tests.integration.test_treatment_records import _record, _visit


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with UnitOfWork(sessions) as uow:
        records = uow.session.scalar(select(func.count()).select_from(models.TreatmentRecord)) or 0
        points = uow.session.scalar(select(func.count()).select_from(models.InjectionPoint)) or 0
    return records, points


def test_the_map_is_kept_exactly_in_drawing_order_and_a_correction_has_its_own(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    patient = new_patient()
    visit = _visit(sessions, kb, patient)
    first = _record(sessions, visit, points=[("crows-feet-left", "12.5"), ("glabella", 20), ("forehead", "0.25")])
    second = _record(sessions, visit, points=[("glabella", "18")])
    with UnitOfWork(sessions) as uow:
        newest, earlier = records_of_visit(uow.session, visit)
        by_visit = records_of_patient(uow.session, patient)
        chart = load_chart(uow.session, kb, patient, now=NOW)
    assert (newest.id, earlier.id) == (second, first)
    assert [(p.site, p.amount, p.unit) for p in earlier.points] == [
        ("forehead", Decimal("0.25"), "units"),
        ("glabella", Decimal("20"), "units"),
        ("crows-feet-left", Decimal("12.5"), "units"),
    ]
    assert earlier.injected == "32.75 units" and newest.injected == "18 units"
    assert newest.as_dict()["injection_points"] == [{"site": "glabella", "amount": 18.0, "unit": "units"}]
    assert by_visit[visit] == (newest, earlier)
    (charted,) = [v for v in chart.past + chart.upcoming if v.visit_id == visit]
    assert charted.records[0].points == newest.points


def test_a_record_without_a_map_has_none(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _visit(sessions, kb, new_patient())
    _record(sessions, visit)
    with UnitOfWork(sessions) as uow:
        (record,) = records_of_visit(uow.session, visit)
    assert (record.points, record.injected, record.as_dict()["injection_points"]) == ((), "", [])


def test_every_bad_point_and_field_is_named_and_nothing_is_written(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    visit = _visit(sessions, kb, new_patient())
    before = _counts(sessions)
    with pytest.raises(FieldProblems) as error:
        _record(sessions, visit, points=[("glabella", "0"), ("lower-lip", "1"), ("forehead", "3.333")])
    assert error.value.problems == [
        ("injection_points.glabella", "give an amount above 0 units"),
        ("injection_points.lower-lip", "not a site for Botulinum toxin (Botox and similar)"),
        ("injection_points.forehead", "give the amount to at most two decimal places"),
    ]
    with pytest.raises(FieldProblems) as fields:
        _record(sessions, visit, product="", consent=False, points=[("glabella", "0")])
    assert [field for field, _ in fields.value.problems] == ["product", "consent", "injection_points.glabella"]
    assert _counts(sessions) == before


def test_the_database_refuses_a_site_twice_and_an_empty_amount(
    sessions: sessionmaker[Session], kb: KnowledgeBase, new_patient: Callable[..., int]
) -> None:
    record = _record(sessions, _visit(sessions, kb, new_patient()), points=[("glabella", "20")])
    for site, hundredths in (("glabella", 100), ("chin", 0)):
        with pytest.raises(IntegrityError), UnitOfWork(sessions, write=True) as uow:
            uow.session.add(models.InjectionPoint(record_id=record, site=site, amount_hundredths=hundredths, unit="u"))
            uow.session.flush()
