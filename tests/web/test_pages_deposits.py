"""Deposits on the pages: the clinic administrator sets one per treatment in dollars (a bad amount named beside its
field, nothing saved); booking tells the patient (and staff booking for them) the amount and when the clinic may
keep it; the patient's own pages say where it stands; the chart shows each visit's deposit, its ledger and the
steps the policy allows next, and records each one (post, redirect, get), refusing a step out of turn and naming a
bad field, writing nothing; a patient's forged step is a 403 and another clinic's staff may not record. The clinic's
list shows what is left to do and its late cancellations and no-shows, with its days checked, and is audited.

Sumas Mountain Aesthetics (24 hours' notice for changes) asks $50 for Botox; the demo's staff work at Fraser Valley
Skin Studio, so a front desk account of Sumas is made here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.clock import now_utc
from safewindow.domain.deposits import Step
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.accounts import create_account
from safewindow.services.booking import cancel
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.services.deposits import record_step
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.account_models import Role
from safewindow.store.unit_of_work import UnitOfWork
from tests.visits import begun_visit, first_free_visit
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    ZONE,
    client_for,
    count,
    csrf,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
    today,
)

SUMAS_DESK = "desk@sumas.example"
BOTOX_ROW = "Botulinum toxin (Botox and similar) 30 min 5 + 10 min May inject A treatment room"
POLICY_24H = (
    "Sumas Mountain Aesthetics asks a $50.00 deposit to hold this visit; the clinic will contact you to take it. "
    "If the visit is cancelled less than 24 hours before it begins, or missed, the clinic may keep it; otherwise it "
    "counts toward your visit, or is refunded if you cancel."
)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    for store in demo_store(tmp_path_factory.mktemp("deposits")):
        with UnitOfWork(store, write=True) as uow:
            create_account(
                uow.session,
                email=SUMAS_DESK,
                password=DEMO_PASSWORD,
                role=Role.FRONT_DESK,
                clinic_id=sumas(uow.session),
            )
            uow.commit()
        yield store


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def sumas(session: Session) -> int:
    found = session.scalar(select(models.Clinic.id).where(models.Clinic.slug == "sumas-mountain-aesthetics"))
    assert found is not None
    return found


def sumas_id(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return sumas(session)


def booked(
    sessions: sessionmaker[Session], email: str, treatment: str = "botox", *, after: timedelta = timedelta(0)
) -> tuple[int, int]:
    """A new patient and their visit booked at Sumas's first free time `after` from now: (patient, visit)."""
    patient = new_patient(sessions, email)
    then = now_utc() + after
    return patient, first_free_visit(sessions, patient, clinic_id=sumas_id(sessions), treatment=treatment, now=then).id


def begun(sessions: sessionmaker[Session], email: str, outcome: Outcome) -> tuple[int, int]:
    """A new patient's Sumas Botox visit of days ago, its deposit taken, then recorded as `outcome`."""
    patient = new_patient(sessions, email)
    visit = begun_visit(sessions, patient, clinic_id=sumas_id(sessions))
    record_step(sessions, visit_id=visit, step=Step.TAKEN, actor="test", method="card", reference="T-1")
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=outcome, actor="test")
    return patient, visit


def entries(sessions: sessionmaker[Session], visit: int) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(models.DepositEntry.step)
                .where(models.DepositEntry.visit_id == visit)
                .order_by(models.DepositEntry.id)
            )
        )


def card(html: str, visit: int) -> str:
    """The chart's card of the visit's deposit, as HTML."""
    main = main_of(html)
    start = main.index(f'<li class="card deposit" id="deposit-{visit}">')
    return main[start : main.index("\n</li>", start)]


def send(client: TestClient, patient: int, visit: int, **fields: str) -> tuple[int, str, str]:
    """A step sent from the chart: (status, where it leads, the page shown)."""
    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(f"/staff/visits/{visit}/deposit", data={"csrf_token": token, **fields}, follow_redirects=False)
    if sent.status_code == 303:
        return 303, sent.headers["location"], client.get(sent.headers["location"]).text
    return sent.status_code, "", sent.text


def slot_at(sessions: sessionmaker[Session], clinic: int, treatment: str) -> str:
    (free,) = find_slots_for(sessions, default_knowledge_base(), treatment=treatment, clinic_id=clinic, limit=1)
    return f"{free.slot.start.astimezone(ZONE):%Y-%m-%dT%H:%M}@{free.slot.practitioner_id}"


