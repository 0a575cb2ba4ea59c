"""One use case, one transaction.

    with UnitOfWork(session_factory, write=True) as uow:
        uow.session.add(visit)
        uow.commit()

Leaving the block without `commit()` rolls back. `write=True` is for use cases that read and then write
(booking, moving, cancelling): on SQLite their transactions begin IMMEDIATE, taking the database's write
lock before the first read, so concurrent bookings run one after the other. On PostgreSQL the exclusion
constraints on `visits` are the last word, and `write` changes nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from safewindow.store.database import IMMEDIATE, SQLITE_BEGIN


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = False) -> None:
        self._session_factory = session_factory
        self.write = write
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("the unit of work is already in use")
        # The option rides on every connection the session procures, so a commit followed by more work in
        # the same unit begins IMMEDIATE again. Other dialects ignore it.
        options = {SQLITE_BEGIN: IMMEDIATE} if self.write else {}
        self._session = self._session_factory(execution_options=options)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and detaches the objects without expiring them, so
        # what a unit read stays readable after it.
        self.session.close()
        self._session = None

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
