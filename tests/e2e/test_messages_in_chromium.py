"""Messages in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh database: a
patient signs in, opens Messages from their navigation, types a number the way people write it and a bad one
(named beside the field, nothing saved), then asks for text reminders and sees their choice saved, with the number
as the clinic writes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.contact_preferences import contact_preferences
from safewindow.store.unit_of_work import UnitOfWork
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.web.test_pages_support import demo_store, new_patient

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-messages"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def test_a_patient_asks_for_text_reminders(page: Page, screenshots: Path, sessions: sessionmaker[Session]) -> None:
    email = f"messages-{width(page)}@example.com"
    patient = new_patient(sessions, email)

    page.goto("/sign-in")
    sign_in_here(page, email)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages from the clinic")
    number = page.get_by_label("Mobile number (optional)")
    expect(number).to_have_attribute("type", "tel")
    expect(number).to_have_value("")
    expect(page.get_by_label("Reminders and recalls by e-mail")).to_be_checked()
    texts = page.get_by_label("Visit reminders by text message too")
    expect(texts).not_to_be_checked()

    number.fill("604-555")
    texts.check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#phone-error")).to_contain_text("'604-555' is not a valid telephone number")
    expect(page.get_by_label("Mobile number (optional)")).to_have_value("604-555")  # kept as typed
    expect(page.get_by_label("Visit reminders by text message too")).to_be_checked()
    with UnitOfWork(sessions) as uow:
        assert contact_preferences(uow.session, patient).text_reminders is False
    shot(page, screenshots, "my-messages-bad-number")

    page.get_by_label("Mobile number (optional)").fill("(604) 555-0199")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_label("Mobile number (optional)")).to_have_value("+1 604-555-0199")
    expect(page.get_by_label("Visit reminders by text message too")).to_be_checked()
    with UnitOfWork(sessions) as uow:
        saved = contact_preferences(uow.session, patient)
    assert (saved.phone, saved.text_reminders) == ("+16045550199", True)
    shot(page, screenshots, "my-messages-saved")
