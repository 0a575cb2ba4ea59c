"""What a change to a visit tells the patient: recorded with the change, written as mail by the worker.

`record_visit_change(session, visit, event)` runs inside the booking, move or cancellation, after its flush:
it writes one `VisitChange` row (and the clinic's webhook deliveries), so the change to tell exists exactly
when the visit's change is committed, and a rollback leaves none. The worker's `write_mail_for_changes` then
writes each change's messages into the outbox and deletes the change, in one transaction, before it sends what
is due. The mail is rendered there, not in the booking, because the booking holds the clinic's lock: e-mail
bodies and calendar files would make every other booking at the clinic wait.

Which mail is essential (sent whatever the patient's preference):
- booked, moved and cancelled notices: they change what the patient agreed to, and carry the calendar file;
- aftercare: it says what to do and which warning signs mean calling the clinic now, so it is safety mail;
- a changed treatment plan: it changes the patient's care.
Non-essential, and never sent to a patient who opted out: reminders 48 and 2 hours before a visit (the
confirmation and its calendar entry already hold the time) and recalls ("time for your next treatment").
A patient who asked for texts (services/contact_preferences.py) also gets the reminders as text messages, which
name the clinic, day and time only.

A move or a cancellation first removes every not-yet-sent message of the visit: reminders and aftercare for a
time that no longer holds, and a notice about a state the visit has left. A change that a later change of the
same visit already supersedes writes nothing: the later one says what holds. Delivery keys name the visit's
version, so the moved visit's messages are new ones. Bodies are patient-facing text, in our words; they stay
in the outbox and are never logged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import cast

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Table, delete, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.aftercare import CALL_NOW, AftercareDay, AftercareTimeline, aftercare_timeline
from safewindow.domain.availability import changes_close_in_words
from safewindow.domain.deposits import terms
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import webhooks
from safewindow.services.calendar_files import Method, calendar_visit, invitation, one_line
from safewindow.services.clinic_setup import clinic_setup
from safewindow.services.consents import FormVersions, coverage_of_visits, versions_of_clinics
from safewindow.services.mail_choices import opted_out, wants_texts
from safewindow.services.offers import change_notice
from safewindow.services.stop_links import issue_stop_link
from safewindow.store import models
from safewindow.store.outbox_models import Channel, OutboxMessage, VisitChange
from safewindow.store.unit_of_work import UnitOfWork

REMINDERS = (("reminder-48h", timedelta(hours=48)), ("reminder-2h", timedelta(hours=2)))
RECALL_TIME = time(9, 0)
BATCH = 100  # visit changes written as mail per transaction
ROUNDS = 50  # transactions per round of the worker at most: it must get on to sending
CONCERNS = "If you have any concerns, contact {clinic}."
FINAL_WORD = "A qualified practitioner makes the final decision about your care."


class SenderSettings(BaseSettings):
    """Who the mail comes from (SAFEWINDOW_SMTP_SENDER); also the organizer of the calendar invitations."""

    model_config = SettingsConfigDict(env_prefix="SAFEWINDOW_SMTP_", extra="ignore")

    sender: str = "safewindow <no-reply@safewindow.invalid>"
    # Where patients reach the web app, for the links in e-mail (SAFEWINDOW_PUBLIC_URL).
    public_url: str = Field("http://127.0.0.1:8000", validation_alias="SAFEWINDOW_PUBLIC_URL")

    def address(self) -> str:
        return parseaddr(self.sender)[1] or self.sender


class VisitEvent(StrEnum):
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"


class Kind(StrEnum):
    BOOKED = "visit-booked"
    MOVED = "visit-moved"
    CANCELLED = "visit-cancelled"
    REMINDER_48H = "reminder-48h"
    REMINDER_2H = "reminder-2h"
    AFTERCARE = "aftercare"
    RECALL = "recall"
    PLAN_CHANGED = "plan-changed"


NOTICE = {VisitEvent.BOOKED: Kind.BOOKED, VisitEvent.RESCHEDULED: Kind.MOVED, VisitEvent.CANCELLED: Kind.CANCELLED}
NON_ESSENTIAL = frozenset({Kind.REMINDER_48H, Kind.REMINDER_2H, Kind.RECALL})


def when(instant: datetime, zone_name: str) -> str:
    local = instant.astimezone(clinic_zone(zone_name))
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M}"


def _day(on: date) -> str:
    return f"{on:%A} {on.day} {on:%B %Y}"


WRITTEN = (
    "kind", "channel", "recipient", "subject", "body", "ics", "ics_method", "stop_url", "essential", "patient_id",
    "visit_id", "due_at", "delivery_key",
)  # fmt: skip


def _add(session: Session, messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """Writes the messages not already in the outbox, in one statement: enqueueing one event twice writes it
    once (the delivery key is unique). Returns the ones written."""
    if not messages:
        return []
    now = now_utc()
    rows = [
        {column: getattr(m, column) for column in WRITTEN}
        | {"channel": m.channel or Channel.EMAIL.value, "attempts": 0, "created_at": now}
        for m in messages
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["delivery_key"])
    # On the connection: rows, not objects, so the ORM has nothing to track.
    written = set(session.connection().execute(statement.returning(OutboxMessage.delivery_key), rows).scalars())
    return [m for m in messages if m.delivery_key in written]


def _visit_key(visit: models.Visit, what: str) -> str:
    return f"visit-{visit.id}-v{visit.version}-{what}"


def _signed(clinic: models.Clinic, *lines: str) -> str:
    phone = [f"Telephone {clinic.phone}"] if clinic.phone else []
    return "\n".join([*lines, "", f"{clinic.name}", f"{clinic.address}", *phone, ""])


def _changes(clinic: models.Clinic) -> str:
    """How the patient may change the visit: online within the clinic's notice, then by calling."""
    notice = change_notice(clinic)
    if not notice:
        return "To cancel or move it, sign in and open My visits, or contact the clinic."
    return (
        f"To cancel or move it, sign in and open My visits until {changes_close_in_words(notice)}; "
        "after that, please call the clinic."
    )


