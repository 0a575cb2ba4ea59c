"""Idempotency keys: a change sent again with the same `Idempotency-Key` gets the first answer, not a second
booking. Keys belong to the account that sent them and are kept for a day.

    claim(...)    before the change: None to go ahead (the key is now held), or the stored answer to replay
    record(...)   after it: the answer (status and body) every retry will get
    release(...)  when the request was refused before anything happened (bad input, not allowed): the key may
                  be used again

The key is held in its own committed row before the change runs, so two requests racing with one key cannot
both book: the second sees the key held and is told the first is still running (KeyInUse). A request that
died between its change and `record` leaves its key held until it expires; a retry is then refused, never run
twice."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.services.errors import InputError
from safewindow.store.settings_models import IdempotencyKey
from safewindow.store.unit_of_work import UnitOfWork

KEPT_FOR = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    body: Any


class KeyInUse(Exception):
    """The first request with this key has not been answered yet."""


def request_digest(method: str, path: str, body: Any) -> str:
    """The same request, whatever the order of its JSON keys, has the same digest."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _find(session: Session, account_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.account_id == account_id, IdempotencyKey.key == key)
    )


def claim(
    session_factory: sessionmaker[Session], account_id: int, key: str, digest: str, now: datetime | None = None
) -> Stored | None:
    """Hold `key` for this request and return None, or return the answer stored for it. InputError when the key
    came with a different request; KeyInUse while the first request with it is still running."""
    now = now or now_utc()
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEPT_FOR))
        found = _find(session, account_id, key)
        if found is None:
            session.add(IdempotencyKey(account_id=account_id, key=key, request_hash=digest, created_at=now))
            try:
                uow.commit()
            except IntegrityError:  # another request took the key between the look-up and the insert
                uow.rollback()
                found = _find(session, account_id, key)
            else:
                return None
        uow.commit()  # the clean-up of expired keys
        if found is None:  # taken and released again meanwhile: rare enough to ask for a retry
            raise KeyInUse
        if found.request_hash != digest:
            raise InputError(HEADER, "this key was used with a different request; use a new key for a new request")
        if found.status is None:
            raise KeyInUse
        return Stored(found.status, found.response)


def record(session_factory: sessionmaker[Session], account_id: int, key: str, status: int, body: Any) -> None:
    with UnitOfWork(session_factory, write=True) as uow:
        found = _find(uow.session, account_id, key)
        if found is not None:
            found.status, found.response = status, body
            uow.commit()


def release(session_factory: sessionmaker[Session], account_id: int, key: str) -> None:
    with UnitOfWork(session_factory, write=True) as uow:
        uow.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.account_id == account_id, IdempotencyKey.key == key, IdempotencyKey.status.is_(None)
            )
        )
        uow.commit()
