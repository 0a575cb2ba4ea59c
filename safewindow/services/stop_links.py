"""One-click stop links: every reminder and recall e-mail carries a link that turns the patient's e-mail reminders
and recalls off with no sign-in (Canada's anti-spam law asks that a message of this kind carry a working way to
stop them; mailboxes show it as "Unsubscribe" from the List-Unsubscribe header, RFC 8058). Each e-mail gets its
own token; only its SHA-256 is kept, as for calendar feeds. Links are built on SAFEWINDOW_PUBLIC_URL
(notifications.SenderSettings). A link does one thing: it cannot turn anything on,
nor show more of the patient than a masked e-mail address."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.services.accounts import token_digest
from safewindow.services.errors import NotFound
from safewindow.services.mail_choices import opted_out, set_opt_out
from safewindow.store import models
from safewindow.store.outbox_models import StopLink
from safewindow.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Holder:
    patient_id: int
    masked_email: str  # s***@example.com: enough to recognise, not to learn an address
    stopped: bool  # e-mail reminders and recalls are off already


def issue_stop_link(session: Session, patient_id: int, public_url: str) -> str:
    """A new link for one e-mail, in the caller's transaction."""
    token = secrets.token_urlsafe(24)
    session.add(StopLink(patient_id=patient_id, token_hash=token_digest(token)))
    return f"{public_url.rstrip('/')}/stop/{token}"


def link_holder(session: Session, token: str) -> Holder:
    link = _link(session, token)
    patient = session.get(models.Patient, link.patient_id)
    assert patient is not None  # a patient's links go with them
    return Holder(patient.id, mask(patient.email), opted_out(session, patient.id))


def stop_by_link(session_factory: sessionmaker[Session], token: str, now: datetime | None = None) -> Holder:
    """Turn the link's patient's e-mail reminders and recalls off (again is harmless), audited as the patient's
    own change made through the link."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        link = _link(session, token)
        patient = session.get(models.Patient, link.patient_id, with_for_update=True)  # the lock every change takes
        assert patient is not None  # a patient's links go with them
        set_opt_out(session, link.patient_id, True, now=now)
        link.used_at = link.used_at or now
        session.add(
            models.AuditEntry(
                actor=f"patient:{link.patient_id}",
                action="patient.reminders-stopped-by-link",
                entity="patient",
                entity_id=str(link.patient_id),
                detail={"link_id": link.id},
            )
        )
        uow.commit()
        return Holder(patient.id, mask(patient.email), stopped=True)


def mask(email: str) -> str:
    name, at, domain = email.strip().partition("@")
    return f"{name[:1]}***{at}{domain}" if at else "***"


def _link(session: Session, token: str) -> StopLink:
    link = session.scalar(select(StopLink).where(StopLink.token_hash == token_digest(token)))
    if link is None:
        raise NotFound("link", "this stop link is not one the clinic sent")
    return link