def _notice(
    visit: models.Visit, event: VisitEvent, name: str, was: datetime | None, *, consent_url: str | None = None
) -> tuple[str, str]:
    """The notice of a change; with `consent_url` (the public address) when the visit's consent form is not
    yet signed, a line asking the patient to sign it."""
    clinic, at = visit.clinic, when(visit.start_at, visit.clinic.time_zone)
    hello = f"Hello {visit.patient.name},"
    consent = [_consent_line(name, consent_url)] if consent_url else []
    if event is VisitEvent.BOOKED:
        return f"Your visit at {clinic.name} is booked", _signed(
            clinic,
            hello,
            "",
            f"Your visit is booked: {name}, {at}, at {clinic.name}, {one_line(clinic.address)}.",
            "The attached calendar file adds it to your calendar.",
            _changes(clinic),
            *([terms(clinic.name, visit.deposit_cents, change_notice(clinic))] if visit.deposit_cents else []),
            *consent,
        )
    if event is VisitEvent.RESCHEDULED:
        moved = f" (it was {when(was, clinic.time_zone)})" if was else ""
        return f"Your visit at {clinic.name} has moved", _signed(
            clinic,
            hello,
            "",
            f"Your visit has moved: {name} is now {at}{moved}, at {clinic.name}, {one_line(clinic.address)}.",
            "The attached calendar file updates the entry in your calendar.",
            "If the new time does not suit you, contact the clinic.",
            *consent,
        )
    return f"Your visit at {clinic.name} is cancelled", _signed(
        clinic,
        hello,
        "",
        f"Your visit on {at} ({name}) is cancelled.",
        "The attached calendar file removes it from your calendar.",
        "To book another time, contact the clinic.",
    )


def _reminder(visit: models.Visit, name: str, ahead: timedelta, stop_url: str) -> tuple[str, str]:
    clinic, at = visit.clinic, when(visit.start_at, visit.clinic.time_zone)
    soon = "in about two hours" if ahead <= timedelta(hours=2) else "in two days"
    return f"Reminder: your visit at {clinic.name} {soon}", _signed(
        clinic,
        f"Hello {visit.patient.name},",
        "",
        f"A reminder that your visit is {soon}: {name}, {at}, at {clinic.name}, {one_line(clinic.address)}.",
        "If you cannot come, or anything about your health has changed since you booked, contact the clinic.",
        "",
        _stop_line(stop_url),
    )


