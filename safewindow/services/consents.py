"""Consent forms and signatures: a clinic administrator writes the clinic's form for a treatment (each change a
new version; the first draft comes from the knowledge base), a patient signs the version in use (or staff
record a signed paper form), a patient may withdraw, and every visit says whether its consent is on file.

What was signed is never rewritten (the tables are append-only), so the chart can always show the exact words
a patient agreed to. The audit log names ids only: which treatment a patient consented to stays in the chart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from safewindow.clock import clinic_zone, now_utc
from safewindow.domain.consent import (
    LONGEST_BODY,
    LONGEST_TITLE,
    VALID_FOR,
    Coverage,
    Form,
    Signature,
    coverage,
    form_in_use_at,
    same_name,
    starter_body,
    starter_title,
)
from safewindow.domain.history import clinic_day
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.admin import hold_clinic
from safewindow.services.errors import FieldProblems, NotFound
from safewindow.store import models
from safewindow.store.consent_models import Consent, ConsentForm, ConsentWithdrawal
from safewindow.store.unit_of_work import UnitOfWork

LONGEST_NAME = 200


@dataclass(frozen=True, slots=True)
class Draft:
    """What an administrator starts from: the form in use, or the knowledge base's starter when there is none."""

    clinic_id: int
    treatment: str
    title: str
    body: str
    current: Form | None  # None: the text is the starter, not yet the clinic's


@dataclass(frozen=True, slots=True)
class Written:
    form: Form
    changed: bool  # False when the text was the version in use already: no new version


@dataclass(frozen=True, slots=True)
class Withdrawn:
    signature: Signature
    already: bool  # it had been withdrawn before: nothing changed


def _form(row: ConsentForm) -> Form:
    return Form(
        row.id, row.clinic_id, row.treatment_slug, row.version, row.title, row.body, row.written_by, row.written_at
    )


_LATEST = (
    select(ConsentForm.clinic_id, ConsentForm.treatment_slug, func.max(ConsentForm.version).label("version"))
    .group_by(ConsentForm.clinic_id, ConsentForm.treatment_slug)
    .subquery()
)


def _latest_forms(session: Session, which: ColumnElement[bool]) -> dict[tuple[int, str], Form]:
    rows = session.scalars(
        select(ConsentForm)
        .join(
            _LATEST,
            (_LATEST.c.clinic_id == ConsentForm.clinic_id)
            & (_LATEST.c.treatment_slug == ConsentForm.treatment_slug)
            & (_LATEST.c.version == ConsentForm.version),
        )
        .where(which)
    )
    return {(row.clinic_id, row.treatment_slug): _form(row) for row in rows}


def forms_of_clinics(session: Session, clinic_ids: Iterable[int]) -> dict[int, dict[str, Form]]:
    """Each clinic's forms in use, by treatment, in one query (a clinic with none maps to {})."""
    ids = set(clinic_ids)
    found: dict[int, dict[str, Form]] = {clinic_id: {} for clinic_id in ids}
    for (clinic_id, slug), form in _latest_forms(session, ConsentForm.clinic_id.in_(ids)).items():
        found[clinic_id][slug] = form
    return found


def forms_of_clinic(session: Session, clinic_id: int) -> dict[str, Form]:
    """The clinic's forms in use, by treatment."""
    return forms_of_clinics(session, [clinic_id])[clinic_id]


def form_for(session: Session, clinic_id: int, treatment: str) -> Form | None:
    """The clinic's form in use for the treatment, or None when it has none."""
    which = (ConsentForm.clinic_id == clinic_id) & (ConsentForm.treatment_slug == treatment)
    return _latest_forms(session, which).get((clinic_id, treatment))


def form_versions(session: Session, clinic_id: int, treatment: str) -> list[Form]:
    """Every version of the clinic's form for the treatment, newest first."""
    rows = session.scalars(
        select(ConsentForm)
        .where(ConsentForm.clinic_id == clinic_id, ConsentForm.treatment_slug == treatment)
        .order_by(ConsentForm.version.desc())
    )
    return [_form(row) for row in rows]


