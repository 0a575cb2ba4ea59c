"""Injection maps on the staff chart: Dr. Brar records the units of Botox given at two sites and sees the map (a
dot and the amount at each, the table and the total), and a correction starts from it; a bad amount is named
beside its site's field and nothing is written; a filler's map is in mL at its own sites; a site of another
treatment sent by hand is ignored, and a treatment that is not injected has no map; the form still needs its CSRF
token, and nothing typed or stored comes back as markup."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.store import models
from tests.visits import begun_visit
from tests.web.test_pages_records import PRODUCT, completed_visit, records_of, send
from tests.web.test_pages_support import (
    PRACTITIONER,
    client_for,
    count,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
)

GIVEN = {"product": PRODUCT, "lot_number": "C3456-A", "consent": "yes"}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("injection-maps"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        sign_in(test_client, PRACTITIONER)
        yield test_client


def points_of(sessions: sessionmaker[Session], visit: int) -> list[tuple[str, int, str]]:
    """The visit's current record's map as stored: (site, hundredths, unit)."""
    with sessions() as session:
        record = session.scalars(
            select(models.TreatmentRecord)
            .where(models.TreatmentRecord.visit_id == visit)
            .order_by(models.TreatmentRecord.id.desc())
        ).first()
        return [(p.site, p.amount_hundredths, p.unit) for p in record.points] if record else []


def map_of(html: str, visit: int) -> str:
    """The record's map (its drawing and table), as sent."""
    start = html.index(f'<figure class="injection-map" id="record-{visit}-map">')
    return html[start : html.index("</figure>", start) + len("</figure>")]


def amount_field(html: str, visit: int, site: str) -> str:
    """The site's input in the visit's record form."""
    found = re.search(rf'<input [^>]*id="record-{visit}-point-{site}"[^>]*>', html)
    assert found, f"no field for {site}"
    return found.group(0)


def test_a_practitioner_records_two_sites_sees_the_map_and_corrects_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "mapped@example.com")  # a Botox visit
    form = main_of(client.get(f"/staff/patients/{patient}").text)
    assert "Injection map (optional)" in form and "Right and left are the patient's" in text(form)
    glabella = amount_field(form, visit, "glabella")
    assert 'name="point-glabella"' in glabella and 'inputmode="decimal"' in glabella and 'value=""' in glabella
    assert f'<span id="record-{visit}-point-glabella-unit">units</span>' in form
    # Botox's sites only, in drawing order (top to bottom): no filler site such as the cheek.
    names = re.findall(r'name="point-([a-z-]+)"', form)
    assert names[:3] == ["forehead", "corrugator-right", "corrugator-left"] and names[-1] == "neck-bands"
    assert "cheek-left" not in names and "temple-right" not in names

    sites = {"point-glabella": "20", "point-crows-feet-right": " 12.5 "}
    status, _, shown = send(client, patient, visit, **GIVEN, **sites)
    assert status == 303
    assert points_of(sessions, visit) == [("glabella", 2000, "units"), ("crows-feet-right", 1250, "units")]
    drawn = map_of(shown, visit)
    assert 'role="img"' in drawn and "2 injection sites marked, 32.5 units in all" in drawn
    assert drawn.count('<circle class="dot"') == 2
    assert '<circle class="dot" cx="100" cy="88" r="4"/>' in drawn  # the glabella, where the catalogue puts it
    assert '<circle class="dot" cx="46" cy="100" r="4"/>' in drawn  # the patient's right: on the left
    table = text(drawn[drawn.index("<table") :])
    assert (
        "Glabellar lines (procerus) 20 units" in table
        and "Right crow's feet (lateral canthal lines) 12.5 units" in table
    )
    assert "Total 32.5 units" in table

    # A correction starts from the record's map; a site left blank is no longer on it.
    assert 'value="20"' in amount_field(shown, visit, "glabella")
    assert 'value="12.5"' in amount_field(shown, visit, "crows-feet-right")
    assert 'value=""' in amount_field(shown, visit, "forehead")
    status, _, shown = send(client, patient, visit, **GIVEN, **{"point-glabella": "16", "point-crows-feet-right": ""})
    assert status == 303
    assert points_of(sessions, visit) == [("glabella", 1600, "units")]
    drawn = map_of(shown, visit)
    assert drawn.count('<circle class="dot"') == 1 and "Total 16 units" in text(drawn)
    assert "Amended 1 time" in text(main_of(shown))


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0", "give an amount above 0 units"),
        ("abc", "give the amount in units as a number"),
        ("2.555", "give the amount to at most two decimal places"),
        ("100.5", "more than 100 units at one site: check for a typing slip"),
        ("2.0000000000000000000001", "give the amount as a number"),  # not cut short to 2.0000000000000000000
    ],
    ids=["zero", "words", "three-places", "over-the-cap", "too-long"],
)
def test_a_bad_amount_is_named_beside_its_site_and_nothing_is_written(
    client: TestClient, sessions: sessionmaker[Session], request: pytest.FixtureRequest, typed: str, problem: str
) -> None:
    patient, visit = completed_visit(sessions, f"bad-{request.node.callspec.id}@example.com")
    points = count(sessions, models.InjectionPoint)
    status, _, shown = send(client, patient, visit, **GIVEN, **{"point-glabella": typed, "point-forehead": "10"})
    assert status == 400
    main = main_of(shown)
    error = re.search(rf'<p class="error-message" id="record-{visit}-point-glabella-error">(.*?)</p>', main, re.S)
    assert error and problem in text(error.group(1))
    assert f'aria-describedby="record-{visit}-point-glabella-unit record-{visit}-point-glabella-error"' in main
    assert f'<a href="#record-{visit}-point-glabella">Glabellar lines (procerus): {problem}' in main  # the summary
    assert f'id="record-{visit}-point-forehead-error"' not in main
    assert f'value="{typed[:21]}"' in amount_field(main, visit, "glabella")  # as typed, up to 21 characters
    assert 'value="10"' in amount_field(main, visit, "forehead")
    assert f'value="{PRODUCT}"' in main and '<details class="record-details" open>' in main
    assert records_of(sessions, visit) == [] and count(sessions, models.InjectionPoint) == points