def _consent_line(name: str, public_url: str) -> str:
    return (
        f"Before your visit, please read and sign the clinic's consent form for {name}: "
        f"{public_url.rstrip('/')}/my/consents"
    )


def _stop_line(stop_url: str) -> str:
    return (
        f"To stop reminders and recalls by e-mail, open {stop_url} (mail about your visits and aftercare still "
        "comes; you can turn them back on under Messages when you sign in)."
    )


def _text_reminder(visit: models.Visit, ahead: timedelta) -> str:
    """A text shows on a lock screen: the clinic, the day and the time, never the treatment."""
    clinic, local = visit.clinic, visit.start_at.astimezone(clinic_zone(visit.clinic.time_zone))
    soon = "in about two hours" if ahead <= timedelta(hours=2) else f"on {local:%a} {local.day} {local:%b}"
    change = f"call {clinic.phone}" if clinic.phone else "contact the clinic"
    return (
        f"{clinic.name}: a reminder of your visit {soon} at {local:%H:%M}. To change it, {change}. "
        "Reply STOP to end texts."
    )


def write_text_reminders(session: Session, visit: models.Visit, *, now: datetime) -> list[OutboxMessage]:
    """The visit's text reminders still ahead of `now`, for a patient who asked for texts and has a mobile
    number; added to the caller's open transaction."""
    number = (visit.patient.phone or "").strip()
    if not number or not wants_texts(session, visit.patient_id):
        return []
    texts = [
        OutboxMessage(
            kind=kind,
            channel=str(Channel.TEXT),
            recipient=number,
            subject="",
            body=_text_reminder(visit, ahead),
            essential=False,
            patient_id=visit.patient_id,
            visit_id=visit.id,
            due_at=visit.start_at - ahead,
            delivery_key=_visit_key(visit, f"{kind}-text"),
        )
        for kind, ahead in REMINDERS
        if visit.start_at - ahead > now
    ]
    return _add(session, texts)


def _bullets(title: str, items: Sequence[str]) -> list[str]:
    return [title, *(f"- {item}" for item in items), ""] if items else []


def aftercare_body(timeline: AftercareTimeline, day: AftercareDay, patient: str, clinic: models.Clinic) -> str:
    """One day's aftercare, the warning signs, and the closing every aftercare e-mail ends with."""
    visit_day = _day(timeline.start.date())
    if day.day == 0:
        opening = f"Thank you for coming in today for {timeline.name}. Here is what to expect for the rest of today."
    elif day.day == timeline.recovery_ends:
        opening = f"It is day {day.day} after your {timeline.name} on {visit_day}: the usual recovery time ends today."
    else:
        opening = f"It is day {day.day} after your {timeline.name} on {visit_day}. Here is what to expect today."
    lines = [
        f"Hello {patient},",
        "",
        opening,
        "",
        *_bullets("What to expect:", day.expect),
        *_bullets("What to do:", day.do),
        *_bullets("What to avoid:", day.avoid),
        *_bullets(CALL_NOW, timeline.warning_signs),
        "Your clinic's own written instructions come first.",
        "",
        f"{clinic.name}, {one_line(clinic.address)}",
        "",
        CONCERNS.format(clinic=clinic.name) + " " + FINAL_WORD,
    ]
    return "\n".join(lines) + "\n"


