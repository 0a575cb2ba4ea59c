"""The demo clinics behind the REST API, for the API's tests: a fresh SQLite file with the demo data, its sign-ins
and one more patient account, the app on it (real clock), and a bearer token per role.

Each test module opens its own with `open_demo` in a module-scoped fixture. Dates come from the clinic's real
today in America/Vancouver, and times to book from the slots API, so the tests hold whenever they run. The
tests here check the demo is what the others assume."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import accounts
from safewindow.services.accounts import create_account
from safewindow.services.booking import book
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.services.patients import add_patient
from safewindow.store import migrate, models
from safewindow.store.account_models import Role
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.app import create_app

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

ZONE = ZoneInfo("America/Vancouver")
TODAY = datetime.now(ZONE).date()
CLINIC = 1  # Fraser Valley Skin Studio: Tue-Sat 09:00-17:00
PHYSICIAN = 1  # Dr. Anika Brar: clinic 1 on Tuesdays and Thursdays; the practitioner@ account
AESTHETICIAN = 7  # Jasleen Bains: clinic 1 Tuesday to Friday; the aesthetician@ account
SIMRAN = 1  # the patient@ account's patient: microneedling at clinic 1 on 10 Nov 2026
CLAIRE = 2  # the other patient's
EMAILS = {
    "patient": "patient@demo.example",
    "other patient": "other.patient@demo.example",
    "front desk": "frontdesk@demo.example",
    "practitioner": "practitioner@demo.example",
    "aesthetician": "aesthetician@demo.example",
    "clinic admin": "admin@demo.example",
}
ROLES = ("anonymous", *EMAILS)


@dataclass
class Demo:
    client: TestClient
    sessions: sessionmaker[Session]
    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def sign_in(self, who: str) -> str:
        """A fresh bearer token for `who`; the client keeps no cookie from it."""
        response = self.client.post("/api/v1/sessions", json={"email": EMAILS[who], "password": DEMO_PASSWORD})
        assert response.status_code == 201, response.text
        self.client.cookies.clear()
        token: str = response.json()["token"]
        return token

    def headers(self, who: str, token: str | None = None) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {token or self.tokens[who]}"}

    def call(self, method: str, path: str, who: str = "anonymous", **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str = "anonymous", status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, who, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def free_slot(
        self,
        treatment: str,
        *,
        practitioner: int | None = None,
        patient: int | None = None,
        first: date | None = None,
        days: int = 60,
        skip: int = 0,
    ) -> str:
        """A bookable local time ('YYYY-MM-DDTHH:MM'), from the slots API as the front desk sees it."""
        params: dict[str, Any] = {"treatment": treatment, "days": days, "limit": skip + 1}
        for name, value in (("practitioner", practitioner), ("patient", patient), ("from", first)):
            if value is not None:
                params[name] = str(value)
        found = self.ok("GET", f"/api/v1/clinics/{CLINIC}/slots", "front desk", params=params)
        assert len(found) > skip, f"no free {treatment} slot in {days} days from {first}"
        start: str = found[skip]["start"]
        return start[:16]

    def new_patient(self, name: str = "Test Patient", history: Sequence[str] = ()) -> int:
        patient = add_patient(
            self.sessions,
            default_knowledge_base(),
            name=name,
            birth_date="1990-05-05",
            email="test.patient@example.com",
            history=history,
            actor="test",
            today=TODAY,
        )
        return patient.id

    def book(self, patient: int, treatment: str = "chemical-peel-light", **kwargs: Any) -> int:
        """A booked visit, through the service, at the next free time for the patient."""
        practitioner = kwargs.pop("practitioner", None)
        at = self.free_slot(treatment, patient=patient, practitioner=practitioner)
        start = datetime.fromisoformat(at).replace(tzinfo=ZONE)
        booked = book(
            self.sessions,
            default_knowledge_base(),
            patient_id=patient,
            treatment=treatment,
            clinic_id=CLINIC,
            start=start,
            actor="test",
            practitioner_id=practitioner,
            **kwargs,
        )
        return booked.visit.id

    def count(self, model: type[models.Base], *where: Any) -> int:
        with UnitOfWork(self.sessions) as uow:
            return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def audit(self, entity: str, entity_id: object) -> list[dict[str, Any]]:
        """The audit log's entries about one record, newest first, as the clinic admin reads them."""
        params = {"entity": entity, "entity_id": str(entity_id), "limit": 1000}
        entries: list[dict[str, Any]] = self.ok("GET", "/api/v1/audit", "clinic admin", params=params)
        return entries


# argon2id at its production cost takes half a second a hash; the demo's sign-ins need no such protection.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@contextmanager
def open_demo(folder: Path) -> Iterator[Demo]:
    with mock.patch.object(accounts, "HASHER", QUICK_HASHER):
        yield from _opened(folder)


def _opened(folder: Path) -> Iterator[Demo]:
    url = f"sqlite:///{folder / 'clinic.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions, write=True) as uow:
        load_demo(uow.session)
        ensure_demo_accounts(uow.session)
        create_account(
            uow.session, email=EMAILS["other patient"], password=DEMO_PASSWORD, role=Role.PATIENT, patient_id=CLAIRE
        )
        uow.commit()
    try:
        with TestClient(create_app(sessions=sessions), raise_server_exceptions=False) as client:
            demo = Demo(client, sessions, url)
            demo.tokens = {who: demo.sign_in(who) for who in EMAILS}
            yield demo
    finally:
        engine.dispose()


def next_weekday(weekday: int, after: date) -> date:
    """The first given weekday (Monday 0) strictly after `after`."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("demo")) as opened:
        yield opened


def test_each_demo_account_is_the_role_the_tests_assume(demo: Demo) -> None:
    expected = {
        "patient": ("patient", SIMRAN, None),
        "other patient": ("patient", CLAIRE, None),
        "front desk": ("front-desk", None, None),
        "practitioner": ("practitioner", None, PHYSICIAN),
        "aesthetician": ("practitioner", None, AESTHETICIAN),
        "clinic admin": ("clinic-admin", None, None),
    }
    for who, (role, patient, practitioner) in expected.items():
        me = demo.ok("GET", "/api/v1/me", who)
        assert (me["role"], me["patient_id"], me["practitioner_id"]) == (role, patient, practitioner), who
        assert me["email"] == EMAILS[who]
        if role != "patient":
            assert me["clinic_id"] == CLINIC


def test_the_booking_helpers_find_free_times_and_book_them(demo: Demo) -> None:
    patient = demo.new_patient()
    visit = demo.book(patient)
    [row] = demo.ok("GET", f"/api/v1/patients/{patient}/visits", "front desk")
    assert (row["id"], row["status"], row["clinic"]) == (visit, "booked", CLINIC)
    assert date.fromisoformat(row["start"][:10]) >= TODAY
