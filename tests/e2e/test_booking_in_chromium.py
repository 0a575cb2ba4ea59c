"""Booking in a real browser (Chromium, JavaScript off), at phone and desktop width, against the real app on its
own fresh database: a patient looks at the times, signs in, sees them marked ideal or allowed for their
history, and books; a new patient signs up, answers the health questions, and is told why a treatment is
not advised. Screenshots go to test-artifacts/screenshots/.

The helpers here (a served app on a demo store, a page that tolerates the statuses these pages answer with)
are used by test_staff_in_chromium.py too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.services.offers import Policy, set_booking_policy
from safewindow.web.app import create_app
from safewindow.web.settings import WebSettings
from tests.e2e.conftest import DESKTOP, PHONE, serve_app
from tests.visits import first_free_visit
from tests.web.test_pages_support import consecutive_bookable_days, demo_store, new_patient, today

pytestmark = pytest.mark.browser
# A form with errors answers 400, a refused booking 409, a forbidden change 403: the browser reports each
# as a console error, and each is what the page is meant to say.
EXPECTED_STATUSES = tuple(f"responded with a status of {status}" for status in (400, 403, 409, 429))


def serve(sessions: sessionmaker[Session]) -> Iterator[str]:
    """The real application on its own store, served by uvicorn on the loopback interface."""
    yield from serve_app(create_app(WebSettings(), sessions=sessions))


def open_page(browser: Browser, base_url: str, viewport: dict[str, int]) -> Iterator[Page]:
    """A fresh page, JavaScript off: the pages must work without it. Any console error other than the
    statuses the pages are meant to answer with fails the test."""
    context = browser.new_context(base_url=base_url, viewport=viewport, java_script_enabled=False)  # type: ignore[arg-type]
    new_page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(expected in message.text for expected in EXPECTED_STATUSES):
            errors.append(message.text)

    new_page.on("console", on_console)
    yield new_page
    context.close()
    assert not errors, errors


def width(page: Page) -> int:
    return page.viewport_size["width"] if page.viewport_size else 0


def shot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}-{width(page)}px.png"), full_page=True)


def sign_in_here(page: Page, email: str) -> None:
    """Fill the sign-in form the page shows."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-booking"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def test_a_patient_signs_in_and_books_a_rule_aware_slot(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    # Microneedling 28 days before D: Botox is ideally 14-28 days after it, so D is ideal and D + 1 allowed.
    day = consecutive_bookable_days(sessions, today() + timedelta(days=1))
    email = f"asha-{width(page)}@example.com"
    new_patient(sessions, email, history=(f"microneedling@{day - timedelta(days=28)}",))

    page.goto("/")
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Book a visit").click()
    page.get_by_label("Treatment").select_option("botox")
    page.get_by_label("Clinic").select_option(label="Fraser Valley Skin Studio")
    page.get_by_label("From (optional)").fill(day.isoformat())
    page.get_by_role("button", name="Show times").click()
    expect(page.locator(".slot").first).to_be_visible()
    expect(page.locator(".badge.ideal")).to_have_count(0)  # not signed in: the times are not checked for anyone

    page.get_by_role("link", name="Sign in to see the times that suit your own history").click()
    sign_in_here(page, email)
    times = page.get_by_role("group", name=f"Free times from {day:%A} {day.day} {day:%B %Y}")
    ideal_day = times.get_by_role("group", name=f"{day:%A} {day.day} {day:%B %Y}")
    next_day = day + timedelta(days=1)
    allowed_day = times.get_by_role("group", name=f"{next_day:%A} {next_day.day} {next_day:%B %Y}")
    expect(ideal_day.locator(".badge.ideal").first).to_have_text("Ideal")
    expect(ideal_day.locator(".badge.allowed")).to_have_count(0)
    expect(allowed_day.locator(".badge.allowed").first).to_have_text("Allowed")
    expect(allowed_day.locator(".slot-why").first).to_contain_text("is allowed but outside the ideal window")
    shot(page, screenshots, "book-slots")

    first_ideal = ideal_day.locator(".slot.ideal").first
    chosen = first_ideal.locator("time").inner_text()
    first_ideal.locator("label").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your booking")
    expect(page.locator("main")).to_contain_text("This time suits your timing rules.")
    expect(page.locator("main")).to_contain_text(FINAL_WORD)
    shot(page, screenshots, "book-confirm")

    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Your visit is booked.")
    expect(page.locator("main")).to_contain_text(f"{day:%A} {day.day} {day:%B %Y}, {chosen}")
    shot(page, screenshots, "book-booked")
    page.get_by_role("link", name="All my visits").click()
    expect(page.get_by_role("region", name="Upcoming")).to_contain_text("Botulinum toxin")


def test_a_new_patient_signs_up_answers_the_questions_and_is_told_why_not(page: Page, screenshots: Path) -> None:
    page.goto("/sign-up")
    page.get_by_role("button", name="Create account").click()  # nothing filled in
    expect(page.get_by_role("alert")).to_contain_text("Please check your answers")
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    shot(page, screenshots, "sign-up-errors")

    page.get_by_label("Your name").fill("Maya Sandhu")
    page.get_by_label("Date of birth").fill("1993-02-14")
    page.get_by_label("E-mail address").fill(f"maya-{width(page)}@example.com")
    page.get_by_label("Choose a password").fill("a long enough password")
    page.get_by_label("I agree that the clinic collects").check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_contain_text("Your account is ready.")

    page.get_by_label("Are you pregnant, possibly pregnant").check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_role("status")).to_contain_text("Your answers are saved.")
    expect(page.get_by_role("region", name="What we have recorded")).to_contain_text("Pregnancy")
    shot(page, screenshots, "my-history")

    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Book a visit").click()
    page.get_by_label("Treatment").select_option("botox")
    page.get_by_label("Clinic").select_option(label="Fraser Valley Skin Studio")
    page.get_by_role("button", name="Show times").click()
    answer = page.locator("section.answer")
    expect(answer).to_contain_text("Not advised for you.")
    expect(answer.locator(".reasons")).to_contain_text("pregnancy")
    expect(answer.locator(".reasons")).to_contain_text("hard rule: no override")
    expect(answer.locator(".slot")).to_have_count(0)
    shot(page, screenshots, "book-not-advised")


def test_inside_the_clinics_notice_a_patient_is_given_its_number_instead_of_the_buttons(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    mill_lake = 3  # no other test here books there: its policy is this test's own
    set_booking_policy(sessions, clinic_id=mill_lake, policy=Policy(60, 60, 15, 14 * 24 * 60), actor="test")
    email = f"late-{width(page)}@example.com"
    visit = first_free_visit(sessions, new_patient(sessions, email), clinic_id=mill_lake)

    page.goto("/sign-in")
    sign_in_here(page, email)
    page.goto(f"/my/visits/{visit.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Light chemical peel")
    change = page.get_by_role("region", name="Change this visit")
    expect(change).to_contain_text("Mill Lake Medispa takes changes online until 14 days before it begins")
    expect(change.get_by_role("button")).to_have_count(0)
    expect(change.get_by_role("link", name="604-555-0102")).to_have_attribute("href", "tel:+1-604-555-0102")
    shot(page, screenshots, "visit-inside-change-notice")
