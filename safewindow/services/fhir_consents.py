"""A patient's signature on a clinic's consent form as a FHIR Consent (scope `treatment`).

The signature keeps its database id. It is "active" until the patient withdraws it, then "inactive"; a later
version of the form does not change it (the patient signed those words, and the signature stays the record of
that), although such a signature no longer covers a visit (domain/consent.py says which do). The words signed
travel whole in `sourceAttachment`: UTF-8 plain text, base64 in `data`, with its SHA-1 `hash` as FHIR's
Attachment asks (the digest of the decoded bytes, itself base64), its size, the form's title and the day the
clinic wrote that version (`creation`). Times are on the clinic's clock, with its offset. Built with the R4B
models (see fhir_values)."""

from __future__ import annotations

import base64
import hashlib
from zoneinfo import ZoneInfo

from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.consent import Consent, ConsentProvision

from safewindow.domain.consent import Form, Signature
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.fhir_values import local_instant, reference, treatment_concept

CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PLAIN_TEXT = "text/plain; charset=utf-8"

TREATMENT_SCOPE = CodeableConcept(
    coding=[Coding(system=CONSENT_SCOPE_SYSTEM, code="treatment", display="Treatment")], text="Treatment"
)
PATIENT_CONSENT = CodeableConcept(
    coding=[Coding(system=LOINC, code="59284-0", display="Patient Consent")], text="Patient Consent"
)
# The R4 invariant ppc-1 asks for a `policy` or a `policyRule`. Every Consent example of the specification
# (consent-example-basic, -signature, -smartonfhir, -notThis, ...) states its basis as a `policyRule` from
# v3-ActCode, OPTIN or OPTOUT, and none points at a policy document through `policy.uri`. None of them is a
# treatment consent (they are all privacy consents), but the same rule fits one: by signing, the patient opts in
# to what the clinic's form describes. The form itself is the clinic's own text, which travels whole in
# `sourceAttachment` rather than at an address `policy.uri` could name (safewindow serves no such documents).
OPT_IN = CodeableConcept(coding=[Coding(system=ACT_CODE_SYSTEM, code="OPTIN", display="opt-in")], text="opt-in")


def form_attachment(form: Form, zone: ZoneInfo) -> Attachment:
    """The exact words of one version of a form, as plain text."""
    words = form.body.encode("utf-8")
    return Attachment(
        contentType=PLAIN_TEXT,
        data=base64.b64encode(words).decode("ascii"),
        size=len(words),
        hash=base64.b64encode(hashlib.sha1(words, usedforsecurity=False).digest()).decode("ascii"),
        title=form.title,
        creation=local_instant(form.written_at, zone),
    )


def consent(signature: Signature, kb: KnowledgeBase, zone: ZoneInfo) -> Consent:
    """The signature as a Consent; `zone` is its clinic's."""
    patient = reference("Patient", signature.patient_id)
    return Consent(
        id=str(signature.id),
        status="inactive" if signature.withdrawn else "active",
        scope=TREATMENT_SCOPE,
        category=[PATIENT_CONSENT],
        patient=patient,
        dateTime=local_instant(signature.signed_at, zone),
        # The patient signs, online or on the paper form staff recorded: the patient is the one who consents.
        performer=[patient],
        sourceAttachment=form_attachment(signature.form, zone),
        policyRule=OPT_IN,
        # What the patient permits: the treatment the form is for, as the other resources code it.
        provision=ConsentProvision(type="permit", code=[treatment_concept(kb, signature.form.treatment)]),
    )