def _aftercare(visit: models.Visit, kb: KnowledgeBase, base: dict[str, object], now: datetime) -> list[OutboxMessage]:
    treatment = kb.treatments.get(visit.treatment_slug)
    if treatment is None:
        return []
    zone = clinic_zone(visit.clinic.time_zone)
    timeline = aftercare_timeline(treatment, visit.start_at, zone, visit.end_at)
    messages = []
    for email in timeline.emails():
        due = email.send_at.astimezone(UTC)
        day = timeline.on(email.day)
        if due <= now or day is None:
            continue
        messages.append(
            OutboxMessage(
                **base,
                kind=str(Kind.AFTERCARE),
                subject=f"Aftercare, day {email.day}: your visit on {_day(timeline.start.date())}",
                body=aftercare_body(timeline, day, visit.patient.name, visit.clinic),
                essential=True,
                due_at=due,
                delivery_key=_visit_key(visit, f"aftercare-day-{email.day}"),
            )
        )
    return messages


def record_visit_change(
    session: Session, visit: models.Visit, event: VisitEvent | str, *, now: datetime, was: datetime | None = None
) -> None:
    """In the caller's open transaction (never committed here), after the change: the clinic's webhook
    deliveries, and one row from which the worker writes the patient's mail. `was`: a moved visit's former
    start, for the patient's sake."""
    event = VisitEvent(event)
    session.flush()  # the visit's version must be the one being committed: it names the event
    webhooks.enqueue_visit_event(session, visit, str(event), now=now, was=was)  # webhooks: the clinic's systems
    change = {"visit_id": visit.id, "visit_version": visit.version, "event": str(event), "was": was, "happened_at": now}
    # A plain INSERT into the table: nothing for the ORM to track.
    session.execute(insert(cast(Table, VisitChange.__table__)), change)


def write_mail_for_changes(
    session_factory: sessionmaker[Session],
    *,
    kb: KnowledgeBase | None = None,
    sender: SenderSettings | None = None,
    batch: int = BATCH,
    rounds: int = ROUNDS,
) -> int:
    """The worker's first step: the recorded visit changes, oldest first, become their messages in the outbox and
    are deleted, `batch` per transaction (each statement costs more than the rows it carries), until none wait
    or `rounds` transactions have run (bookings may arrive as fast as they are written). Returns the messages
    written. Safe to run in several workers at once: changes another worker holds are skipped."""
    kb, sender = kb or default_knowledge_base(), sender or SenderSettings()
    written = 0
    for _ in range(rounds):
        claimed, messages = _write_batch(session_factory, kb, sender, batch)
        written += messages
        if claimed < batch:
            break
    return written


def _write_batch(
    session_factory: sessionmaker[Session], kb: KnowledgeBase, sender: SenderSettings, batch: int
) -> tuple[int, int]:
    """Up to `batch` changes in one transaction: (changes claimed, messages written). Every change to a visit
    bumps its version and records a change, so only a change of the visit's version as it now stands writes
    mail: an older one is superseded, whether the newer change still waits or another worker wrote it already.
    The visits' row locks, taken in id order, make the version read the one committed."""
    written = 0
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        claimed = select(VisitChange).order_by(VisitChange.id).limit(batch).with_for_update(skip_locked=True)
        changes = list(session.scalars(claimed))
        if not changes:
            return 0, 0
        ids = sorted({change.visit_id for change in changes})
        locked = (
            select(models.Visit)
            .where(models.Visit.id.in_(ids))
            .order_by(models.Visit.id)  # one order for every worker: no deadlock between them
            .options(selectinload(models.Visit.patient), selectinload(models.Visit.clinic))
            .with_for_update(of=models.Visit)
        )
        visits = {visit.id: visit for visit in session.scalars(locked)}
        forms = versions_of_clinics(session, {visit.clinic_id for visit in visits.values()})  # once, not per visit
        clinic_kb: dict[int, KnowledgeBase] = {}
        for change in changes:
            visit = visits.get(change.visit_id)
            if visit is None or change.visit_version != visit.version:
                continue  # superseded: a later change of the visit says it all, or already said it
            if visit.clinic_id not in clinic_kb:
                clinic_kb[visit.clinic_id] = clinic_setup(session, visit.clinic_id).knowledge(kb)
            mail = write_visit_mail(
                session,
                visit,
                change.event,
                now=change.happened_at,
                kb=clinic_kb[visit.clinic_id],
                was=change.was,
                sender=sender,
                consent_forms=forms,
            )
            written += len(mail)
        session.execute(delete(VisitChange).where(VisitChange.id.in_([change.id for change in changes])))
        uow.commit()
    return len(changes), written


