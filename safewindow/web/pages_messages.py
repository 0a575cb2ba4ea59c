"""How a patient hears from the clinic, on the pages: the patient's own Messages page, and the chart's Messages
section where staff record what the patient told them (services/contact_preferences.py).

Both forms send the same three answers: the mobile number (optional), reminders and recalls by e-mail, and visit
reminders by text message too. A choice saved leads back to where it was made (post, redirect, get: reloading
saves nothing twice), with a notice; a bad number is said beside its field, with what was typed kept and nothing
saved. Any staff role records a patient's choice (it is what they asked for at the desk or on the phone); a
patient's account never reaches the staff route (403), nor staff the patient's page.

The chart's GET is built in pages_staff.py: the chart (services/chart.py) carries the patient's choices, read in
its own transaction."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.services.accounts import User
from safewindow.services.contact_preferences import ContactPreferences, contact_preferences, set_contact_preferences
from safewindow.services.errors import FieldProblems
from safewindow.services.errors import NotFound as NoSuchRecord
from safewindow.services.stop_links import Holder, link_holder, stop_by_link
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, may_see_patient, store
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import Fields, PatientUser, RecordId, StaffUser, read_form, render, summary_of
from safewindow.web.pages_staff import chart_page

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
LABELS = {
    "phone": "Mobile number",
    "email_reminders": "Reminders and recalls by e-mail",
    "text_reminders": "Visit reminders by text message",
}
CHART_FIELD = "messages-"  # the chart holds other forms: its fields' ids carry this prefix


def _preferences(request: Request, patient_id: int) -> ContactPreferences:
    with UnitOfWork(store(request)) as uow:
        try:
            return contact_preferences(uow.session, patient_id)
        except NoSuchRecord:
            raise NotFound("patient", f"no patient {patient_id}") from None


def _shown(preferences: ContactPreferences) -> dict[str, object]:
    """The form's values as stored: the number as a person writes it."""
    return {
        "phone": preferences.phone_for_people or "",
        "email_reminders": preferences.email_reminders,
        "text_reminders": preferences.text_reminders,
    }


def _sent(fields: Fields) -> dict[str, object]:
    # An unticked checkbox sends nothing: absent is "no".
    return {
        "phone": fields.text("phone", 40),
        "email_reminders": fields.text("email_reminders", 10) == "yes",
        "text_reminders": fields.text("text_reminders", 10) == "yes",
    }


def _save(request: Request, user: User, patient_id: int, sent: dict[str, object]) -> None:
    """The choices saved, or FieldProblems (nothing written); an unknown patient is 'not found'."""
    try:
        set_contact_preferences(
            store(request),
            patient_id=patient_id,
            actor=user.actor,
            phone=str(sent["phone"]),
            email_reminders=bool(sent["email_reminders"]),
            text_reminders=bool(sent["text_reminders"]),
        )
    except NoSuchRecord:
        raise NotFound("patient", f"no patient {patient_id}") from None


# --- The patient's own page ---------------------------------------------------------------------------------------


def _my_page(
    request: Request,
    user: User,
    *,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    assert user.patient_id is not None
    preferences = _preferences(request, user.patient_id)
    errors = errors or {}
    context = {
        "page": "my-messages",
        "preferences": preferences,
        "values": _shown(preferences) if values is None else values,
        "errors": errors,
        "summary": summary_of(errors, LABELS),
        "notice": notice,
    }
    return render(request, "my_messages.html", context, user=user, status=status)


@router.get("/my/messages")
def my_messages(request: Request, user: PatientUser, saved: int = 0) -> Response:
    return _my_page(request, user, notice="Saved." if saved else "")


@router.post("/my/messages")
async def my_messages_sent(request: Request, user: PatientUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_mine, request, user, _sent(fields))


def _save_mine(request: Request, user: User, sent: dict[str, object]) -> Response:
    assert user.patient_id is not None
    try:
        _save(request, user, user.patient_id, sent)
    except FieldProblems as problems:
        return _my_page(request, user, values=sent, errors=dict(problems.problems), status=400)
    return RedirectResponse("/my/messages?saved=1", 303)


# --- The chart's section ------------------------------------------------------------------------------------------


@router.post("/staff/patients/{patient_id}/messages")
async def chart_messages_sent(request: Request, user: StaffUser, patient_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_on_chart, request, user, patient_id, _sent(fields))


def _save_on_chart(request: Request, user: User, patient_id: int, sent: dict[str, object]) -> Response:
    """What the patient told staff, saved; or the chart again with the form as sent and the problem beside it."""
    may_see_patient(user, patient_id)
    try:
        _save(request, user, patient_id, sent)
    except FieldProblems as problems:
        errors = dict(problems.problems)
        summary = [(CHART_FIELD + field, text) for field, text in summary_of(errors, LABELS)]
        extra = {"messages_sent": sent, "messages_errors": errors, "messages_summary": summary}
        return chart_page(request, user, patient_id, extra, status=400)  # an unknown patient: its 404
    return RedirectResponse(f"/staff/patients/{patient_id}?messages=saved#messages", 303)


# --- The stop link in reminder and recall e-mail --------------------------------------------------------------------
# No sign-in: the token in the address is the whole authority, and it can only turn e-mail reminders and recalls
# off. A mailbox's one-click "Unsubscribe" posts here directly (RFC 8058), so the post needs no session token;
# a person opening the link sees what it will do first.

NO_STORE = {"Cache-Control": "no-store"}


@router.get("/stop/{token}")
def stop_link(request: Request, token: str) -> Response:
    return run_with_link(request, token, lambda: _holder(request, token), done=False)


@router.post("/stop/{token}")
def stop_link_used(request: Request, token: str) -> Response:
    return run_with_link(request, token, lambda: stop_by_link(store(request), token), done=True)


def _holder(request: Request, token: str) -> Holder:
    with UnitOfWork(store(request)) as uow:
        return link_holder(uow.session, token)


def run_with_link(request: Request, token: str, act: Callable[[], Holder], *, done: bool) -> Response:
    try:
        holder = act()
    except NoSuchRecord:
        return render(request, "stop.html", {"holder": None}, user=None, status=404, headers=NO_STORE)
    context = {"holder": holder, "done": done, "token": token}
    return render(request, "stop.html", context, user=None, headers=NO_STORE)
