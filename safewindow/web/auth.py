"""Who is asking, and may they? A session token from the `sw_session` cookie (pages) or an
`Authorization: Bearer` header (API clients), resolved to a User; roles checked per route.

Least privilege: a patient sees only their own record, and another patient's record answers 404, not 403, so
an id tells nothing. Cookie-authenticated changes need the session's CSRF token (a form field `csrf_token`, or
the `X-CSRF-Token` header); bearer tokens are not sent by browsers on their own, so they need none."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.accounts import User, resolve
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork

SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
STAFF = (Role.FRONT_DESK, Role.PRACTITIONER, Role.CLINIC_ADMIN)


def store(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def token_of(request: Request) -> tuple[str | None, bool]:
    """The session token, and whether it came from the cookie (and so needs CSRF protection)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(SESSION_COOKIE), True


def optional_user(request: Request) -> User | None:
    """The signed-in user or None, resolved once per request. A plain `def`: the lookup reads the store, which
    blocks, so FastAPI runs it in its thread pool rather than on the event loop."""
    if not hasattr(request.state, "user"):
        token, _ = token_of(request)
        user = None
        if token:
            with UnitOfWork(store(request)) as uow:
                user = resolve(uow.session, token)
        request.state.user = user
    found: User | None = request.state.user
    return found


async def current_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    # Only looks at the user `optional_user` resolved: nothing here blocks, so no trip to the thread pool.
    if user is None:
        raise HTTPException(
            401, detail=[{"field": "authorization", "problem": "sign in first"}], headers={"WWW-Authenticate": "Bearer"}
        )
    return user


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency: the signed-in user, if their role is one of `roles`; 403 otherwise."""

    async def check(user: Annotated[User, Depends(current_user)]) -> User:  # a look at the role: never blocks
        if user.role not in roles:
            raise HTTPException(403, detail=[{"field": "role", "problem": f"a {user.role} may not do this"}])
        return user

    return check


def check_csrf(request: Request, user: User, form_token: str | None = None) -> None:
    """For a change made with the session cookie: the session's CSRF token must come with it. Compares what
    the request carries, so it is safe to call on the event loop and in the thread pool alike."""
    _, from_cookie = token_of(request)
    if not from_cookie:
        return
    sent = form_token if form_token is not None else request.headers.get(CSRF_HEADER)
    if sent != user.csrf_token:
        raise HTTPException(403, detail=[{"field": CSRF_FIELD, "problem": "the form has expired; reload it"}])


def may_see_patient(user: User, patient_id: int) -> None:
    """Staff see every patient of the clinic; a patient only themselves. Others' records are 'not found'."""
    if user.role is Role.PATIENT and user.patient_id != patient_id:
        raise HTTPException(404, detail=[{"field": "patient", "problem": f"no patient {patient_id}"}])


def audit_read(session: Session, user: User, entity: str, entity_id: object) -> None:
    """Every read of a chart is accounted for (BC PIPA): who saw what, when. Ids only."""
    session.add(
        models.AuditEntry(actor=user.actor, action=f"{entity}.read", entity=entity, entity_id=str(entity_id), detail={})
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    secure = (
        request.app.state.settings.secure_cookies
        or request.url.scheme == "https"
        or (request.headers.get("x-forwarded-proto") == "https")
    )
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, max_age=8 * 3600, path="/")


UserDep = Annotated[User, Depends(current_user)]
OptionalUserDep = Annotated[User | None, Depends(optional_user)]
StaffDep = Annotated[User, Depends(require(*STAFF))]
