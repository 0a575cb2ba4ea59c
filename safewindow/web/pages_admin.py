"""The clinic administrator's pages: the audit log (overrides of timing rules with their written reasons, and
every change), and the clinic's settings: its name, address and telephone number, opening hours, closures, and
who works there (activate a practitioner at the clinic with their weekly hours, or deactivate them there) and
when they are off (the chosen practitioner's time off, at every clinic where they work).

The settings go through services/admin.py and services/time_off.py, which audit each change and refuse one
that would strand a booked visit, listing every such visit; the page shows that list and changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_zone, now_utc
from safewindow.services import admin, time_off
from safewindow.services.accounts import User, actor_names
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused
from safewindow.services.errors import FieldProblems, InputError
from safewindow.services.errors import NotFound as Unknown
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import AdminUser, Fields, RecordId, optional_int, read_form, render, summary_of
from safewindow.web.pages_staff import staff_clinics
from safewindow.web.templating import short_date

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SHIFTS_PER_DAY = 2  # opening hours may be a split day
PAGE = 100
SHOWN = {"changes": "Changes", "reads": "Chart views", "all": "Everything"}


def administered_clinic(session: Session, user: User) -> models.Clinic:
    """The administrator's own clinic (the first, for an administrator of every clinic)."""
    allowed = staff_clinics(session, user)
    if not allowed:
        raise NotFound("clinic", "there is no clinic to administer")
    return allowed[0]


def administered_clinic_id(request: Request, user: User) -> int:
    with UnitOfWork(store(request)) as uow:
        return administered_clinic(uow.session, user).id


# --- The audit log ----------------------------------------------------------------------------------------------


@router.get("/admin/audit")
def audit_log(request: Request, user: AdminUser, show: str = "changes", before: str = "") -> Response:
    show = show if show in SHOWN else "changes"
    before_id = optional_int(before, "before")
    with UnitOfWork(store(request)) as uow:
        clinic = administered_clinic(uow.session, user)
        overrides = list(
            uow.session.scalars(
                select(models.Override)
                .join(models.Visit, models.Visit.id == models.Override.visit_id)
                .where(models.Visit.clinic_id == clinic.id)
                .options(
                    selectinload(models.Override.practitioner),
                    selectinload(models.Override.visit).selectinload(models.Visit.patient),
                )
                .order_by(models.Override.at.desc(), models.Override.id.desc())
                .limit(PAGE)
            )
        )
        entries = list(uow.session.scalars(_entries(show, before_id)))
        actors = actor_names(uow.session, {e.actor for e in entries})
    context = {
        "page": "audit",
        "clinic": clinic,
        "zone": clinic_zone(clinic.time_zone),
        "kb": knowledge_base(request),
        "overrides": overrides,
        "entries": entries,
        "actors": actors,
        "show": show,
        "shown": SHOWN,
        "older": entries[-1].id if len(entries) == PAGE else None,
    }
    return render(request, "admin_audit.html", context, user=user)


def _entries(show: str, before_id: int | None) -> Select[models.AuditEntry]:
    query = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(PAGE)
    if show == "changes":
        query = query.where(models.AuditEntry.action.not_like("%.read"))
    elif show == "reads":
        query = query.where(models.AuditEntry.action.like("%.read"))
    if before_id is not None:
        query = query.where(models.AuditEntry.id < before_id)
    return query


# --- The clinic's settings --------------------------------------------------------------------------------------


def _staff(
    session: Session, clinic_id: int
) -> tuple[list[tuple[models.Practitioner, list[admin.Shift]]], list[models.Practitioner]]:
    """(practitioner, their hours here) for everyone working here; and everyone active who does not."""
    practitioners = list(
        session.scalars(
            select(models.Practitioner)
            .options(selectinload(models.Practitioner.hours), selectinload(models.Practitioner.qualifications))
            .order_by(models.Practitioner.name)
        )
    )
    here: list[tuple[models.Practitioner, list[admin.Shift]]] = []
    elsewhere: list[models.Practitioner] = []
    for p in practitioners:
        shifts = sorted(admin.Shift(h.weekday, h.starts, h.ends) for h in p.hours if h.clinic_id == clinic_id)
        if shifts:
            here.append((p, shifts))
        elif p.active:
            elsewhere.append(p)
    return here, elsewhere