def test_the_admin_sets_a_deposit_in_dollars_and_booking_says_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, ADMIN)
    botox = {
        "treatment": "botox",
        "duration_minutes": "30",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "permission": "may-inject",
        "room_kind": "treatment",
        "active": "on",
    }
    page = client.get("/admin/treatments").text
    assert '<label for="deposit">Deposit to hold a visit (dollars, optional)</label>' in page
    assert BOTOX_ROW + " None Change" in text(main_of(page))  # Fraser Valley asks none yet
    audited = count(sessions, models.AuditEntry, models.AuditEntry.action == "clinic.treatment-changed")
    for bad, problem in (
        ("fifty", "'fifty' is not an amount in dollars: write it as 50 or 50.00"),
        ("-5", "'-5' is not an amount in dollars"),
        ("12.345", "is not an amount in dollars"),
        ("10000.01", "at most $10,000.00"),
    ):
        sent = client.post(
            "/admin/treatments/offer", data={**botox, "deposit": bad, "csrf_token": csrf(client, "/admin/treatments")}
        )
        assert sent.status_code == 400, bad
        main = main_of(sent.text)
        assert 'id="deposit-error"' in main and 'href="#deposit"' in main and problem in text(main), bad
        assert f'value="{bad}"' in main  # what was typed stays
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "clinic.treatment-changed") == audited

    sent = client.post(
        "/admin/treatments/offer",
        data={**botox, "deposit": "$1,075.5", "csrf_token": csrf(client, "/admin/treatments")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    with sessions() as session:
        row = session.scalars(select(models.ClinicTreatment).filter_by(clinic_id=CLINIC, treatment_slug="botox")).one()
        assert row.deposit_cents == 107_550
    assert BOTOX_ROW + " $1,075.50 Change" in text(main_of(client.get("/admin/treatments").text))
    assert 'value="1075.50"' in client.get("/admin/treatments?treatment=botox").text  # the form shows it again

    try:
        # Fraser Valley has no notice for changes: only a missed visit lets it keep the deposit.
        slot = slot_at(sessions, CLINIC, "botox")
        new_patient(sessions, "fraser-booker@example.com")
        sign_in(client, "fraser-booker@example.com")
        confirm = client.get("/book/confirm", params={"treatment": "botox", "clinic": CLINIC, "slot": slot})
        shown = text(main_of(confirm.text))
        assert "Fraser Valley Skin Studio asks a $1,075.50 deposit to hold this visit;" in shown
        assert (
            "If the visit is missed, the clinic may keep it; otherwise it counts toward your visit, or is refunded "
            "if you cancel." in shown
        )
        assert "cancelled less than" not in shown

        # Staff booking for a patient are told to take it and record it.
        sign_in(client, FRONT_DESK)
        patient = new_patient(sessions, "fraser-booked@example.com")
        staff = client.get(
            f"/staff/patients/{patient}/book/confirm", params={"treatment": "botox", "clinic": CLINIC, "slot": slot}
        )
        shown = text(main_of(staff.text))
        assert (
            "Take the $1,075.50 deposit at the clinic's terminal or till, then record it on the patient's chart "
            "(safewindow takes no payments). The patient is told: Fraser Valley Skin Studio asks a $1,075.50 deposit"
            in shown
        )
        assert "otherwise it counts toward your visit, or is refunded if you cancel." in shown
        peel = client.get(
            f"/staff/patients/{patient}/book/confirm",
            params={
                "treatment": "chemical-peel-light",
                "clinic": CLINIC,
                "slot": slot_at(sessions, CLINIC, "chemical-peel-light"),
            },
        )
        assert peel.status_code == 200 and "deposit" not in main_of(peel.text)
    finally:
        sign_in(client, ADMIN)
        sent = client.post(
            "/admin/treatments/offer",
            data={**botox, "deposit": "", "csrf_token": csrf(client, "/admin/treatments")},
            follow_redirects=False,
        )
        assert sent.status_code == 303
    assert BOTOX_ROW + " None Change" in text(main_of(client.get("/admin/treatments").text))


def test_a_patient_booking_at_sumas_is_told_the_deposit_and_sees_where_it_stands(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    clinic = sumas_id(sessions)
    new_patient(sessions, "sumas-booker@example.com")
    sign_in(client, "sumas-booker@example.com")
    slot = slot_at(sessions, clinic, "botox")
    confirm = client.get("/book/confirm", params={"treatment": "botox", "clinic": clinic, "slot": slot})
    assert POLICY_24H in text(main_of(confirm.text))
    microneedling = client.get(
        "/book/confirm",
        params={"treatment": "microneedling", "clinic": clinic, "slot": slot_at(sessions, clinic, "microneedling")},
    )
    assert microneedling.status_code == 200 and "deposit" not in main_of(microneedling.text)

    sent = client.post(
        "/book/confirm",
        data={"treatment": "botox", "clinic": str(clinic), "slot": slot, "csrf_token": csrf(client, "/my/visits")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    booked_page = client.get(sent.headers["location"])
    shown = text(main_of(booked_page.text))
    assert "Your visit is booked." in shown
    assert "Deposit Amount $50.00 Where it stands Due: Sumas Mountain Aesthetics will contact you to take it" in shown
    assert POLICY_24H in shown
    visit = int(sent.headers["location"].split("/")[3].split("?")[0])
    with sessions() as session:
        row = session.get(models.Visit, visit)
        assert row is not None and row.deposit_cents == 5000  # the visit keeps what it was booked with
    mine = text(main_of(client.get("/my/visits").text))
    assert "Deposit $50.00: Due: Sumas Mountain Aesthetics will contact you to take it." in mine

    record_step(sessions, visit_id=visit, step=Step.TAKEN, actor="test", method="card")
    shown = text(main_of(client.get(f"/my/visits/{visit}").text))
    assert "Where it stands Received: it holds your visit" in shown
    assert "Deposit $50.00: Received: it holds your visit." in text(main_of(client.get("/my/visits").text))


def test_the_front_desk_takes_a_deposit_from_the_chart(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient, visit = booked(sessions, "takes@example.com")
    sign_in(client, SUMAS_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    shown = text(card(chart, visit))
    assert "Deposit $50.00 Where it stands Due To do Take the deposit" in shown and "Nothing recorded yet." in shown
    assert f"Deposit $50.00: due , take the deposit. Its ledger (visit {visit})" in text(main_of(chart))
    assert f'aria-label="Deposit taken: visit {visit}"' in card(chart, visit)
    assert f'<label for="deposit-{visit}-taken-method">How it was paid</label>' in card(chart, visit)
    assert "Waive" in shown and "Keep" not in shown and "Count toward the visit" not in shown

    # No method: named beside its field, the reference typed stays, nothing written.
    status, _, page = send(client, patient, visit, step="taken", reference="R-1001")
    assert status == 400
    shown_card = card(page, visit)
    assert f'id="deposit-{visit}-taken-method-error"' in shown_card
    assert "How it was paid: say how the money changed hands: one of card, cash, e-transfer, other" in text(shown_card)
    assert f'href="#deposit-{visit}-taken-method"' in shown_card and 'value="R-1001"' in shown_card
    assert entries(sessions, visit) == []

    status, location, page = send(client, patient, visit, step="taken", method="card", reference="R-1001")
    assert status == 303 and location == f"/staff/patients/{patient}?deposit={visit}&step=taken#deposit-{visit}"
    assert f"The deposit for visit {visit} is taken: it holds the visit." in text(main_of(page))
    shown = text(card(page, visit))
    assert "Where it stands Held To do Nothing" in shown
    assert "Taken $50.00 card R-1001 desk@sumas.example (front-desk)" in shown  # by name, not account id
    assert "Deposit taken" not in shown and "Record a step" in shown  # only a refund is left, out of the way
    assert entries(sessions, visit) == ["taken"]
    client.get(location)  # reloading records nothing twice
    assert entries(sessions, visit) == ["taken"]


def test_each_later_step_is_offered_when_the_policy_allows_it_and_recorded(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    sign_in(client, SUMAS_DESK)
    # Completed: counted toward the visit.
    patient, visit = begun(sessions, "applied@example.com", Outcome.COMPLETED)
    shown = text(card(client.get(f"/staff/patients/{patient}").text, visit))
    assert "Held To do Count it toward the visit" in shown and "Keep" not in shown
    status, _, page = send(client, patient, visit, step="applied")
    assert status == 303 and f"The deposit for visit {visit} is counted toward the visit." in text(main_of(page))
    shown = text(card(page, visit))
    assert "Where it stands Counted toward the visit To do Nothing" in shown
    assert "Taken $50.00 card T-1 test" in shown
    assert "Counted toward the visit $50.00 — — desk@sumas.example (front-desk)" in shown
    assert "<form" not in card(page, visit)  # settled: nothing left to record

    # Not attended: kept (or refunded, the clinic's choice); a kept one may still be refunded as goodwill.
    patient, visit = begun(sessions, "missed@example.com", Outcome.NO_SHOW)
    chart = card(client.get(f"/staff/patients/{patient}").text, visit)
    assert "Keep it or refund it: the visit was cancelled late or missed" in text(chart)
    assert f'aria-label="Keep: visit {visit}"' in chart and f'aria-label="Refund: visit {visit}"' in chart
    assert "<details" not in chart  # both are what the todo asks
    assert send(client, patient, visit, step="kept")[0] == 303
    status, _, page = send(client, patient, visit, step="refunded", method="e-transfer", reference="goodwill")
    assert status == 303
    shown = text(card(page, visit))
    assert "Where it stands Refunded" in shown and "Refunded $50.00 e-transfer goodwill" in shown
    assert entries(sessions, visit) == ["taken", "kept", "refunded"]

    # Cancelled in time: to refund.
    patient, visit = booked(sessions, "intime@example.com")
    record_step(sessions, visit_id=visit, step=Step.TAKEN, actor="test", method="cash")
    cancel(
        sessions,
        default_knowledge_base(),
        visit_id=visit,
        actor="test",
        now=first_start(sessions, visit) - timedelta(days=2),
    )
    assert "To do Refund it: the visit was cancelled in time" in text(
        card(client.get(f"/staff/patients/{patient}").text, visit)
    )

    # Waived, with a reason: none given is named beside its field.
    patient, visit = booked(sessions, "waived@example.com")
    status, _, page = send(client, patient, visit, step="waived")
    assert status == 400 and f'id="deposit-{visit}-waived-reason-error"' in page
    assert '<details class="deposit-details" open>' in card(page, visit)  # the form sent stays open
    assert "Why it is waived: say why the deposit is waived" in text(main_of(page))
    assert entries(sessions, visit) == []
    status, _, page = send(client, patient, visit, step="waived", reason="Long-time client")
    assert status == 303 and "Waived $50.00 — Long-time client" in text(card(page, visit))


def first_start(sessions: sessionmaker[Session], visit: int) -> datetime:
    with sessions() as session:
        row = session.get(models.Visit, visit)
        assert row is not None
        return row.start_at


def test_a_step_out_of_turn_is_refused_and_only_the_clinics_staff_may_record(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = booked(sessions, "outofturn@example.com")
    sign_in(client, SUMAS_DESK)
    status, _, page = send(client, patient, visit, step="kept")  # a forged form: the chart offers no Keep yet
    assert status == 409
    main = main_of(page)
    assert "We could not record this step of the deposit" in main and "deposit-cannot-be-kept" in main
    assert f"Visit {visit}'s deposit cannot be kept: the deposit is due, not held." in text(main)
    assert send(client, patient, visit, step="applied")[0] == 409
    assert send(client, patient, visit, step="lost")[0] == 400
    assert send(client, patient, visit, step="taken", method="bitcoin")[0] == 400
    assert entries(sessions, visit) == []
    assert send(client, patient, visit, step="taken", method="cash")[0] == 303
    status, _, page = send(client, patient, visit, step="taken", method="cash")
    assert status == 409 and "deposit-cannot-be-taken" in page and "the deposit is held, not due" in text(page)
    assert entries(sessions, visit) == ["taken"]
    assert client.post(f"/staff/visits/{visit}/deposit", data={"step": "refunded", "method": "cash"}).status_code == 403

    # The patient: no forms in their pages, and a forged step is a 403.
    sign_in(client, "outofturn@example.com")
    assert "/deposit" not in client.get(f"/my/visits/{visit}").text
    token = csrf(client, "/my/visits")
    forged = client.post(
        f"/staff/visits/{visit}/deposit", data={"csrf_token": token, "step": "refunded", "method": "cash"}
    )
    assert forged.status_code == 403

    # Another clinic's front desk sees the deposit on the chart, but records none there.
    sign_in(client, FRONT_DESK)
    shown = card(client.get(f"/staff/patients/{patient}").text, visit)
    assert "<form" not in shown and "Held" in text(shown)
    status, _, _ = send(client, patient, visit, step="refunded", method="cash")
    assert status == 404
    assert entries(sessions, visit) == ["taken"]


def test_the_clinics_list_shows_what_to_do_and_its_late_cancellations_and_no_shows(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    clinic = sumas_id(sessions)
    due_patient, due = booked(sessions, "listed@example.com")
    _, late = booked(sessions, "latecancel@example.com", after=timedelta(days=3))  # after today
    late_start = first_start(sessions, late)
    cancel(sessions, default_knowledge_base(), visit_id=late, actor="test", now=late_start - timedelta(hours=2))
    _, missed = begun(sessions, "noshow@example.com", Outcome.NO_SHOW)

    sign_in(client, SUMAS_DESK)
    assert 'href="/staff/deposits"' in client.get("/staff").text
    audited = count(sessions, models.AuditEntry, models.AuditEntry.entity == "clinic-deposits")
    page = client.get("/staff/deposits")
    assert page.status_code == 200
    main = main_of(page.text)
    assert "<h1>Deposits at Sumas Mountain Aesthetics</h1>" in main
    pending = main[main.index('id="pending-title"') : main.index('id="missed-title"')]
    assert f'href="/staff/patients/{due_patient}#deposit-{due}"' in pending
    assert f"Test Listed Botulinum toxin (Botox and similar) (visit {due})" in text(pending)
    assert "booked $50.00 Due Take the deposit" in text(pending)
    assert f"Test Noshow Botulinum toxin (Botox and similar) (visit {missed})" in text(pending)
    assert "Keep it or refund it" in text(pending)
    assert f"(visit {late})" not in pending  # never taken: nothing to settle
    missed_list = text(main[main.index('id="missed-title"') :])
    assert f"(visit {missed})" in missed_list and "No-show $50.00" in missed_list
    assert f"(visit {late})" not in missed_list  # its day is ahead, after the last 30 days
    assert count(sessions, models.AuditEntry, models.AuditEntry.entity == "clinic-deposits") == audited + 1
    with sessions() as session:
        entry = session.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.entity == "clinic-deposits")
            .order_by(models.AuditEntry.id.desc())
        ).first()
        assert entry is not None and (entry.action, entry.entity_id, entry.detail) == (
            "clinic-deposits.read",
            str(clinic),
            {},
        )

    day = late_start.astimezone(ZONE).date()
    # From tomorrow: the no-show may have been earlier today (the first time free since two days ago).
    tomorrow = (today() + timedelta(days=1)).isoformat()
    wider = main_of(client.get("/staff/deposits", params={"from": tomorrow, "to": day.isoformat()}).text)
    missed_list = text(wider[wider.index('id="missed-title"') :])
    assert f"Test Latecancel Botulinum toxin (Botox and similar) (visit {late})" in missed_list
    assert "Cancelled late $50.00" in missed_list and f"(visit {missed})" not in missed_list

    for params, field, problem in (
        ({"from": "yesterday"}, "from", "'yesterday' is not a date in YYYY-MM-DD form"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to", "comes before the first (2026-03-10); swap them"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "to", "at most a year"),
    ):
        bad = client.get("/staff/deposits", params=params)
        assert bad.status_code == 400, params
        assert f'id="{field}-error"' in bad.text and problem in text(main_of(bad.text)), params
        assert "Deposits to act on" in bad.text  # the list still shows

    sign_in(client, FRONT_DESK)  # Fraser Valley's: its own clinic, which asks no deposits
    own = main_of(client.get("/staff/deposits").text)
    assert "Deposits at Fraser Valley Skin Studio" in own and "Test Listed" not in own
    elsewhere = client.get("/staff/deposits", params={"clinic": clinic})
    assert elsewhere.status_code == 400 and f"you do not work at clinic {clinic}" in elsewhere.text
    assert "Test Listed" not in elsewhere.text
    sign_in(client, "listed@example.com")
    assert client.get("/staff/deposits").status_code == 403
