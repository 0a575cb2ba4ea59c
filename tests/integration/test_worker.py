"""The worker against a real SMTP peer (aiosmtpd on 127.0.0.1) and real SQLite and PostgreSQL: due messages
go out once, failures are retried with backoff, and a worker killed mid-batch and started again delivers every
message exactly once, checked by Message-ID. The one window that can duplicate (after the server's 250, before
the commit of `sent_at`) resends with the same Message-ID, so the SMTP side can drop the copy."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book
from safewindow.services.notifications import write_mail_for_changes
from safewindow.services.patients import add_patient
from safewindow.store import models
from safewindow.store.database import StoreSettings
from safewindow.store.demo import load_demo
from safewindow.store.outbox_models import OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.worker import (
    FolderMailer,
    Mailer,
    SmtpMailer,
    SmtpSettings,
    mailer_from_settings,
    message_id,
    run_once,
)

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
EMAIL = "asha.grewal@example.com"
SENDER = SmtpSettings(sender="Fraser Valley Skin Studio <no-reply@fraservalleyskin.example>")


class Peer:
    """Collects what it accepts. `refuse` answers the next DATA commands with those replies instead;
    `kill` SIGKILLs a process when the n-th message arrives, before the server says it accepted it."""

    def __init__(self) -> None:
        self.accepted: list[EmailMessage] = []
        self.refuse: list[str] = []
        self.kill_at: int | None = None
        self.victim: subprocess.Popen[bytes] | None = None
        self.victim_known = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's hook)
        if self.refuse:
            return self.refuse.pop(0)
        if self.kill_at is not None and len(self.accepted) + 1 == self.kill_at:
            self.victim_known.wait(10)
            assert self.victim is not None
            os.kill(self.victim.pid, signal.SIGKILL)
            self.victim.wait(10)
            return "451 4.3.0 the client is gone"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.accepted.append(message)
        return "250 2.0.0 OK"

    def ids(self) -> Counter[str]:
        return Counter(str(m["Message-ID"]) for m in self.accepted)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def peer() -> Iterator[tuple[Peer, SmtpSettings]]:
    handler = Peer()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, SmtpSettings(host="127.0.0.1", port=port, security="none", sender=SENDER.sender, timeout=10)
    finally:
        controller.stop()


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with UnitOfWork(session_factory, write=True) as uow:
        load_demo(uow.session)
        uow.commit()
    return session_factory


def book_with_mail(sessions: sessionmaker[Session], at: str, treatment: str = "botox") -> int:
    patient = add_patient(
        sessions, KB, name="Asha Grewal", birth_date="1990-05-05", actor="t", today=NOW.date(), email=EMAIL
    )
    start = datetime.fromisoformat(at).replace(tzinfo=ZONE).astimezone(UTC)
    visit = book(
        sessions, KB, patient_id=patient.id, treatment=treatment, clinic_id=1, start=start, actor="t", now=NOW
    ).visit
    write_mail_for_changes(sessions, kb=KB, sender=SENDER)  # the worker's first step
    return visit.id


def add_plain(sessions: sessionmaker[Session], count: int, due: datetime) -> list[str]:
    keys = [f"test-{n}" for n in range(count)]
    with UnitOfWork(sessions, write=True) as uow:
        for key in keys:
            uow.session.add(
                OutboxMessage(
                    kind="plan-changed",
                    recipient=EMAIL,
                    subject=f"Message {key}",
                    body="Hello.\n",
                    due_at=due,
                    delivery_key=key,
                )
            )
        uow.commit()
    return keys


def rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def expected_ids(keys: list[str]) -> Counter[str]:
    return Counter(message_id(key, SENDER) for key in keys)


def test_due_messages_go_out_once_with_their_calendar_file(
    sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings]
) -> None:
    collected, settings = peer
    visit = book_with_mail(sessions, "2026-12-01T10:00")
    report = run_once(sessions, SmtpMailer(settings), NOW, sender=SENDER)
    assert (report.sent, report.failed) == (1, 0)  # only the confirmation is due yet
    [message] = collected.accepted
    assert message["Message-ID"] == f"<visit-{visit}-v1-visit-booked@fraservalleyskin.example>"
    assert message["To"] == EMAIL and message["From"] == SENDER.sender
    assert message["Subject"] == "Your visit at Fraser Valley Skin Studio is booked"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    [event] = Calendar.from_ical(attachment.get_content()).events
    assert event.start == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)

    assert run_once(sessions, SmtpMailer(settings), NOW + timedelta(minutes=5), sender=SENDER).sent == 0
    # Three weeks on: the reminders belong to a visit that has begun and are dropped; aftercare goes out.
    later = run_once(sessions, SmtpMailer(settings), NOW + timedelta(days=21), sender=SENDER)
    assert (later.sent, later.discarded) == (4, 2)
    assert [m["Subject"] for m in collected.accepted[1:]] == [
        f"Aftercare, day {day}: your visit on Tuesday 1 December 2026" for day in (0, 1, 3, 14)
    ]
    assert sum(collected.ids().values()) == len(collected.ids()) == 5
    assert all(r.sent_at is not None for r in rows(sessions))


def test_aftercare_for_a_visit_that_did_not_take_place_is_not_sent(
    sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings]
) -> None:
    collected, settings = peer
    visit = book_with_mail(sessions, "2026-12-01T10:00")
    with UnitOfWork(sessions, write=True) as uow:
        row = uow.session.get(models.Visit, visit)
        assert row is not None
        row.status = models.VisitStatus.NO_SHOW
        uow.commit()
    report = run_once(sessions, SmtpMailer(settings), NOW + timedelta(days=21), sender=SENDER)
    assert (report.sent, report.discarded) == (1, 6)
    assert [m["Subject"] for m in collected.accepted] == ["Your visit at Fraser Valley Skin Studio is booked"]


def test_a_failure_is_retried_with_exponential_backoff(
    sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings]
) -> None:
    collected, settings = peer
    [key] = add_plain(sessions, 1, NOW)
    collected.refuse = ["451 4.3.0 try again later", "451 4.3.0 try again later"]
    mailer = SmtpMailer(settings)

    assert run_once(sessions, mailer, NOW, sender=SENDER).failed == 1
    [row] = rows(sessions)
    assert (row.attempts, row.due_at, row.sent_at, row.claimed_at) == (1, NOW + timedelta(minutes=1), None, None)
    assert row.last_error is not None and "451" in row.last_error

    assert run_once(sessions, mailer, NOW + timedelta(seconds=59), sender=SENDER).failed == 0  # not yet due
    assert run_once(sessions, mailer, NOW + timedelta(minutes=1), sender=SENDER).failed == 1
    [row] = rows(sessions)
    assert (row.attempts, row.due_at) == (2, NOW + timedelta(minutes=3))  # then 2 minutes

    assert run_once(sessions, mailer, NOW + timedelta(minutes=3), sender=SENDER).sent == 1
    [row] = rows(sessions)
    assert (row.attempts, row.sent_at, row.last_error) == (3, NOW + timedelta(minutes=3), None)
    assert collected.ids() == expected_ids([key])


def test_a_permanent_refusal_is_not_retried(sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings]) -> None:
    collected, settings = peer
    add_plain(sessions, 1, NOW)
    collected.refuse = ["550 5.6.0 message refused"]
    assert run_once(sessions, SmtpMailer(settings), NOW, sender=SENDER).gave_up == 1
    assert run_once(sessions, SmtpMailer(settings), NOW + timedelta(days=1), sender=SENDER).sent == 0
    [row] = rows(sessions)
    assert row.gave_up_at == NOW and row.sent_at is None and collected.accepted == []


WORKER = """
import sys
from datetime import UTC, datetime
from safewindow.store.database import make_engine, make_session_factory
from safewindow.worker import SmtpMailer, SmtpSettings, run_once
url, port, sender = sys.argv[1], int(sys.argv[2]), sys.argv[3]
settings = SmtpSettings(host="127.0.0.1", port=port, security="none", sender=sender, timeout=10)
run_once(make_session_factory(make_engine(url)), SmtpMailer(settings), datetime.now(UTC), sender=settings)
"""


@pytest.mark.slow
def test_a_worker_killed_mid_batch_and_restarted_delivers_each_message_exactly_once(
    sessions: sessionmaker[Session], migrated_url: str, peer: tuple[Peer, SmtpSettings]
) -> None:
    collected, settings = peer
    keys = add_plain(sessions, 6, datetime.now(UTC) - timedelta(minutes=5))
    collected.kill_at = 4  # SIGKILL while the 4th message is in the middle of its SMTP transaction
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, migrated_url, str(settings.port), SENDER.sender],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    collected.victim = worker
    collected.victim_known.set()
    worker.wait(60)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read() if worker.stderr else ""
    assert collected.ids() == expected_ids(keys[:3])
    state = {r.delivery_key: (r.attempts, r.sent_at is not None, r.claimed_at is not None) for r in rows(sessions)}
    assert [state[k] for k in keys] == [(1, True, False)] * 3 + [(1, False, True)] + [(0, False, False)] * 2

    collected.kill_at = None
    restarted = run_once(sessions, SmtpMailer(settings), datetime.now(UTC) + timedelta(hours=1), sender=SENDER)
    assert (restarted.sent, restarted.in_doubt) == (3, 1)
    assert collected.ids() == expected_ids(keys)  # each Message-ID exactly once
    assert all(r.sent_at is not None and r.claimed_at is None for r in rows(sessions))


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs."""


