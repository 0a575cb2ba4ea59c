"""The staff's pages: the clinic's day and week (for everyone, one practitioner or one room), patient search,
the patient chart (every view audited), and booking for a patient.

Who may override a soft timing rule is decided twice: here, where only a practitioner sees the override
fields and any other role sending them gets 403, and in the booking service, which also checks that the
practitioner is qualified for the treatment and that every block is soft. Staff with a home clinic see and
book only there; the front desk and the clinic administrator see a limited chart, without the list of
personal factors (the advisor's warnings for each upcoming visit still show, since booking needs them).

Every visit that asks a deposit shows it on the chart: its amount, where it stands, what is left to do and its
ledger; staff who work at the visit's clinic, whatever their role, get the forms for the steps the policy
allows next (pages_deposits.py records them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.deposits import METHODS
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.accounts import User, actor_names
from safewindow.services.booking import Override, Refused, book
from safewindow.services.calendar import clinic_calendar, week_of
from safewindow.services.chart import Chart, advice_for_patient, load_chart
from safewindow.services.consents import forms_of_clinics
from safewindow.services.deposits import Deposit, deposits_of_patient
from safewindow.services.errors import InputError
from safewindow.services.orders import orderable_by
from safewindow.services.patients import find_patients
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.asking import day_asked
from safewindow.web.auth import audit_read, check_csrf, may_see_patient, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.deposit_words import DONE, STATES, STEPS, TODOS, offered
from safewindow.web.errors import NotFound
from safewindow.web.pages_account import RecordId, StaffUser, optional_int, read_form, render, summary_of
from safewindow.web.pages_booking import (
    DAYS_SHOWN,
    LABELS,
    check_choice,
    confirm_context,
    first_day_of,
    offer_days,
    offered_treatments,
    ordered,
    propose,
    refused_context,
)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
SEARCH_LIMIT = 50
OVERRIDE_FIELD = "override_reason"
MAX_REASON = 2000


def staff_clinics(session: Session, user: User) -> list[models.Clinic]:
    """The clinics this staff member works with: their home clinic, or every clinic when they have none."""
    query = select(models.Clinic).order_by(models.Clinic.name)
    if user.clinic_id is not None:
        query = query.where(models.Clinic.id == user.clinic_id)
    return list(session.scalars(query))


def chosen_clinic(session: Session, user: User, wanted: str) -> tuple[models.Clinic, list[models.Clinic], str | None]:
    """The clinic asked for if this user works there, else their first; with every clinic they may choose, and
    the problem with what was asked, if any."""
    allowed = staff_clinics(session, user)
    if not allowed:
        raise NotFound("clinic", "there are no clinics yet")
    try:
        wanted_id = optional_int(wanted, "clinic")
    except InputError as error:
        return allowed[0], allowed, error.problem
    if wanted_id is None:
        return allowed[0], allowed, None
    found = next((c for c in allowed if c.id == wanted_id), None)
    return (found, allowed, None) if found else (allowed[0], allowed, f"you do not work at clinic {wanted_id}")


@router.get("/staff")
def staff_home(request: Request, user: StaffUser) -> Response:
    with UnitOfWork(store(request)) as uow:
        clinics = staff_clinics(uow.session, user)
    return render(request, "staff_home.html", {"page": "staff", "clinics": clinics}, user=user)


# --- The diary --------------------------------------------------------------------------------------------------


@router.get("/staff/calendar")
def calendar(
    request: Request,
    user: StaffUser,
    clinic: str = "",
    view: str = "day",
    day: str = "",
    practitioner: str = "",
    room: str = "",
) -> Response:
    errors: dict[str, str] = {}
    view = view if view in ("day", "week") else "day"
    with UnitOfWork(store(request)) as uow:
        chosen, clinics, problem = chosen_clinic(uow.session, user, clinic)
        if problem:
            errors["clinic"] = problem
        today = clinic_today(clinic_zone(chosen.time_zone))
        shown = day_asked(day, "day", errors) or today
        ids: dict[str, int | None] = {}
        for field, text in (("practitioner", practitioner), ("room", room)):
            try:
                ids[field] = optional_int(text, field)
            except InputError as error:
                errors[field], ids[field] = error.problem, None
        first, days = (week_of(shown), 7) if view == "week" else (shown, 1)
        try:
            diary = clinic_calendar(
                uow.session, chosen.id, first, days, practitioner_id=ids["practitioner"], room_id=ids["room"]
            )
        except InputError as error:
            errors[error.field] = error.problem
            diary = clinic_calendar(uow.session, chosen.id, first, days)
    step = timedelta(days=days)
    context = {
        "page": "calendar",
        "kb": knowledge_base(request),
        "diary": diary,
        "clinics": clinics,
        "view": view,
        "shown": shown,
        "today": today,
        "previous": first - step,
        "next": first + step,
        "errors": errors,
        "summary": summary_of(
            errors, {"clinic": "Clinic", "day": "Day", "practitioner": "Practitioner", "room": "Room"}
        ),
    }
    return render(request, "staff_calendar.html", context, user=user, status=400 if errors else 200)


# --- Patients ---------------------------------------------------------------------------------------------------


@router.get("/staff/patients")
def patients(request: Request, user: StaffUser, q: str = "") -> Response:
    q = q.strip()[:100]
    found: list[models.Patient] = []
    if q:
        with UnitOfWork(store(request)) as uow:
            found = find_patients(uow.session, q, limit=SEARCH_LIMIT)
    context = {"page": "patients", "q": q, "found": found, "limit": SEARCH_LIMIT}
    return render(request, "staff_patients.html", context, user=user)


@router.get("/staff/patients/{patient_id}")
def chart(
    request: Request,
    user: StaffUser,
    patient_id: RecordId,
    booked: int | None = None,
    recorded: int | None = None,
    unsafe: int = 0,
    ordered: int | None = None,
    revoked: int | None = None,
    uncovered: int = 0,
    already: int = 0,
    treated: int | None = None,
    deposit: int | None = None,
    step: str = "",
) -> Response:
    return chart_page(
        request,
        user,
        patient_id,
        {
            "booked": booked,
            "recorded": recorded,
            "unsafe": unsafe,
            "ordered": ordered,
            "revoked": revoked,
            "uncovered": uncovered,
            "already_revoked": bool(already),
            "treated": treated,
            # A deposit's step just recorded: its visit, and what it became (a step the policy knows, or nothing).
            "deposit_done": deposit if step in DONE else None,
            "deposit_step": step if step in DONE else "",
        },
    )


def chart_page(
    request: Request, user: User, patient_id: int, extra: Mapping[str, object], status: int = 200
) -> Response:
    """The chart, with what the last change says (`extra`: a notice, or the problems that refused it)."""
    may_see_patient(user, patient_id)
    kb = knowledge_base(request)
    # The read and its audit entry in one transaction: no chart is shown that was not accounted for (PIPA).
    with UnitOfWork(store(request), write=True) as uow:
        try:
            record = load_chart(uow.session, kb, patient_id)
        except InputError:
            raise NotFound("patient", f"no patient {patient_id}") from None
        orderable = may_order(uow.session, kb, user)
        deposits = deposits_of_patient(uow.session, patient_id)
        consents = consent_choices(uow.session, kb, user, record)
        names = actor_names(uow.session, _actors(record, deposits.values()))
        audit_read(uow.session, user, "patient", patient_id)
        uow.commit()
    visits = {v.visit_id: v for v in (*record.upcoming, *record.past)}
    # Staff with a home clinic record deposits of its visits only, as they book only there.
    steps = {
        visit_id: offered(deposit)
        for visit_id, deposit in deposits.items()
        if visit_id in visits and user.clinic_id in (None, visits[visit_id].clinic_id)
    }
    context = {
        "page": "patients",
        "chart": record,
        "kb": kb,
        "who": lambda actor: names.get(actor, actor),  # who recorded, wrote or revoked it, by name
        "full": user.role is Role.PRACTITIONER,
        "booked": None,
        "recorded": None,
        "unsafe": 0,
        # Prescribers' orders: what this user may order or revoke, the form as sent and what became of it.
        "today": clinic_today(clinic_zone()),
        "local_zone": clinic_zone(),
        "orderable": orderable,
        "order_form": {"treatment": "", "valid_until": "", "note": ""},
        "order_errors": {},
        "order_summary": [],
        "order_problems": [],
        "ordered": None,  # an order just written, and one just revoked (their ids), with the visits left uncovered
        "revoked": None,
        "uncovered": 0,
        "already_revoked": False,
        # Treatment records: a visit whose record was just written, and the form sent for a visit with its problems.
        "treated": None,
        "record_visit": None,
        "record_form": {},
        "record_errors": {},
        "record_summary": [],
        "record_problems": [],
        # Deposits: each visit's (upcoming first, then the newest past), the steps offered where this user may act,
        # a step just recorded, and the form sent for a visit with its problems.
        "deposits": [(visits[visit_id], deposits[visit_id]) for visit_id in visits if visit_id in deposits],
        "deposit_steps": steps,
        "deposit_words": {"states": STATES, "todos": TODOS, "steps": STEPS, "done": DONE},
        "methods": METHODS,
        "deposit_done": None,
        "deposit_step": "",
        "deposit_visit": None,
        "deposit_sent": {},
        "deposit_errors": {},
        "deposit_summary": [],
        "deposit_problems": [],
        # Consent forms: the forms in use where this user works (for a signed paper form), the names of the clinics
        # whose forms the patient signed, and the paper form as sent with its problems (pages_consent_staff.py).
        **consents,
        "consent_sent": {},
        "consent_errors": {},
        "consent_summary": [],
        "consent_problems": [],
        **extra,
    }
    context["written"] = next((o for o in record.orders if o.id == context["ordered"]), None)
    return render(request, "staff_chart.html", context, user=user, status=status)


def _actors(chart: Chart, deposits: Iterable[Deposit]) -> set[str]:
    """Everyone the chart says recorded, wrote or revoked something."""
    return {
        *(f.recorded_by for f in chart.factors),
        *(p.recorded_by for p in chart.prior),
        *(o.written_by for o in chart.orders),
        *(o.revoked_by for o in chart.orders if o.revoked_by),
        *(r.recorded_by for v in chart.past for r in v.records),
        *(e.recorded_by for d in deposits for e in d.entries),
        *(s.recorded_by for s in chart.consents),
        *(s.withdrawn_by for s in chart.consents if s.withdrawn_by),
    }


def consent_choices(session: Session, kb: KnowledgeBase, user: User, chart: Chart) -> dict[str, object]:
    """What the chart's consent forms need: the forms in use at the clinics this user works at, as (clinic's
    name, treatment's name, form), which they may record a signed paper form of or withdraw a signature on; the
    ids of the forms in use wherever the patient signed, so a signature on an earlier version says so; and every
    clinic's name, since a patient may have signed at a clinic this user does not work at."""
    mine = staff_clinics(session, user)
    wanted = {clinic.id for clinic in mine} | {s.form.clinic_id for s in chart.consents}
    in_use = forms_of_clinics(session, wanted)
    paper = [
        (clinic.name, kb.treatments[slug].name if slug in kb.treatments else slug, form)
        for clinic in mine
        for slug, form in in_use[clinic.id].items()
    ]
    return {
        "paper_forms": sorted(paper, key=lambda entry: entry[:2]),
        "consent_clinics": {clinic.id for clinic in mine},
        "forms_in_use": {form.id for forms in in_use.values() for form in forms.values()},
        "clinic_names": {row.id: row.name for row in session.execute(select(models.Clinic.id, models.Clinic.name))},
    }


