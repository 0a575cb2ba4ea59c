"""Booking, as a patient does it: choose a treatment and a clinic, see the free times (anyone may look), sign in,
confirm. For a signed-in patient the times are the rule-aware slots for their history and factors, each marked
ideal or allowed (with the warning that says why it is not ideal); the booking service is the last word, and a
refusal lists every reason with its rule, kind, evidence and source.

The pieces the staff pages reuse to book for a patient live here too: the week of slots, the chosen slot,
and the summary of what is about to be booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.advice import Advice, Reason, Severity
from safewindow.domain.availability import changes_close_in_words
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.accounts import User
from safewindow.services.advice import parse_day
from safewindow.services.booking import Problem, Refused, book
from safewindow.services.chart import advice_for_patient
from safewindow.services.errors import InputError
from safewindow.services.local_time import parse_local_time
from safewindow.services.offers import change_notice
from safewindow.services.orders import order_would_widen
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.auth import OptionalUserDep, check_csrf, store
from safewindow.web.dependencies import knowledge_base
from safewindow.web.pages_account import PatientUser, optional_int, read_form, render, summary_of

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
DAYS_SHOWN = 7
PER_DAY = 8  # times offered per day, spread over the day
SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}
LABELS = {"treatment": "Treatment", "clinic": "Clinic", "from": "From", "slot": "Time", "form": "The form"}


@dataclass(frozen=True, slots=True)
class Offer:
    """One time on the page: a radio button whose value is `YYYY-MM-DDTHH:MM@practitioner`."""

    start: datetime  # in the clinic's zone
    practitioner_id: int
    practitioner: str
    fit: str | None  # ideal | allowed | None when not checked against a patient
    warnings: tuple[Reason, ...]

    @property
    def value(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M}@{self.practitioner_id}"


@dataclass(frozen=True, slots=True)
class OfferDay:
    day: date
    slots: tuple[Offer, ...]
    note: str = "No free times to offer on this day."


@dataclass(frozen=True)
class Choice:
    """What the booking form asks about, checked."""

    treatment: str
    clinic: models.Clinic
    zone: ZoneInfo
    change_notice: timedelta  # the patient may cancel or move the visit online until this long before it


def ordered(reasons: tuple[Reason, ...] | list[Reason]) -> list[Reason]:
    """Blocks first, then warnings: what stops a booking is what a reader needs first."""
    return sorted(reasons, key=lambda r: SEVERITY_ORDER[r.severity])


def spread(offers: list[Offer], keep: int) -> list[Offer]:
    """One offer per start time (the first practitioner free then), at most `keep`, spread over the day."""
    by_start: dict[datetime, Offer] = {}
    for offer in offers:
        by_start.setdefault(offer.start, offer)
    unique = list(by_start.values())
    if len(unique) <= keep:
        return unique
    return [unique[round(i * (len(unique) - 1) / (keep - 1))] for i in range(keep)]


def offer_days(
    sessions: sessionmaker[Session],
    kb: KnowledgeBase,
    *,
    treatment: str,
    clinic_id: int,
    first_day: date,
    patient_id: int | None = None,
    practitioner_id: int | None = None,
    days: int = DAYS_SHOWN,
) -> list[OfferDay]:
    """A week of times, day by day: the slot finder asked once per day, so every day gets its share."""
    result = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        slots = find_slots_for(
            sessions,
            kb,
            treatment=treatment,
            clinic_id=clinic_id,
            patient_id=patient_id,
            practitioner_id=practitioner_id,
            first_day=day,
            days=1,
            limit=200,
        )
        offers = [
            Offer(
                s.slot.start.astimezone(s.zone),
                int(s.slot.practitioner_id),
                s.practitioner_name,
                str(s.slot.fit) if s.slot.fit else None,
                s.slot.warnings,
            )
            for s in slots
            if s.slot.start.astimezone(s.zone).date() == day
        ]
        result.append(OfferDay(day, tuple(spread(offers, PER_DAY))))
    return result


def clinics(session: Session) -> list[models.Clinic]:
    return list(session.scalars(select(models.Clinic).order_by(models.Clinic.name)))


def offered_treatments(session: Session, kb: KnowledgeBase) -> list[tuple[str, str]]:
    """(slug, name) of every treatment some clinic offers, in the knowledge base's order."""
    slugs = set(session.scalars(select(models.ClinicTreatment.treatment_slug).where(models.ClinicTreatment.active)))
    return [(t.slug, t.name) for t in kb.treatments.values() if t.slug in slugs]


