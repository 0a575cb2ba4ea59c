"""Text reminders on real SQLite and PostgreSQL, sent to a real HTTP peer that answers as Twilio's Messages
resource does: a patient who asks for texts gets the visit's reminders as texts too (the clinic, day and time,
never the treatment), turning texts off drops the unsent ones, a new number carries them, and the worker sends
them with the account's credentials, retrying what may pass and giving up on what the provider refuses.
Times are local Abbotsford times; the demo's clinic 1 opens Tue-Sat 09-17 and is on UTC-7."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.booking import book, cancel
from safewindow.services.contact_preferences import contact_preferences, set_contact_preferences
from safewindow.services.errors import FieldProblems
from safewindow.services.notifications import write_mail_for_changes
from safewindow.store import models
from safewindow.store.outbox_models import NotificationPreference, OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.worker import FolderMailer, FolderTexter, TextSettings, TwilioTexter, run_once, texter_from_settings

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
SID, TOKEN, FROM = "AC0123456789abcdef0123456789abcdef", "secret-token", "+16045550100"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def asha(new_patient: Callable[..., int]) -> int:
    return new_patient(name="Asha Grewal", email="asha.grewal@example.com")


def choose(sessions: sessionmaker[Session], patient: int, phone: str = "", *, texts: bool, email: bool = True) -> None:
    set_contact_preferences(
        sessions,
        patient_id=patient,
        actor="front-desk:1",
        phone=phone,
        email_reminders=email,
        text_reminders=texts,
        now=NOW,
    )


def book_at(sessions: sessionmaker[Session], patient: int, at: str) -> int:
    visit = book(
        sessions, KB, patient_id=patient, treatment="botox", clinic_id=1, start=local(at), actor="t", now=NOW
    ).visit
    write_mail_for_changes(sessions, kb=KB)  # the worker's first step
    return visit.id


def texts(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with UnitOfWork(sessions) as uow:
        query = select(OutboxMessage).where(OutboxMessage.channel == "text").order_by(OutboxMessage.due_at)
        return list(uow.session.scalars(query))


def test_a_booking_writes_text_reminders_that_name_no_treatment(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "(604) 555-0199", texts=True)
    visit = book_at(sessions, asha, "2026-12-02T10:00")
    sent = texts(sessions)
    assert [(m.kind, m.due_at, m.recipient) for m in sent] == [
        ("reminder-48h", local("2026-11-30T10:00"), "+16045550199"),
        ("reminder-2h", local("2026-12-02T08:00"), "+16045550199"),
    ]
    assert all(m.visit_id == visit and not m.essential and m.subject == "" for m in sent)
    assert sent[0].body.startswith("Fraser Valley Skin Studio: a reminder of your visit on Wed 2 Dec at 10:00.")
    assert sent[1].body.startswith("Fraser Valley Skin Studio: a reminder of your visit in about two hours at 10:00.")
    assert all("botox" not in m.body.lower() for m in sent) and all(len(m.body) <= 160 for m in sent)
    with UnitOfWork(sessions) as uow:  # the e-mail reminders are there as before
        mail = uow.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.channel == "email")).all()
    assert {"visit-booked", "reminder-48h", "reminder-2h"} <= set(mail)


def test_without_texts_a_booking_writes_none(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "604 555 0199", texts=False)
    book_at(sessions, asha, "2026-12-02T10:00")
    assert texts(sessions) == []


def test_turning_texts_on_writes_them_for_visits_already_booked_and_off_drops_them(
    sessions: sessionmaker[Session], asha: int
) -> None:
    book_at(sessions, asha, "2026-12-02T10:00")
    assert texts(sessions) == []
    choose(sessions, asha, "604-555-0199", texts=True)
    assert [m.kind for m in texts(sessions)] == ["reminder-48h", "reminder-2h"]
    choose(sessions, asha, "604-555-0123", texts=True)  # a new number carries the unsent texts
    assert {m.recipient for m in texts(sessions)} == {"+16045550123"}
    choose(sessions, asha, "604-555-0123", texts=False)
    assert texts(sessions) == []
    assert contact_preferences(sessions(), asha).phone == "+16045550123"


def test_e_mail_reminders_off_keeps_the_texts_and_texts_off_keeps_the_e_mail(
    sessions: sessionmaker[Session], asha: int
) -> None:
    choose(sessions, asha, "604-555-0199", texts=True)
    book_at(sessions, asha, "2026-12-02T10:00")
    choose(sessions, asha, "604-555-0199", texts=True, email=False)
    with UnitOfWork(sessions) as uow:
        reminders = uow.session.execute(
            select(OutboxMessage.channel, OutboxMessage.kind).where(OutboxMessage.essential.is_(False))
        ).all()
    assert sorted(reminders) == [("text", "reminder-2h"), ("text", "reminder-48h")]
    choose(sessions, asha, "604-555-0199", texts=False, email=True)
    assert texts(sessions) == []


def test_a_cancelled_visit_drops_its_texts(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "604-555-0199", texts=True)
    visit = book_at(sessions, asha, "2026-12-02T10:00")
    cancel(sessions, KB, visit_id=visit, actor="t", now=NOW)
    write_mail_for_changes(sessions, kb=KB)
    assert texts(sessions) == []


def test_bad_choices_name_the_phone_and_write_nothing(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "604-555-0199", texts=False, email=True)
    for phone, texts_on, problem in (
        ("12", True, "'12' is not a valid telephone number (another country's needs its +code)"),
        ("call me", False, "'call me' is not a telephone number"),
        ("", True, "text reminders need a mobile number"),
    ):
        with pytest.raises(FieldProblems) as refused:
            choose(sessions, asha, phone, texts=texts_on, email=False)
        assert refused.value.problems == [("phone", problem)]
    after = contact_preferences(sessions(), asha)
    assert (after.phone, after.email_reminders, after.text_reminders) == ("+16045550199", True, False)


def test_a_number_on_file_from_before_the_checks_does_not_block_the_other_choices(
    sessions: sessionmaker[Session], asha: int
) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        patient = uow.session.get(models.Patient, asha)
        assert patient is not None
        patient.phone = "604 555 0142 ext. 3"  # typed freely before numbers were checked
        uow.commit()
    choose(sessions, asha, "604 555 0142 ext. 3", texts=False, email=False)
    after = contact_preferences(sessions(), asha)
    assert (after.phone, after.email_reminders) == ("604 555 0142 ext. 3", False)
    with pytest.raises(FieldProblems):  # a new number is checked
        choose(sessions, asha, "604 555 01", texts=False)


def test_a_choice_not_given_stays_as_it_is(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "604-555-0199", texts=True, email=True)
    set_contact_preferences(
        sessions, patient_id=asha, actor="t", phone=None, email_reminders=False, text_reminders=None, now=NOW
    )
    after = contact_preferences(sessions(), asha)
    assert (after.phone, after.email_reminders, after.text_reminders) == ("+16045550199", False, True)


def test_the_audit_names_the_choices_but_never_the_number(sessions: sessionmaker[Session], asha: int) -> None:
    choose(sessions, asha, "604-555-0199", texts=True, email=False)
    with UnitOfWork(sessions) as uow:
        entry = uow.session.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "patient.contact-preferences")
        ).one()
    assert (entry.actor, entry.entity_id) == ("front-desk:1", str(asha))
    assert entry.detail == {"email_reminders": False, "text_reminders": True, "phone_changed": True}
    assert "555" not in str(entry.detail)


class Provider(BaseHTTPRequestHandler):
    """Twilio's Messages resource as far as a sender sees it: form posts with basic auth, 201 when accepted."""

    received: list[tuple[str, str, dict[str, list[str]]]]
    answers: list[int]

    def do_POST(self) -> None:  # http.server calls it
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.append((self.path, self.headers["Authorization"], parse_qs(body)))
        status = self.answers.pop(0) if self.answers else 201
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"sid": "SM1"}' if status == 201 else b'{"code": 21211}')

    def log_message(self, *args: object) -> None:
        pass  # bodies are patients' texts: nothing on the console


