"""The clinic's name, address and telephone number on the administrator's settings page: shown, saved through
services/admin.py, and a problem named beside its field with nothing saved. The tests share one demo store, so
each compares with what the store held before it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.admin import ClinicDetails, clinic_details
from safewindow.store import models
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.pages_admin import LABELS
from tests.web.test_pages_support import ADMIN, CLINIC, FRONT_DESK, client_for, count, csrf, demo_store, sign_in, text

ACTION = "clinic.details-changed"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("clinic-details"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        sign_in(test_client, ADMIN)
        yield test_client


def stored(sessions: sessionmaker[Session]) -> ClinicDetails:
    with UnitOfWork(sessions) as uow:
        return clinic_details(uow.session, CLINIC)


def audits(sessions: sessionmaker[Session]) -> int:
    return count(sessions, models.AuditEntry, models.AuditEntry.action == ACTION)


def test_the_admin_sees_the_clinic_details(client: TestClient, sessions: sessionmaker[Session]) -> None:
    now = stored(sessions)
    html = client.get("/admin/clinic").text
    assert "Clinic details" in html and 'action="/admin/clinic/details"' in html
    assert f'<input type="text" id="name" name="name" value="{escape(now.name)}"' in html
    assert f'aria-describedby="address-hint">{escape(now.address)}</textarea>' in html
    assert f'<input type="tel" id="phone" name="phone" value="{escape(now.phone)}"' in html
    for control in ("name", "address", "phone"):
        assert f'<label for="{control}">' in html


def test_new_details_are_saved_then_noticed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    before = audits(sessions)
    sent = client.post(
        "/admin/clinic/details",
        data={
            "csrf_token": csrf(client, "/admin/clinic"),
            "name": "Fraser Valley Skin & Laser",
            "address": "Unit 5\r\n100 Main Street\r\nAbbotsford, BC",
            "phone": "(604) 555-0199",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/admin/clinic?done=details"
    page = client.get(sent.headers["location"]).text
    assert "The clinic's details are saved." in text(page)
    assert 'name="name" value="Fraser Valley Skin &amp; Laser"' in page and 'value="(604) 555-0199"' in page
    assert stored(sessions) == ClinicDetails(
        "Fraser Valley Skin & Laser", "Unit 5\n100 Main Street\nAbbotsford, BC", "(604) 555-0199"
    )
    assert audits(sessions) == before + 1


@pytest.mark.parametrize(
    ("name", "phone", "at_fault"),
    [("Fraser Valley Skin Studio", "555-0100", "phone"), ("", "604-555-0100", "name")],
)
def test_a_problem_is_named_beside_its_field_and_nothing_is_saved(
    client: TestClient, sessions: sessionmaker[Session], name: str, phone: str, at_fault: str
) -> None:
    before, audited = stored(sessions), audits(sessions)
    typed = {"name": name, "address": "Unit 9\r\n1 Typed Street\r\nAbbotsford, BC", "phone": phone}
    answer = client.post("/admin/clinic/details", data={"csrf_token": csrf(client, "/admin/clinic"), **typed})
    assert answer.status_code == 400
    html = answer.text
    # In the field's own box: its label, its hint, the message, then the control, kept as typed and marked.
    label = rf'<label for="{at_fault}">[^<]*</label>\s*(<p class="hint".*?</p>\s*)?'
    message = rf'<p class="error-message" id="{at_fault}-error">.*?</p>\s*'
    control = rf'<input type="(text|tel)" id="{at_fault}" name="{at_fault}" value="{re.escape(typed[at_fault])}"'
    assert re.search(label + message + control + '[^>]*aria-invalid="true"', html, re.S)
    assert all(f'id="{other}-error"' not in html for other in {"name", "address", "phone"} - {at_fault})
    assert f"Please check your answers {LABELS[at_fault]}: " in text(html)
    assert "Unit 9\n1 Typed Street\nAbbotsford, BC</textarea>" in html.replace("\r\n", "\n")
    assert stored(sessions) == before and audits(sessions) == audited


def test_without_the_form_token_nothing_is_saved(client: TestClient, sessions: sessionmaker[Session]) -> None:
    before = stored(sessions)
    fields = {"name": "Forged", "address": "Nowhere", "phone": ""}
    assert client.post("/admin/clinic/details", data=fields).status_code == 403
    assert client.post("/admin/clinic/details", data={**fields, "csrf_token": "forged"}).status_code == 403
    assert stored(sessions) == before


def test_the_front_desk_may_not_change_them(sessions: sessionmaker[Session]) -> None:
    before = stored(sessions)
    with client_for(sessions) as desk:
        sign_in(desk, FRONT_DESK)
        fields = {"csrf_token": csrf(desk, "/staff"), "name": "Front Desk Clinic", "address": "Here", "phone": ""}
        assert desk.post("/admin/clinic/details", data=fields).status_code == 403
    assert stored(sessions) == before
