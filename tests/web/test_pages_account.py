"""Sign in, sign out and sign up, as a browser without JavaScript sends them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.catalogue import FINAL_WORD
from safewindow.store import models
from safewindow.store.account_models import Account
from tests.web.test_pages_support import (
    FRONT_DESK,
    PATIENT,
    client_for,
    count,
    csrf,
    demo_store,
    field,
    main_of,
    sign_in,
    text,
)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("account"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def sign_in_form(client: TestClient, **data: str) -> tuple[int, str, dict[str, str]]:
    token = field(client.get("/sign-in").text, "form_token")
    sent = client.post("/sign-in", data={"form_token": token, "next": "", **data}, follow_redirects=False)
    return sent.status_code, sent.text, dict(sent.headers)


def test_the_sign_in_form_has_labelled_fields_and_the_practitioner_statement(client: TestClient) -> None:
    html = client.get("/sign-in").text
    for name in ("email", "password"):
        assert f'<label for="{name}">' in html and f'id="{name}" name="{name}"' in html
    assert 'autocomplete="current-password"' in html
    assert FINAL_WORD in text(html)
    assert "sw_form" in client.cookies  # the double-submit token's cookie


def test_a_demo_patient_signs_in_and_lands_on_their_visits(client: TestClient) -> None:
    status, _, headers = sign_in_form(client, email="Patient@Demo.example ", password="safewindow-demo")
    assert status == 303 and headers["location"] == "/my/visits"
    assert "httponly" in headers["set-cookie"].lower() and "samesite=lax" in headers["set-cookie"].lower()
    assert client.get("/my/visits", follow_redirects=False).status_code == 200


def test_a_wrong_password_is_a_message_beside_the_form_and_a_400(client: TestClient) -> None:
    status, html, _ = sign_in_form(client, email="frontdesk@demo.example", password="not-the-password")
    assert status == 400
    assert "Wrong e-mail address or password." in text(main_of(html))
    assert 'value="frontdesk@demo.example"' in html  # the address is kept, the password is not
    assert 'value="not-the-password"' not in html


def test_empty_fields_are_named_beside_them(client: TestClient) -> None:
    status, html, _ = sign_in_form(client, email="", password="")
    assert status == 400
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'aria-invalid="true"' in html and "Please check your answers" in html


def test_too_many_attempts_get_the_services_message_and_a_429(client: TestClient) -> None:
    for _ in range(5):
        assert sign_in_form(client, email="aesthetician@demo.example", password="wrong-wrong")[0] == 400
    status, html, headers = sign_in_form(client, email="aesthetician@demo.example", password="safewindow-demo")
    assert status == 429
    assert "Too many attempts. Try again in a few minutes." in text(html)
    assert int(headers["retry-after"]) > 0


def test_a_form_without_its_token_is_refused(client: TestClient) -> None:
    client.cookies.clear()
    sent = client.post("/sign-in", data={"email": PATIENT, "password": "safewindow-demo", "form_token": "forged"})
    assert sent.status_code == 400 and "the form had expired" in sent.text


def test_sign_in_goes_back_to_the_page_asked_for_but_never_to_another_site(client: TestClient) -> None:
    first = client.get("/my/history", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/sign-in?next=%2Fmy%2Fhistory"
    form = client.get(first.headers["location"]).text
    assert 'name="next" value="/my/history"' in form
    for target, expected in (("/my/history", "/my/history"), ("//evil.example/x", "/my/visits")):
        client.cookies.clear()
        token = field(client.get("/sign-in").text, "form_token")
        data = {"email": PATIENT, "password": "safewindow-demo", "form_token": token, "next": target}
        sent = client.post("/sign-in", data=data, follow_redirects=False)
        assert sent.headers["location"] == expected


def test_a_page_for_another_role_is_403(client: TestClient) -> None:
    sign_in(client, PATIENT)
    assert client.get("/staff/calendar").status_code == 403
    sign_in(client, FRONT_DESK)
    assert client.get("/my/visits").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    sign_in(client, PATIENT)
    assert client.post("/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/my/visits", follow_redirects=False).status_code == 200
    token = csrf(client, "/my/visits")
    sent = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/"
    assert client.get("/my/visits", follow_redirects=False).status_code == 303


def sign_up(client: TestClient, **data: str) -> tuple[int, str, dict[str, str]]:
    token = field(client.get("/sign-up").text, "form_token")
    sent = client.post("/sign-up", data={"form_token": token, **data}, follow_redirects=False)
    return sent.status_code, sent.text, dict(sent.headers)


GOOD = {
    "name": "Asha Grewal",
    "birth_date": "1990-05-05",
    "email": "asha.grewal@example.com",
    "password": "a long enough password",
    "consent": "yes",
}


def test_sign_up_asks_for_consent_under_pipa(client: TestClient) -> None:
    html = client.get("/sign-up").text
    assert "Personal Information Protection Act (PIPA)" in html
    assert 'type="checkbox" id="consent-yes" name="consent" value="yes"' in html


def test_sign_up_with_bad_answers_names_each_beside_its_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    before = count(sessions, models.Patient)
    status, html, _ = sign_up(client, name="", birth_date="2100-01-01", email="not-an-address", password="short")
    assert status == 400
    for name in ("name", "birth_date", "email", "password", "consent"):
        assert f'id="{name}-error"' in html, name
    assert "your date of birth must be in the past" in html and "use at least 10 characters" in html
    assert 'value="short"' not in html  # never sent back
    assert count(sessions, models.Patient) == before


def test_sign_up_creates_the_patient_and_the_account_and_signs_in(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    status, _, headers = sign_up(client, **GOOD)
    assert status == 303 and headers["location"] == "/my/history?welcome=1"
    page = client.get(headers["location"]).text
    assert "Your account is ready." in page and "Health questions" in page
    assert count(sessions, Account, Account.email == "asha.grewal@example.com") == 1
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "patient.consented") == 1


def test_signing_up_twice_with_one_address_leaves_no_half_made_patient(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    data = {**GOOD, "email": "twice@example.com"}
    assert sign_up(client, **data)[0] == 303
    client.cookies.clear()
    before = count(sessions, models.Patient)
    status, html, _ = sign_up(client, **data)
    assert status == 400
    assert "an account with that e-mail address exists already" in html and 'id="email-error"' in html
    assert count(sessions, models.Patient) == before