@pytest.fixture
def provider() -> Iterator[tuple[type[Provider], TextSettings]]:
    handler = type("Handler", (Provider,), {"received": [], "answers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings = TextSettings(
        account_sid=SID,
        auth_token=SecretStr(TOKEN),
        from_number=FROM,
        api_url=f"http://127.0.0.1:{server.server_address[1]}",
        timeout=10,
    )
    try:
        yield handler, settings
    finally:
        server.shutdown()
        server.server_close()


def test_the_worker_sends_due_texts_to_the_provider_once(
    sessions: sessionmaker[Session], asha: int, provider: tuple[type[Provider], TextSettings], tmp_path: Path
) -> None:
    handler, settings = provider
    choose(sessions, asha, "604-555-0199", texts=True)
    book_at(sessions, asha, "2026-12-02T10:00")
    at = local("2026-11-30T10:00")
    report = run_once(sessions, FolderMailer(tmp_path / "mail"), at, texter=TwilioTexter(settings))
    assert len(handler.received) == 1
    path, authorization, form = handler.received[0]
    assert path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert (form["To"], form["From"]) == (["+16045550199"], [FROM])
    assert form["Body"][0].startswith("Fraser Valley Skin Studio: a reminder of your visit on Wed 2 Dec")
    assert [m.sent_at is not None for m in texts(sessions)] == [True, False]
    assert report.sent >= 2  # the text and the e-mail reminder due with it
    run_once(sessions, FolderMailer(tmp_path / "mail"), at + timedelta(minutes=5), texter=TwilioTexter(settings))
    assert len(handler.received) == 1  # sent is sent


def test_a_refused_number_is_given_up_and_a_provider_error_retried(
    sessions: sessionmaker[Session], asha: int, provider: tuple[type[Provider], TextSettings], tmp_path: Path
) -> None:
    handler, settings = provider
    choose(sessions, asha, "604-555-0199", texts=True)
    book_at(sessions, asha, "2026-12-02T10:00")
    handler.answers[:] = [503, 400]
    mailer, texter = FolderMailer(tmp_path / "mail"), TwilioTexter(settings)
    run_once(sessions, mailer, local("2026-11-30T10:00"), texter=texter)
    first = texts(sessions)[0]
    assert (first.sent_at, first.gave_up_at, first.attempts) == (None, None, 1)
    assert first.last_error is not None and "503" in first.last_error
    run_once(sessions, mailer, local("2026-11-30T10:05"), texter=texter)  # after the first backoff
    first = texts(sessions)[0]
    assert first.gave_up_at is not None and first.sent_at is None
    assert first.last_error == "PermanentFailure: the text provider refused the message (400)"


def test_a_text_due_after_texts_were_turned_off_is_not_sent(
    sessions: sessionmaker[Session], asha: int, tmp_path: Path
) -> None:
    choose(sessions, asha, "604-555-0199", texts=True)
    book_at(sessions, asha, "2026-12-02T10:00")
    with UnitOfWork(sessions, write=True) as uow:  # turned off behind the service's back: the worker checks too
        preference = uow.session.get(NotificationPreference, asha)
        assert preference is not None
        preference.text_reminders = False
        uow.commit()
    folder = tmp_path / "texts"
    report = run_once(sessions, FolderMailer(tmp_path / "mail"), local("2026-11-30T10:00"), texter=FolderTexter(folder))
    assert report.discarded == 1
    assert not folder.exists()


def test_without_a_provider_texts_go_to_files(sessions: sessionmaker[Session], asha: int, tmp_path: Path) -> None:
    texter = texter_from_settings(TextSettings(), store=None)
    assert isinstance(texter, FolderTexter)
    choose(sessions, asha, "604-555-0199", texts=True)
    book_at(sessions, asha, "2026-12-02T10:00")
    folder = tmp_path / "texts"
    run_once(sessions, FolderMailer(tmp_path / "mail"), local("2026-11-30T10:00"), texter=FolderTexter(folder))
    (written,) = folder.glob("*.txt")
    assert written.read_text().startswith("To: +16045550199\n\nFraser Valley Skin Studio: a reminder")