def practitioner_only(user: User, what: str) -> int:
    """The practitioner's id; any other role, or an account that belongs to no practitioner, may not do `what`
    (a 403, whatever the form says)."""
    if user.role is not Role.PRACTITIONER or user.practitioner_id is None:
        raise HTTPException(403, f"a {user.role} may not {what}")
    return user.practitioner_id


def patient_of_visit_here(request: Request, user: User, visit_id: int) -> int:
    """The patient of a visit this staff member may chart: staff with a home clinic chart only its visits (as
    they book only there), so another clinic's is not found."""
    return visit_here(request, user, visit_id)[0]


def visit_here(request: Request, user: User, visit_id: int) -> tuple[int, str]:
    """The patient and the treatment of a visit this staff member may chart (see patient_of_visit_here)."""
    with UnitOfWork(store(request)) as uow:
        visit = uow.session.get(models.Visit, visit_id)
        found = (visit.patient_id, visit.treatment_slug) if visit is not None else None
        elsewhere = visit is not None and user.clinic_id not in (None, visit.clinic_id)
    if found is None or elsewhere:
        raise NotFound("visit", f"no visit {visit_id} at your clinic")
    may_see_patient(user, found[0])
    return found


def may_order(session: Session, kb: KnowledgeBase, user: User) -> tuple[str, ...]:
    """What this user, a practitioner, may order for a patient (or revoke an order of) at the clinic they work
    with: the chart's form offers those. The orders service checks it again; everyone else gets no form."""
    if user.role is not Role.PRACTITIONER or user.practitioner_id is None:
        return ()
    return orderable_by(session, kb, user.practitioner_id, user.clinic_id)


