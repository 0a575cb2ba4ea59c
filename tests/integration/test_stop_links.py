"""One-click stop links on real SQLite and PostgreSQL: each reminder and recall e-mail carries its own link (in
the body, and as the List-Unsubscribe header with RFC 8058's one-click post), only the link's SHA-256 is kept,
and using it turns the patient's e-mail reminders and recalls off, drops the unsent ones (not their text
reminders, nor the essential mail), and is audited as the patient's own change.
Times are local Abbotsford times; the demo's clinic 1 opens Tue-Sat 09-17 and is on UTC-7."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.contact_preferences import contact_preferences, set_contact_preferences
from safewindow.services.errors import NotFound
from safewindow.services.notifications import SenderSettings, recall_due, write_mail_for_changes
from safewindow.services.stop_links import link_holder, mask, stop_by_link
from safewindow.store import models
from safewindow.store.outbox_models import OutboxMessage, StopLink
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.worker import Claimed, compose

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
LINK = re.compile(r"https://book\.example/stop/([A-Za-z0-9_-]+)")


@pytest.fixture(autouse=True)
def public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEWINDOW_PUBLIC_URL", "https://book.example/")


@pytest.fixture
def asha(new_patient: object) -> int:
    return new_patient(name="Asha Grewal", email="asha.grewal@example.com")  # type: ignore[operator, no-any-return]


def book_reminded(sessions: sessionmaker[Session], patient: int) -> None:
    start = datetime.fromisoformat("2026-12-02T10:00").replace(tzinfo=ZONE).astimezone(UTC)
    book(sessions, KB, patient_id=patient, treatment="botox", clinic_id=1, start=start, actor="t", now=NOW)
    write_mail_for_changes(sessions, kb=KB)


def outbox(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id)))


def token_of(message: OutboxMessage) -> str:
    found = LINK.search(message.body)
    assert found is not None, message.body
    assert message.stop_url == found.group(0)
    return found.group(1)


def test_each_reminder_carries_its_own_link_and_only_its_hash_is_kept(
    sessions: sessionmaker[Session], asha: int
) -> None:
    book_reminded(sessions, asha)
    by_kind = {m.kind: m for m in outbox(sessions)}
    assert by_kind["visit-booked"].stop_url is None  # essential mail has none: it cannot be stopped
    tokens = {token_of(by_kind["reminder-48h"]), token_of(by_kind["reminder-2h"])}
    assert len(tokens) == 2
    with UnitOfWork(sessions) as uow:
        kept = set(uow.session.scalars(select(StopLink.token_hash).where(StopLink.patient_id == asha)))
    assert kept == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}


def test_the_e_mail_offers_the_mailbox_s_one_click_stop(sessions: sessionmaker[Session], asha: int) -> None:
    book_reminded(sessions, asha)
    row = next(m for m in outbox(sessions) if m.kind == "reminder-48h")
    claimed = Claimed(row.id, row.channel, row.delivery_key, row.recipient, row.subject, row.body, None, None,
                      row.stop_url, 1)  # fmt: skip
    message = compose(claimed, SenderSettings(), NOW)
    assert message["List-Unsubscribe"] == f"<{row.stop_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    booked = next(m for m in outbox(sessions) if m.kind == "visit-booked")
    plain = Claimed(booked.id, "email", booked.delivery_key, booked.recipient, booked.subject, booked.body, None,
                    None, None, 1)  # fmt: skip
    assert compose(plain, SenderSettings(), NOW)["List-Unsubscribe"] is None


def test_the_link_stops_e_mail_reminders_and_recalls_and_keeps_the_rest(
    sessions: sessionmaker[Session], asha: int
) -> None:
    set_contact_preferences(
        sessions, patient_id=asha, actor="t", phone="604-555-0199", email_reminders=True, text_reminders=True, now=NOW
    )
    book_reminded(sessions, asha)
    token = token_of(next(m for m in outbox(sessions) if m.kind == "reminder-2h" and m.channel == "email"))
    with UnitOfWork(sessions) as uow:
        before = link_holder(uow.session, token)
    assert (before.patient_id, before.masked_email, before.stopped) == (asha, "a***@example.com", False)
    after = stop_by_link(sessions, token, now=NOW)
    assert after.stopped
    assert stop_by_link(sessions, token, now=NOW).stopped  # a second click changes nothing
    left = sorted((m.channel, m.kind) for m in outbox(sessions))
    assert ("email", "reminder-48h") not in left and ("email", "reminder-2h") not in left
    assert ("text", "reminder-48h") in left and ("email", "visit-booked") in left and ("email", "aftercare") in left
    preferences = contact_preferences(sessions(), asha)
    assert (preferences.email_reminders, preferences.text_reminders) == (False, True)
    with UnitOfWork(sessions) as uow:
        actions = uow.session.execute(
            select(models.AuditEntry.actor, models.AuditEntry.action).where(models.AuditEntry.entity_id == str(asha))
        ).all()
    assert actions.count((f"patient:{asha}", "patient.reminders-stopped-by-link")) == 2


def test_a_recall_carries_a_link_too(sessions: sessionmaker[Session], asha: int) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        message = recall_due(
            uow.session, patient_id=asha, clinic_id=1, treatment_slug="botox", due_on=date(2027, 3, 1), now=NOW, kb=KB
        )
        uow.commit()
    assert message is not None
    stop_by_link(sessions, LINK.search(message.body).group(1), now=NOW)  # type: ignore[union-attr]
    assert not contact_preferences(sessions(), asha).email_reminders


def test_a_recall_asked_for_every_round_mints_one_link(sessions: sessionmaker[Session], asha: int) -> None:
    for _ in range(3):  # the worker asks for each due recall every round
        with UnitOfWork(sessions, write=True) as uow:
            recall_due(
                uow.session, patient_id=asha, clinic_id=1, treatment_slug="botox", due_on=date(2027, 3, 1), now=NOW
            )
            uow.commit()
    with UnitOfWork(sessions) as uow:
        links = uow.session.scalars(select(StopLink).where(StopLink.patient_id == asha)).all()
    assert len(links) == 1 and len([m for m in outbox(sessions) if m.kind == "recall"]) == 1


def test_a_link_the_clinic_did_not_send_is_not_found(sessions: sessionmaker[Session], asha: int) -> None:
    book_reminded(sessions, asha)
    token = token_of(next(m for m in outbox(sessions) if m.kind == "reminder-2h"))
    for wrong in ("made-up", token[:-1]):
        with pytest.raises(NotFound):
            stop_by_link(sessions, wrong, now=NOW)
    assert contact_preferences(sessions(), asha).email_reminders


def test_an_address_is_masked() -> None:
    assert [mask(e) for e in ("simran.gill@example.com", "a@b.ca", "", "nobody")] == [
        "s***@example.com",
        "a***@b.ca",
        "***",
        "***",
    ]
