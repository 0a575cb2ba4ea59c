"""The clinic administrator's services and the API's idempotency keys on real SQLite and PostgreSQL: rule
adjustments (the knowledge base as a floor, the change log, the audit, booking at the tightened minimum), hours,
closures and staff that never strand a booked visit, and keys that answer a retried request once."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.domain.adjustments import Field, RuleAdjustment, adjusted
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.domain.rules import IntervalRule
from safewindow.domain.spans import Span
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import accounts as accounts_service
from safewindow.services import idempotency
from safewindow.services.admin import (
    RuleChangeRefused,
    Shift,
    add_closure,
    adjust_rule,
    knowledge_for_clinic,
    leave_clinic,
    rule_adjustments,
    set_opening_hours,
    set_working_hours,
)
from safewindow.services.booking import Booked, Refused, book
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.services.errors import InputError
from safewindow.store import models
from safewindow.store.account_models import Account
from safewindow.store.demo import load_demo
from safewindow.store.settings_models import IdempotencyKey
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.app import create_app

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

ZONE = ZoneInfo("America/Vancouver")
NOW = datetime(2026, 11, 12, 17, 0, tzinfo=UTC)  # Thursday 12 Nov 2026, 10:00 at the clinic
RULE = "microneedling-then-botox"
CLINIC, PHYSICIAN, SIMRAN = 1, 1, 1  # Simran Gill had microneedling at clinic 1 on 10 Nov 2026


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), ZONE).astimezone(UTC)


@pytest.fixture
def demo(uow: Callable[..., UnitOfWork]) -> None:
    with uow(write=True) as work:
        load_demo(work.session)
        work.commit()


@pytest.fixture
def accounts(demo: None, uow: Callable[..., UnitOfWork]) -> Iterator[None]:
    """The demo sign-ins, hashed and checked cheaply: argon2id at its production cost takes half a second."""
    with mock.patch.object(accounts_service, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)):
        with uow(write=True) as work:
            ensure_demo_accounts(work.session)
            work.commit()
        yield


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return default_knowledge_base()


def botox_for_simran(sessions: sessionmaker[Session], kb: KnowledgeBase, day: date) -> Booked:
    """The demo's Simran Gill (microneedling on 10 Nov), Botox at 10:00 with the physician."""
    return book(
        sessions,
        kb,
        patient_id=SIMRAN,
        treatment="botox",
        clinic_id=CLINIC,
        start=local(day),
        practitioner_id=PHYSICIAN,
        actor="test",
        now=NOW,
    )


def interval(kb: KnowledgeBase, rule_id: str = RULE) -> IntervalRule:
    rule = kb.rule(rule_id)
    assert isinstance(rule, IntervalRule)
    return rule


def test_adjusted_is_a_new_knowledge_base_and_the_base_is_its_floor(kb: KnowledgeBase) -> None:
    assert adjusted(kb, []) is kb
    log = [
        RuleAdjustment(RULE, Field.MIN, "21 days"),
        RuleAdjustment(RULE, Field.IDEAL_START, "21 days"),
        RuleAdjustment("no-longer-in-the-base", Field.MIN, "3 days"),
        RuleAdjustment("botox-repeat", Field.MIN, "30 days"),  # looser than the base: the base stands
    ]
    clinic = adjusted(kb, log, version="clinic")
    assert clinic is not kb and clinic.version == "clinic"
    assert interval(clinic).minimum == Span(21) and interval(kb).minimum == Span(14)
    assert interval(clinic).ideal == (Span(21), Span(28))
    assert clinic.pair_rules["microneedling", "botox"][0].minimum == Span(21)
    assert kb.pair_rules["microneedling", "botox"][0].minimum == Span(14)
    assert interval(clinic, "botox-repeat") is interval(kb, "botox-repeat")
    assert "this clinic set min 21 days (the source says 14 days)" in interval(clinic).source
    # Back to the base's values: the rule is the base's own again.
    back = adjusted(kb, [*log, RuleAdjustment(RULE, Field.MIN, "14"), RuleAdjustment(RULE, Field.IDEAL_START, "14")])
    assert back is kb