def patient_name(session: Session, patient_id: int) -> str:
    patient = session.get(models.Patient, patient_id)
    if patient is None:
        raise NotFound("patient", f"no patient {patient_id}")
    return patient.name


# --- Booking for a patient --------------------------------------------------------------------------------------


@router.get("/staff/patients/{patient_id}/book")
def book_for(
    request: Request,
    user: StaffUser,
    patient_id: RecordId,
    treatment: str = "",
    clinic: str = "",
    from_: Annotated[str, Query(alias="from")] = "",
) -> Response:
    return _book_page(request, user, patient_id, treatment.strip(), clinic.strip(), from_.strip())


def _book_page(
    request: Request,
    user: User,
    patient_id: int,
    treatment: str,
    clinic: str,
    from_text: str,
    extra_errors: dict[str, str] | None = None,
) -> Response:
    kb = knowledge_base(request)
    sent = "treatment" in request.query_params or bool(extra_errors)
    errors: dict[str, str] = {}
    context: dict[str, object] = {"page": "patients", "patient_id": patient_id, "treatment": treatment}
    with UnitOfWork(store(request)) as uow:
        context["patient_name"] = patient_name(uow.session, patient_id)
        home, clinics, problem = chosen_clinic(uow.session, user, clinic)
        context.update(clinic=str(home.id), clinics=clinics)
        context["treatments"] = offered_treatments(uow.session, kb)
        choice = None
        if sent:
            choice, errors = check_choice(uow.session, kb, treatment, str(home.id))
            if problem:
                errors["clinic"] = problem
        if choice is not None:
            today = clinic_today(choice.zone)
            advice = advice_for_patient(uow.session, kb, patient_id, choice.treatment, today=today, clinic_id=home.id)
            first, bad_from = first_day_of(from_text, today, advice)
            if bad_from:
                errors["from"] = bad_from
            context["practitioners"] = [
                (p.id, p.name)
                for p in uow.session.scalars(
                    select(models.Practitioner)
                    .where(
                        models.Practitioner.active.is_(True),
                        models.Practitioner.id.in_(
                            select(models.PractitionerHours.practitioner_id).where(
                                models.PractitionerHours.clinic_id == home.id
                            )
                        ),
                    )
                    .order_by(models.Practitioner.name)
                )
            ]
    errors.update(extra_errors or {})
    context["from_day"] = from_text
    if choice is not None and "from" not in errors:
        context.update(
            choice=choice,
            name=kb.treatments[choice.treatment].name,
            advice=advice,
            reasons=ordered(advice.reasons),
            first=first,
            earlier=max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
            later=first + timedelta(days=DAYS_SHOWN),
            days=offer_days(
                store(request),
                kb,
                treatment=choice.treatment,
                clinic_id=choice.clinic.id,
                first_day=first,
                patient_id=patient_id,
            )
            if advice.allowed
            else [],
        )
    context.update(errors=errors, summary=summary_of(errors, {**LABELS, "day": "Day", "time": "Time"}))
    return render(request, "staff_book.html", context, user=user, status=400 if errors else 200)