def check_choice(
    session: Session, kb: KnowledgeBase, treatment: str, clinic: str
) -> tuple[Choice | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not treatment:
        errors["treatment"] = "choose the treatment you would like"
    elif treatment not in kb.treatments:
        errors["treatment"] = f"we do not know the treatment {treatment[:40]!r}"
    found = None
    try:
        clinic_id = optional_int(clinic, "clinic")
        if clinic_id is None:
            errors["clinic"] = "choose a clinic"
        else:
            found = session.get(models.Clinic, clinic_id)
            if found is None:
                errors["clinic"] = f"there is no clinic {clinic_id}"
    except InputError as error:
        errors["clinic"] = error.problem
    if found is not None and "treatment" not in errors:
        offered = {t.treatment_slug for t in found.treatments if t.active}
        if treatment not in offered:
            errors["treatment"] = f"{found.name} does not offer {kb.treatments[treatment].name}"
    if errors or found is None:
        return None, errors
    return Choice(treatment, found, clinic_zone(found.time_zone), change_notice(found)), errors


def parse_slot(text: str, zone: ZoneInfo) -> tuple[datetime, int | None]:
    """`YYYY-MM-DDTHH:MM@practitioner` (the practitioner may be left out: anyone qualified and free)."""
    if not text:
        raise InputError("slot", "choose a time")
    local, _, who = text.partition("@")
    return parse_local_time(local, zone, "slot"), optional_int(who, "slot")


def first_day_of(text: str, today: date, advice: Advice | None) -> tuple[date, str | None]:
    """The first day to show: the one asked for, else the patient's first bookable day, never before today."""
    if text:
        try:
            return max(parse_day(text, "from"), today), None
        except InputError as error:
            return today, error.problem
    if advice is not None and advice.earliest_bookable is not None:
        return max(advice.earliest_bookable, today), None
    return today, None


def practitioner_name(session: Session, practitioner_id: int | None) -> str | None:
    if practitioner_id is None:
        return None
    found = session.get(models.Practitioner, practitioner_id)
    return found.name if found else None


# --- The patient's pages ------------------------------------------------------------------------------------------


@router.get("/book")
def book_start(
    request: Request,
    user: OptionalUserDep,
    treatment: str = "",
    clinic: str = "",
    from_: Annotated[str, Query(alias="from")] = "",
) -> Response:
    return _book_page(
        request, user, treatment.strip(), clinic.strip(), from_.strip(), sent="treatment" in request.query_params
    )


def _book_page(
    request: Request,
    user: OptionalUserDep,
    treatment: str,
    clinic: str,
    from_: str,
    *,
    sent: bool,
    extra_errors: dict[str, str] | None = None,
) -> Response:
    kb = knowledge_base(request)
    patient_id = user.patient_id if user is not None else None
    context: dict[str, object] = {"page": "book", "treatment": treatment, "clinic": clinic, "from_day": from_}
    errors: dict[str, str] = {}
    with UnitOfWork(store(request)) as uow:
        context["clinics"] = clinics(uow.session)
        context["treatments"] = offered_treatments(uow.session, kb)
        choice, errors = check_choice(uow.session, kb, treatment, clinic) if sent else (None, {})
        advice = None
        if choice is not None:
            today = clinic_today(choice.zone)
            if patient_id is not None:
                advice = advice_for_patient(
                    uow.session, kb, patient_id, choice.treatment, today=today, clinic_id=choice.clinic.id
                )
            first, problem = first_day_of(from_, today, advice)
            if problem:
                errors["from"] = problem
            order_note = order_would_widen(uow.session, choice.clinic.id, choice.treatment, patient_id, today)
    errors.update(extra_errors or {})
    if choice is not None and "from" not in errors:
        context.update(
            choice=choice,
            name=kb.treatments[choice.treatment].name,
            order_note=order_note,
            advice=advice,
            reasons=ordered(advice.reasons) if advice else [],
            first=first,
            earlier=max(first - timedelta(days=DAYS_SHOWN), today) if first > today else None,
            later=first + timedelta(days=DAYS_SHOWN),
            days=[]
            if advice is not None and not advice.allowed
            else offer_days(
                store(request),
                kb,
                treatment=choice.treatment,
                clinic_id=choice.clinic.id,
                first_day=first,
                patient_id=patient_id,
            ),
        )
    context.update(errors=errors, summary=summary_of(errors, LABELS))
    return render(request, "book.html", context, user=user, status=400 if errors else 200)


@dataclass(frozen=True)
class Proposal:
    """The visit about to be booked, and what the advisor says of its day for this patient."""

    choice: Choice
    start: datetime  # UTC
    practitioner_id: int | None
    practitioner: str | None
    advice: Advice

    @property
    def local(self) -> datetime:
        return self.start.astimezone(self.choice.zone)

    @property
    def blocks(self) -> list[Reason]:
        return [r for r in self.advice.reasons if r.severity is Severity.BLOCK]


def propose(
    session: Session, kb: KnowledgeBase, patient_id: int, treatment: str, clinic: str, slot: str
) -> tuple[Proposal | None, dict[str, str]]:
    choice, errors = check_choice(session, kb, treatment, clinic)
    if choice is None:
        return None, errors
    try:
        start, practitioner_id = parse_slot(slot, choice.zone)
    except InputError as error:
        return None, {"slot": error.problem}
    name = practitioner_name(session, practitioner_id)
    if practitioner_id is not None and name is None:
        return None, {"slot": f"there is no practitioner {practitioner_id}"}
    today = clinic_today(choice.zone)
    day = start.astimezone(choice.zone).date()
    advice = advice_for_patient(session, kb, patient_id, treatment, today=today, on=day, clinic_id=choice.clinic.id)
    return Proposal(choice, start, practitioner_id, name, advice), {}


def confirm_context(kb: KnowledgeBase, proposal: Proposal, slot: str) -> dict[str, object]:
    treatment = kb.treatments[proposal.choice.treatment]
    offered = [t for t in proposal.choice.clinic.treatments if t.treatment_slug == treatment.slug]
    return {
        "proposal": proposal,
        "name": treatment.name,
        "duration": offered[0].duration_minutes if offered else treatment.duration_minutes,
        "slot": slot,
        "reasons": ordered(proposal.advice.reasons),
        "changes_close": changes_close_in_words(proposal.choice.change_notice),
        # What the clinic asks now to hold the visit (the booking records it), and when it may keep it.
        "deposit": offered[0].deposit_cents if offered else 0,
        "change_notice": proposal.choice.change_notice,
    }


def refused_context(problems: list[Problem]) -> dict[str, object]:
    return {"problems": problems, "overridable": bool(problems) and all(p.kind == "soft" for p in problems)}


@router.get("/book/confirm")
def book_confirm(
    request: Request,
    user: PatientUser,
    treatment: str = "",
    clinic: str = "",
    slot: str = "",
    from_: Annotated[str, Query(alias="from")] = "",
) -> Response:
    assert user.patient_id is not None
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        proposal, errors = propose(uow.session, kb, user.patient_id, treatment.strip(), clinic.strip(), slot.strip())
    if proposal is None:
        return _book_page(
            request, user, treatment.strip(), clinic.strip(), from_.strip(), sent=True, extra_errors=errors
        )
    context = {"page": "book", **confirm_context(kb, proposal, slot.strip())}
    return render(request, "book_confirm.html", context, user=user)


@router.post("/book/confirm")
async def book_confirmed(request: Request, user: PatientUser) -> Response:
    fields = await read_form(request)
    check_csrf(request, user, fields.csrf)
    if fields.text("override_reason"):
        raise HTTPException(403, "only a qualified practitioner may override a rule")
    treatment, clinic, slot = fields.text("treatment", 64), fields.text("clinic", 12), fields.text("slot", 40)
    return await run_in_threadpool(_book, request, user, treatment, clinic, slot)


def _book(request: Request, user: User, treatment: str, clinic: str, slot: str) -> Response:
    """Book the visit the confirmation page showed, if the service agrees; the page again if not."""
    assert user.patient_id is not None
    kb = knowledge_base(request)
    with UnitOfWork(store(request)) as uow:
        proposal, errors = propose(uow.session, kb, user.patient_id, treatment, clinic, slot)
    if proposal is None:
        return _book_page(request, user, treatment, clinic, "", sent=True, extra_errors=errors)
    context: dict[str, object] = {"page": "book", **confirm_context(kb, proposal, slot)}
    try:
        booked = book(
            store(request),
            kb,
            patient_id=user.patient_id,
            treatment=proposal.choice.treatment,
            clinic_id=proposal.choice.clinic.id,
            start=proposal.start,
            practitioner_id=proposal.practitioner_id,
            actor=user.actor,
        )
    except Refused as refused:
        context.update(refused_context(refused.problems))
        return render(request, "book_confirm.html", context, user=user, status=409)
    except InputError as error:
        context.update(errors={error.field: error.problem}, summary=summary_of({error.field: error.problem}, LABELS))
        return render(request, "book_confirm.html", context, user=user, status=400)
    return RedirectResponse(f"/my/visits/{booked.visit.id}?booked=1", 303)