def change_waiting(session: Session, visit_id: int) -> bool:
    """Whether a change of the visit still waits to be written as mail: its older messages may be stale."""
    return bool(session.scalar(select(exists().where(VisitChange.visit_id == visit_id))))


def write_visit_mail(
    session: Session,
    visit: models.Visit,
    event: VisitEvent | str,
    *,
    now: datetime | None = None,
    kb: KnowledgeBase | None = None,
    was: datetime | None = None,
    sender: SenderSettings | None = None,
    consent_forms: FormVersions | None = None,
) -> list[OutboxMessage]:
    """The messages `event` ("booked" | "rescheduled" | "cancelled") causes for `visit` as it is, as of `now`
    (when the change happened: reminders and aftercare already past then are left out), added to the caller's
    open transaction (never committed here). Returns the ones written: a message already in the outbox is not
    written twice. `consent_forms`: the clinics' consent forms, when the caller read them for a batch."""
    event = VisitEvent(event)
    now, kb, sender = now or now_utc(), kb or default_knowledge_base(), sender or SenderSettings()
    if event is not VisitEvent.BOOKED:
        session.execute(
            delete(OutboxMessage).where(OutboxMessage.visit_id == visit.id, OutboxMessage.sent_at.is_(None))
        )
    texts = write_text_reminders(session, visit, now=now) if event is not VisitEvent.CANCELLED else []
    recipient = visit.patient.email.strip()
    if not recipient:
        return texts
    treatment = kb.treatments.get(visit.treatment_slug)
    name = treatment.name if treatment else visit.treatment_slug
    base: dict[str, object] = {"recipient": recipient, "patient_id": visit.patient_id, "visit_id": visit.id}
    method = Method.CANCEL if event is VisitEvent.CANCELLED else Method.REQUEST
    unsigned = (
        event is not VisitEvent.CANCELLED
        and not coverage_of_visits(session, visit.patient_id, [visit], versions=consent_forms)[visit.id].covered
    )
    subject, body = _notice(visit, event, name, was, consent_url=sender.public_url if unsigned else None)
    messages = [
        OutboxMessage(
            **base,
            kind=str(NOTICE[event]),
            subject=subject,
            body=body,
            ics=invitation(
                calendar_visit(visit, kb, with_attendee=True), method, organizer=sender.address(), stamp=now
            ).decode(),
            ics_method=str(method),
            essential=True,
            due_at=now,
            delivery_key=_visit_key(visit, str(NOTICE[event])),
        )
    ]
    if event is not VisitEvent.CANCELLED:
        if not opted_out(session, visit.patient_id):
            for kind, ahead in REMINDERS:
                due = visit.start_at - ahead
                if due > now:
                    stop_url = issue_stop_link(session, visit.patient_id, sender.public_url)
                    subject, body = _reminder(visit, name, ahead, stop_url)
                    messages.append(
                        OutboxMessage(
                            **base,
                            kind=kind,
                            subject=subject,
                            body=body,
                            stop_url=stop_url,
                            essential=False,
                            due_at=due,
                            delivery_key=_visit_key(visit, kind),
                        )
                    )
        messages += _aftercare(visit, kb, base, now)
    return texts + _add(session, messages)