def _slot_from(slot: str, day: str, time: str, practitioner: str) -> str:
    """A chosen slot, or 'another time' typed as a day, a time and optionally a practitioner."""
    if slot or not (day or time):
        return slot
    return f"{day}T{time}@{practitioner}" if practitioner else f"{day}T{time}"


def _confirm_page(
    request: Request,
    user: User,
    patient_id: int,
    fields: dict[str, str],
    *,
    extra: Mapping[str, object] | None = None,
    status: int = 200,
) -> Response:
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        name = patient_name(uow.session, patient_id)
        home, _, problem = chosen_clinic(uow.session, user, fields["clinic"])
        if problem:
            raise HTTPException(403, problem)
        proposal, errors = propose(uow.session, kb, patient_id, fields["treatment"], str(home.id), fields["slot"])
    if proposal is None:
        return _book_page(request, user, patient_id, fields["treatment"], fields["clinic"], "", errors)
    context: dict[str, object] = {
        "page": "patients",
        "patient_id": patient_id,
        "patient_name": name,
        "override_reason": fields.get(OVERRIDE_FIELD, ""),
        "errors": {},
        **confirm_context(kb, proposal, fields["slot"]),
        **(extra or {}),
    }
    blocks = proposal.blocks
    soft_only = all(str(r.kind) == "soft" for r in blocks)
    refused_soft = bool(context.get("overridable"))
    context["may_override"] = user.role is Role.PRACTITIONER and ((bool(blocks) and soft_only) or refused_soft)
    return render(request, "staff_book_confirm.html", context, user=user, status=status)