def _clinic_page(
    request: Request,
    user: User,
    *,
    chosen: str = "",
    errors: Mapping[str, str] | None = None,
    problems: list[Problem] | None = None,
    problems_title: str = "",
    values: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    errors = errors or {}
    practitioner_id = optional_int(chosen, "practitioner") if chosen.isdigit() else None
    with UnitOfWork(store(request)) as uow:
        clinic = administered_clinic(uow.session, user)
        details = admin.clinic_details(uow.session, clinic.id)
        here, elsewhere = _staff(uow.session, clinic.id)
        hours = admin.opening_hours(uow.session, clinic.id)
        closures = admin.closures(uow.session, clinic.id)
        editing = next(((p, s) for p, s in here if p.id == practitioner_id), None)
        days_off = time_off.upcoming_time_off(uow.session, editing[0].id, now=now_utc()) if editing else []
    zone = clinic_zone(clinic.time_zone)
    context = {
        "page": "clinic-admin",
        "clinic": clinic,
        "details": details,
        "weekdays": WEEKDAYS,
        "opening": _by_weekday(hours),
        "closures": closures,
        "here": here,
        "elsewhere": elsewhere,
        "chosen": practitioner_id,
        "working": _by_weekday(editing[1]) if editing else {},
        "editing": editing[0] if editing else None,
        "time_off": [(entry, *_shown_span(entry.start_at, entry.end_at, zone)) for entry in days_off],
        "errors": errors,
        "summary": summary_of(errors, LABELS),
        "problems": problems,
        "problems_title": problems_title,
        "values": values or {},
        "notice": notice,
    }
    return render(request, "admin_clinic.html", context, user=user, status=status)


LABELS = {
    "name": "Clinic name",
    "address": "Address",
    "phone": "Telephone",
    "hours": "Opening hours",
    "first_day": "First day closed",
    "last_day": "Last day closed",
    "reason": "Reason",
    "practitioner": "Practitioner",
    "staff_hours": "Working hours",
    "closure": "Closure",
    "off_first_day": "First day off",
    "off_last_day": "Last day off",
    "off_start_time": "Off from",
    "off_end_time": "Back at",
    "off_reason": "Reason for the time off",
    "time_off": "Time off",
}
NOTICES = {
    "details": "The clinic's details are saved.",
    "hours": "The opening hours are saved.",
    "closure": "The closure is added.",
    "closure-removed": "The closure is removed.",
    "staff": "The working hours are saved.",
    "left": "The practitioner no longer works at this clinic.",
    "time-off": "The time off is added.",
    "time-off-removed": "The time off is removed.",
}
# The time-off form's fields, by the service's names for them: the closure form has a first and last day too.
OFF_FIELDS = {
    "first_day": "off_first_day",
    "last_day": "off_last_day",
    "start_time": "off_start_time",
    "end_time": "off_end_time",
    "reason": "off_reason",
}


def _shown_span(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[datetime, str, str]:
    """(local start, from, to) as a reader says them: a date alone is a whole day, so an end at midnight shows
    as the last day off."""
    start, end = start.astimezone(zone), end.astimezone(zone)
    first = short_date(start.date()) + ("" if start.time() == time(0) else f" {start:%H:%M}")
    if end.time() == time(0):
        return start, first, short_date(end.date() - timedelta(days=1))
    return start, first, f"{short_date(end.date())} {end:%H:%M}"


def _by_weekday(shifts: list[admin.Shift]) -> dict[int, list[admin.Shift]]:
    result: dict[int, list[admin.Shift]] = {}
    for shift in shifts:
        result.setdefault(shift.weekday, []).append(shift)
    return result


@router.get("/admin/clinic")
def clinic_settings(request: Request, user: AdminUser, practitioner: str = "", done: str = "") -> Response:
    return _clinic_page(request, user, chosen=practitioner, notice=NOTICES.get(done, ""))


def _hhmm(text: str, field: str) -> time:
    try:
        hours, minutes = text.split(":")[:2]
        return time(int(hours), int(minutes))
    except ValueError:
        raise InputError(field, f"{text[:10]!r} is not a time like 09:00") from None


def _shifts(fields: Fields, prefix: str, per_day: int, field: str) -> list[admin.Shift]:
    """Shifts from `{prefix}-start-{weekday}-{n}` and `{prefix}-end-{weekday}-{n}`; an empty pair is no shift."""
    shifts = []
    for weekday, name in enumerate(WEEKDAYS):
        for n in range(per_day):
            start, end = (
                fields.text(f"{prefix}-start-{weekday}-{n}", 10),
                fields.text(f"{prefix}-end-{weekday}-{n}", 10),
            )
            if not start and not end:
                continue
            if not start or not end:
                raise InputError(field, f"{name}: give both the start and the end, or neither")
            shifts.append(admin.Shift(weekday, _hhmm(start, field), _hhmm(end, field)))
    return shifts


def _refused(request: Request, user: User, refused: Refused, title: str, chosen: str = "") -> Response:
    return _clinic_page(request, user, chosen=chosen, problems=refused.problems, problems_title=title, status=409)


@router.post("/admin/clinic/details")
async def details_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    values = {
        "name": fields.text("name", admin.NAME_LONGEST),
        "address": fields.text("address", admin.ADDRESS_LONGEST),
        "phone": fields.text("phone", admin.PHONE_LONGEST),
    }
    return await run_in_threadpool(_save_details, request, user, values)


def _save_details(request: Request, user: User, values: dict[str, str]) -> Response:
    clinic_id = administered_clinic_id(request, user)
    try:
        admin.set_clinic_details(
            store(request),
            clinic_id=clinic_id,
            name=values["name"],
            address=values["address"],
            phone=values["phone"],
            actor=user.actor,
        )
    except FieldProblems as refused:
        return _clinic_page(request, user, errors=dict(refused.problems), values=values, status=400)
    return RedirectResponse("/admin/clinic?done=details", 303)


@router.post("/admin/clinic/hours")
async def hours_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_hours, request, user, fields)


def _save_hours(request: Request, user: User, fields: Fields) -> Response:
    clinic_id = administered_clinic_id(request, user)
    try:
        shifts = _shifts(fields, "open", SHIFTS_PER_DAY, "hours")
        admin.set_opening_hours(store(request), clinic_id=clinic_id, hours=shifts, actor=user.actor)
    except Refused as refused:
        return _refused(request, user, refused, "The opening hours were not changed")
    except InputError as error:
        return _clinic_page(request, user, errors={"hours": error.problem}, status=400)
    return RedirectResponse("/admin/clinic?done=hours", 303)


@router.post("/admin/clinic/closures")
async def closure_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    values = {k: fields.text(k, 200) for k in ("first_day", "last_day", "reason")}
    return await run_in_threadpool(_add_closure, request, user, values)


def _add_closure(request: Request, user: User, values: dict[str, str]) -> Response:
    errors: dict[str, str] = {}
    days = {}
    for key in ("first_day", "last_day"):
        try:
            days[key] = parse_day(values[key], key)
        except InputError as error:
            errors[key] = "give the date" if not values[key] else error.problem
    if not values["reason"]:
        errors["reason"] = "say why the clinic is closed; patients see it"
    if not errors:
        clinic_id = administered_clinic_id(request, user)
        try:
            admin.add_closure(
                store(request),
                clinic_id=clinic_id,
                first_day=days["first_day"],
                last_day=days["last_day"],
                reason=values["reason"],
                actor=user.actor,
            )
        except Refused as refused:
            return _refused(request, user, refused, "The closure was not added")
        except InputError as error:
            errors[error.field if error.field in LABELS else "closure"] = error.problem
    if errors:
        return _clinic_page(request, user, errors=errors, values=values, status=400)
    return RedirectResponse("/admin/clinic?done=closure", 303)


@router.post("/admin/clinic/closures/{closure_id}/remove")
async def closure_removed(request: Request, user: AdminUser, closure_id: RecordId) -> Response:
    check_csrf(request, user, (await read_form(request)).csrf)
    return await run_in_threadpool(_remove_closure, request, user, closure_id)


def _remove_closure(request: Request, user: User, closure_id: int) -> Response:
    clinic_id = administered_clinic_id(request, user)
    try:
        admin.remove_closure(store(request), clinic_id=clinic_id, closure_id=closure_id, actor=user.actor)
    except InputError as error:
        raise NotFound("closure", error.problem) from None
    return RedirectResponse("/admin/clinic?done=closure-removed", 303)


@router.post("/admin/clinic/staff")
async def staff_sent(request: Request, user: AdminUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_working_hours, request, user, fields)


def _save_working_hours(request: Request, user: User, fields: Fields) -> Response:
    chosen = fields.text("practitioner", 12)
    clinic_id = administered_clinic_id(request, user)
    try:
        practitioner_id = optional_int(chosen, "practitioner")
        if practitioner_id is None:
            raise InputError("practitioner", "choose the practitioner")
        shifts = _shifts(fields, "work", 1, "staff_hours")
        admin.set_working_hours(
            store(request), clinic_id=clinic_id, practitioner_id=practitioner_id, hours=shifts, actor=user.actor
        )
    except Refused as refused:
        return _refused(request, user, refused, "The working hours were not changed", chosen)
    except InputError as error:
        field = "practitioner" if error.field == "practitioner" else "staff_hours"
        return _clinic_page(request, user, chosen=chosen, errors={field: error.problem}, status=400)
    return RedirectResponse(f"/admin/clinic?done=staff&practitioner={practitioner_id}#staff", 303)


@router.post("/admin/clinic/staff/{practitioner_id}/leave")
async def staff_left(request: Request, user: AdminUser, practitioner_id: RecordId) -> Response:
    check_csrf(request, user, (await read_form(request)).csrf)
    return await run_in_threadpool(_leave_clinic, request, user, practitioner_id)


def _leave_clinic(request: Request, user: User, practitioner_id: int) -> Response:
    clinic_id = administered_clinic_id(request, user)
    try:
        admin.leave_clinic(store(request), clinic_id=clinic_id, practitioner_id=practitioner_id, actor=user.actor)
    except Refused as refused:
        return _refused(request, user, refused, "The practitioner still works here", str(practitioner_id))
    except InputError as error:
        raise NotFound("practitioner", error.problem) from None
    return RedirectResponse("/admin/clinic?done=left#staff", 303)


@router.post("/admin/clinic/staff/{practitioner_id}/time-off")
async def time_off_sent(request: Request, user: AdminUser, practitioner_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    values = {name: fields.text(name, 200) for name in OFF_FIELDS.values()}
    return await run_in_threadpool(_add_time_off, request, user, practitioner_id, values)


def _add_time_off(request: Request, user: User, practitioner_id: int, values: dict[str, str]) -> Response:
    errors: dict[str, str] = {}
    days, times = {}, {}
    for key in ("first_day", "last_day"):
        try:
            days[key] = parse_day(values[OFF_FIELDS[key]], OFF_FIELDS[key])
        except InputError as error:
            errors[error.field] = "give the date" if not values[OFF_FIELDS[key]] else error.problem
    for key in ("start_time", "end_time"):
        try:
            times[key] = _hhmm(values[OFF_FIELDS[key]], OFF_FIELDS[key]) if values[OFF_FIELDS[key]] else None
        except InputError as error:
            errors[error.field] = error.problem
    chosen = str(practitioner_id)
    if not errors:
        try:
            time_off.add_local_time_off(
                store(request),
                clinic_id=administered_clinic_id(request, user),
                practitioner_id=practitioner_id,
                first_day=days["first_day"],
                last_day=days["last_day"],
                start_time=times["start_time"],
                end_time=times["end_time"],
                reason=values["off_reason"],
                actor=user.actor,
            )
        except Refused as refused:
            return _refused(request, user, refused, "The time off was not added", chosen)
        except Unknown as error:
            raise NotFound(error.field, error.problem) from None
        except InputError as error:
            errors[OFF_FIELDS.get(error.field, "time_off")] = error.problem
    if errors:
        return _clinic_page(request, user, chosen=chosen, errors=errors, values=values, status=400)
    return RedirectResponse(f"/admin/clinic?done=time-off&practitioner={practitioner_id}#time-off", 303)


@router.post("/admin/clinic/staff/{practitioner_id}/time-off/{time_off_id}/remove")
async def time_off_removed(
    request: Request, user: AdminUser, practitioner_id: RecordId, time_off_id: RecordId
) -> Response:
    check_csrf(request, user, (await read_form(request)).csrf)
    return await run_in_threadpool(_remove_time_off, request, user, practitioner_id, time_off_id)


def _remove_time_off(request: Request, user: User, practitioner_id: int, time_off_id: int) -> Response:
    clinic_id = administered_clinic_id(request, user)
    try:
        time_off.remove_time_off(
            store(request),
            clinic_id=clinic_id,
            practitioner_id=practitioner_id,
            time_off_id=time_off_id,
            actor=user.actor,
        )
    except InputError as error:
        raise NotFound(error.field, error.problem) from None
    return RedirectResponse(f"/admin/clinic?done=time-off-removed&practitioner={practitioner_id}#time-off", 303)