def recall_due(
    session: Session,
    *,
    patient_id: int,
    clinic_id: int,
    treatment_slug: str,
    due_on: date,
    now: datetime | None = None,
    kb: KnowledgeBase | None = None,
    sender: SenderSettings | None = None,
) -> OutboxMessage | None:
    """'Time for your next treatment' on `due_on` (09:00 at the clinic). Non-essential: nothing for a patient
    who opted out or has no e-mail. One per patient, treatment and day, however often it is asked for."""
    now, kb, sender = now or now_utc(), kb or default_knowledge_base(), sender or SenderSettings()
    patient, clinic = session.get(models.Patient, patient_id), session.get(models.Clinic, clinic_id)
    # webhooks: the clinic's systems hear of the recall too, e-mail or not, unless the patient opted out.
    if patient is not None and clinic is not None and not opted_out(session, patient_id):
        webhooks.enqueue_recall_due(
            session, patient_id=patient_id, clinic_id=clinic_id, treatment_slug=treatment_slug, due_on=due_on, now=now
        )
    if patient is None or clinic is None or not patient.email.strip() or opted_out(session, patient_id):
        return None
    key = f"recall-{patient_id}-{treatment_slug}-{due_on.isoformat()}"
    if session.scalar(select(exists().where(OutboxMessage.delivery_key == key))):
        return None  # written in an earlier round: asked every round, it must not mint a stop link each time
    treatment = kb.treatments.get(treatment_slug)
    name = treatment.name if treatment else treatment_slug
    due = datetime.combine(due_on, RECALL_TIME, tzinfo=clinic_zone(clinic.time_zone)).astimezone(UTC)
    stop_url = issue_stop_link(session, patient_id, sender.public_url)
    body = _signed(
        clinic,
        f"Hello {patient.name},",
        "",
        f"From {_day(due_on)} it is usually a good time for your next {name}, if you would like one.",
        "When you book, the clinic checks your whole history first, so a time is offered only when it is safe.",
        FINAL_WORD,
        "",
        _stop_line(stop_url),
    )
    added = _add(
        session,
        [
            OutboxMessage(
                kind=str(Kind.RECALL),
                recipient=patient.email.strip(),
                subject=f"Time to book your next visit at {clinic.name}?",
                body=body,
                stop_url=stop_url,
                essential=False,
                patient_id=patient_id,
                due_at=max(due, now),
                delivery_key=key,
            )
        ],
    )
    return added[0] if added else None


def plan_changed(
    session: Session,
    *,
    patient_id: int,
    clinic_id: int,
    plan_id: int,
    plan_version: int,
    details: Sequence[str] = (),
    now: datetime | None = None,
) -> OutboxMessage | None:
    """The patient's treatment plan changed (essential). `details` are patient-facing lines, in our words."""
    now = now or now_utc()
    patient, clinic = session.get(models.Patient, patient_id), session.get(models.Clinic, clinic_id)
    if patient is None or clinic is None or not patient.email.strip():
        return None
    body = _signed(
        clinic,
        f"Hello {patient.name},",
        "",
        "Your treatment plan has changed.",
        *details,
        "Any visit that moved or was cancelled comes in its own message with a calendar file.",
        "If you have questions about the change, contact the clinic. " + FINAL_WORD,
    )
    added = _add(
        session,
        [
            OutboxMessage(
                kind=str(Kind.PLAN_CHANGED),
                recipient=patient.email.strip(),
                subject=f"Your treatment plan at {clinic.name} has changed",
                body=body,
                essential=True,
                patient_id=patient_id,
                due_at=now,
                delivery_key=f"plan-{plan_id}-v{plan_version}-changed",
            )
        ],
    )
    return added[0] if added else None


def discard_reason(session: Session, message: OutboxMessage, now: datetime) -> str | None:
    """Why a due message should no longer go out, checked by the worker just before sending: the patient
    opted out since, the visit it reminds of is no longer upcoming, or the visit its aftercare is for did not
    take place. None: send it."""
    if message.kind not in NON_ESSENTIAL and message.kind != Kind.AFTERCARE:
        return None
    if not message.essential and message.patient_id is not None:
        if message.channel == Channel.TEXT and not wants_texts(session, message.patient_id):
            return "texts turned off"
        if message.channel == Channel.EMAIL and opted_out(session, message.patient_id):
            return "opted out"
    visit = session.get(models.Visit, message.visit_id) if message.visit_id is not None else None
    if visit is None:
        return None
    if message.kind in (Kind.REMINDER_48H, Kind.REMINDER_2H) and (
        visit.status is not models.VisitStatus.BOOKED or visit.start_at <= now
    ):
        return "the visit is no longer upcoming"
    if message.kind == Kind.AFTERCARE and visit.status in (models.VisitStatus.CANCELLED, models.VisitStatus.NO_SHOW):
        return "the visit did not take place"
    return None
