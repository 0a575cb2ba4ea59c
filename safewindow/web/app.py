"""The FastAPI application. Each router lives in its own module and is listed in ROUTERS, in the order
FastAPI matches them; a new one (auth, booking, staff) is one import and one line there."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware import Middleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

import safewindow
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.store.database import database_url, make_engine, make_session_factory
from safewindow.web import (
    api_advice,
    api_audit,
    api_clinics,
    api_consents,
    api_contact,
    api_deposits,
    api_injection_sites,
    api_offers,
    api_orders,
    api_patients,
    api_plans,
    api_records,
    api_sessions,
    api_visits,
    calendar_routes,
    errors,
    fhir,
    pages_account,
    pages_admin,
    pages_aftercare,
    pages_booking,
    pages_consent_staff,
    pages_consents,
    pages_deposits,
    pages_messages,
    pages_move,
    pages_offers,
    pages_orders,
    pages_outcomes,
    pages_patient,
    pages_plans,
    pages_public,
    pages_recalls,
    pages_records,
    pages_staff,
)
from safewindow.web.dependencies import zone_named
from safewindow.web.security import SecurityHeaders, docs_page
from safewindow.web.settings import WebSettings
from safewindow.web.templating import STATIC_DIR

ROUTERS: tuple[APIRouter, ...] = (
    api_plans.router,
    pages_plans.router,
    pages_recalls.router,
    pages_move.router,
    api_advice.router,
    api_sessions.router,
    api_clinics.router,
    api_offers.router,
    api_patients.router,
    api_orders.router,
    api_records.router,
    api_injection_sites.router,
    api_deposits.router,
    api_contact.router,
    api_consents.router,
    api_visits.router,
    api_audit.router,
    pages_public.router,
    pages_account.router,
    pages_booking.router,
    pages_patient.router,
    pages_staff.router,
    pages_admin.router,
    pages_offers.router,
    pages_outcomes.router,
    pages_orders.router,
    pages_records.router,
    pages_deposits.router,
    pages_messages.router,
    pages_consents.router,
    pages_consent_staff.router,
    fhir.router,
    calendar_routes.router,
    calendar_routes.webhooks_router,
    pages_aftercare.router,
)

DESCRIPTION = (
    "When is an aesthetic treatment safe, given a patient's past and booked treatments and personal factors? "
    "Decision support: a qualified practitioner makes the final decision."
)


def create_app(settings: WebSettings | None = None, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """`sessions` is the store (default: SAFEWINDOW_DATABASE_URL, or the embedded SQLite file); the engine is
    made lazily by SQLAlchemy, so the public pages start even before `safewindow db upgrade`."""
    settings = settings or WebSettings()
    zone_named(settings.zone, "SAFEWINDOW_ZONE")  # a wrong zone fails at start, not on the first request
    app = FastAPI(
        title="safewindow",
        version=safewindow.__version__,
        description=DESCRIPTION,
        docs_url=None,  # served below, with a content security policy that lets Swagger UI run
        redoc_url=None,
        # Outermost first: the headers go on every response, the 500 from CatchAll included.
        middleware=[Middleware(SecurityHeaders), Middleware(errors.CatchAll)],
    )
    app.state.settings = settings
    app.state.sessions = sessions or make_session_factory(make_engine(database_url()))
    app.state.knowledge_base = default_knowledge_base()  # loaded and validated now: a broken file stops the start
    errors.register(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return docs_page("/openapi.json", "safewindow API")

    return app
