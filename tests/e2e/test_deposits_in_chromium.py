"""Deposits in a real browser (Chromium, JavaScript off), at phone and desktop width, on a fresh database: Sumas
Mountain Aesthetics' front desk opens its list of deposits, finds a patient's Botox visit whose $50 deposit is
due, opens the chart from it, records "Deposit taken" (forgetting how it was paid first, named beside its field),
sees it held with the ledger's line, and the list no longer asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.accounts import create_account
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_booking_in_chromium import open_page, serve, shot, sign_in_here, width
from tests.visits import first_free_visit
from tests.web.test_pages_support import count, demo_store, new_patient

pytestmark = pytest.mark.browser
SUMAS_DESK = "desk@sumas.example"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    for store in demo_store(tmp_path_factory.mktemp("e2e-deposits")):
        with UnitOfWork(store, write=True) as uow:
            sumas = uow.session.scalar(
                select(models.Clinic.id).where(models.Clinic.slug == "sumas-mountain-aesthetics")
            )
            create_account(uow.session, email=SUMAS_DESK, password=DEMO_PASSWORD, role=Role.FRONT_DESK, clinic_id=sumas)
            uow.commit()
        yield store


@pytest.fixture(scope="module")
def base_url(sessions: sessionmaker[Session]) -> Iterator[str]:
    yield from serve(sessions)


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    yield from open_page(browser, base_url, request.param)


def test_the_front_desk_finds_a_deposit_due_and_records_it_taken(
    page: Page, screenshots: Path, sessions: sessionmaker[Session]
) -> None:
    name = f"deposit-{width(page)}"
    patient_id = new_patient(sessions, f"{name}@example.com")
    with UnitOfWork(sessions) as uow:
        sumas = uow.session.scalar(select(models.Clinic.id).where(models.Clinic.slug == "sumas-mountain-aesthetics"))
    assert sumas is not None
    visit = first_free_visit(sessions, patient_id, clinic_id=sumas, treatment="botox").id
    patient = f"Test {name.title()}"
    receipt = f"R-{width(page)}"

    page.goto("/sign-in")
    sign_in_here(page, SUMAS_DESK)
    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Deposits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deposits at Sumas Mountain Aesthetics")
    pending = page.get_by_role("region", name="Deposits to act on")
    row = pending.get_by_role("row").filter(has_text=f"(visit {visit})")
    expect(row).to_contain_text("$50.00")
    expect(row).to_contain_text("Take the deposit")
    shot(page, screenshots, "staff-deposits-due")

    row.get_by_role("link", name=patient).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(patient)
    card = page.locator(f"#deposit-{visit}")
    expect(card).to_contain_text("Due")
    form = page.get_by_role("form", name=f"Deposit taken: visit {visit}")
    form.get_by_label("Receipt or reference number (optional)").fill(receipt)
    form.get_by_role("button", name="Deposit taken").click()
    expect(page.locator(f"#deposit-{visit}-taken-method-error")).to_contain_text("say how the money changed hands")
    expect(page.get_by_label("Receipt or reference number (optional)").first).to_have_value(receipt)  # kept
    assert count(sessions, models.DepositEntry, models.DepositEntry.visit_id == visit) == 0
    shot(page, screenshots, "staff-deposit-no-method")

    form = page.get_by_role("form", name=f"Deposit taken: visit {visit}")
    form.get_by_label("How it was paid").select_option("card")
    form.get_by_role("button", name="Deposit taken").click()
    expect(page.get_by_role("status")).to_contain_text(f"The deposit for visit {visit} is taken: it holds the visit.")
    card = page.locator(f"#deposit-{visit}")
    expect(card.locator(".badge")).to_have_text("Held")
    ledger = card.get_by_role("table")
    expect(ledger).to_contain_text("Taken")
    expect(ledger).to_contain_text("card")
    expect(ledger).to_contain_text(receipt)
    expect(page.get_by_role("form", name=f"Deposit taken: visit {visit}")).to_have_count(0)
    assert count(sessions, models.DepositEntry, models.DepositEntry.visit_id == visit) == 1
    shot(page, screenshots, "staff-deposit-taken")

    page.get_by_role("navigation", name="Your account").get_by_role("link", name="Deposits").click()
    expect(page.get_by_role("region", name="Deposits to act on")).not_to_contain_text(f"(visit {visit})")
