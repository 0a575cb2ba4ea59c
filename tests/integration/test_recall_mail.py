"""Recalls due today become one message each, however often the worker asks (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.notifications import Kind
from safewindow.services.recalls import enqueue_due_recalls
from safewindow.store.outbox_models import OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.worker import FolderMailer, worker_round

# The demo's Claire Penner had Botox at Sumas Mountain on 12 Aug 2026: a recall is due 10 Nov - 10 Dec.
DURING = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
BEFORE = datetime(2026, 10, 1, 16, 0, tzinfo=UTC)


def recall_messages(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == str(Kind.RECALL))))


def test_a_due_recall_is_written_once(sessions: sessionmaker[Session]) -> None:
    kb, recalls = default_knowledge_base(), default_plans().recalls
    assert enqueue_due_recalls(sessions, kb, recalls, now=BEFORE) == 0
    assert recall_messages(sessions) == []
    assert enqueue_due_recalls(sessions, kb, recalls, now=DURING) >= 1
    first = recall_messages(sessions)
    assert [m.recipient for m in first].count("claire.penner@example.com") == 1
    enqueue_due_recalls(sessions, kb, recalls, now=DURING)  # the worker's next round
    assert len(recall_messages(sessions)) == len(first)


def test_a_worker_round_sends_the_recall(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    report = worker_round(sessions, FolderMailer(tmp_path), DURING)
    assert report.sent >= 1
    sent = [path.read_text() for path in tmp_path.glob("*.eml")]
    assert any("claire.penner@example.com" in text for text in sent)
    assert not any(m.sent_at is None for m in recall_messages(sessions))