def _offered(session: Session, clinic_id: int, treatment: str) -> models.Clinic:
    clinic = session.get(models.Clinic, clinic_id)
    if clinic is None:
        raise NotFound("clinic", f"no clinic {clinic_id}")
    if treatment not in {t.treatment_slug for t in clinic.treatments}:
        raise NotFound("treatment", f"{clinic.name} does not offer {treatment!r}")
    return clinic


def draft(session: Session, kb: KnowledgeBase, clinic_id: int, treatment: str) -> Draft:
    """The form in use for the treatment, or the knowledge base's starter for it."""
    clinic = _offered(session, clinic_id, treatment)
    current = form_for(session, clinic_id, treatment)
    if current is not None:
        return Draft(clinic_id, treatment, current.title, current.body, current)
    known = kb.treatments.get(treatment)
    if known is None:
        raise NotFound("treatment", f"the knowledge base does not describe {treatment!r}")
    return Draft(
        clinic_id, treatment, starter_title(known), starter_body(known, list(kb.factors.values()), clinic.name), None
    )


def write_form(
    session_factory: sessionmaker[Session],
    *,
    clinic_id: int,
    treatment: str,
    title: str,
    body: str,
    actor: str,
    based_on: int | None = None,
    now: datetime | None = None,
) -> Written:
    """Put `title` and `body` in use as the clinic's form for the treatment: a new version, unless they are the
    version in use already. Signatures on earlier versions stop covering visits: the patient signs again.
    `based_on` is the version the writer started from (0: the starter, no form yet): if another version was saved
    meanwhile, the text is refused rather than silently replacing it."""
    title, body = " ".join(title.split()), body.strip().replace("\r\n", "\n")
    problems = []
    if not title:
        problems.append(("title", "give the form a title"))
    elif len(title) > LONGEST_TITLE:
        problems.append(("title", f"at most {LONGEST_TITLE} characters"))
    if not body:
        problems.append(("body", "write what the patient agrees to"))
    elif len(body) > LONGEST_BODY:
        problems.append(("body", f"at most {LONGEST_BODY} characters"))
    if problems:
        raise FieldProblems(problems)
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        hold_clinic(session, clinic_id)  # versions are numbered one at a time
        _offered(session, clinic_id, treatment)
        current = form_for(session, clinic_id, treatment)
        if current is not None and current.title == title and current.body == body:
            return Written(current, changed=False)
        in_use = current.version if current else 0
        if based_on is not None and based_on != in_use:
            raise _refused(
                "consent-form-changed",
                f"Version {in_use} of this form was saved after you began from "
                f"{f'version {based_on}' if based_on else 'the starter'}: read it, then make your change to it.",
            )
        row = ConsentForm(
            clinic_id=clinic_id,
            treatment_slug=treatment,
            version=(current.version if current else 0) + 1,
            title=title,
            body=body,
            written_by=actor,
            written_at=now or now_utc(),
        )
        session.add(row)
        session.flush()
        session.add(
            models.AuditEntry(
                actor=actor,
                action="clinic.consent-form-written",
                entity="clinic",
                entity_id=str(clinic_id),
                detail={
                    "form_id": row.id,
                    "treatment": treatment,
                    "version": row.version,
                    "before_version": current.version if current else None,
                },
            )
        )
        written = _form(row)
        uow.commit()
        return Written(written, changed=True)


_SIGNATURES = (
    select(Consent, ConsentForm, ConsentWithdrawal, models.Clinic.time_zone)
    .join(ConsentForm, ConsentForm.id == Consent.form_id)
    .join(models.Clinic, models.Clinic.id == ConsentForm.clinic_id)
    .outerjoin(ConsentWithdrawal, ConsentWithdrawal.consent_id == Consent.id)
)


