"""The worker: writes the mail of recorded visit changes, then sends due outbox messages (e-mail, and text
reminders for patients who asked for them), retrying failures with exponential backoff.

Each round first turns the recorded bookings, moves and cancellations into their messages (notice, reminders,
aftercare: services/notifications.py, `write_mail_for_changes`, a batch per transaction until none wait). A
message of a visit whose newer change is still to be written waits for it, so an old reminder never goes out
after a move. Each message then goes
through three short steps, each its own transaction or none:
1. claim: lock the row, check it is still due and unsent (and still wanted: opt-out, cancelled visit), count
   the attempt, set `claimed_at`, and push `due_at` back by the backoff; commit. Another worker, or this one
   restarted, will not pick it up again before that time.
2. send, with the delivery key as the Message-ID (a text goes to the text provider, which has no such id: a
   text in doubt may arrive twice).
3. record: `sent_at` as soon as the SMTP server accepted the message (or the error, and give up after
   MAX_ATTEMPTS or a permanent refusal); commit.

What a crash does, honestly: a message recorded as sent is never sent again, and one never claimed is sent
once. Killed between the claim and the server's acceptance, the message was not delivered; it is sent once
after its backoff. Killed in the few milliseconds between the server's acceptance (its 250 reply) and the
commit of `sent_at`, nothing here can know it was delivered: SMTP has no way to ask. The row still has
`claimed_at` and no outcome, and after the backoff it is sent again, with the same Message-ID. That is the
one place delivery is at-least-once rather than exactly-once: losing an aftercare message with its warning
signs is worse than a duplicate, so the worker resends rather than drops. Because the Message-ID is the same,
a relay or mailbox that deduplicates on it (many do; a relay can be set to) keeps one copy, and the patient
sees one. The FolderMailer writes one file per Message-ID, so it is exactly-once.

Logs carry message ids, attempt counts and error types only: never a recipient, subject or body."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Literal, Protocol

import httpx  # webhooks
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.attempts import begin_attempt
from safewindow.services.notifications import SenderSettings, change_waiting, discard_reason, write_mail_for_changes
from safewindow.services.recalls import enqueue_due_recalls
from safewindow.services.webhooks import deliver_due  # webhooks
from safewindow.store.database import StoreSettings
from safewindow.store.outbox_models import Channel, OutboxMessage
from safewindow.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
BATCH = 100
ERROR_CHARS = 500


class SmtpSettings(SenderSettings):
    """SAFEWINDOW_SMTP_HOST, _PORT, _SECURITY (starttls | tls | none), _USERNAME, _PASSWORD, _SENDER, _TIMEOUT."""

    host: str | None = None
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 30.0


class Mailer(Protocol):
    where: str  # for the operator: where the mail goes

    def send(self, message: EmailMessage) -> None:
        """Return once the message is accepted; raise otherwise (PermanentFailure: retrying will not help)."""


class PermanentFailure(Exception):
    pass


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        if not settings.host:
            raise ValueError("SmtpMailer needs SAFEWINDOW_SMTP_HOST")
        self.settings = settings
        self.where = f"SMTP {settings.host}:{settings.port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host is not None
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.security == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        try:
            smtp = self._connect()
            try:
                if self.settings.username:
                    password = self.settings.password.get_secret_value() if self.settings.password else ""
                    smtp.login(self.settings.username, password)
                smtp.send_message(message)
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure("the server refused the recipient") from error
        except smtplib.SMTPDataError as error:
            # Only a refusal of this message is permanent: a refused login or sender is the clinic's setup, and
            # every message is retried once it is fixed.
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"the server refused the message ({error.smtp_code})") from error
            raise


def _quit(smtp: smtplib.SMTP) -> None:
    # Once the server accepted the message it is delivered: a failing QUIT must not make it look failed.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class FolderMailer:
    """Writes each message to `<folder>/<Message-ID>.eml`: for a clinic without an SMTP server, and for
    development. Writing the same message again replaces its file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = f"files in {folder}"

    def send(self, message: EmailMessage) -> None:
        write_file(self.folder, str(message["Message-ID"]).strip("<>"), ".eml", message.as_bytes())


def write_file(folder: Path, key: str, suffix: str, content: bytes) -> None:
    """`<folder>/<key><suffix>`, whole or not at all (written aside, then renamed): a reader never sees half."""
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    os.replace(temporary, folder / f"{name}{suffix}")


class TextSettings(BaseSettings):
    """SAFEWINDOW_TEXT_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER, _API_URL, _TIMEOUT: a Twilio account (its
    Programmable Messaging API; a Canadian number, for Canadian patients) that sends the text reminders."""

    model_config = SettingsConfigDict(env_prefix="SAFEWINDOW_TEXT_", extra="ignore")

    account_sid: str | None = None
    auth_token: SecretStr | None = None
    from_number: str | None = None
    api_url: str = "https://api.twilio.com"
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class TextMessage:
    to: str  # E.164
    body: str
    key: str  # the delivery key: the file name of a FolderTexter, never sent to the provider


