"""Accounts, sign-in and sessions (BC PIPA: authenticate, least privilege, an account of access).

Passwords are hashed with argon2id (argon2-cffi's defaults). Sign-in is rate limited per e-mail address and
answers the same for an unknown address as for a wrong password. A session token is shown to the browser
once; the store keeps only its SHA-256 digest, and each session carries its own CSRF token."""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.services.errors import InputError
from safewindow.store import models
from safewindow.store.account_models import Account, Role, SignInAttempt, SignInSession
from safewindow.store.unit_of_work import UnitOfWork

HASHER = PasswordHasher()  # argon2id, with the library's current recommended cost
SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10


class SignInRefused(Exception):
    """Wrong e-mail or password, or too many attempts: said the same way, so it tells an attacker nothing."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class User:
    """The signed-in person, as every interface sees them."""

    account_id: int
    email: str
    role: Role
    patient_id: int | None
    practitioner_id: int | None
    clinic_id: int | None
    csrf_token: str

    @property
    def is_staff(self) -> bool:
        return self.role is not Role.PATIENT

    @property
    def actor(self) -> str:
        """How changes and the audit log name them."""
        return f"{self.role}:{self.account_id}"


def token_digest(token: str) -> str:
    """What is kept of a secret token (sessions, calendar feeds, stop links): a copy of the database opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    session: Session,
    *,
    email: str,
    password: str,
    role: Role,
    patient_id: int | None = None,
    practitioner_id: int | None = None,
    clinic_id: int | None = None,
) -> Account:
    email = email.strip().lower()
    if "@" not in email:
        raise InputError("email", f"{email!r} is not an e-mail address")
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"use at least {MIN_PASSWORD} characters")
    if role is Role.PATIENT and patient_id is None:
        raise InputError("patient", "a patient's account belongs to a patient record")
    if role is Role.PRACTITIONER and practitioner_id is None:
        raise InputError("practitioner", "a practitioner's account belongs to a practitioner")
    if session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise InputError("email", "an account with that e-mail address exists already")
    account = Account(
        email=email,
        password_hash=HASHER.hash(password),
        role=str(role),
        patient_id=patient_id,
        practitioner_id=practitioner_id,
        clinic_id=clinic_id,
    )
    session.add(account)
    session.flush()
    return account


def sign_in(
    session_factory: sessionmaker[Session], email: str, password: str, now: datetime | None = None
) -> tuple[str, User]:
    """A new session token and the user, or SignInRefused."""
    now = now or now_utc()
    email = email.strip().lower()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        failures = (
            session.scalar(
                select(func.count()).where(SignInAttempt.email == email, SignInAttempt.at > now - FAILURE_WINDOW)
            )
            or 0
        )
        if failures >= MAX_FAILURES:
            raise SignInRefused(
                "Too many attempts. Try again in a few minutes.", retry_after=int(FAILURE_WINDOW.total_seconds())
            )
        account = session.scalar(select(Account).where(Account.email == email, Account.active.is_(True)))
        matches = _password_matches(account, password)  # before the None check: equal timing either way
        if account is None or not matches:
            session.add(SignInAttempt(email=email, at=now))
            uow.commit()
            raise SignInRefused("Wrong e-mail address or password.")
        if HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = HASHER.hash(password)
        session.execute(delete(SignInAttempt).where(SignInAttempt.email == email))
        session.execute(delete(SignInSession).where(SignInSession.expires_at < now))
        token = secrets.token_urlsafe(32)
        record = SignInSession(
            token_hash=token_digest(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        session.add(record)
        session.add(
            models.AuditEntry(
                actor=f"{account.role}:{account.id}",
                action="account.signed-in",
                entity="account",
                entity_id=str(account.id),
                detail={},
            )
        )
        uow.commit()
        return token, _user(account, record)


# Checked against when the e-mail is unknown, so both failures take one argon2 verification: the answer's
# timing does not tell which addresses have accounts. Hashed on first use: every CLI command imports this module.
@functools.cache
def _nobody() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _password_matches(account: Account | None, password: str) -> bool:
    try:
        return HASHER.verify(account.password_hash if account else _nobody(), password) and account is not None
    except (VerificationError, InvalidHashError):
        return False


def _user(account: Account, record: SignInSession) -> User:
    return User(
        account.id,
        account.email,
        Role(account.role),
        account.patient_id,
        account.practitioner_id,
        account.clinic_id,
        record.csrf_token,
    )


def resolve(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The user a session token belongs to, if it is live."""
    now = now or now_utc()
    record = session.get(SignInSession, token_digest(token))
    if record is None or record.expires_at <= now or not record.account.active:
        return None
    return _user(record.account, record)


def sign_out(session_factory: sessionmaker[Session], token: str) -> None:
    with UnitOfWork(session_factory, write=True) as uow:
        uow.session.execute(delete(SignInSession).where(SignInSession.token_hash == token_digest(token)))
        uow.commit()


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """'practitioner:3' -> 'Dr. Anika Brar (practitioner)', 'front-desk:7' -> 'frontdesk@demo.example (front-desk)':
    changes and the audit log keep account ids, a reader wants names. Actors that name no account (the command
    line's `cli:root`) are left out: show them as they are."""
    wanted = {a: int(a.partition(":")[2]) for a in set(actors) if a.partition(":")[2].isdigit()}
    if not wanted:
        return {}
    rows = session.execute(
        select(Account.id, Account.email, models.Practitioner.name)
        .outerjoin(models.Practitioner, models.Practitioner.id == Account.practitioner_id)
        .where(Account.id.in_(set(wanted.values())))
    )
    known = {row.id: row.name or row.email for row in rows}
    return {actor: f"{known[id_]} ({actor.partition(':')[0]})" for actor, id_ in wanted.items() if id_ in known}