def _signatures(session: Session, which: ColumnElement[bool]) -> list[Signature]:
    rows = session.execute(_SIGNATURES.where(which).order_by(Consent.signed_at.desc(), Consent.id.desc()))
    return [
        Signature(
            id=consent.id,
            patient_id=consent.patient_id,
            form=_form(form),
            signed_name=consent.signed_name,
            signed_day=consent.signed_on or clinic_day(consent.signed_at, clinic_zone(zone)),
            signed_at=consent.signed_at,
            on_paper=consent.on_paper,
            recorded_by=consent.recorded_by,
            withdrawn_at=withdrawal.withdrawn_at if withdrawal else None,
            withdrawn_by=withdrawal.withdrawn_by if withdrawal else None,
        )
        for consent, form, withdrawal, zone in rows
    ]


def signatures_of(session: Session, patient_id: int) -> list[Signature]:
    """The patient's signatures, newest first, each with the exact form signed."""
    return _signatures(session, Consent.patient_id == patient_id)


def signature(session: Session, consent_id: int, *, patient_id: int | None = None) -> Signature:
    """One signature; NotFound when there is none, or (with `patient_id`) when it is another patient's."""
    found = _signatures(session, Consent.id == consent_id)
    if not found or (patient_id is not None and found[0].patient_id != patient_id):
        raise NotFound("consent", f"no consent {consent_id}")
    return found[0]


FormVersions = dict[tuple[int, str], list[Form]]  # (clinic id, treatment) -> every version of its form


def versions_of_clinics(session: Session, clinic_ids: Iterable[int]) -> FormVersions:
    """Every version of every form of these clinics, in one query: what judging visits needs, read once."""
    versions: defaultdict[tuple[int, str], list[Form]] = defaultdict(list)
    for row in session.scalars(select(ConsentForm).where(ConsentForm.clinic_id.in_(set(clinic_ids)))):
        versions[row.clinic_id, row.treatment_slug].append(_form(row))
    return dict(versions)


def coverage_of_visits(
    session: Session,
    patient_id: int,
    visits: Iterable[models.Visit],
    signed: Sequence[Signature] | None = None,
    versions: FormVersions | None = None,
) -> dict[int, Coverage]:
    """Each visit's id -> whether the patient's consent was on file for it, under the clinic's form in use at
    its start (`signed`: the patient's signatures, `versions`: the clinics' forms, when the caller has read
    them already)."""
    visits = list(visits)
    if not visits:
        return {}
    if versions is None:
        versions = versions_of_clinics(session, {v.clinic_id for v in visits})
    forms = {v.id: form_in_use_at(versions.get((v.clinic_id, v.treatment_slug), ()), v.start_at) for v in visits}
    if signed is None:  # read only when some visit has a form to sign: most mail is for visits with none
        signed = signatures_of(session, patient_id) if any(forms.values()) else []
    result = {}
    for visit in visits:
        day = clinic_day(visit.start_at, clinic_zone(visit.clinic.time_zone))
        result[visit.id] = coverage(forms[visit.id], signed, day, visit.start_at)
    return result