def test_a_tightened_rule_is_logged_audited_and_booked_by(
    demo: None, session_factory: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    rule = adjust_rule(
        session_factory,
        kb,
        clinic_id=CLINIC,
        rule_id=RULE,
        changes={"min": "21", "ideal_start": "21 days"},
        actor="clinic-admin:5",
        now=NOW,
    )
    assert isinstance(rule, IntervalRule) and rule.minimum == Span(21)
    with UnitOfWork(session_factory) as work:
        rows = rule_adjustments(work.session, CLINIC)
        assert [(r.field, r.before, r.after, r.by, r.at) for r in rows] == [
            ("min", "14 days", "21 days", "clinic-admin:5", NOW),
            ("ideal_start", "14 days", "21 days", "clinic-admin:5", NOW),
        ]
        audited = work.session.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "rule.adjusted").order_by(models.AuditEntry.id)
        ).all()
        assert [(a.entity, a.entity_id) for a in audited] == [("rule-adjustment", str(r.id)) for r in rows]
        assert audited[0].detail == {
            "clinic_id": CLINIC,
            "rule": RULE,
            "field": "min",
            "before": "14 days",
            "after": "21 days",
        }
        here = knowledge_for_clinic(work.session, CLINIC, kb)
        assert knowledge_for_clinic(work.session, 2, kb) is kb
    assert interval(here).minimum == Span(21)

    # Allowed by the knowledge base from 24 Nov, by this clinic from 1 Dec (both Tuesdays, Dr. Brar's days).
    with pytest.raises(Refused) as refused:
        botox_for_simran(session_factory, here, date(2026, 11, 24))
    assert [p.code for p in refused.value.problems] == [RULE]
    assert "wait until 2026-12-01" in refused.value.problems[0].message
    booked = botox_for_simran(session_factory, here, date(2026, 12, 1))
    assert booked.visit.id


