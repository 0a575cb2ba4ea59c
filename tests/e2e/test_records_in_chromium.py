"""Treatment records in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh database:
Dr. Anika Brar opens the chart of a patient whose visit was completed, records the product and its lot with the
patient's consent (forgetting the consent first, named beside its checkbox), sees the record in the history, then
searches the lot and finds the patient; and records the units given at two sites of a Botox visit's injection map
and sees the map: the face drawing with a dot at each site, and the table with the total."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.store import models
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.visits import begun_visit
from tests.web.test_pages_support import PRACTITIONER, count, demo_store, new_patient

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-records"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def test_a_practitioner_records_what_was_given_and_finds_the_patient_by_lot(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    name = f"treated-{width(page)}"
    patient_id = new_patient(sessions, f"{name}@example.com")
    visit = begun_visit(sessions, patient_id)
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    patient = f"Test {name.title()}"
    lot = f"E2E-{width(page)}"

    page.goto("/sign-in")
    sign_in_here(page, PRACTITIONER)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Patients").click()
    page.get_by_label("Name, e-mail or patient number").fill(patient)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    row = page.locator(f"#record-{visit}")
    expect(row).to_contain_text("Not recorded yet.")

    row.locator("summary").click()  # a <details>: opens without JavaScript
    form = page.get_by_role("form", name=f"Record what was given at visit {visit}")
    form.get_by_label("Product").fill("Botox 100 U")
    form.get_by_label("Lot number").fill(lot.lower())
    form.get_by_label("Dose (optional)").fill("20 units")
    form.get_by_role("button", name="Record what was given").click()
    expect(page.locator(f"#record-{visit}-consent-error")).to_contain_text("informed consent")
    expect(page.get_by_label("Product")).to_have_value("Botox 100 U")  # what was typed stays
    assert count(sessions, models.TreatmentRecord, models.TreatmentRecord.visit_id == visit) == 0
    shot(page, screenshots, "staff-record-no-consent")

    form = page.get_by_role("form", name=f"Record what was given at visit {visit}")
    form.get_by_label("The patient gave informed consent before the treatment").check()
    form.get_by_role("button", name="Record what was given").click()
    expect(page.get_by_role("status")).to_contain_text(f"What was given at visit {visit} is recorded.")
    row = page.locator(f"#record-{visit}")
    expect(row).to_contain_text("Botox 100 U")
    expect(row).to_contain_text(lot)
    expect(row).to_contain_text("20 units")
    expect(row.locator("summary")).to_contain_text("Correct the record")
    assert count(sessions, models.TreatmentRecord, models.TreatmentRecord.visit_id == visit) == 1
    shot(page, screenshots, "staff-record-written")

    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Lot search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lot search")
    page.get_by_label("Lot number").fill(lot)
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("region", name=f"1 visit with lot {lot}")
    expect(results).to_contain_text("contact these patients")
    results.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    shot(page, screenshots, "staff-lot-search")


def test_a_practitioner_types_two_sites_and_sees_the_map(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, f"mapped-{width(page)}@example.com")
    visit = begun_visit(sessions, patient)  # Botox
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")

    page.goto("/sign-in")
    sign_in_here(page, PRACTITIONER)
    page.goto(f"/staff/patients/{patient}")
    row = page.locator(f"#record-{visit}")
    row.locator("summary").click()  # a <details>: opens without JavaScript
    form = page.get_by_role("form", name=f"Record what was given at visit {visit}")
    form.get_by_label("Product").fill("Botox 100 U")
    form.get_by_label("Lot number").fill("C3456-A")
    sites = form.get_by_role("group", name="Injection map (optional)")
    sites.get_by_label("Glabellar lines (procerus)").fill("20")
    sites.get_by_label("Left crow's feet (lateral canthal lines)").fill("12.5")
    form.get_by_label("The patient gave informed consent before the treatment").check()
    form.get_by_role("button", name="Record what was given").click()

    expect(page.get_by_role("status")).to_contain_text(f"What was given at visit {visit} is recorded.")
    drawing = row.get_by_role("img", name=re.compile(r"2 injection sites marked, 32\.5 units in all"))
    expect(drawing).to_be_visible()
    dots = drawing.locator("circle.dot")
    expect(dots).to_have_count(2)
    # Drawn as you look at the patient: the glabella in the middle, their left crow's feet to its right.
    glabella, crows_feet = (dots.nth(i).bounding_box() for i in range(2))
    assert glabella and crows_feet and crows_feet["x"] > glabella["x"] + 20
    table = row.get_by_role("table", name="Injection map")
    expect(table).to_contain_text("Glabellar lines (procerus)")
    expect(table).to_contain_text("12.5 units")
    expect(table.locator("tfoot")).to_contain_text("32.5 units")
    assert count(sessions, models.TreatmentRecord, models.TreatmentRecord.visit_id == visit) == 1
    shot(page, screenshots, "staff-injection-map")
