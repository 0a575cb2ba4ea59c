"""Signing in and out over HTTP: a bearer token and an HttpOnly cookie, the same 401 for an unknown address as
for a wrong password, 429 with Retry-After after too many failures, CSRF for changes made with the cookie."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from safewindow.services.accounts import MAX_FAILURES
from safewindow.services.demo_accounts import DEMO_PASSWORD
from tests.web.test_api_demo import EMAILS, Demo, open_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("sessions")) as opened:
        yield opened


def test_signing_in_answers_a_token_and_sets_an_http_only_cookie(demo: Demo) -> None:
    response = demo.client.post("/api/v1/sessions", json={"email": "Admin@Demo.Example ", "password": DEMO_PASSWORD})
    demo.client.cookies.clear()
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "csrf_token", "role", "account_id"}
    assert body["role"] == "clinic-admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"sw_session={body['token']};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    me = demo.ok("GET", "/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert (me["account_id"], me["csrf_token"]) == (body["account_id"], body["csrf_token"])


def test_an_unknown_address_and_a_wrong_password_answer_alike(demo: Demo) -> None:
    wrong = demo.client.post("/api/v1/sessions", json={"email": EMAILS["patient"], "password": "not-the-password"})
    unknown = demo.client.post("/api/v1/sessions", json={"email": "nobody@demo.example", "password": "whatever-1234"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert "set-cookie" not in wrong.headers


def test_too_many_failures_answer_429_with_retry_after_even_for_the_right_password(demo: Demo) -> None:
    email = EMAILS["aesthetician"]
    for _ in range(MAX_FAILURES):
        assert demo.client.post("/api/v1/sessions", json={"email": email, "password": "guess-guess"}).status_code == 401
    locked = demo.client.post("/api/v1/sessions", json={"email": email, "password": DEMO_PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "set-cookie" not in locked.headers


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@b.example"}, {"email": "", "password": "x"}, {"email": "a@b.example", "password": "x\x00y"}],
)
def test_a_malformed_sign_in_is_422_naming_the_field(demo: Demo, body: dict[str, str]) -> None:
    response = demo.client.post("/api/v1/sessions", json=body)
    assert response.status_code == 422
    assert all(set(item) == {"field", "problem"} for item in response.json()["detail"])


def test_signing_out_ends_the_session(demo: Demo) -> None:
    token = demo.sign_in("front desk")
    assert demo.call("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    response = demo.call("DELETE", "/api/v1/sessions", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert demo.call("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert demo.call("DELETE", "/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert demo.call("GET", "/api/v1/me").status_code == 401


def test_a_change_made_with_the_cookie_needs_the_csrf_token(demo: Demo) -> None:
    response = demo.client.post("/api/v1/sessions", json={"email": EMAILS["front desk"], "password": DEMO_PASSWORD})
    csrf = response.json()["csrf_token"]
    try:
        assert demo.client.get("/api/v1/me").status_code == 200  # the cookie alone reads
        body = {"name": "Cookie Person", "birth_date": "1990-01-01"}
        assert demo.client.post("/api/v1/patients", json=body).status_code == 403
        assert demo.client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert demo.client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        assert demo.client.delete("/api/v1/sessions").status_code == 403
        assert demo.client.delete("/api/v1/sessions", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert demo.client.get("/api/v1/me").status_code == 401
    finally:
        demo.client.cookies.clear()