def sign(
    session_factory: sessionmaker[Session],
    *,
    patient_id: int,
    clinic_id: int,
    treatment: str,
    version: int | None,
    signed_name: str,
    agreed: bool,
    actor: str,
    on_paper: bool = False,
    signed_on: date | None = None,
    now: datetime | None = None,
) -> Signature:
    """The patient's signature on the clinic's form in use for the treatment. `version` is the version the
    signer read: if the clinic changed the form meanwhile, the signature is refused rather than put on words
    the patient did not see. On paper: staff record a form the patient signed by hand, with the name as signed
    and the day written on it (`signed_on`, today when not given), from which its year of validity counts."""
    name = " ".join(signed_name.split())
    problems = []
    if not agreed:
        problems.append(("agreed", "tick the box to say you have read this form and agree to it"))
    if not name:
        problems.append(("signed_name", "type your full name to sign"))
    elif len(name) > LONGEST_NAME:
        problems.append(("signed_name", f"at most {LONGEST_NAME} characters"))
    if version is None:
        problems.append(("version", "say which version of the form was read"))
    if signed_on is not None and not on_paper:
        problems.append(("signed_on", "only a paper form is dated by hand: a signature online is dated as it is made"))
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        patient = session.get(models.Patient, patient_id, with_for_update=True)  # the lock every change takes first
        if patient is None:
            raise NotFound("patient", f"no patient {patient_id}")
        if name and len(name) <= LONGEST_NAME and not same_name(name, patient.name):
            problems.append(("signed_name", f"type the full name the clinic has on file: {patient.name}"))
        if problems:
            raise FieldProblems(problems)
        clinic = _offered(session, clinic_id, treatment)
        form = form_for(session, clinic_id, treatment)
        if form is None:
            raise NotFound("treatment", f"the clinic has no consent form for {treatment!r}")
        if version is not None and not 1 <= version <= form.version:
            raise FieldProblems(
                [("version", f"there is no version {version} of this form (version {form.version} is in use)")]
            )
        if form.version != version:
            raise _refused(
                "consent-form-changed",
                f"The clinic changed this form (it is now version {form.version}) after version {version} was read: "
                "read the form in use and sign that.",
            )
        signed_at = now or now_utc()
        zone = clinic_zone(clinic.time_zone)
        if signed_on is not None:
            _check_paper_day(
                signed_on, form, clinic_day(signed_at, zone), zone, _withdrawn_at(session, patient_id, form)
            )
        row = Consent(
            patient_id=patient_id,
            form_id=form.id,
            signed_name=name,
            on_paper=on_paper,
            recorded_by=actor,
            signed_at=signed_at,
            signed_on=signed_on,
        )
        session.add(row)
        session.flush()
        session.add(
            models.AuditEntry(
                actor=actor,
                action="patient.consent-signed",
                entity="patient",
                entity_id=str(patient_id),
                detail={"consent_id": row.id, "form_id": form.id, "on_paper": on_paper},
            )
        )
        uow.commit()
        return Signature(
            row.id,
            patient_id,
            form,
            name,
            signed_on or clinic_day(signed_at, zone),
            signed_at,
            on_paper,
            actor,
        )


def _withdrawn_at(session: Session, patient_id: int, form: Form) -> datetime | None:
    """When the patient last withdrew consent to this clinic's form for the treatment (any version), if ever."""
    return session.scalar(
        select(func.max(ConsentWithdrawal.withdrawn_at))
        .join(Consent, Consent.id == ConsentWithdrawal.consent_id)
        .join(ConsentForm, ConsentForm.id == Consent.form_id)
        .where(
            Consent.patient_id == patient_id,
            ConsentForm.clinic_id == form.clinic_id,
            ConsentForm.treatment_slug == form.treatment,
        )
    )


def _check_paper_day(
    signed_on: date, form: Form, today: date, zone: ZoneInfo, withdrawn_at: datetime | None = None
) -> None:
    """A paper form's day lies between the day its version was put in use and today, within the year it covers,
    and not before the patient last withdrew this consent (a withdrawal ends what was signed before it): anything
    else is a slip of the pen or of the keyboard, or a form that no longer counts, named rather than recorded."""
    in_use_from = clinic_day(form.written_at, zone)
    withdrawn_on = clinic_day(withdrawn_at, zone) if withdrawn_at else None
    if signed_on > today:
        problem = f"{signed_on:%d %b %Y} is after today: give the day written on the signed form"
    elif signed_on < in_use_from:
        problem = (
            f"version {form.version} of this form was put in use on {in_use_from:%d %b %Y}: "
            "a paper copy of it cannot be signed before that"
        )
    elif today - signed_on >= VALID_FOR:
        problem = "signed a year or more ago, so it no longer covers a visit: ask the patient to sign the form again"
    elif withdrawn_on is not None and signed_on < withdrawn_on:  # the same day: the staff know which came first
        problem = (
            f"the patient withdrew this consent on {withdrawn_on:%d %b %Y}, which ends what was signed before: "
            "ask them to sign the form again"
        )
    else:
        return
    raise FieldProblems([("signed_on", problem)])


