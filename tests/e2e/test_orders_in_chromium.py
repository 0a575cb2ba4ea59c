"""Prescribers' orders in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh
database: Dr. Anika Brar signs in, opens the chart of a patient without an order, writes a Botox order (a day in
the past first, named beside its field), sees it listed in force, and revokes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.store import models
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.web.test_pages_support import PRACTITIONER, count, demo_store, new_patient, today

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-orders"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def test_a_physician_writes_an_order_sees_it_in_force_and_revokes_it(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    name = f"ordered-{width(page)}"
    new_patient(sessions, f"{name}@example.com")
    patient = f"Test {name.title()}"
    until = today() + timedelta(days=90)

    page.goto("/sign-in")
    sign_in_here(page, PRACTITIONER)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Patients").click()
    page.get_by_label("Name, e-mail or patient number").fill(patient)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    orders = page.get_by_role("region", name="Prescribers' orders")
    expect(orders).to_contain_text("None written.")
    expect(orders).to_contain_text("the prescriber's decision")

    form = page.get_by_role("form", name="Write an order")
    form.get_by_label("Treatment").select_option("botox")
    form.get_by_label("Covers visits until").fill((today() - timedelta(days=1)).isoformat())
    form.get_by_label("Note (optional)").fill("Glabellar lines; assessed in person.")
    form.get_by_role("button", name="Write order").click()
    expect(page.locator("#valid_until-error")).to_contain_text("must be today")
    expect(page.get_by_label("Treatment")).to_have_value("botox")  # what was chosen stays
    shot(page, screenshots, "staff-order-past-day")

    page.get_by_label("Covers visits until").fill(until.isoformat())
    page.get_by_role("button", name="Write order").click()
    expect(page.get_by_role("status")).to_contain_text("Order written:")
    orders = page.get_by_role("region", name="Prescribers' orders")
    card = orders.locator("li.order")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Botulinum toxin")
    expect(card).to_contain_text("Dr. Anika Brar")
    expect(card).to_contain_text("In force")
    expect(card).to_contain_text(f"{until:%A} {until.day} {until:%B %Y}")
    expect(card).to_contain_text("Glabellar lines; assessed in person.")
    shot(page, screenshots, "staff-order-written")

    written = count(sessions, models.ClientOrder)
    card.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Order revoked.")
    card = page.get_by_role("region", name="Prescribers' orders").locator("li.order")
    expect(card).to_contain_text("Revoked on")
    expect(card).not_to_contain_text("In force")
    expect(card.get_by_role("button", name="Revoke")).to_have_count(0)
    assert count(sessions, models.ClientOrder, models.ClientOrder.revoked_at.is_not(None)) >= 1
    assert count(sessions, models.ClientOrder) == written  # revoked, never deleted
    shot(page, screenshots, "staff-order-revoked")