class DiesAfterAcceptance:
    def __init__(self, inner: Mailer, after: int) -> None:
        self.inner, self.after, self.count = inner, after, 0

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        self.count += 1
        if self.count == self.after:
            raise Killed


def test_killed_after_the_servers_acceptance_the_resend_carries_the_same_message_id(
    sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings]
) -> None:
    collected, settings = peer
    keys = add_plain(sessions, 4, NOW)
    with pytest.raises(Killed):
        run_once(sessions, DiesAfterAcceptance(SmtpMailer(settings), after=2), NOW, sender=SENDER)
    restarted = run_once(sessions, SmtpMailer(settings), NOW + timedelta(hours=1), sender=SENDER)
    assert (restarted.sent, restarted.in_doubt) == (3, 1)
    # The documented at-least-once window: the 2nd message reached the server twice, as the same message.
    in_doubt = message_id(keys[1], SENDER)
    assert collected.ids() == expected_ids(keys) + Counter([in_doubt])
    copies = [m for m in collected.accepted if m["Message-ID"] == in_doubt]
    assert copies[0].get_content() == copies[1].get_content()
    assert set(collected.ids()) == set(expected_ids(keys))  # deduplicated by Message-ID: each exactly once


def test_logs_name_no_recipient_subject_or_body(
    sessions: sessionmaker[Session], peer: tuple[Peer, SmtpSettings], caplog: pytest.LogCaptureFixture
) -> None:
    collected, settings = peer
    book_with_mail(sessions, "2026-12-01T10:00", treatment="dermal-filler")
    collected.refuse = ["451 4.3.0 try again later"]
    with caplog.at_level(logging.DEBUG, logger="safewindow"):
        run_once(sessions, SmtpMailer(settings), NOW, sender=SENDER)
        run_once(sessions, SmtpMailer(settings), NOW + timedelta(days=21), sender=SENDER)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("safewindow")]
    assert ours  # the failure and the discarded reminders were logged
    text = " ".join(ours).lower()
    for private in ("asha", "grewal", "example.com", "filler", "aftercare", "swelling", "fraser valley"):
        assert private not in text


def test_without_an_smtp_host_mail_goes_to_eml_files(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    mailer = mailer_from_settings(SmtpSettings(host=None), StoreSettings(data_dir=tmp_path))
    assert isinstance(mailer, FolderMailer) and mailer.folder == tmp_path / "mail"
    keys = add_plain(sessions, 2, NOW)
    assert run_once(sessions, mailer, NOW, sender=SENDER).sent == 2
    files = sorted((tmp_path / "mail").iterdir())
    assert [f.name for f in files] == [f"{key}_fraservalleyskin.example.eml" for key in keys]
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage) and message["Message-ID"] == message_id(keys[0], SENDER)
    # The same message written again replaces its file: a folder never holds a duplicate.
    mailer.send(message)
    assert len(list((tmp_path / "mail").iterdir())) == 2
