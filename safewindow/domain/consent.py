"""Consent to a treatment: whether a patient's signature covers a visit, and the starter form a clinic begins
from.

A clinic writes its own consent form for each treatment; the latest version is the one in use. A visit is
covered when the patient signed that version, did not withdraw it, and signed it within a year of the visit
(clinics commonly renew consent yearly, and a year-old signature predates whatever changed in the patient's
health since). A practitioner still confirms informed consent at the visit: a form on file is the written
record of it, never a substitute for the conversation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from safewindow.domain.factors import Effect, Factor
from safewindow.domain.treatments import Prescriber, Treatment

VALID_FOR = timedelta(days=365)
LONGEST_TITLE = 200
LONGEST_BODY = 20_000


@dataclass(frozen=True, slots=True)
class Form:
    id: int
    clinic_id: int
    treatment: str
    version: int
    title: str
    body: str
    written_by: str
    written_at: datetime


@dataclass(frozen=True, slots=True)
class Signature:
    id: int
    patient_id: int
    form: Form
    signed_name: str
    signed_day: date  # in the clinic's zone
    signed_at: datetime
    on_paper: bool
    recorded_by: str
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def withdrawn_then(self, at: datetime | None) -> bool:
        """Withdrawn by `at` (a visit's start: a later withdrawal does not undo consent given for it), or at
        all when no time is given."""
        return self.withdrawn_at is not None and (at is None or self.withdrawn_at <= at)

    def covers(self, form: Form, day: date, at: datetime | None = None) -> bool:
        """Whether this signature is consent to `form` for a visit on `day` (starting `at`)."""
        return (
            not self.withdrawn_then(at)
            and self.form.id == form.id
            and self.signed_day <= day
            and day - self.signed_day < VALID_FOR
        )


class Standing(StrEnum):
    """Where a visit's consent stands."""

    NO_FORM = "no-form"  # the clinic has no form for the treatment: nothing to sign
    SIGNED = "signed"
    NEEDED = "needed"  # never signed
    NEW_VERSION = "new-version"  # signed an earlier version of the form
    EXPIRED = "expired"  # signed this version more than a year before the visit
    WITHDRAWN = "withdrawn"

    @property
    def covered(self) -> bool:
        return self in (Standing.NO_FORM, Standing.SIGNED)


@dataclass(frozen=True, slots=True)
class Coverage:
    standing: Standing
    form: Form | None
    signature: Signature | None  # the signature that covers the visit, or the latest one that no longer does

    @property
    def covered(self) -> bool:
        return self.standing.covered


def form_in_use_at(versions: Iterable[Form], at: datetime) -> Form | None:
    """Of a clinic's versions of one form, the one in use at `at` (a visit's start): the latest written by
    then. A visit is judged by the form it was booked under, not by one written after it."""
    written = [form for form in versions if form.written_at <= at]
    return max(written, key=lambda form: form.version) if written else None


def coverage(form: Form | None, signatures: Iterable[Signature], day: date, at: datetime | None = None) -> Coverage:
    """Where consent stands for a visit on `day` (starting `at`) under `form`, the clinic's form in use for its
    treatment then, given the patient's signatures in any order: those for other clinics and treatments, and
    those signed after the visit's day, do not count. Withdrawing is withdrawing consent to the treatment at the
    clinic: it ends every signature on its form made before it, not just the one withdrawn."""
    if form is None:
        return Coverage(Standing.NO_FORM, None, None)
    mine = sorted(
        (
            s
            for s in signatures
            if s.form.clinic_id == form.clinic_id and s.form.treatment == form.treatment and s.signed_day <= day
        ),
        key=lambda s: (s.signed_at, s.id),
        reverse=True,
    )
    if not mine:
        return Coverage(Standing.NEEDED, form, None)
    withdrawn = [s for s in mine if s.withdrawn_then(at)]
    ended = max((s.withdrawn_at for s in withdrawn if s.withdrawn_at), default=None)
    standing = [s for s in mine if not s.withdrawn_then(at) and (ended is None or s.signed_at > ended)]
    for signature in standing:
        if signature.covers(form, day, at):
            return Coverage(Standing.SIGNED, form, signature)
    if not standing:
        return Coverage(Standing.WITHDRAWN, form, withdrawn[0])
    if standing[0].form.id != form.id:
        return Coverage(Standing.NEW_VERSION, form, standing[0])
    return Coverage(Standing.EXPIRED, form, standing[0])


def same_name(typed: str, on_file: str) -> bool:
    """Whether a typed signature is the name on file, ignoring case and spacing."""
    return " ".join(typed.split()).casefold() == " ".join(on_file.split()).casefold()


def starter_body(treatment: Treatment, factors: Sequence[Factor], clinic: str) -> str:
    """A first draft of a clinic's form for `treatment`, from the knowledge base: what the treatment is, what
    to expect, its warning signs, the personal factors that rule it out or change it, and who decides. The
    clinic reads and changes it before using it; every fact in it is the knowledge base's, with its sources."""
    expect = list(dict.fromkeys(step.expect for step in treatment.aftercare.steps))
    relevant = [
        f for f in factors if any(e.effect is not Effect.LENGTHEN and treatment.slug in e.treatments for e in f.effects)
    ]
    given = [treatment.aftercare.source] + [
        e.source for f in relevant for e in f.effects if treatment.slug in e.treatments
    ]
    # A source names several works separated by "; " (a citation's own "2017;153(8)" has no space after it).
    sources = list(dict.fromkeys(part.strip() for source in given for part in re.split(r";\s+(?=\D)", source)))
    parts = [
        f"I ask {clinic} to treat me with {treatment.name}.",
        f"What it is: {treatment.summary}",
    ]
    if treatment.prescriber in (Prescriber.AUTHORIZED, Prescriber.PHYSICIAN):
        parts.append(
            "It is a prescription treatment: an authorized prescriber assesses me and orders it before anyone "
            "gives it to me."
        )
    parts.append("What to expect afterwards:\n" + "\n".join(f"- {line}" for line in expect))
    if treatment.aftercare.warning_signs:
        parts.append(
            "Warning signs, and what to do:\n" + "\n".join(f"- {line}" for line in treatment.aftercare.warning_signs)
        )
    if relevant:
        parts.append(
            "I will tell my practitioner if any of these apply to me, because they can rule this treatment out or "
            "change when it is safe:\n" + "\n".join(f"- {f.name}" for f in relevant)
        )
    parts.append(
        "I understand that:\n"
        "- results vary from person to person and are not guaranteed;\n"
        "- a qualified practitioner decides whether and when I am treated, and may decline to treat me;\n"
        "- I may ask questions at any time, and may withdraw this consent before I am treated;\n"
        "- I will follow the aftercare instructions I am given."
    )
    parts.append("Sources for the information above: " + "; ".join(sources) + ".")
    return "\n\n".join(parts)


def starter_title(treatment: Treatment) -> str:
    return f"Consent to {treatment.name}"
