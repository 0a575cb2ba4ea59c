"""A completed visit's Procedure says what was given once it is recorded: the product (usedCode, and a contained
Medication with its lot number and expiry, named by usedReference) and one bodySite per point of the injection map,
valid R4B. Only those who may read records see it, practitioners and the patient, each read audited as a read of
the visit's records; the front desk and the administrator get the Procedure as before, as does a visit with no
record. The newest record is the one shown, and the Procedure's version names it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from safewindow.services.treatment_records import Record, record_treatment
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_fhir import (
    ADMIN,
    FRONT_DESK,
    OTHER_PATIENT,
    PATIENT,
    PRACTITIONER,
    ClinicApp,
    entries,
    open_clinic,
    resource,
)

POINTS = [("glabella", "20"), ("crows-feet-left", "2.5"), ("forehead", 10)]
SITES = [
    "Forehead lines (frontalis): 10 units",
    "Glabellar lines (procerus): 20 units",
    "Left crow's feet (lateral canthal lines): 2.5 units",
]
GIVEN = ("contained", "usedReference", "usedCode", "bodySite")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicApp]:
    yield from open_clinic(tmp_path_factory.mktemp("fhir-records"))


def claire_s(clinic: ClinicApp, treatment: str) -> models.Visit:
    """Claire Penner's completed visit (the demo's): Botox, or its touch-up, at Sumas Mountain."""
    with UnitOfWork(clinic.sessions) as uow:
        visit = uow.session.scalar(
            select(models.Visit).where(
                models.Visit.patient_id == clinic.id_of(models.Patient, "Claire Penner"),
                models.Visit.treatment_slug == treatment,
            )
        )
    assert visit is not None and visit.status is models.VisitStatus.COMPLETED
    return visit


def record(clinic: ClinicApp, visit: models.Visit, lot: str, points: Any = POINTS) -> Record:
    return record_treatment(
        clinic.sessions,
        visit_id=visit.id,
        product="Botox 100U",
        lot=lot,
        expires_on=date(2027, 3, 31),
        dose="32.5 units",
        note="Not for FHIR",
        consent=True,
        actor="test",
        points=points,
    )


def procedure(clinic: ClinicApp, visit: models.Visit, who: str) -> tuple[dict[str, Any], str]:
    response = clinic.get(f"/fhir/R4/Procedure/{visit.id}", who)
    return resource(response, kind="Procedure"), response.headers["etag"]


def test_a_practitioner_and_the_patient_see_what_was_given(clinic: ClinicApp) -> None:
    visit = claire_s(clinic, "botox")
    written = record(clinic, visit, "C3709C3")
    for who in (PRACTITIONER, OTHER_PATIENT):
        before = len(clinic.audit("visit-records.read"))
        found, etag = procedure(clinic, visit, who)
        [product] = found["contained"]
        assert product == {
            "resourceType": "Medication",
            "id": "product",
            "code": {"text": "Botox 100U"},
            "batch": {"lotNumber": "C3709C3", "expirationDate": "2027-03-31"},
        }
        assert found["usedReference"] == [{"reference": "#product", "display": "Botox 100U"}]
        assert found["usedCode"] == [{"text": "Botox 100U"}]
        assert [site["text"] for site in found["bodySite"]] == SITES  # in drawing order
        assert [site["coding"][0]["code"] for site in found["bodySite"]] == ["forehead", "glabella", "crows-feet-left"]
        assert (
            found["meta"]["versionId"] == f"{visit.version}-{written.id}"
            and etag == f'W/"{visit.version}-{written.id}"'
        )
        assert "Not for FHIR" not in str(found) and "32.5" not in str(found)  # the chart's, not the Procedure's
        assert len(clinic.audit("visit-records.read")) == before + 1, who


@pytest.mark.parametrize("who", [FRONT_DESK, ADMIN])
def test_the_front_desk_and_the_administrator_get_the_procedure_as_before(clinic: ClinicApp, who: str) -> None:
    visit = claire_s(clinic, "botox")
    record(clinic, visit, "NOT-FOR-DESK")
    before = clinic.audit("visit-records.read")
    found, etag = procedure(clinic, visit, who)
    assert not set(GIVEN) & set(found) and "NOT-FOR-DESK" not in str(found)
    assert (found["meta"]["versionId"], etag) == (str(visit.version), f'W/"{visit.version}"')
    assert clinic.audit("visit-records.read") == before


def test_a_visit_with_no_record_is_unchanged_and_a_search_shows_each_its_own(clinic: ClinicApp) -> None:
    botox, touch_up = claire_s(clinic, "botox"), claire_s(clinic, "botox-touch-up")
    written = record(clinic, botox, "SEARCHED-1", points=[("glabella", "4")])
    alone, _ = procedure(clinic, touch_up, PRACTITIONER)
    assert not set(GIVEN) & set(alone) and alone["meta"]["versionId"] == str(touch_up.version)
    before = clinic.audit("visit-records.read")

    patient = clinic.id_of(models.Patient, "Claire Penner")
    found = {p["id"]: p for p in entries(resource(clinic.get("/fhir/R4/Procedure", PRACTITIONER, patient=patient)))}
    assert found[str(touch_up.id)] == alone
    assert found[str(botox.id)]["contained"][0]["batch"]["lotNumber"] == "SEARCHED-1"
    assert [site["text"] for site in found[str(botox.id)]["bodySite"]] == ["Glabellar lines (procerus): 4 units"]
    assert found[str(botox.id)]["meta"]["versionId"] == f"{botox.version}-{written.id}"  # the newest record
    [(actor, read)] = clinic.audit("visit-records.read")[len(before) :]  # only the visit with a record
    assert actor.startswith("practitioner:") and read == str(botox.id)
    assert resource(clinic.get(f"/fhir/R4/Procedure/{botox.id}", PATIENT), 404)["issue"][0]["code"] == "not-found"


def test_a_record_without_a_map_gives_the_product_and_no_body_site(clinic: ClinicApp) -> None:
    visit = claire_s(clinic, "botox")
    record(clinic, visit, "NO-MAP-1", points=[])
    found, _ = procedure(clinic, visit, PRACTITIONER)
    assert found["usedCode"] == [{"text": "Botox 100U"}] and "bodySite" not in found
