"""A treatment plan in a real browser, as the front desk makes one: sign in, propose the microneedling series then
Botox for a demo patient, see the journey drawn step by step, book it, and see the booked timeline. The app runs
on uvicorn over a fresh migrated SQLite file with the demo clinics and sign-ins (not the developer's own data),
on the real clock; JavaScript is off, as the `page` fixture sets it. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.web.app import create_app
from tests.e2e.conftest import serve_app
from tests.web.test_pages_support import demo_store

pytestmark = pytest.mark.browser
PATIENTS = {390: (1, "Simran Gill"), 1280: (2, "Claire Penner")}  # one demo patient per screen width
SERIES = "Microneedling series, then Botox"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real application on the demo store, for this module: it overrides the session-wide server."""
    stores = demo_store(tmp_path_factory.mktemp("e2e-plans"))
    sessions = next(stores)
    yield from serve_app(create_app(sessions=sessions))
    next(stores, None)


def shot(page: Page, screenshots: Path, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(screenshots / f"{name}-{width}px.png"), full_page=True)


def test_the_front_desk_proposes_and_books_a_plan_and_sees_its_timeline(page: Page, screenshots: Path) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    patient, name = PATIENTS[width]
    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill("frontdesk@demo.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff$"))

    page.goto(f"/staff/patients/{patient}/plan")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Treatment plan for {name}")
    page.get_by_label(SERIES).check()
    page.get_by_label("Clinic").select_option(label="Fraser Valley Skin Studio")
    page.get_by_role("button", name="Propose a plan").click()

    proposal = page.get_by_role("region", name=f"{SERIES} at Fraser Valley Skin Studio")
    expect(proposal).to_be_visible()
    journey = proposal.get_by_role("region", name="The journey, step by step")
    steps = journey.locator("ol.journey > li")
    expect(steps).to_have_count(4)
    expect(steps.nth(0).get_by_role("heading")).to_have_text("Step 1: Microneedling, session 1 of 3")
    expect(steps.nth(3).get_by_role("heading")).to_have_text("Step 2: Botulinum toxin (Botox and similar)")
    for n in range(4):
        expect(steps.nth(n)).to_contain_text("Not before")
        expect(steps.nth(n)).to_contain_text("Ideal window")
        expect(steps.nth(n).locator(".window-bar .chosen")).to_have_count(1)
    expect(steps.nth(3)).to_contain_text("at least 14 days after microneedling")  # inside "Why this window"
    bar = steps.nth(3).locator(".window-bar .ideal-band")
    expect(bar).to_be_visible()  # the stylesheet drew it: a band with a width
    box = bar.bounding_box()
    assert box is not None and box["width"] > 2
    expect(page.locator("main")).to_contain_text(FINAL_WORD)
    shot(page, screenshots, "plan-proposed")

    page.get_by_role("button", name="Book all 4 visits").click()
    expect(page.get_by_role("status")).to_contain_text("The plan is booked: all 4 visits.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{SERIES} for {name}")
    booked = page.get_by_role("region", name="The journey, step by step").locator("ol.journey > li")
    expect(booked).to_have_count(4)
    expect(booked.nth(0)).to_contain_text("Chosen")
    shot(page, screenshots, "plan-booked")