@router.get("/staff/patients/{patient_id}/book/confirm")
def confirm_for(
    request: Request,
    user: StaffUser,
    patient_id: RecordId,
    treatment: str = "",
    clinic: str = "",
    slot: str = "",
    day: str = "",
    time: str = "",
    practitioner: str = "",
) -> Response:
    fields = {
        "treatment": treatment.strip(),
        "clinic": clinic.strip(),
        "slot": _slot_from(slot.strip(), day.strip(), time.strip(), practitioner.strip()),
    }
    return _confirm_page(request, user, patient_id, fields)


@router.post("/staff/patients/{patient_id}/book/confirm")
async def confirmed_for(request: Request, user: StaffUser, patient_id: RecordId) -> Response:
    form = await read_form(request)
    check_csrf(request, user, form.csrf)
    if OVERRIDE_FIELD in form.form and user.role is not Role.PRACTITIONER:
        raise HTTPException(403, f"a {user.role} may not override a timing rule; ask a qualified practitioner")
    fields = {
        "treatment": form.text("treatment", 64),
        "clinic": form.text("clinic", 12),
        "slot": form.text("slot", 40),
        OVERRIDE_FIELD: form.text(OVERRIDE_FIELD, MAX_REASON),
    }
    return await run_in_threadpool(_book_for, request, user, patient_id, fields, OVERRIDE_FIELD in form.form)


def _book_for(request: Request, user: User, patient_id: int, fields: dict[str, str], overriding: bool) -> Response:
    """Book what the confirmation page showed (`overriding`: with the practitioner's reason to override a soft
    rule), if the service agrees; the page again if not."""
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        patient_name(uow.session, patient_id)
        home, _, problem = chosen_clinic(uow.session, user, fields["clinic"])
        if problem:
            raise HTTPException(403, problem)
        proposal, errors = propose(uow.session, kb, patient_id, fields["treatment"], str(home.id), fields["slot"])
    if proposal is None:
        return _book_page(request, user, patient_id, fields["treatment"], fields["clinic"], "", errors)
    reason = fields[OVERRIDE_FIELD]
    override = None
    if overriding:
        if len(reason) > MAX_REASON:
            errors = {OVERRIDE_FIELD: f"use at most {MAX_REASON} characters"}
        elif not reason:
            errors = {OVERRIDE_FIELD: "write down why you are overriding the rule"}
        if errors:
            extra = {"errors": errors, "summary": summary_of(errors, {OVERRIDE_FIELD: "Reason for the override"})}
            return _confirm_page(request, user, patient_id, fields, extra=extra, status=400)
        assert user.practitioner_id is not None  # a practitioner's account always belongs to one
        override = Override(reason, by=user.practitioner_id)
    try:
        booked = book(
            store(request),
            kb,
            patient_id=patient_id,
            treatment=proposal.choice.treatment,
            clinic_id=proposal.choice.clinic.id,
            start=proposal.start,
            practitioner_id=proposal.practitioner_id,
            actor=user.actor,
            override=override,
        )
    except Refused as refused:
        return _confirm_page(request, user, patient_id, fields, extra=refused_context(refused.problems), status=409)
    except InputError as error:
        field = error.field if error.field in (OVERRIDE_FIELD, "slot") else "slot"
        extra = {"errors": {field: error.problem}, "summary": summary_of({field: error.problem}, LABELS)}
        return _confirm_page(request, user, patient_id, fields, extra=extra, status=400)
    return RedirectResponse(f"/staff/patients/{patient_id}?booked={booked.visit.id}", 303)
