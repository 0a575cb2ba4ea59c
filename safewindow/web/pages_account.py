"""Sign in, sign out and sign up (patients), and what every signed-in page shares: who may open it, how its
forms are read, and how it is rendered with the account's navigation.

A page for signed-in users sends a visitor who is not signed in to the sign-in form (303, coming back after);
a signed-in user of another role gets 403. Forms are read as text and checked here, so bad input is a message
beside its field and a 400, never FastAPI's own validation page. Every change made with the session cookie
carries the session's CSRF token (`check_csrf`); the sign-in and sign-up forms, before any session exists,
carry a token that must match a cookie set with the form (double submit), so no other site can sign a
visitor in to an account of its choosing.

The store blocks (on SQLite a change may wait seconds for the write lock), and so does password hashing: on the
event loop either would stall every visitor. A route that works with them is a plain `def`, which FastAPI runs
in its thread pool, or, when it must await its form, an `async def` that awaits the form and then hands the
rest to the thread pool (`run_in_threadpool`). Only routes that do neither stay `async def` throughout."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from safewindow.services.accounts import MIN_PASSWORD, SignInRefused, User, create_account, sign_in, sign_out
from safewindow.services.advice import parse_day
from safewindow.services.errors import InputError
from safewindow.services.patients import add_patient
from safewindow.services.plans import one_transaction
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    STAFF,
    OptionalUserDep,
    check_csrf,
    set_session_cookie,
    store,
)
from safewindow.web.dependencies import TodayDep, knowledge_base
from safewindow.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
FORM_COOKIE = "sw_form"  # the double-submit token of the forms used before signing in
HOME = {Role.PATIENT: "/my/visits", Role.FRONT_DESK: "/staff", Role.PRACTITIONER: "/staff", Role.CLINIC_ADMIN: "/staff"}
SIGN_UP_ACTOR = "sign-up"  # who created a patient record through the sign-up form, before it had an account


# --- What every signed-in page shares ------------------------------------------------------------------------


def render(
    request: Request,
    name: str,
    context: Mapping[str, object],
    *,
    user: User | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A page with the account's navigation (base.html reads `user` and `csrf_token`)."""
    full = {"user": user, "csrf_token": user.csrf_token if user else "", **context}
    return templates.TemplateResponse(request, name, full, status_code=status, headers=headers)


def sign_in_location(request: Request) -> str:
    """The sign-in form, coming back to this page afterwards (a GET only: a form sent after the session
    expired is not sent again on its own)."""
    if request.method != "GET":
        return "/sign-in"
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/sign-in?next={quote(here, safe='')}"


