"""Properties over generated questions, closer to real ones than schemathesis' random strings: real slugs and
factor ids mixed with junk, dates across the whole calendar (year 1 to 9999) mixed with malformed ones.

- The API answers 200 or 422, never anything else; a 200 is exactly `ask(...).as_dict()` and matches the
  OpenAPI schema (checked by schemathesis' own validator); a 422 names fields the request has.
- The calculator page answers 200 or 400, never a 500."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.advice import ask
from tests.web.conftest import TODAY
from tests.web.test_openapi_schemathesis import CHECKS, schema

KB = default_knowledge_base()
junk = st.text(max_size=12)


def mostly(valid: st.SearchStrategy[str], *others: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value nine times in ten, so that many questions get an answer."""
    return st.integers(0, 9).flatmap(lambda n: valid if n else st.one_of(*others))


slugs = mostly(st.sampled_from(sorted(KB.treatments)), junk)
factor_ids = mostly(st.sampled_from(sorted(KB.factors)), junk)
days = mostly(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)).map(date.isoformat),
    st.dates().map(date.isoformat),
    st.from_regex(r"\A[0-9]{4}-[0-9]{1,25}-[0-9]{1,3}\Z"),
    junk,
)
items = mostly(st.builds(lambda slug, day: f"{slug}@{day}", slugs, days), junk)
history = st.lists(st.lists(items, min_size=1, max_size=2).map(",".join), max_size=3)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
ADVICE = schema["/api/v1/advice"]["GET"]


@SETTINGS
@given(
    treatment=slugs,
    history=history,
    factors=st.lists(factor_ids, max_size=2),
    on=st.none() | days,
)
def test_the_api_answers_the_contract_or_names_the_bad_field(
    client: TestClient, treatment: str, history: list[str], factors: list[str], on: str | None
) -> None:
    params: dict[str, Any] = {"treatment": treatment, "history": history, "factor": factors}
    if on is not None:
        params["on"] = on
    response = client.get("/api/v1/advice", params=params)
    assert response.status_code in (200, 422), response.text
    ADVICE.Case(query=params).validate_response(response, checks=CHECKS)
    if response.status_code == 200:
        assert response.json() == ask(KB, treatment, history, factors, today=TODAY, on=on).as_dict()
    else:
        assert {item["field"] for item in response.json()["detail"]} <= set(params)


@SETTINGS
@given(
    treatment=st.none() | slugs,
    rows=st.lists(st.tuples(st.just("") | slugs, st.just("") | days), max_size=6),
    factors=st.lists(factor_ids, max_size=3),
    on=st.none() | st.just("") | days,
)
def test_the_calculator_page_answers_or_shows_the_form_again(
    client: TestClient, treatment: str | None, rows: list[tuple[str, str]], factors: list[str], on: str | None
) -> None:
    params: dict[str, Any] = {
        "history_treatment": [slug for slug, _ in rows],
        "history_date": [day for _, day in rows],
        "factor": factors,
    }
    if treatment is not None:
        params["treatment"] = treatment
    if on is not None:
        params["on"] = on
    response = client.get("/when", params=params)
    assert response.status_code in (200, 400)
    assert ('class="answer"' in response.text) is (response.status_code == 200 and treatment is not None)
