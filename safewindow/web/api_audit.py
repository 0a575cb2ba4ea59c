"""The audit log over the API: GET /api/v1/audit, for the clinic administrator only.

Least privilege: the log says who read and changed which record, which only the person accountable for the
clinic's privacy needs. Practitioners see what they need of it elsewhere (the overrides, through
/api/v1/overrides); the front desk and patients none. Entries hold ids and field names, never health data, and
reading the log is itself logged. The log covers the whole organisation: entries about patients and accounts
belong to no one clinic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from safewindow.services.accounts import User
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.api_models import Problems, Shape
from safewindow.web.api_sessions import ALLOWED
from safewindow.web.auth import audit_read, require, store

router = APIRouter(prefix="/api/v1", tags=["audit"], responses={422: {"model": Problems, "description": "Bad input"}})
Admin = Annotated[User, Depends(require(Role.CLINIC_ADMIN))]


class AuditRow(Shape):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]


@router.get(
    "/audit", response_model=list[AuditRow], responses=ALLOWED, summary="The audit log, newest first (administrator)"
)
def audit(
    request: Request,
    user: Admin,
    entity: Annotated[str | None, Query(max_length=64, description="e.g. patient, visit, clinic.")] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, description="Only entries older than this id: the last id of a page gives the next.")
    ] = None,
) -> JSONResponse:
    query = select(models.AuditEntry).order_by(models.AuditEntry.id.desc()).limit(limit)
    if before is not None:  # by id, not offset: the log only grows, so a page never shifts under the reader
        query = query.where(models.AuditEntry.id < before)
    if entity is not None:
        query = query.where(models.AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(models.AuditEntry.entity_id == entity_id)
    with UnitOfWork(store(request), write=True) as uow:
        rows = [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "detail": e.detail,
            }
            for e in uow.session.scalars(query)
        ]
        audit_read(uow.session, user, "audit", entity or "all")
        uow.commit()
    return JSONResponse(rows)
