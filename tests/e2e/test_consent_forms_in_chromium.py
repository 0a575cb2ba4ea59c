"""Consent forms in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh database: the
clinic administrator opens the touch-up's form from the navigation, saves it with no text first (named beside the
field, nothing saved), then saves a change as a new version; the front desk opens the chart of a patient whose
microneedling visit is flagged as not signed, records the paper form the patient signed (the wrong name first,
named beside its field), and sees the visit covered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.consents import form_versions
from safewindow.store.consent_models import Consent
from safewindow.store.unit_of_work import UnitOfWork
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.visits import first_free_visit
from tests.web.test_pages_support import ADMIN, CLINIC, FRONT_DESK, count, demo_store, new_patient

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-consents"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def versions(sessions: sessionmaker[Session], treatment: str) -> int:
    with UnitOfWork(sessions) as uow:
        return len(form_versions(uow.session, CLINIC, treatment))


def test_the_admin_saves_a_new_version_of_a_consent_form(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    before = versions(sessions, "botox-touch-up")
    page.goto("/sign-in")
    sign_in_here(page, ADMIN)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Consent forms").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fraser Valley Skin Studio: consent forms")
    expect(page.locator("#form-chemical-peel-light")).to_contain_text("No form: patients are not asked to sign")
    page.get_by_role("link", name="Change the form for Botulinum toxin touch-up").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("consent form for Botulinum toxin touch-up")
    expect(page.locator("main")).to_contain_text(f"Version {before} is in use")

    body = page.get_by_label("What the patient agrees to")
    words = body.input_value()
    assert "I ask Fraser Valley Skin Studio to treat me with Botulinum toxin touch-up." in words
    body.fill("")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.locator("#body-error")).to_contain_text("write what the patient agrees to")
    assert versions(sessions, "botox-touch-up") == before
    shot(page, screenshots, "admin-consent-form-empty")

    page.get_by_label("Title").fill(f"Consent to a touch-up ({width(page)} px)")
    page.get_by_label("What the patient agrees to").fill(words + "\n\nI have been given a copy of this form.")
    page.get_by_role("button", name="Save as a new version").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text(f"Version {before + 1} is in use now.")
    expect(notice).to_contain_text("Patients who signed an earlier version will be asked to sign again")
    expect(page.get_by_label("Title")).to_have_value(f"Consent to a touch-up ({width(page)} px)")
    expect(page.locator("main")).to_contain_text(f"Version {before}: ")  # the earlier one, read-only
    assert versions(sessions, "botox-touch-up") == before + 1
    shot(page, screenshots, "admin-consent-form-saved")


def test_the_front_desk_records_a_signed_paper_form_and_sees_the_visit_covered(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    name = f"paper-{width(page)}"
    patient_id = new_patient(sessions, f"{name}@example.com")
    visit = first_free_visit(sessions, patient_id, clinic_id=CLINIC, treatment="microneedling").id
    patient = f"Test {name.title()}"

    page.goto("/sign-in")
    sign_in_here(page, FRONT_DESK)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Patients").click()
    page.get_by_label("Name, e-mail or patient number").fill(patient)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    card = page.locator(f"#visit-{visit}")
    expect(card).to_contain_text("No signed consent form covers this visit.")
    expect(card).to_contain_text("Not signed")

    form = page.get_by_role("form", name="Record a signed paper form")
    form.get_by_label("Form signed", exact=True).select_option(f"{CLINIC}:microneedling")
    form.get_by_label("Version on the paper form").fill("1")
    form.get_by_label("Name as signed").fill("Somebody Else")
    form.get_by_label("The patient signed the paper form, which is filed").check()
    form.get_by_role("button", name="Record the signed form").click()
    expect(page.locator("#consent-signed_name-error")).to_contain_text(
        f"the full name the clinic has on file: {patient}"
    )
    expect(page.get_by_label("Name as signed")).to_have_value("Somebody Else")  # what was typed stays
    assert count(sessions, Consent, Consent.patient_id == patient_id) == 0
    shot(page, screenshots, "staff-paper-consent-wrong-name")

    form = page.get_by_role("form", name="Record a signed paper form")
    form.get_by_label("Name as signed").fill(patient)
    form.get_by_role("button", name="Record the signed form").click()
    expect(page.get_by_role("status")).to_contain_text("The signed paper form is recorded")
    card = page.locator(f"#visit-{visit}")
    expect(card).to_contain_text("Consent form: Signed on")
    expect(card).not_to_contain_text("No signed consent form covers this visit.")
    expect(page.locator("#consents")).to_contain_text("On paper, recorded by frontdesk@demo.example (front-desk)")
    assert count(sessions, Consent, Consent.patient_id == patient_id) == 1
    shot(page, screenshots, "staff-paper-consent-recorded")

    page.locator("#consents").get_by_role("link", name="The words signed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"“Consent to Microneedling”, signed by {patient}")
    expect(page.locator("main")).to_contain_text("I ask Fraser Valley Skin Studio to treat me with Microneedling.")
