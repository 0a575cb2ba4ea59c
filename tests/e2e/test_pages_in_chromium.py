"""The calculator and the resources in a real browser, as a patient uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from safewindow.services.catalogue import FINAL_WORD

pytestmark = pytest.mark.browser


def shot(page: Page, screenshots: Path, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(screenshots / f"{name}-{width}px.png"), full_page=True)


def test_the_calculator_answers_the_seed_question(page: Page, screenshots: Path) -> None:
    page.goto("/when")
    expect(page.get_by_role("heading", level=1)).to_have_text("When can I get…?")
    page.get_by_label("Which treatment would you like?").select_option("botox")
    first_row = page.get_by_role("group", name="Treatment 1")
    first_row.get_by_label("Treatment").select_option("microneedling")
    first_row.get_by_label("Date").fill("2026-11-10")
    page.get_by_role("button", name="Show when").click()

    answer = page.get_by_role("region", name="When can I get Botulinum toxin (Botox and similar)?")
    expect(answer).to_be_visible()
    expect(answer.locator("dd").nth(0)).to_have_text("Tuesday 24 November 2026")
    expect(answer.locator("dd").nth(2)).to_have_text("Tuesday 24 November 2026 to Tuesday 8 December 2026")
    expect(answer).to_contain_text("microneedling-then-botox")
    expect(answer).to_contain_text("Evidence: practice")
    expect(answer).to_contain_text(FINAL_WORD)
    assert "history_date=2026-11-10" in page.url  # a GET form: the answer can be bookmarked or shared
    shot(page, screenshots, "when-seed")


def test_a_bad_date_shows_an_error_message_beside_its_field(page: Page, screenshots: Path) -> None:
    page.goto("/when")
    page.get_by_label("Which treatment would you like?").select_option("botox")
    first_row = page.get_by_role("group", name="Treatment 1")
    first_row.get_by_label("Treatment").select_option("microneedling")
    first_row.get_by_label("Date").fill("1850-01-01")
    page.get_by_role("button", name="Show when").click()

    expect(page.get_by_role("alert")).to_contain_text("Please check your answers")
    message = page.locator("#history-0-error")
    expect(message).to_contain_text("1850-01-01 is outside the dates safewindow works with")
    expect(first_row.get_by_label("Date")).to_have_attribute("aria-invalid", "true")
    expect(first_row.get_by_label("Date")).to_have_value("1850-01-01")
    shot(page, screenshots, "when-error")

    # A date typed by hand where the browser has no date picker (or in a shared link) gets the same treatment.
    page.goto("/when?treatment=botox&history_treatment=microneedling&history_date=10/11/2026")
    expect(page.locator("#history-0-error")).to_contain_text("'10/11/2026' is not a date in YYYY-MM-DD form")


def test_a_resources_article_opens(page: Page, screenshots: Path) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Resources").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resources")
    page.get_by_role("link", name="How long to wait for Botox after microneedling").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How long to wait for Botox after microneedling")
    expect(page.get_by_role("heading", name="Why wait?")).to_be_visible()
    expect(page.get_by_role("region", name="Sources")).to_contain_text("Chu et al.")
    expect(page.locator("main")).to_contain_text(FINAL_WORD)
    shot(page, screenshots, "article")
