"""Signing a consent form in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh
database: a patient with a Botox visit booked opens My visits, follows "sign the consent form", sends it first
without ticking the box (named beside it, nothing signed), then ticks it, types their name and sees the form
signed, on the consent page and on My visits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.store.consent_models import Consent
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.visits import first_free_visit
from tests.web.test_pages_support import count, demo_store, new_patient

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


def test_a_patient_signs_the_consent_form_for_their_visit(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    email = f"consent-{width(page)}@example.com"
    patient = new_patient(sessions, email)
    name = f"Test {email.split('@')[0].title()}"
    first_free_visit(sessions, patient, treatment="botox")

    page.goto("/sign-in")
    sign_in_here(page, email)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="My visits").click()
    visit = page.locator(".visit-list > li").filter(has_text="Botulinum toxin")
    # The link names the visit for a screen reader: "sign the consent form for Botulinum toxin ... on <day>".
    expect(visit.locator(".consent-line")).to_have_text(
        re.compile(r"^Please sign the consent form for .+ before your visit\.$")
    )
    visit.get_by_role("link", name="sign the consent form").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Consent to Botulinum toxin (Botox and similar)")
    expect(page.locator("main")).to_contain_text("your practitioner goes over it with you")
    expect(page.get_by_role("list").filter(has_text="results vary from person to person")).to_be_visible()
    page.get_by_label("Type your full name to sign").fill(name)
    page.get_by_role("button", name="Sign the form").click()
    expect(page.locator("#agreed-error")).to_contain_text("tick the box")
    expect(page.get_by_label("I have read and agree")).to_have_attribute("aria-describedby", "agreed-error")
    expect(page.get_by_label("Type your full name to sign")).to_have_value(name)  # kept as typed
    assert count(sessions, Consent, Consent.patient_id == patient) == 0
    shot(page, screenshots, "my-consent-unticked")

    page.get_by_label("I have read and agree").check()
    page.get_by_role("button", name="Sign the form").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Consent forms")
    expect(page.get_by_role("status")).to_contain_text("You signed Consent to Botulinum toxin (Botox and similar)")
    covered = page.get_by_role("region", name="Visits already covered")
    expect(covered).to_contain_text("Consent form signed on")
    signed = page.get_by_role("region", name="Forms you have signed")
    expect(signed).to_contain_text("Signed online")
    expect(signed.get_by_role("button", name="Withdraw")).to_be_visible()
    assert count(sessions, Consent, Consent.patient_id == patient) == 1
    shot(page, screenshots, "my-consents-signed")

    page.get_by_role("navigation", name="Your account").get_by_role("link", name="My visits").click()
    expect(visit.locator(".consent-line")).to_contain_text("Consent form signed on")