def test_loosening_below_the_source_is_refused_naming_every_field(
    demo: None, session_factory: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    with pytest.raises(RuleChangeRefused) as refused:
        adjust_rule(
            session_factory,
            kb,
            clinic_id=CLINIC,
            rule_id=RULE,
            changes={"min": "7", "ideal_end": "35"},
            actor="clinic-admin:5",
            now=NOW,
        )
    assert [field for field, _ in refused.value.problems] == ["min", "ideal_end"]
    with pytest.raises(RuleChangeRefused):
        adjust_rule(session_factory, kb, clinic_id=CLINIC, rule_id="botox-repeat", changes={"kind": "soft"}, actor="x")
    with pytest.raises(InputError):
        adjust_rule(session_factory, kb, clinic_id=CLINIC, rule_id="no-such-rule", changes={"min": "1"}, actor="x")
    with UnitOfWork(session_factory) as work:
        assert rule_adjustments(work.session, CLINIC) == []


def test_hours_closures_and_staff_never_strand_a_booked_visit(
    demo: None, session_factory: sessionmaker[Session], kb: KnowledgeBase
) -> None:
    visit = botox_for_simran(session_factory, kb, date(2026, 12, 1)).visit
    weekdays = [Shift(day, time(9), time(17)) for day in (2, 3, 4, 5)]  # no Tuesdays
    with pytest.raises(Refused) as refused:
        set_opening_hours(session_factory, clinic_id=CLINIC, hours=weekdays, actor="x", now=NOW)
    assert refused.value.problems[0].code == "visit-outside-hours"
    with pytest.raises(Refused):
        add_closure(
            session_factory,
            clinic_id=CLINIC,
            first_day=date(2026, 11, 30),
            last_day=date(2026, 12, 2),
            reason="Renovation",
            actor="x",
            now=NOW,
        )
    with pytest.raises(Refused):
        set_working_hours(
            session_factory,
            clinic_id=CLINIC,
            practitioner_id=PHYSICIAN,
            hours=[Shift(3, time(9), time(17))],
            actor="x",
            now=NOW,
        )
    with pytest.raises(Refused):
        leave_clinic(session_factory, clinic_id=CLINIC, practitioner_id=PHYSICIAN, actor="x", now=NOW)
    # After the visit, all of it is allowed.
    later = visit.end_at + timedelta(minutes=1)
    set_opening_hours(session_factory, clinic_id=CLINIC, hours=weekdays, actor="x", now=later)
    add_closure(
        session_factory,
        clinic_id=CLINIC,
        first_day=date(2026, 12, 2),
        last_day=date(2026, 12, 2),
        reason="Renovation",
        actor="x",
        now=later,
    )
    leave_clinic(session_factory, clinic_id=CLINIC, practitioner_id=PHYSICIAN, actor="x", now=later)
    with UnitOfWork(session_factory) as work:
        clinic = work.session.get(models.Clinic, CLINIC)
        assert clinic is not None and sorted(h.weekday for h in clinic.hours) == [2, 3, 4, 5]
        staff = select(models.PractitionerHours).where(
            models.PractitionerHours.clinic_id == CLINIC, models.PractitionerHours.practitioner_id == PHYSICIAN
        )
        assert work.session.scalars(staff).all() == []
        # Dr. Brar still works at Mill Lake Medispa.
        assert work.session.scalar(select(func.count()).where(models.PractitionerHours.practitioner_id == PHYSICIAN))


def test_a_key_holds_then_answers_and_a_different_request_is_refused(
    accounts: None, session_factory: sessionmaker[Session]
) -> None:
    with UnitOfWork(session_factory) as work:
        account = work.session.scalar(select(Account.id).order_by(Account.id))
    assert account is not None
    digest = idempotency.request_digest("POST", "/api/v1/visits", {"b": 1, "a": [1, 2]})
    assert digest == idempotency.request_digest("post", "/api/v1/visits", {"a": [1, 2], "b": 1})
    assert idempotency.claim(session_factory, account, "k", digest, now=NOW) is None
    with pytest.raises(idempotency.KeyInUse):
        idempotency.claim(session_factory, account, "k", digest, now=NOW)
    idempotency.record(session_factory, account, "k", 201, {"id": 7, "warnings": []})
    stored = idempotency.claim(session_factory, account, "k", digest, now=NOW)
    assert stored == idempotency.Stored(201, {"id": 7, "warnings": []})
    with pytest.raises(InputError) as error:
        idempotency.claim(session_factory, account, "k", "another digest", now=NOW)
    assert error.value.field == "Idempotency-Key"
    # Another account's "k" is its own.
    assert idempotency.claim(session_factory, account + 1, "k", "another digest", now=NOW) is None
    idempotency.release(session_factory, account + 1, "k")
    assert idempotency.claim(session_factory, account + 1, "k", digest, now=NOW) is None
    # A day later the key is forgotten.
    later = NOW + idempotency.KEPT_FOR + timedelta(seconds=1)
    assert idempotency.claim(session_factory, account, "k", "another digest", now=later) is None
    with UnitOfWork(session_factory) as work:
        assert work.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_retried_booking_over_http_books_once(accounts: None, session_factory: sessionmaker[Session]) -> None:
    with TestClient(create_app(sessions=session_factory), raise_server_exceptions=False) as client:
        signed_in = client.post("/api/v1/sessions", json={"email": "frontdesk@demo.example", "password": DEMO_PASSWORD})
        client.cookies.clear()
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}", "Idempotency-Key": "retry-me"}
        slots = client.get(
            f"/api/v1/clinics/{CLINIC}/slots",
            params={"treatment": "chemical-peel-light", "patient": SIMRAN},
            headers=headers,
        )
        at = slots.json()[0]["start"][:16]
        body = {"patient": SIMRAN, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
        first = client.post("/api/v1/visits", json=body, headers=headers)
        second = client.post("/api/v1/visits", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    with UnitOfWork(session_factory) as work:
        booked = select(func.count()).where(
            models.Visit.patient_id == SIMRAN, models.Visit.treatment_slug == "chemical-peel-light"
        )
        assert work.session.scalar(booked) == 1
