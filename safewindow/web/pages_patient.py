"""A signed-in patient's own pages: their visits (upcoming and past), one visit (the booking confirmation
too), cancelling or moving it, and their history and factors with the intake form.

A visit that asks a deposit says how much, and where it stands in words the patient knows (due, received,
counted toward the visit, refunded, kept by the clinic, waived); safewindow takes no payments, so a deposit due
is one the clinic will contact them about.

The intake asks every factor question of the knowledge base; the answers feed the timing rules of every
later booking. Moving and cancelling go through the booking service, which checks the rules again (for the
visit and every other visit of the patient) and refuses with every reason."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone, now_utc
from safewindow.domain.advice import Severity
from safewindow.domain.availability import changes_close_in_words
from safewindow.domain.history import PastVisit
from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused, cancel, reschedule
from safewindow.services.chart import Chart, ChartVisit, advice_for_patient, load_chart, record_intake
from safewindow.services.deposits import Deposit, deposits_of_patient
from safewindow.services.errors import InputError
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import check_csrf, store
from safewindow.web.dependencies import TodayDep, knowledge_base
from safewindow.web.deposit_words import for_patient
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import Fields, PatientUser, RecordId, read_form, render, summary_of
from safewindow.web.pages_booking import DAYS_SHOWN, Offer, OfferDay, first_day_of, offer_days, ordered, parse_slot

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
INTAKE_LABELS = {"factors": "About you", "prior_treatment": "Treatment", "prior_date": "Date", "form": "The form"}


def _chart(request: Request, user: User) -> Chart:
    assert user.patient_id is not None
    with UnitOfWork(store(request)) as uow:
        return load_chart(uow.session, knowledge_base(request), user.patient_id)


def _chart_and_deposits(request: Request, user: User) -> tuple[Chart, dict[int, tuple[Deposit, str]]]:
    """The patient's chart, and each of their visits that asks a deposit: the deposit, and where it stands in
    their words (read in one transaction)."""
    assert user.patient_id is not None
    with UnitOfWork(store(request)) as uow:
        chart = load_chart(uow.session, knowledge_base(request), user.patient_id)
        found = deposits_of_patient(uow.session, user.patient_id)
    clinics = {v.visit_id: v.clinic for v in (*chart.upcoming, *chart.past)}
    return chart, {
        visit_id: (deposit, for_patient(deposit, clinics[visit_id]))
        for visit_id, deposit in found.items()
        if visit_id in clinics
    }


def _own_visit(chart: Chart, visit_id: int) -> ChartVisit:
    """The patient's own visit; anyone else's is 'not found', so an id tells nothing."""
    found = next((v for v in (*chart.upcoming, *chart.past) if v.visit_id == visit_id), None)
    if found is None:
        raise NotFound("visit", f"you have no visit {visit_id}")
    return found


@router.get("/my/visits")
def my_visits(request: Request, user: PatientUser, cancelled: int | None = None) -> Response:
    chart, deposits = _chart_and_deposits(request, user)
    context = {
        "page": "my-visits",
        "chart": chart,
        "kb": knowledge_base(request),
        "cancelled": cancelled,
        "deposits": deposits,
    }
    return render(request, "my_visits.html", context, user=user)


def _visit_page(
    request: Request,
    user: User,
    visit_id: int,
    *,
    notice: str = "",
    extra: Mapping[str, object] | None = None,
    status: int = 200,
) -> Response:
    chart, deposits = _chart_and_deposits(request, user)
    visit = _own_visit(chart, visit_id)
    upcoming = any(v.visit_id == visit_id for v in chart.upcoming)
    deposit = deposits.get(visit_id)
    context = {
        "page": "my-visits",
        "visit": visit,
        "upcoming": upcoming,
        "changes_open": now_utc() < visit.changes_close,
        "changes_close": changes_close_in_words(visit.change_notice),
        "reasons": ordered(visit.reasons),
        "overridden": {o.rule for o in visit.overrides},
        "kb": knowledge_base(request),
        "notice": notice,
        "deposit": deposit[0] if deposit else None,
        "deposit_words": deposit[1] if deposit else "",
        "change_notice": visit.change_notice,
        **(extra or {}),
    }
    return render(request, "my_visit.html", context, user=user, status=status)


NOTICES = {"booked": "Your visit is booked.", "moved": "Your visit has been moved."}


@router.get("/my/visits/{visit_id}")
def my_visit(request: Request, user: PatientUser, visit_id: RecordId, booked: int = 0, moved: int = 0) -> Response:
    notice = NOTICES["booked"] if booked else NOTICES["moved"] if moved else ""
    return _visit_page(request, user, visit_id, notice=notice)


@router.post("/my/visits/{visit_id}/cancel")
async def cancel_visit(request: Request, user: PatientUser, visit_id: RecordId) -> Response:
    check_csrf(request, user, (await read_form(request)).csrf)
    return await run_in_threadpool(_cancel, request, user, visit_id)


def _cancel(request: Request, user: User, visit_id: int) -> Response:
    _own_visit(_chart(request, user), visit_id)
    try:
        cancel(store(request), knowledge_base(request), visit_id=visit_id, actor=user.actor, by_patient=True)
    except Refused as refused:
        extra = {"problems": refused.problems, "refusal_title": "We could not cancel this visit"}
        return _visit_page(request, user, visit_id, extra=extra, status=409)
    return RedirectResponse(f"/my/visits?cancelled={visit_id}", 303)


def _move_days(request: Request, user: User, visit: ChartVisit, first: date) -> list[OfferDay]:
    """Free times with the same practitioner, each day checked against the patient's rules as they would be
    with this visit moved there (the visit itself left out of the history)."""
    assert user.patient_id is not None
    kb = knowledge_base(request)
    days = offer_days(
        store(request),
        kb,
        treatment=visit.treatment,
        clinic_id=visit.clinic_id,
        first_day=first,
        practitioner_id=visit.practitioner_id,
    )
    today = clinic_today(visit.zone)
    result = []
    with UnitOfWork(store(request)) as uow:
        for day in days:
            advice = advice_for_patient(
                uow.session,
                kb,
                user.patient_id,
                visit.treatment,
                today=today,
                on=day.day,
                clinic_id=visit.clinic_id,
                ignore_visit=visit.visit_id,
            )
            blocks = [r for r in advice.reasons if r.severity is Severity.BLOCK]
            if blocks:
                result.append(OfferDay(day.day, (), f"Not allowed for you on this day: {blocks[0].message}"))
                continue
            warnings = tuple(r for r in advice.reasons if r.severity is Severity.WARN)
            if advice.ideal_start and advice.ideal_end:
                fit = "ideal" if advice.ideal_start <= day.day <= advice.ideal_end else "allowed"
            else:
                fit = "allowed" if warnings else "ideal"
            slots = tuple(Offer(o.start, o.practitioner_id, o.practitioner, fit, warnings) for o in day.slots)
            result.append(OfferDay(day.day, slots, day.note))
    return result


def _move_page(
    request: Request,
    user: User,
    visit_id: int,
    from_text: str,
    *,
    errors: dict[str, str] | None = None,
    problems: list[Problem] | None = None,
    status: int = 200,
) -> Response:
    chart = _chart(request, user)
    visit = _own_visit(chart, visit_id)
    if not any(v.visit_id == visit_id for v in chart.upcoming):
        raise NotFound("visit", f"visit {visit_id} is not upcoming, so it cannot be moved")
    today = clinic_today(visit.zone)
    first, problem = first_day_of(from_text, today, None)
    errors = {**({"from": problem} if problem else {}), **(errors or {})}
    context: dict[str, object] = {
        "page": "my-visits",
        "visit": visit,
        "kb": knowledge_base(request),
        "first": first,
        "from_day": from_text,
        "later": first + timedelta(days=DAYS_SHOWN),
        "earlier": max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
        "days": _move_days(request, user, visit, first),
        "errors": errors,
        "summary": summary_of(errors, {"from": "From", "slot": "Time"}),
    }
    if problems is not None:
        context["problems"] = problems
    if errors and status == 200:
        status = 400
    return render(request, "my_visit_move.html", context, user=user, status=status)


@router.get("/my/visits/{visit_id}/move")
def move_form(
    request: Request, user: PatientUser, visit_id: RecordId, from_: Annotated[str, Query(alias="from")] = ""
) -> Response:
    return _move_page(request, user, visit_id, from_.strip())


@router.post("/my/visits/{visit_id}/move")
async def move_sent(request: Request, user: PatientUser, visit_id: RecordId) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_move, request, user, visit_id, fields.text("slot", 40), fields.text("from", 20))


def _move(request: Request, user: User, visit_id: int, slot: str, from_text: str) -> Response:
    visit = _own_visit(_chart(request, user), visit_id)
    try:
        start, _ = parse_slot(slot, visit.zone)
        reschedule(
            store(request), knowledge_base(request), visit_id=visit_id, start=start, actor=user.actor, by_patient=True
        )
    except InputError as error:
        return _move_page(request, user, visit_id, from_text, errors={"slot": error.problem}, status=400)
    except Refused as refused:
        return _move_page(request, user, visit_id, from_text, problems=refused.problems, status=409)
    return RedirectResponse(f"/my/visits/{visit_id}?moved=1", 303)


# --- History and factors ------------------------------------------------------------------------------------------


def _history_page(
    request: Request,
    user: User,
    *,
    chosen: set[str] | None = None,
    prior: tuple[str, str] = ("", ""),
    errors: dict[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> Response:
    chart = _chart(request, user)
    errors = errors or {}
    context = {
        "page": "my-history",
        "chart": chart,
        "kb": knowledge_base(request),
        "chosen": chart.active_factors if chosen is None else chosen,
        "prior_treatment": prior[0],
        "prior_date": prior[1],
        "errors": errors,
        "summary": summary_of(errors, INTAKE_LABELS),
        "notice": notice,
        "today": clinic_today(clinic_zone()),  # which of their prescribers' orders are in force
    }
    return render(request, "my_history.html", context, user=user, status=status)


@router.get("/my/history")
def my_history(request: Request, user: PatientUser, saved: int = 0, welcome: int = 0) -> Response:
    notice = "Your answers are saved." if saved else "Your account is ready." if welcome else ""
    return _history_page(request, user, notice=notice)


@router.post("/my/history")
async def my_history_sent(request: Request, user: PatientUser, today: TodayDep) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    return await run_in_threadpool(_save_intake, request, user, fields, today)


def _save_intake(request: Request, user: User, fields: Fields, today: date) -> Response:
    """The answers recorded, or the form again with what is wrong with them."""
    assert user.patient_id is not None
    kb = knowledge_base(request)
    chosen = set(fields.all("factor"))
    slug, day_text = fields.text("prior_treatment", 64), fields.text("prior_date", 20)
    errors: dict[str, str] = {}
    unknown = sorted(chosen - set(kb.factors))
    if unknown:
        errors["factors"] = f"we do not know the question {unknown[0][:40]!r}; reload the page"
    prior = None
    if slug or day_text:
        if not slug:
            errors["prior_treatment"] = "choose the treatment you had on this date"
        elif slug not in kb.treatments:
            errors["prior_treatment"] = f"we do not know the treatment {slug[:40]!r}"
        if not day_text:
            errors["prior_date"] = "give the date of this treatment"
        else:
            try:
                day = parse_day(day_text, "prior_date")
                if day > today:
                    errors["prior_date"] = "that date is in the future; book a visit instead"
                elif "prior_treatment" not in errors:
                    prior = PastVisit(slug, day, models.DEFAULT_AREA)
            except InputError as error:
                errors["prior_date"] = error.problem
    if not errors:
        try:
            record_intake(
                store(request),
                kb,
                patient_id=user.patient_id,
                factors=chosen,
                actor=user.actor,
                today=today,
                prior=prior,
            )
        except InputError as error:
            errors[error.field if error.field in INTAKE_LABELS else "form"] = error.problem
    if errors:
        return _history_page(request, user, chosen=chosen, prior=(slug, day_text), errors=errors, status=400)
    return RedirectResponse("/my/history?saved=1", 303)
