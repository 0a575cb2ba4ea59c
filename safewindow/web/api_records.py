"""Treatment records over the API: what was given at a completed visit (product, lot number and expiry, dose,
areas, a note, and the practitioner's confirmation of the patient's informed consent), and a product recall's
question: which visits had this lot. A record is health data: least privilege, every read accounted for.

| who                          | read a visit's records  | record what was given | visits with a lot          |
|------------------------------|-------------------------|-----------------------|----------------------------|
| practitioner                 | yes                     | yes                   | yes (their home clinic's)  |
| clinic admin                 | no (403)                | no (403)              | yes (their home clinic's)  |
| front desk                   | no (403)                | no (403)              | no (403)                   |
| the patient themselves       | yes (their own visit)   | no (403)              | no (403)                   |
| another patient              | 404                     | no (403)              | no (403)                   |

A record is never changed: a correction is a new record of the same visit, and the newest (listed first) is the
visit's record; a recall finds a visit by its current record only. An injected treatment's record may carry its
injection map, `injection_points`: the amount at each site (the sites: GET /api/v1/injection-sites). Bad input is
422 naming every field at fault at once (product, lot_number, dose, areas, note, consent, and a point as
`injection_points.SITE`); 409 `visit-not-completed` until the visit is recorded as completed
(`POST /visits/{visit_id}/outcome`). Every read is audited by ids (`visit-records.read`, `lot.read` with the lot
number); recording is audited by the service, by ids: what was given stays in the chart.

`Idempotency-Key` (POST): as for visits, a retry with the same key gets the first answer and records once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import Field, StrictFloat, StringConstraints

from safewindow.knowledge.injection_sites import default_injection_maps
from safewindow.services.accounts import User
from safewindow.services.treatment_records import (
    LONGEST,
    record_treatment,
    records_of_visit,
    visits_with_lot,
)
from safewindow.services.treatment_records import lot_number as printed_lot
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_orders import NOTE
from safewindow.web.api_sessions import ALLOWED, NOT_FOUND, PLAIN, WITH_BODY, Id, changer, found_by_path
from safewindow.web.api_visits import REFUSED, IdempotencyKey, answer, visible_visit
from safewindow.web.auth import audit_read, require, store

router = APIRouter(
    prefix="/api/v1", tags=["treatment records"], responses={422: {"model": Problems, "description": "Bad input"}}
)
RECORD_READERS = (Role.PRACTITIONER, Role.PATIENT)  # the patient their own visits' only
RecordReader = Annotated[User, Depends(require(*RECORD_READERS))]
RecordWriter = Annotated[User, Depends(changer(Role.PRACTITIONER))]
LotReader = Annotated[User, Depends(require(Role.PRACTITIONER, Role.CLINIC_ADMIN))]
# Lengths are the service's to check, so that one answer names every field at fault; the body's only limits are
# on characters (PostgreSQL refuses NUL; only the note may run over lines).
Plain = StringConstraints(pattern=PLAIN)
Lot = Annotated[
    str,
    Path(description="As printed on the package: letters and digits, with '-', '.' or '/' (at most 64)."),
]


class PointOut(Shape):
    site: str = Field(description="A site of the injection map (GET /api/v1/injection-sites).")
    amount: float = Field(description="Exact, with at most two decimal places.")
    unit: str = Field(description="The treatment's unit: units (toxin) or mL.")


class RecordOut(Shape):
    id: int
    visit_id: int
    product: str = Field(description="The product given, as on its package.")
    lot_number: str = Field(description="As printed, in upper case: what a product recall names.")
    expires_on: date | None
    dose: str
    areas: str
    note: str
    recorded_by: str
    recorded_at: datetime
    expired_when_given: bool = Field(description="The product's expiry was before the visit's day.")
    injection_points: list[PointOut] = Field(description="The injection map, in drawing order (top to bottom).")


class LotVisitOut(Shape):
    visit_id: int
    patient_id: int
    patient: str = Field(description="The patient's name: whom to contact.")
    clinic: str
    day: date = Field(description="The visit's day in its clinic's time zone.")
    treatment: str
    product: str
    record_id: int = Field(description="The visit's current record, which names the lot.")


class PointIn(Shape):
    site: Annotated[str, Plain, Field(max_length=64, description="A site's id, e.g. glabella.")]
    # A number or its text ("2.5"), never a boolean: the service reads either exactly and names what it cannot
    # read, so that 'abc' is a problem of the site's rather than of the body's.
    amount: StrictFloat | Annotated[str, Plain] = Field(
        description='In the treatment\'s unit, above 0, with at most two decimal places: 2.5 or "2.5".'
    )


class RecordIn(Shape):
    product: Annotated[str, Plain, Field(description=f"As on its package (at most {LONGEST['product']}).")]
    lot_number: Annotated[str, Plain, Field(description="As printed: letters and digits, '-', '.', '/' (at most 64).")]
    expires_on: date | None = Field(default=None, description="The expiry printed on the package.")
    dose: Annotated[str, Plain, Field(description=f"e.g. 20 units (at most {LONGEST['dose']}).")] = ""
    areas: Annotated[str, Plain, Field(description=f"The areas treated (at most {LONGEST['areas']}).")] = ""
    note: Annotated[
        str, StringConstraints(pattern=NOTE), Field(description=f"May run over lines (at most {LONGEST['note']}).")
    ] = ""
    consent: bool = Field(description="The patient gave informed consent before the treatment: must be true.")
    injection_points: list[PointIn] = Field(
        default_factory=list,
        max_length=len(default_injection_maps().sites),  # each site at most once
        description="For an injected treatment, the amount at each site; each site once.",
    )


@router.get(
    "/visits/{visit_id}/records",
    response_model=list[RecordOut],
    responses={**ALLOWED, **NOT_FOUND},
    summary="What was given at a visit, newest (the visit's record) first (practitioners and the patient)",
)
def visit_records(request: Request, visit_id: Id, user: RecordReader) -> JSONResponse:
    with UnitOfWork(store(request), write=True) as uow, found_by_path():
        visible_visit(uow.session, user, visit_id)
        rows = [record.as_dict() for record in records_of_visit(uow.session, visit_id)]
        audit_read(uow.session, user, "visit-records", visit_id)
        uow.commit()
    return JSONResponse(rows)


@router.post(
    "/visits/{visit_id}/records",
    status_code=201,
    response_model=RecordOut,
    responses={**WITH_BODY, **ALLOWED, **NOT_FOUND, **REFUSED},
    summary="Record what was given at a completed visit, or correct its record (practitioners)",
    description="A correction is a new record; the newest is the visit's record. `consent` must be true: the "
    "patient gave informed consent before the treatment. 422 names every field at fault, a point of the "
    "injection map as `injection_points.SITE`; 409 "
    "`visit-not-completed` until the visit is recorded as completed.",
)
def record(
    request: Request, visit_id: Id, body: RecordIn, user: RecordWriter, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    def change() -> tuple[int, dict[str, Any]]:
        with found_by_path():
            recorded = record_treatment(
                store(request),
                visit_id=visit_id,
                product=body.product,
                lot=body.lot_number,
                expires_on=body.expires_on,
                dose=body.dose,
                areas=body.areas,
                note=body.note,
                consent=body.consent,
                actor=user.actor,
                points=[(point.site, point.amount) for point in body.injection_points],
            )
        return 201, recorded.as_dict()

    return answer(request, user, idempotency_key, body.model_dump(mode="json"), change)


@router.get(
    "/lots/{lot_number}/visits",
    response_model=list[LotVisitOut],
    responses=ALLOWED,
    summary="Every visit whose current record names the lot, earliest first: whom to contact in a recall "
    "(practitioners and clinic administrators, their home clinic's visits)",
)
def lot_visits(request: Request, lot_number: Lot, user: LotReader) -> JSONResponse:
    number = printed_lot(lot_number)
    with UnitOfWork(store(request), write=True) as uow:
        rows = [found.as_dict() for found in visits_with_lot(uow.session, number, clinic_id=user.clinic_id)]
        audit_read(uow.session, user, "lot", number)
        uow.commit()
    return JSONResponse(rows)