def test_every_problem_is_named_at_once_the_map_with_the_other_fields(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = completed_visit(sessions, "allatonce@example.com")
    status, _, shown = send(client, patient, visit, product="", lot_number="C1", **{"point-chin": "-1"})
    assert status == 400
    main = main_of(shown)
    for field in ("product", "consent", "point-chin"):
        assert f'id="record-{visit}-{field}-error"' in main, field
    assert "Chin (mentalis): give an amount above 0 units" in text(main)
    assert records_of(sessions, visit) == []


def test_a_site_the_form_does_not_offer_is_ignored(client: TestClient, sessions: sessionmaker[Session]) -> None:
    """The page reads only the fields it offered: a filler's site, or no site at all, sent by hand with a Botox
    record is not part of its form, so the record is written without it (the service would refuse it)."""
    patient, visit = completed_visit(sessions, "handmade@example.com")
    sent = {"point-glabella": "4", "point-cheek-left": "1", "point-nowhere": "2"}
    status, _, shown = send(client, patient, visit, **GIVEN, **sent)
    assert status == 303
    assert points_of(sessions, visit) == [("glabella", 400, "units")]
    assert "Total 4 units" in text(map_of(shown, visit))


def test_a_fillers_map_offers_its_own_sites_in_ml(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "filled@example.com")
    visit = begun_visit(sessions, patient, treatment="dermal-filler")
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    chart = main_of(client.get(f"/staff/patients/{patient}").text)
    assert f'<span id="record-{visit}-point-cheek-left-unit">mL</span>' in chart
    assert 'name="point-glabella"' not in chart  # a toxin's site

    status, _, shown = send(client, patient, visit, **GIVEN, **{"point-cheek-left": "0.75", "point-chin": "1"})
    assert status == 303 and points_of(sessions, visit) == [("cheek-left", 75, "mL"), ("chin", 100, "mL")]
    assert "Total 1.75 mL" in text(map_of(shown, visit))


def test_a_treatment_not_injected_has_no_map(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "needled@example.com")
    visit = begun_visit(sessions, patient, treatment="microneedling")
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    chart = main_of(client.get(f"/staff/patients/{patient}").text)
    assert f'action="/staff/visits/{visit}/record"' in chart
    assert "Injection map" not in chart and 'name="point-' not in chart

    status, _, shown = send(client, patient, visit, **GIVEN, **{"point-forehead": "5"})
    assert status == 303 and len(records_of(sessions, visit)) == 1
    assert points_of(sessions, visit) == [] and 'class="injection-map"' not in shown


def test_the_form_still_needs_its_csrf_token(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, visit = completed_visit(sessions, "forged@example.com")
    for token in ({}, {"csrf_token": "forged"}):
        forged = client.post(f"/staff/visits/{visit}/record", data={**token, **GIVEN, "point-glabella": "4"})
        assert forged.status_code == 403
    assert records_of(sessions, visit) == []


def test_nothing_typed_or_stored_comes_back_as_markup(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient, visit = completed_visit(sessions, "marked-up@example.com")
    status, _, shown = send(client, patient, visit, **GIVEN, **{"point-glabella": "<b>5</b>"})
    assert status == 400
    assert "<b>5</b>" not in shown and 'value="&lt;b&gt;5&lt;/b&gt;"' in amount_field(shown, visit, "glabella")

    # A site the catalogue no longer has (or never had) stays in the table by its id, as text, and is not drawn.
    assert send(client, patient, visit, **GIVEN, **{"point-glabella": "5"})[0] == 303
    with sessions() as session:
        (record,) = session.scalars(select(models.TreatmentRecord).where(models.TreatmentRecord.visit_id == visit))
        session.add(models.InjectionPoint(record_id=record.id, site="<i>gone</i>", amount_hundredths=300, unit="units"))
        session.commit()
    drawn = map_of(client.get(f"/staff/patients/{patient}").text, visit)
    assert "<i>" not in drawn and '<th scope="row">&lt;i&gt;gone&lt;/i&gt;</th><td>3 units</td>' in drawn
    assert drawn.count('<circle class="dot"') == 1 and "1 injection site marked, 8 units in all" in drawn
