"""GET /api/v1/advice over HTTP: the same JSON as `safewindow when --json`, bad input as 422 naming the field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safewindow.clock import clinic_today, clinic_zone
from safewindow.domain.knowledge_base import KnowledgeBase
from safewindow.services.advice import ask
from safewindow.web.api_models import AdviceOut
from safewindow.web.dependencies import today
from tests.web.conftest import TODAY

SEED = {"treatment": "botox", "history": "microneedling@2026-11-10"}


def advice(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/advice", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def problems(client: TestClient, **params: Any) -> list[dict[str, str]]:
    response = client.get("/api/v1/advice", params=params)
    assert response.status_code == 422, response.text
    detail: list[dict[str, str]] = response.json()["detail"]
    assert detail and all(set(item) == {"field", "problem"} for item in detail)
    return detail


def test_the_seed_question(client: TestClient) -> None:
    data = advice(client, **SEED)
    assert (data["treatment"], data["allowed"]) == ("botox", True)
    assert (data["earliest"], data["earliest_bookable"]) == ("2026-11-24", "2026-11-24")
    assert (data["ideal_start"], data["ideal_end"]) == ("2026-11-24", "2026-12-08")
    assert "verdict" not in data
    [reason] = data["reasons"]
    assert (reason["rule"], reason["severity"], reason["evidence"]) == ("microneedling-then-botox", "info", "practice")
    assert "seed article" in reason["source"]


CASES: list[tuple[str, list[str], list[str], str | None]] = [
    ("botox", ["microneedling@2026-11-10"], [], None),
    ("botox", ["microneedling@2026-11-10"], ["sensitive-skin"], None),
    ("botox", ["microneedling@2026-11-10,dermal-filler@2026-11-20", "botox@2026-09-01"], [], "2026-11-30"),
    ("botox", ["microneedling@2026-11-10"], [], "2026-11-20"),
    ("botox", ["microneedling@2026-11-10"], [], "2026-12-20"),
    ("microneedling", ["botox@2026-11-01", "microneedling@2026-12-20"], [], "2026-12-01"),
    ("botox", [], ["pregnancy"], "2026-12-01"),
    ("dermal-filler", ["botox@2026-10-01", "chemical-peel-light@2026-11-05"], ["blood-thinners"], None),
    ("microneedling", [], [], None),
    ("botox-touch-up", ["botox@2026-11-01", "botox-touch-up@2026-11-15"], [], "2026-11-20"),
]


@pytest.mark.parametrize(("treatment", "history", "factors", "on"), CASES)
def test_the_json_is_exactly_the_advice_contract(
    client: TestClient, kb: KnowledgeBase, treatment: str, history: list[str], factors: list[str], on: str | None
) -> None:
    params: dict[str, Any] = {"treatment": treatment, "history": history, "factor": factors}
    if on is not None:
        params["on"] = on
    expected = ask(kb, treatment, history, factors, today=TODAY, on=on).as_dict()
    data = advice(client, **params)
    assert data == expected
    assert list(data) == list(expected)  # the same keys in the same order as the CLI prints them
    # The declared response model describes it exactly: nothing missing, nothing added, nothing changed.
    assert AdviceOut.model_validate(data).model_dump(mode="json", exclude_unset=True) == data
    assert ("verdict" in data) is (on is not None)


def test_history_repeats_and_holds_comma_separated_lists(client: TestClient) -> None:
    together = advice(client, treatment="botox", history="microneedling@2026-11-10,botox@2026-09-01")
    repeated = advice(client, treatment="botox", history=["microneedling@2026-11-10", "botox@2026-09-01"])
    assert together == repeated
    assert together["earliest"] == "2026-11-30"  # the botox repeat: 1 Sep + 90 days


def test_today_comes_from_the_clinic_s_clock_unless_overridden(app: FastAPI, client: TestClient) -> None:
    app.dependency_overrides[today] = lambda: date(2026, 12, 1)
    try:
        assert advice(client, **SEED)["earliest_bookable"] == "2026-12-01"
    finally:
        app.dependency_overrides[today] = lambda: TODAY


def test_the_real_today_is_the_clinic_s_day_in_its_zone(real_client: TestClient) -> None:
    for zone in ("America/Vancouver", "Pacific/Kiritimati", "Etc/GMT+12"):
        data = real_client.get("/api/v1/advice", params={"treatment": "botox", "zone": zone}).json()
        assert data["earliest_bookable"] == clinic_today(clinic_zone(zone)).isoformat()
    default = real_client.get("/api/v1/advice", params={"treatment": "botox"}).json()
    assert default["earliest_bookable"] == clinic_today(clinic_zone("America/Vancouver")).isoformat()


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"treatment": "botx"}, "treatment", "did you mean botox?"),
        ({"treatment": ""}, "treatment", "unknown treatment ''"),
        ({"treatment": "botox", "history": "microneedling@2026/11/10"}, "history", "'2026/11/10' is not a date in"),
        ({"treatment": "botox", "history": "microneedling@2026-02-30"}, "history", "not a real date"),
        ({"treatment": "botox", "history": "microneedling"}, "history", "is not SLUG@YYYY-MM-DD"),
        ({"treatment": "botox", "history": "microneedling@2026-11-10,"}, "history", "empty history item"),
        ({"treatment": "botox", "history": "needling@2026-11-10"}, "history", "unknown treatment 'needling'"),
        ({"treatment": "botox", "factor": "pregnant"}, "factor", "unknown factor 'pregnant'"),
        ({"treatment": "botox", "on": "30/11/2026"}, "on", "is not a date in YYYY-MM-DD form"),
        ({"treatment": "botox", "on": "2026-13-01"}, "on", "not a real date"),
        ({"treatment": "botox", "zone": "Mars/Olympus"}, "zone", "is not a known time zone"),
        ({"treatment": "botox", "zone": "America"}, "zone", "is not a known time zone"),
        ({"treatment": "botox", "zone": "x" * 5000}, "zone", "is not a known time zone"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_the_problem(
    client: TestClient, real_client: TestClient, params: dict[str, str], field: str, words: str
) -> None:
    # The zone is read by the clock dependency, which the fixed today of `client` replaces.
    [problem] = problems(real_client if field == "zone" else client, **params)
    assert problem["field"] == field
    assert words in problem["problem"]
    assert len(problem["problem"]) < 200  # the input is quoted, cut short


def test_fastapi_s_own_validation_errors_have_the_same_shape(client: TestClient) -> None:
    assert problems(client) == [{"field": "treatment", "problem": "is required"}]


def test_every_bad_field_is_named_at_once_the_first_as_the_cli_names_it(client: TestClient) -> None:
    detail = problems(client, treatment="botx", history=["microneedling@2026/11/10"], factor="x", on="soon")
    assert [item["field"] for item in detail] == ["treatment", "history", "factor", "on"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"history": "microneedling@0001-01-01"}, "history"),
        ({"history": "microneedling@9999-12-31"}, "history"),
        ({"history": "microneedling@1899-12-31"}, "history"),
        ({"history": "microneedling@2200-01-01"}, "history"),
        ({"history": "microneedling@2026-99999999999999999999-01"}, "history"),
        ({"history": "microneedling@2026-11-" + "1" * 5000}, "history"),
        ({"on": "9999-12-31"}, "on"),
        ({"on": "0001-01-01"}, "on"),
        ({"on": "2026-1-99999999999999999999"}, "on"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_bad_input_not_a_crash(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    [problem] = problems(client, treatment="botox", **params)
    assert problem["field"] == field


def test_the_first_and_last_supported_days_are_answered(client: TestClient) -> None:
    for day in ("1900-01-01", "2199-12-31"):
        for slug in ("botox", "microneedling", "dermal-filler"):
            advice(client, treatment=slug, history=[f"{slug}@{day}", f"microneedling@{day}"], on=day)


def test_ping_is_a_bare_endpoint(client: TestClient) -> None:
    response = client.get("/api/v1/ping")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/api/v1/advice?treatment=botox", "/api/v1/advice", "/api/v1/nope", "/", "/when", "/static/site.css"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_answers_about_a_patient_are_not_cached(client: TestClient) -> None:
    assert client.get("/api/v1/advice", params=SEED).headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/static/site.css").headers


def test_unknown_api_paths_and_methods_answer_in_the_api_s_shape(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()) == (404, {"detail": [{"field": "path", "problem": "not found"}]})
    wrong = client.post("/api/v1/advice", params=SEED)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert wrong.json()["detail"][0]["field"] == "method"