def page_user(*roles: Role) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency: the signed-in user of one of `roles`. Not signed in: to the sign-in form (a 303 raised as
    an HTTPException, so the route never runs); another role: 403."""

    # Only looks at the user `optional_user` resolved (in the thread pool): nothing here blocks.
    async def check(request: Request, user: OptionalUserDep) -> User:
        if user is None:
            raise HTTPException(303, "sign in first", headers={"Location": sign_in_location(request)})
        if user.role not in roles:
            raise HTTPException(403, f"a {user.role} account may not open this page")
        return user

    return check


PatientUser = Annotated[User, Depends(page_user(Role.PATIENT))]
# A record's id in a path: a database integer, so a huge number is a 400, never the driver's overflow.
RecordId = Annotated[int, Path(ge=1, le=2_147_483_647)]
StaffUser = Annotated[User, Depends(page_user(*STAFF))]
AdminUser = Annotated[User, Depends(page_user(Role.CLINIC_ADMIN))]


class Fields:
    """A sent form's text fields: trimmed, length-capped by the caller, never an upload."""

    def __init__(self, form: FormData) -> None:
        self.form = form

    def text(self, name: str, limit: int = 200) -> str:
        value = self.form.get(name)
        return value.strip()[: limit + 1] if isinstance(value, str) else ""

    def all(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    @property
    def csrf(self) -> str:
        return self.text(CSRF_FIELD, 100)


async def read_form(request: Request) -> Fields:
    return Fields(await request.form())


def summary_of(errors: Mapping[str, str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(the id of the field, what to say) for the list of problems above a form."""
    return [(field, f"{labels.get(field, field)}: {problem}") for field, problem in errors.items()]


def optional_int(text: str | None, field: str) -> int | None:
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit() or len(text.strip()) > 9:
        raise InputError(field, f"{text.strip()[:20]!r} is not a number we know")
    return int(text.strip())


def _secure(request: Request) -> bool:
    return bool(
        request.app.state.settings.secure_cookies
        or request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto") == "https"
    )


def _form_token(request: Request) -> str:
    token = request.cookies.get(FORM_COOKIE, "")
    return token if 20 <= len(token) <= 100 else secrets.token_urlsafe(32)


def _with_form_cookie(response: Response, request: Request, token: str) -> Response:
    response.set_cookie(FORM_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request), path="/")
    return response


def _form_token_matches(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(FORM_COOKIE, "")
    return bool(cookie) and secrets.compare_digest(cookie.encode(), sent.encode())


def safe_next(target: str) -> str:
    """Only a path on this site: never another site (`//host`, `https:`), so a link cannot send a patient
    who signs in somewhere else."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n\\"):
        return ""
    return target


# --- Sign in and out --------------------------------------------------------------------------------------------

SIGN_IN_LABELS = {"email": "E-mail address", "password": "Password", "form": "The form"}


def _sign_in_page(
    request: Request,
    *,
    email: str = "",
    next_path: str = "",
    errors: Mapping[str, str] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    token = _form_token(request)
    errors = errors or {}
    context = {
        "page": "sign-in",
        "email": email,
        "next": next_path,
        "form_token": token,
        "errors": errors,
        "summary": summary_of(errors, SIGN_IN_LABELS),
    }
    response = render(request, "sign_in.html", context, user=None, status=status, headers=headers)
    return _with_form_cookie(response, request, token)


@router.get("/sign-in")
async def sign_in_form(request: Request, user: OptionalUserDep, next: str = "") -> Response:
    if user is not None:
        return RedirectResponse(safe_next(next) or HOME[user.role], 303)
    return _sign_in_page(request, next_path=safe_next(next))


@router.post("/sign-in")
async def sign_in_sent(request: Request) -> Response:
    fields = await read_form(request)
    email, password = fields.text("email", 254), fields.text("password", 1000)
    next_path = safe_next(fields.text("next", 2000))
    errors: dict[str, str] = {}
    if not _form_token_matches(request, fields.text("form_token", 100)):
        errors["form"] = "the form had expired; please sign in again"
    if not email:
        errors["email"] = "enter your e-mail address"
    if not password:
        errors["password"] = "enter your password"  # noqa: S105  (a message, not a password)
    if errors:
        return _sign_in_page(request, email=email, next_path=next_path, errors=errors, status=400)
    try:
        token, user = await run_in_threadpool(sign_in, store(request), email, password)
    except SignInRefused as refused:
        if refused.retry_after:  # the service's rate limit
            headers = {"Retry-After": str(refused.retry_after)}
            return _sign_in_page(
                request, email=email, next_path=next_path, errors={"form": str(refused)}, status=429, headers=headers
            )
        return _sign_in_page(request, email=email, next_path=next_path, errors={"form": str(refused)}, status=400)
    response = RedirectResponse(next_path or HOME[user.role], 303)
    set_session_cookie(response, request, token)
    return response


@router.post("/sign-out")
async def sign_out_sent(request: Request, user: OptionalUserDep) -> Response:
    response = RedirectResponse("/", 303)
    if user is None:
        return response
    check_csrf(request, user, (await read_form(request)).csrf)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(sign_out, store(request), token)  # the store blocks: off the event loop
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
async def account(user: OptionalUserDep) -> Response:
    return RedirectResponse(HOME[user.role] if user else "/sign-in", 303)


# --- Sign up (patients) -----------------------------------------------------------------------------------------

SIGN_UP_LABELS = {
    "name": "Your name",
    "birth_date": "Date of birth",
    "email": "E-mail address",
    "password": "Password",
    "consent": "Consent",
    "form": "The form",
}


def _sign_up_page(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str] | None = None, status: int = 200
) -> Response:
    token = _form_token(request)
    errors = errors or {}
    context = {
        "page": "sign-up",
        "values": values,
        "form_token": token,
        "min_password": MIN_PASSWORD,
        "errors": errors,
        "summary": summary_of(errors, SIGN_UP_LABELS),
    }
    return _with_form_cookie(render(request, "sign_up.html", context, user=None, status=status), request, token)


@router.get("/sign-up")
async def sign_up_form(request: Request, user: OptionalUserDep) -> Response:
    if user is not None:
        return RedirectResponse(HOME[user.role], 303)
    return _sign_up_page(request, {})


def _check_sign_up(values: Mapping[str, str], consent: bool, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "enter your name"
    elif len(values["name"]) > 200:
        errors["name"] = "use at most 200 characters"
    try:
        born = parse_day(values["birth_date"], "birth_date")
        if born >= today:
            errors["birth_date"] = "your date of birth must be in the past"
    except InputError as error:
        errors["birth_date"] = "enter your date of birth" if not values["birth_date"] else error.problem
    email = values["email"]
    if not email:
        errors["email"] = "enter your e-mail address"
    elif len(email) > 254 or " " in email or email.count("@") != 1 or email.startswith("@") or email.endswith("@"):
        errors["email"] = "enter an e-mail address like name@example.com"
    if len(values["password"]) < MIN_PASSWORD:
        errors["password"] = f"use at least {MIN_PASSWORD} characters"
    elif len(values["password"]) > 1000:
        errors["password"] = "use at most 1000 characters"  # noqa: S105  (a message)
    if not consent:
        errors["consent"] = "tick the box to agree, or we cannot keep a record for you"
    return errors


def _create_patient_account(request: Request, values: Mapping[str, str], today: date) -> None:
    """The patient record, its account and the consent, all or nothing."""
    with one_transaction(store(request)) as joined:
        patient = add_patient(
            joined,
            knowledge_base(request),
            name=values["name"],
            birth_date=values["birth_date"],
            email=values["email"],
            actor=SIGN_UP_ACTOR,
            today=today,
        )
        with UnitOfWork(joined, write=True) as uow:
            account = create_account(
                uow.session,
                email=values["email"],
                password=values["password"],
                role=Role.PATIENT,
                patient_id=patient.id,
            )
            # PIPA: consent to collect and use the record for advice and booking, and when it was given.
            uow.session.add(
                models.AuditEntry(
                    actor=f"{Role.PATIENT}:{account.id}",
                    action="patient.consented",
                    entity="patient",
                    entity_id=str(patient.id),
                    detail={"purpose": "treatment-timing-advice-and-booking"},
                )
            )
            uow.commit()


@router.post("/sign-up")
async def sign_up_sent(request: Request, today: TodayDep) -> Response:
    fields = await read_form(request)
    values = {
        "name": fields.text("name"),
        "birth_date": fields.text("birth_date", 20),
        "email": fields.text("email", 254).lower(),
        "password": fields.text("password", 1000),
    }
    errors = _check_sign_up(values, fields.text("consent") == "yes", today)
    if not _form_token_matches(request, fields.text("form_token", 100)):
        errors = {"form": "the form had expired; please send it again", **errors}
    if not errors:
        try:
            await run_in_threadpool(_create_patient_account, request, values, today)
        except InputError as error:
            field = error.field.replace("-", "_") if error.field.replace("-", "_") in SIGN_UP_LABELS else "form"
            errors[field] = error.problem
    shown = {k: v for k, v in values.items() if k != "password"}  # a password is never sent back to the page
    if errors:
        return _sign_up_page(request, shown, errors, status=400)
    token, _ = await run_in_threadpool(sign_in, store(request), values["email"], values["password"])
    response = RedirectResponse("/my/history?welcome=1", 303)
    set_session_cookie(response, request, token)
    return response