class Texter(Protocol):
    where: str  # for the operator: where the texts go

    def send(self, text: TextMessage) -> None:
        """Return once the provider accepted the text; raise otherwise (PermanentFailure: retrying will not help)."""


class TwilioTexter:
    """Posts each text to Twilio's Messages resource. A 4xx other than 429 is the provider refusing this text
    (a number that cannot take texts, one that replied STOP): permanent. The rest is retried."""

    def __init__(self, settings: TextSettings, client: httpx.Client | None = None) -> None:
        if not (settings.account_sid and settings.auth_token and settings.from_number):
            raise ValueError("TwilioTexter needs SAFEWINDOW_TEXT_ACCOUNT_SID, _AUTH_TOKEN and _FROM_NUMBER")
        self.settings = settings
        self.where = f"Twilio from {settings.from_number}"
        self.client = client or httpx.Client(timeout=settings.timeout)

    def send(self, text: TextMessage) -> None:
        s = self.settings
        assert s.account_sid is not None and s.auth_token is not None and s.from_number is not None
        response = self.client.post(
            f"{s.api_url.rstrip('/')}/2010-04-01/Accounts/{s.account_sid}/Messages.json",
            data={"To": text.to, "From": s.from_number, "Body": text.body},
            auth=(s.account_sid, s.auth_token.get_secret_value()),
        )
        if response.is_success:
            return
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise PermanentFailure(f"the text provider refused the message ({response.status_code})")
        response.raise_for_status()


class FolderTexter:
    """Writes each text to `<folder>/<delivery key>.txt`: for a clinic without a text provider, and for
    development. Writing the same text again replaces its file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = f"files in {folder}"

    def send(self, text: TextMessage) -> None:
        write_file(self.folder, text.key, ".txt", f"To: {text.to}\n\n{text.body}\n".encode())


def texter_from_settings(texts: TextSettings | None = None, store: StoreSettings | None = None) -> Texter:
    texts = texts or TextSettings()
    if texts.account_sid:
        return TwilioTexter(texts)
    return FolderTexter((store or StoreSettings()).data_dir / "texts")


def mailer_from_settings(smtp: SmtpSettings | None = None, store: StoreSettings | None = None) -> Mailer:
    smtp = smtp or SmtpSettings()
    if smtp.host:
        return SmtpMailer(smtp)
    return FolderMailer((store or StoreSettings()).data_dir / "mail")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel: str
    delivery_key: str
    recipient: str
    subject: str
    body: str
    ics: str | None
    ics_method: str | None
    stop_url: str | None
    attempts: int


@dataclass(slots=True)
class RunReport:
    written: int = 0  # messages written from visit changes
    sent: int = 0
    failed: int = 0  # will be retried
    gave_up: int = 0
    discarded: int = 0
    in_doubt: int = 0  # resent after an attempt with no recorded outcome
    # --- webhooks (services/webhooks.py): delivered by the same run, after the e-mail ---
    webhooks_delivered: int = 0
    webhooks_failed: int = 0  # will be retried
    webhooks_gave_up: int = 0


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th try a message is tried again: 1, 2, 4 ... minutes, at most 6 hours."""
    delay: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(delay, LONGEST_RETRY)


def message_id(delivery_key: str, sender: SenderSettings) -> str:
    domain = sender.address().rpartition("@")[2] or "safewindow.invalid"
    return f"<{delivery_key}@{domain}>"


def compose(claimed: Claimed, sender: SenderSettings, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender.sender
    message["To"] = claimed.recipient
    message["Subject"] = claimed.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(claimed.delivery_key, sender)
    message["Auto-Submitted"] = "auto-generated"
    if claimed.stop_url is not None:  # the mailbox's own "Unsubscribe", in one click (RFC 8058)
        message["List-Unsubscribe"] = f"<{claimed.stop_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(claimed.body)
    if claimed.ics is not None:
        message.add_attachment(
            claimed.ics,
            subtype="calendar",
            filename="visit.ics",
            params={"method": claimed.ics_method or "PUBLISH"},
        )
    return message


def _due(session_factory: sessionmaker[Session], now: datetime, batch: int) -> list[int]:
    with UnitOfWork(session_factory) as uow:
        return list(
            uow.session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.gave_up_at.is_(None), OutboxMessage.due_at <= now)
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .limit(batch)
            )
        )