def _refused(code: str, message: str) -> Exception:
    # Imported here: booking's mail (notifications) reads consent, and booking imports notifications.
    from safewindow.services.booking import Problem, Refused

    return Refused([Problem(code, message)])


def withdraw(
    session_factory: sessionmaker[Session],
    consent_id: int,
    *,
    actor: str,
    patient_id: int | None = None,
    now: datetime | None = None,
) -> Withdrawn:
    """Withdraw a signature: it no longer covers any visit. With `patient_id`, only that patient's own."""
    with UnitOfWork(session_factory, write=True) as uow:
        session = uow.session
        owner = session.scalar(select(Consent.patient_id).where(Consent.id == consent_id))
        if owner is None or (patient_id is not None and owner != patient_id):
            raise NotFound("consent", f"no consent {consent_id}")
        session.get(models.Patient, owner, with_for_update=True)
        found = signature(session, consent_id)
        if found.withdrawn:
            return Withdrawn(found, already=True)
        withdrawn_at = now or now_utc()
        session.add(ConsentWithdrawal(consent_id=consent_id, withdrawn_by=actor, withdrawn_at=withdrawn_at))
        session.add(
            models.AuditEntry(
                actor=actor,
                action="patient.consent-withdrawn",
                entity="patient",
                entity_id=str(owner),
                detail={"consent_id": consent_id},
            )
        )
        uow.commit()
        return Withdrawn(replace(found, withdrawn_at=withdrawn_at, withdrawn_by=actor), already=False)


def upcoming_coverage(
    session: Session, patient_id: int, now: datetime | None = None, signed: Sequence[Signature] | None = None
) -> list[tuple[models.Visit, Coverage]]:
    """The patient's booked visits still to come, earliest first, each with where its consent stands
    (`signed`: the patient's signatures, when the caller has read them already)."""
    visits = list(
        session.scalars(
            select(models.Visit)
            .where(
                models.Visit.patient_id == patient_id,
                models.Visit.status == models.VisitStatus.BOOKED,
                models.Visit.end_at > (now or now_utc()),
            )
            .options(selectinload(models.Visit.clinic))
            .order_by(models.Visit.start_at)
        )
    )
    covered = coverage_of_visits(session, patient_id, visits, signed)
    return [(visit, covered[visit.id]) for visit in visits]


def signature_dict(found: Signature, treatment_names: dict[str, str] | None = None) -> dict[str, object]:
    """A signature as the API and the CLI give it: the form signed, with its words."""
    form = found.form
    return {
        "id": found.id,
        "patient_id": found.patient_id,
        "clinic_id": form.clinic_id,
        "treatment": form.treatment,
        "treatment_name": (treatment_names or {}).get(form.treatment, form.treatment),
        "form": form_dict(form),
        "signed_name": found.signed_name,
        "signed_at": found.signed_at.isoformat(),
        "signed_day": found.signed_day.isoformat(),
        "on_paper": found.on_paper,
        "recorded_by": found.recorded_by,
        "withdrawn_at": found.withdrawn_at.isoformat() if found.withdrawn_at else None,
        "withdrawn_by": found.withdrawn_by,
    }


def form_dict(form: Form) -> dict[str, object]:
    return {
        "id": form.id,
        "clinic_id": form.clinic_id,
        "treatment": form.treatment,
        "version": form.version,
        "title": form.title,
        "body": form.body,
        "written_by": form.written_by,
        "written_at": form.written_at.isoformat(),
    }


def coverage_dict(found: Coverage) -> dict[str, object]:
    return {
        "standing": str(found.standing),
        "covered": found.covered,
        "form_id": found.form.id if found.form else None,
        "form_version": found.form.version if found.form else None,
        "consent_id": found.signature.id if found.signature else None,
    }
