"""Signing in and out over the API, and who am I: POST/DELETE /api/v1/sessions, GET /api/v1/me.

A session answers with a bearer token for API clients and sets the HttpOnly `sw_session` cookie for the
browser; a change made with the cookie must carry the session's CSRF token (`X-CSRF-Token`). Wrong e-mail and
wrong password answer alike (401); too many failures for one address answer 429 with Retry-After.

Also here, for every API router: `changer(*roles)`, the dependency for a change (the role, then CSRF), and the
shapes every router shares (ids in paths, the 401/403 answers)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from safewindow.services.accounts import SignInRefused, User, sign_in, sign_out
from safewindow.services.errors import NotFound as ServiceNotFound
from safewindow.store.account_models import Role
from safewindow.web.api_models import Problems, Shape
from safewindow.web.auth import (
    SESSION_COOKIE,
    UserDep,
    check_csrf,
    current_user,
    may_see_patient,
    require,
    set_session_cookie,
    store,
    token_of,
)
from safewindow.web.errors import NotFound

LARGEST_ID = 2**31 - 1  # ids are 32-bit integers on every database
Id = Annotated[int, Path(ge=1, le=LARGEST_ID)]
# Free text from a client: no control characters (PostgreSQL refuses NUL; a log line should stay one line).
PLAIN = r"^[^\x00-\x1f\x7f]*$"


def text(max_length: int, min_length: int = 0) -> StringConstraints:
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=PLAIN)


def may_see(user: User, patient_id: int) -> None:
    """`may_see_patient`, answered as every other 404 of the API: a record that is not the caller's reads exactly
    like one that does not exist."""
    try:
        may_see_patient(user, patient_id)
    except HTTPException as error:
        detail: Any = error.detail  # auth says [{"field": ..., "problem": ...}]
        raise NotFound(str(detail[0]["field"]), str(detail[0]["problem"])) from None


@contextmanager
def found_by_path() -> Iterator[None]:
    """A record named in the path that does not exist is 404; the services say NotFound (a 422 when the id came
    in a body or a query)."""
    try:
        yield
    except ServiceNotFound as error:
        raise NotFound(error.field, error.problem) from None


Responses = dict[int | str, dict[str, Any]]
SIGNED_IN: Responses = {401: {"model": Problems, "description": "Not signed in"}}
ALLOWED: Responses = {**SIGNED_IN, 403: {"model": Problems, "description": "The role may not do this"}}
NOT_FOUND: Responses = {404: {"model": Problems, "description": "Not found, or not the caller's to see"}}
WITH_BODY: Responses = {400: {"model": Problems, "description": "The body is not JSON"}}


def changer(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency for a change: the signed-in user in one of `roles` (403 otherwise), with the CSRF token
    when they came with the session cookie."""
    allowed = require(*roles)

    async def check(request: Request, user: Annotated[User, Depends(current_user)]) -> User:
        await allowed(user)
        check_csrf(request, user)
        return user

    return check


router = APIRouter(
    prefix="/api/v1", tags=["sessions"], responses={422: {"model": Problems, "description": "Bad input"}}
)


class Credentials(Shape):
    email: Annotated[str, text(254, 1)]
    password: Annotated[str, text(1024, 1)]


class SessionOut(Shape):
    token: str = Field(description="Send it as `Authorization: Bearer TOKEN`; the browser gets it as a cookie.")
    csrf_token: str = Field(description="Send it as `X-CSRF-Token` with changes made with the cookie.")
    role: Role
    account_id: int


class MeOut(Shape):
    account_id: int
    email: str
    role: Role
    patient_id: int | None
    practitioner_id: int | None
    clinic_id: int | None
    csrf_token: str


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses={
        **WITH_BODY,
        401: {"model": Problems, "description": "Wrong e-mail address or password"},
        429: {
            "model": Problems,
            "description": "Too many attempts",
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
        },
    },
    summary="Sign in",
)
async def create_session(request: Request, credentials: Credentials) -> JSONResponse:
    try:
        # argon2 takes tens of milliseconds on purpose: off the event loop.
        token, user = await run_in_threadpool(sign_in, store(request), credentials.email, credentials.password)
    except SignInRefused as refused:
        if refused.retry_after is not None:
            raise HTTPException(
                429,
                detail=[{"field": "email", "problem": str(refused)}],
                headers={"Retry-After": str(refused.retry_after)},
            ) from None
        raise HTTPException(
            401, detail=[{"field": "credentials", "problem": str(refused)}], headers={"WWW-Authenticate": "Bearer"}
        ) from None
    response = JSONResponse(
        {"token": token, "csrf_token": user.csrf_token, "role": str(user.role), "account_id": user.account_id},
        status_code=201,
    )
    set_session_cookie(response, request, token)
    return response


@router.delete("/sessions", status_code=204, responses=SIGNED_IN | ALLOWED, summary="Sign out")
async def delete_session(request: Request, user: UserDep) -> Response:
    check_csrf(request, user)
    token, _ = token_of(request)
    if token:
        await run_in_threadpool(sign_out, store(request), token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut, responses=SIGNED_IN, summary="Who is signed in")
async def me(user: UserDep) -> JSONResponse:
    return JSONResponse(
        {
            "account_id": user.account_id,
            "email": user.email,
            "role": str(user.role),
            "patient_id": user.patient_id,
            "practitioner_id": user.practitioner_id,
            "clinic_id": user.clinic_id,
            "csrf_token": user.csrf_token,
        }
    )