def _claim(session_factory: sessionmaker[Session], message_id: int, now: datetime, report: RunReport) -> Claimed | None:
    with UnitOfWork(session_factory, write=True) as uow:
        row = uow.session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.sent_at is not None or row.gave_up_at is not None or row.due_at > now:
            return None  # another worker has it, or a move or cancellation removed it
        if row.visit_id is not None and change_waiting(uow.session, row.visit_id):
            return None  # the visit changed after this round wrote its mail: the next round sees what holds
        reason = discard_reason(uow.session, row, now)
        if reason is not None:
            uow.session.delete(row)
            uow.commit()
            report.discarded += 1
            log.info("outbox message %s discarded: %s", message_id, reason)
            return None
        report.in_doubt += begin_attempt(row, now, backoff, "outbox message")
        claimed = Claimed(
            row.id,
            row.channel,
            row.delivery_key,
            row.recipient,
            row.subject,
            row.body,
            row.ics,
            row.ics_method,
            row.stop_url,
            row.attempts,
        )
        uow.commit()
        return claimed


def _record(session_factory: sessionmaker[Session], claimed: Claimed, now: datetime, error: Exception | None) -> str:
    with UnitOfWork(session_factory, write=True) as uow:
        row = uow.session.get(OutboxMessage, claimed.id, with_for_update=True)
        if row is None:
            return "sent" if error is None else "failed"  # removed meanwhile by a move or cancellation
        row.claimed_at = None
        if error is None:
            row.sent_at, row.last_error = now, None
            outcome = "sent"
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
            permanent = isinstance(error, PermanentFailure) or claimed.attempts >= MAX_ATTEMPTS
            row.gave_up_at = now if permanent else None
            outcome = "gave_up" if permanent else "failed"
        uow.commit()
        return outcome


def run_once(
    session_factory: sessionmaker[Session],
    mailer: Mailer,
    now: datetime,
    *,
    sender: SenderSettings | None = None,
    texter: Texter | None = None,
    batch: int = BATCH,
) -> RunReport:
    """Write the mail of recorded visit changes, then send what is due at `now`, each message claimed, sent
    and recorded on its own: e-mail through `mailer`, texts through `texter` (by default the one the settings
    name)."""
    sender = sender or SenderSettings()
    report = RunReport(written=write_mail_for_changes(session_factory, sender=sender))
    for message_id_ in _due(session_factory, now, batch):
        claimed = _claim(session_factory, message_id_, now, report)
        if claimed is None:
            continue
        error: Exception | None = None
        try:
            if claimed.channel == Channel.TEXT:
                texter = texter or texter_from_settings()
                texter.send(TextMessage(claimed.recipient, claimed.body, claimed.delivery_key))
            else:
                mailer.send(compose(claimed, sender, now))
        except Exception as caught:  # the mail server's problem, whatever it is, is this message's outcome
            error = caught
            log.warning(
                "outbox message %s: attempt %s failed (%s)", claimed.id, claimed.attempts, type(caught).__name__
            )
        outcome = _record(session_factory, claimed, now, error)
        setattr(report, outcome, getattr(report, outcome) + 1)
    deliver_webhooks(session_factory, now, report)  # webhooks
    return report


def worker_round(
    session_factory: sessionmaker[Session],
    mailer: Mailer,
    now: datetime,
    *,
    sender: SenderSettings | None = None,
    texter: Texter | None = None,
) -> RunReport:
    """One round of the running worker: write the recalls due today as messages (once each: recall_due keys
    them by patient, treatment and day), then send what is due."""
    enqueue_due_recalls(session_factory, default_knowledge_base(), default_plans().recalls, now=now)
    return run_once(session_factory, mailer, now, sender=sender, texter=texter)


def run_forever(
    session_factory: sessionmaker[Session],
    mailer: Mailer,
    interval: float,
    stop: threading.Event,
    clock: Callable[[], datetime] = now_utc,
    on_report: Callable[[RunReport], None] | None = None,
    texter: Texter | None = None,
) -> None:
    while not stop.is_set():
        report = worker_round(session_factory, mailer, clock(), texter=texter)
        if on_report is not None:
            on_report(report)
        stop.wait(interval)


# --- Webhooks -------------------------------------------------------------------------------------------------
# The clinic's systems hear of events through the same outbox discipline as e-mail: a delivery row written with
# the change, claimed, sent and recorded here, with the same backoff and attempt limit (services/webhooks.py).


def deliver_webhooks(
    session_factory: sessionmaker[Session], now: datetime, report: RunReport, client: httpx.Client | None = None
) -> None:
    done = deliver_due(session_factory, now, backoff=backoff, max_attempts=MAX_ATTEMPTS, client=client)
    report.webhooks_delivered += done.delivered
    report.webhooks_failed += done.failed
    report.webhooks_gave_up += done.gave_up + done.discarded


# --- end of webhooks ------------------------------------------------------------------------------------------
