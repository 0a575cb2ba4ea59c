"""What the signed-in pages' tests share: a fresh demo store per test module (a migrated SQLite file with the
demo clinics and the demo sign-ins), a client on the real app and clock, signing in through the form, and
days picked relative to the clinic's today, so the tests hold whatever the date."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.accounts import create_account
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.services.patients import add_patient
from safewindow.services.slots import find_slots_for
from safewindow.store import migrate, models
from safewindow.store.account_models import Role
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.app import create_app
from safewindow.web.settings import WebSettings

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

ZONE = clinic_zone("America/Vancouver")
CLINIC = 1  # Fraser Valley Skin Studio: Tue-Sat 09:00-17:00, winter break 24 Dec - 1 Jan
PATIENT, FRONT_DESK, PRACTITIONER, ADMIN = (
    "patient@demo.example",
    "frontdesk@demo.example",
    "practitioner@demo.example",
    "admin@demo.example",
)


def demo_store(folder: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{folder / 'safewindow.sqlite3'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with UnitOfWork(sessions, write=True) as uow:
        load_demo(uow.session)
        ensure_demo_accounts(uow.session)
        uow.commit()
    yield sessions
    engine.dispose()


def client_for(sessions: sessionmaker[Session]) -> TestClient:
    # raise_server_exceptions=False: a 500 shows up as a 500, exactly as a visitor would get it.
    return TestClient(create_app(WebSettings(), sessions=sessions), raise_server_exceptions=False)


def today() -> date:
    return clinic_today(ZONE)


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return unescape(found.group(1))


def text(html: str) -> str:
    """What a reader sees: tags dropped, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def sign_in(client: TestClient, email: str, password: str = DEMO_PASSWORD) -> None:
    client.cookies.clear()
    form = client.get("/sign-in").text
    sent = client.post(
        "/sign-in",
        data={"email": email, "password": password, "form_token": field(form, "form_token"), "next": ""},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text


def csrf(client: TestClient, path: str = "/account") -> str:
    return field(client.get(path).text, "csrf_token")


def new_patient(
    sessions: sessionmaker[Session],
    email: str,
    *,
    history: tuple[str, ...] = (),
    factors: tuple[str, ...] = (),
    kb: KnowledgeBase | None = None,
) -> int:
    """A patient with an account (the demo password), a history and factors."""
    patient = add_patient(
        sessions,
        kb or default_knowledge_base(),
        name=f"Test {email.split('@')[0].title()}",
        birth_date="1990-05-05",
        actor="test",
        today=today(),
        email=email,
        history=history,
        factors=factors,
    )
    with UnitOfWork(sessions, write=True) as uow:
        create_account(uow.session, email=email, password=DEMO_PASSWORD, role=Role.PATIENT, patient_id=patient.id)
        uow.commit()
    return patient.id


def bookable_days(
    sessions: sessionmaker[Session], first: date, count: int, *, treatment: str = "botox", clinic: int = CLINIC
) -> list[date]:
    """The first `count` days from `first` on which the clinic has a free time for `treatment`."""
    kb = default_knowledge_base()
    found: list[date] = []
    day = first
    while len(found) < count and day < first + timedelta(days=60):
        slots = find_slots_for(sessions, kb, treatment=treatment, clinic_id=clinic, first_day=day, days=1, limit=1)
        if slots and slots[0].slot.start.astimezone(ZONE).date() == day:
            found.append(day)
        day += timedelta(days=1)
    assert len(found) == count, "the demo clinic has too few open days ahead"
    return found


def consecutive_bookable_days(sessions: sessionmaker[Session], first: date) -> date:
    """A day D from `first` on such that D and D + 1 both have free times."""
    days = bookable_days(sessions, first, 12)
    return next(d for d in days if d + timedelta(days=1) in days)


def count(sessions: sessionmaker[Session], model: type[models.Base], *where: object) -> int:
    with UnitOfWork(sessions) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


# --- The helpers' own checks --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("support"))


def test_the_header_offers_what_each_role_may_open(sessions: sessionmaker[Session]) -> None:
    with client_for(sessions) as client:
        anonymous = client.get("/book").text
        assert '<nav class="account-nav" aria-label="Your account">' in anonymous
        assert 'href="/sign-in"' in anonymous and "Sign out" not in anonymous
        sign_in(client, PATIENT)
        mine = client.get("/my/visits").text
        assert 'href="/my/history"' in mine and "Sign out" in mine and 'href="/staff/calendar"' not in mine
        sign_in(client, ADMIN)
        staff = client.get("/staff").text
        assert 'href="/admin/audit"' in staff and 'href="/staff/patients"' in staff and 'href="/book"' not in staff
        # The public pages do not look the user up: a session cookie shows the way to the account.
        assert 'href="/account"' in client.get("/").text


def test_bookable_days_are_open_days_from_today(sessions: sessionmaker[Session]) -> None:
    days = bookable_days(sessions, today(), 3)
    assert all(d >= today() and d.weekday() in (1, 2, 3, 4, 5) for d in days)
