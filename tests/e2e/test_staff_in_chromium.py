"""The staff's side in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh
database: the front desk finds a patient, opens the chart and tries a time a soft rule blocks, which is
refused with every reason and offers no override (a forged override is 403); a practitioner books the same
kind of time with a written reason, and the clinic administrator finds it in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.slots import OfferedSlot, find_slots_for
from safewindow.store import models
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    PRACTITIONER,
    ZONE,
    bookable_days,
    count,
    demo_store,
    new_patient,
    today,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("e2e-staff"))


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def healing_patient(sessions: sessionmaker[Session], name: str) -> tuple[str, OfferedSlot]:
    """A patient who had microneedling two days ago, so Botox is softly blocked for 12 more days (rule
    microneedling-then-botox), and a free Botox time within those days. Returns the patient's name."""
    new_patient(sessions, f"{name}@example.com", history=(f"microneedling@{today() - timedelta(days=2)}",))
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    assert day < today() + timedelta(days=12)
    slot = find_slots_for(
        sessions, default_knowledge_base(), treatment="botox", clinic_id=CLINIC, first_day=day, days=1, limit=1
    )[0]
    return f"Test {name.title()}", slot


def sign_in_as(page: Page, email: str) -> None:
    page.goto("/sign-in")
    sign_in_here(page, email)


def open_chart_and_try(page: Page, patient: str, slot: OfferedSlot) -> None:
    """Patients -> search -> chart -> book Botox -> another time (the blocked one) -> the confirm page."""
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Patients").click()
    page.get_by_label("Name, e-mail or patient number").fill(patient)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    page.get_by_role("link", name=f"Book for {patient}").click()
    page.get_by_label("Treatment").select_option("botox")
    page.get_by_role("button", name="Show times").click()
    other = page.get_by_role("form", name="Another time")
    local = slot.slot.start.astimezone(ZONE)
    other.get_by_label("Day").fill(local.date().isoformat())
    other.get_by_label("Time").fill(f"{local:%H:%M}")
    other.get_by_label("Practitioner").select_option(slot.slot.practitioner_id)
    other.get_by_role("button", name="Check this time").click()
    expect(page.locator("main")).to_contain_text("The timing rules block this date.")


def test_front_desk_cannot_override_and_the_refused_booking_shows_every_reason(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    patient, slot = healing_patient(sessions, f"healing-{width(page)}")
    sign_in_as(page, FRONT_DESK)
    open_chart_and_try(page, patient, slot)
    expect(page.locator("[name=override_reason]")).to_have_count(0)
    expect(page.get_by_role("button", name="Book with override")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Only a qualified practitioner may override a soft rule.")
    shot(page, screenshots, "staff-confirm-front-desk")

    visits, overrides = count(sessions, models.Visit), count(sessions, models.Override)
    page.get_by_role("button", name="Book", exact=True).click()
    refusal = page.get_by_role("alert")
    expect(refusal).to_contain_text("We could not book this")
    reason = refusal.locator("li").filter(has_text="microneedling-then-botox")
    expect(reason).to_contain_text("soft rule: a qualified practitioner may override")
    expect(reason).to_contain_text("too soon after microneedling")
    expect(reason).to_contain_text("Evidence: practice")
    expect(reason).to_contain_text("Source: practice: the seed article")
    expect(page.locator("[name=override_reason]")).to_have_count(0)
    shot(page, screenshots, "staff-refused")

    # A forged form, with the front desk's own session and CSRF token, is still refused.
    form = {
        name: page.locator(f"main form[method=post] input[name={name}]").input_value()
        for name in ("csrf_token", "treatment", "clinic", "slot")
    }
    action = page.locator("main form[method=post]").get_attribute("action")
    assert action is not None
    forged = page.request.post(action, form={**form, "override_reason": "the patient insists"}, max_redirects=0)
    assert forged.status == 403
    assert (count(sessions, models.Visit), count(sessions, models.Override)) == (visits, overrides)


def test_a_practitioner_overrides_a_soft_rule_with_a_reason_and_the_audit_log_shows_it(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    patient, slot = healing_patient(sessions, f"override-{width(page)}")
    reason = f"Leaving the country for 3 months; skin healed on examination ({width(page)})"
    sign_in_as(page, PRACTITIONER)
    open_chart_and_try(page, patient, slot)
    page.get_by_role("button", name="Book with override").click()  # no reason written yet
    expect(page.locator("#override_reason-error")).to_contain_text("write down why you are overriding the rule")
    page.get_by_label("Why you are overriding").fill(reason)
    shot(page, screenshots, "staff-override")
    page.get_by_role("button", name="Book with override").click()
    expect(page.get_by_role("status")).to_contain_text("is booked.")
    upcoming = page.get_by_role("region", name="Upcoming visits")
    expect(upcoming).to_contain_text("microneedling-then-botox")
    expect(upcoming.locator(".override-note")).to_contain_text(reason)
    shot(page, screenshots, "staff-chart-override")

    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, ADMIN)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Audit log").click()
    row = page.get_by_role("region", name="Overrides of timing rules").locator("tr").filter(has_text=reason)
    expect(row).to_contain_text("microneedling-then-botox")
    expect(row).to_contain_text("Dr. Anika Brar")
    expect(row).to_contain_text(patient)
    expect(page.get_by_role("region", name="Changes")).to_contain_text("visit.booked")
    shot(page, screenshots, "admin-audit")
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Clinic settings").click()
    expect(page.get_by_role("region", name="Closures")).to_contain_text("Winter break")
    shot(page, screenshots, "admin-clinic")


def test_the_calendar_shows_the_day_and_the_week(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    day = bookable_days(sessions, today() + timedelta(days=1), 1)[0]
    sign_in_as(page, FRONT_DESK)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Calendar").click()
    page.get_by_label("Day", exact=True).fill(day.isoformat())
    page.get_by_label("Show", exact=True).select_option("week")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("section.diary-day")).to_have_count(7)
    expect(page.locator("main")).to_contain_text("the clinic does not open on Mondays")
    shot(page, screenshots, "staff-calendar-week")
    page.get_by_label("Show", exact=True).select_option("day")
    page.get_by_label("Practitioner").select_option(label="Dr. Anika Brar")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dr. Anika Brar")
    shot(page, screenshots, "staff-calendar-day")


def test_the_administrator_offers_a_treatment_and_sees_a_bad_length_beside_its_field(
    page: Page, screenshots: Path
) -> None:
    sign_in_as(page, ADMIN)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Treatments and booking").click()
    page.get_by_label("Treatment", exact=True).select_option("dermaplaning")  # "(offered)" on the second run
    page.get_by_label("Length (minutes)").fill("")
    page.get_by_label("Who may do it").select_option(label="May do non-injection skin treatments")
    page.get_by_label("Room").select_option(label="A treatment room")
    page.get_by_role("button", name="Save treatment").click()
    expect(page.locator("#duration_minutes-error")).to_contain_text("give a whole number")
    expect(page.get_by_label("Who may do it")).to_have_value("may-do-skin-treatments")  # what was chosen stays
    page.get_by_label("Length (minutes)").fill("25")
    page.get_by_role("button", name="Save treatment").click()
    expect(page.get_by_role("status")).to_contain_text("The treatment is saved.")
    row = page.get_by_role("region", name="Treatments offered").locator("tr").filter(has_text="Dermaplaning")
    expect(row).to_contain_text("25 min")
    expect(row).to_contain_text("May do non-injection skin treatments")
    shot(page, screenshots, "admin-treatments")
