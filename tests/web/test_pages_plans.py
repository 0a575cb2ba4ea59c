"""The plan pages as a browser without JavaScript uses them: a plan proposed and drawn as a timeline (each step's
minimum, ideal window and chosen day, in words and as a bar), booked only as shown and only with the CSRF
token; the patient's own plan page; the recall list with one-click booking and its refusals; and a move that
lists the visits it makes unsafe with their new times, applied together only when confirmed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.knowledge.loader import default_knowledge_base
from safewindow.knowledge.plan_loader import default_plans
from safewindow.services.catalogue import FINAL_WORD
from safewindow.services.plan_records import proposal_timeline
from safewindow.services.plans import book_plan, propose_plan
from safewindow.services.slots import find_slots_for
from safewindow.store import models
from safewindow.store.plan_models import Plan
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_pages_support import (
    CLINIC,
    FRONT_DESK,
    PATIENT,
    ZONE,
    client_for,
    count,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
    today,
)

SERIES = "microneedling-series-then-botox"
KB = default_knowledge_base()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("plans"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def fields(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', html)


def one(html: str, name: str) -> str:
    [value] = fields(html, name)
    return value


def book_form(html: str) -> dict[str, str | list[str]]:
    """The booking form's fields, as the browser sends them."""
    form = html[html.index('class="book-plan"') :]
    form = form[: form.index("</form>")]
    return {
        "csrf_token": one(form, "csrf_token"),
        "template": one(form, "template"),
        "clinic": one(form, "clinic"),
        "start": one(form, "start"),
        "event": one(form, "event"),
        "shown": fields(form, "shown"),
    }


def plan_visits(sessions: sessionmaker[Session], patient: int) -> int:
    return count(sessions, models.Visit, models.Visit.patient_id == patient)


# --- The plan page ------------------------------------------------------------------------------------------------


def test_the_plan_form_is_labelled_and_audited(client: TestClient, sessions: sessionmaker[Session]) -> None:
    sign_in(client, FRONT_DESK)
    audited = count(sessions, models.AuditEntry, models.AuditEntry.action == "patient-plan.read")
    page = client.get("/staff/patients/1/plan")
    assert page.status_code == 200
    html = page.text
    assert '<link rel="stylesheet" href="/static/plans.css">' in html
    assert "<legend>Plan</legend>" in html and f'value="{SERIES}"' in html
    for name in ("clinic", "start", "event"):
        assert f'<label for="{name}">' in html and f'id="{name}" name="{name}"' in html
    assert 'id="template" name="template"' in html  # the first choice, where the error summary points
    assert FINAL_WORD in text(html)
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "patient-plan.read") == audited + 1
    assert client.get("/static/plans.css").status_code == 200


def test_staff_propose_see_the_timeline_and_book_the_plan_as_shown(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "page.series@example.com")
    sign_in(client, FRONT_DESK)
    page = client.get(f"/staff/patients/{patient}/plan", params={"template": SERIES, "clinic": CLINIC})
    assert page.status_code == 200, text(main_of(page.text))
    main = main_of(page.text)
    words = text(main)
    assert "The journey, step by step" in words
    assert len(re.findall(r'<li class="journey-step (ideal|allowed)">', main)) == 4
    for step in ("Step 1: Microneedling, session 1 of 3", "session 3 of 3", "Step 2: Botulinum toxin"):
        assert step in words
    for term in ("Chosen", "Not before", "Ideal window"):
        assert main.count(f"<dt>{term}</dt>") == 4
    assert main.count('<div class="window-bar" aria-hidden="true">') == 4
    assert 'style="' not in main  # the content security policy allows no inline styles
    # The Botox: at least 14 days after the last microneedling, ideally 14 to 28; its bar has the ideal band.
    botox = main[main.index("Step 2: Botulinum") :]
    assert '<span class="ideal-band s-' in botox and "at least 14 days after microneedling" in text(botox)
    assert plan_visits(sessions, patient) == 0  # a proposal writes nothing

    form = book_form(page.text)
    assert len(form["shown"]) == 4
    sent = client.post(f"/staff/patients/{patient}/plan", data=form, follow_redirects=False)
    assert sent.status_code == 303, text(main_of(sent.text))
    location = sent.headers["location"]
    assert re.fullmatch(rf"/staff/patients/{patient}/plans/\d+\?booked=1", location)
    assert plan_visits(sessions, patient) == 4
    booked = client.get(location)
    assert booked.status_code == 200
    shown = text(main_of(booked.text))
    assert "The plan is booked: all 4 visits." in shown and shown.count("Not before") == 4
    assert all(value[:10] in booked.text for value in form["shown"])  # the days the page showed are the ones booked


def test_a_plan_that_changed_since_it_was_shown_is_not_booked(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "page.stale@example.com")
    sign_in(client, FRONT_DESK)
    page = client.get(f"/staff/patients/{patient}/plan", params={"template": "botox-and-filler", "clinic": CLINIC})
    form = book_form(page.text)
    form["shown"] = ["2030-01-01T09:00@1", "2030-01-01T10:00@1"]
    sent = client.post(f"/staff/patients/{patient}/plan", data=form, follow_redirects=False)
    assert sent.status_code == 409
    assert "The diary changed since the plan was shown." in text(sent.text)
    assert plan_visits(sessions, patient) == 0
    form.pop("csrf_token")
    assert client.post(f"/staff/patients/{patient}/plan", data=form).status_code == 403
    assert plan_visits(sessions, patient) == 0


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"template": "event-ready", "clinic": "1"}, "event", "needs the date of the event"),
        ({"template": "no-such-plan", "clinic": "1"}, "template", "there is no plan"),
        ({"template": "", "clinic": "1"}, "template", "choose a plan"),
        ({"template": SERIES, "clinic": "3"}, "clinic", "no clinic 3 to choose here"),  # the front desk's is 1
        ({"template": SERIES, "clinic": "1", "start": "31/12/2026"}, "start", "YYYY-MM-DD"),
        ({"template": SERIES, "clinic": "1", "start": "2199-12-31"}, "start", "after the last day"),
    ],
)
def test_bad_plan_questions_are_named_beside_their_field(
    client: TestClient, params: dict[str, str], field: str, words: str
) -> None:
    sign_in(client, FRONT_DESK)
    page = client.get("/staff/patients/1/plan", params=params)
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.text and words in text(page.text)
    assert "Please check your answers" in page.text and f'href="#{field}"' in page.text


def test_a_plan_too_close_to_the_event_is_explained_and_offers_no_booking(client: TestClient) -> None:
    sign_in(client, FRONT_DESK)
    event = (today() + timedelta(days=6)).isoformat()
    page = client.get("/staff/patients/1/plan", params={"template": "event-ready", "clinic": "1", "event": event})
    assert page.status_code == 200
    assert "No safe plan." in text(page.text) and 'class="book-plan"' not in page.text


def test_a_patient_plans_and_books_for_themselves_only(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "page.mine@example.com")
    sign_in(client, "page.mine@example.com")
    page = client.get("/my/plan", params={"template": "botox-and-filler", "clinic": CLINIC})
    assert page.status_code == 200 and "Plan your treatments" in page.text
    sent = client.post("/my/plan", data=book_form(page.text), follow_redirects=False)
    assert sent.status_code == 303 and re.fullmatch(r"/my/plans/\d+\?booked=1", sent.headers["location"])
    assert plan_visits(sessions, patient) == 2
    mine = client.get(sent.headers["location"])
    assert mine.status_code == 200 and "The plan is booked: all 2 visits." in text(mine.text)
    assert client.get("/my/plan").text.count("/my/plans/") >= 1  # listed under the plans booked

    with UnitOfWork(sessions) as uow:
        plan_id = uow.session.scalar(select(Plan.id).where(Plan.patient_id == patient))
    sign_in(client, PATIENT)  # another patient: that plan is 'not found', and staff pages are closed
    assert client.get(f"/my/plans/{plan_id}").status_code == 404
    assert client.get(f"/staff/patients/{patient}/plan").status_code == 403
    assert client.get("/staff/recalls").status_code == 403


def test_staff_pages_send_a_visitor_to_sign_in(client: TestClient) -> None:
    for path in ("/staff/patients/1/plan", "/staff/recalls", "/my/plan"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


# --- Recalls ----------------------------------------------------------------------------------------------------------


def done_botox(sessions: sessionmaker[Session], patient: int, days_ago: int) -> None:
    start = datetime.combine(today() - timedelta(days=days_ago), datetime.min.time(), ZONE).replace(hour=9)
    with UnitOfWork(sessions, write=True) as uow:
        uow.session.add(
            models.Visit(
                patient_id=patient,
                clinic_id=CLINIC,
                treatment_slug="botox",
                practitioner_id=1,
                room_id=2,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                held_from=start,  # no buffers
                held_until=start + timedelta(minutes=30),
                status=models.VisitStatus.COMPLETED,
                created_by="test",
            )
        )
        uow.commit()


def recall_form(html: str, name: str) -> dict[str, str]:
    card = html[html.index(name) :]
    card = card[: card.index("</li>")]
    return {n: one(card, n) for n in ("csrf_token", "patient", "treatment", "clinic", "slot", "on")}


def test_the_front_desk_books_a_recall_in_one_click(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "page.recall@example.com")
    done_botox(sessions, patient, 100)
    sign_in(client, FRONT_DESK)
    page = client.get("/staff/recalls", params={"clinic": CLINIC})
    assert page.status_code == 200
    name = "Test Page.Recall"
    card = text(page.text[page.text.index(name) :])
    assert card.startswith(f"{name} : Botulinum toxin") and "Due" in card and "First safe time" in card
    form = recall_form(page.text, name)
    assert form["patient"] == str(patient) and form["treatment"] == "botox"
    sent = client.post("/staff/recalls/book", data=form, follow_redirects=False)
    assert sent.status_code == 303 and "booked=" in sent.headers["location"]
    assert count(sessions, models.Visit, models.Visit.patient_id == patient, models.Visit.status == "booked") == 1
    after = client.get(sent.headers["location"])
    assert f"Booked: Botulinum toxin (Botox and similar) for {name}" in text(after.text)
    assert f"{name} :" not in text(main_of(after.text)).split("recall")[-1]  # answered: no longer listed


def test_a_recall_booking_that_is_refused_shows_every_reason(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "page.refused@example.com")
    done_botox(sessions, patient, 110)
    sign_in(client, FRONT_DESK)
    form = recall_form(client.get("/staff/recalls").text, "Test Page.Refused")
    monday = today() + timedelta(days=7 - today().weekday())  # clinic 1 is closed on Mondays
    sent = client.post("/staff/recalls/book", data={**form, "slot": f"{monday}T10:00"})
    assert sent.status_code == 409
    words = text(main_of(sent.text))
    assert "We could not book Test Page.Refused’s recall" in words and "Nothing was changed." in words
    assert count(sessions, models.Visit, models.Visit.patient_id == patient, models.Visit.status == "booked") == 0
    assert client.post("/staff/recalls/book", data={**form, "csrf_token": "stale"}).status_code == 403


# --- Moving a visit and the visits it makes unsafe --------------------------------------------------------------------


def booked_series(sessions: sessionmaker[Session], email: str) -> tuple[int, list[models.Visit]]:
    patient = new_patient(sessions, email)
    proposal = propose_plan(sessions, KB, default_plans(), template=SERIES, patient_id=patient, clinic_id=CLINIC)
    booked = book_plan(sessions, KB, proposal, actor="test")
    return patient, sorted((b.visit for b in booked.booked), key=lambda v: v.start_at)


def local(instant: datetime) -> datetime:
    return instant.astimezone(ZONE)


def starts(sessions: sessionmaker[Session], *visits: int) -> list[datetime]:
    """The visits' local start times as stored now."""
    with UnitOfWork(sessions) as uow:
        rows = [uow.session.get(models.Visit, v) for v in visits]
        return [local(row.start_at) for row in rows if row is not None]


def test_a_move_lists_the_visits_it_makes_unsafe_and_moves_them_together_when_confirmed(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, visits = booked_series(sessions, "page.move@example.com")
    third, botox = visits[2], visits[3]
    [slot] = find_slots_for(
        sessions,
        KB,
        treatment="microneedling",
        clinic_id=CLINIC,
        practitioner_id=third.practitioner_id,
        first_day=local(third.start_at).date() + timedelta(days=1),
        limit=1,
    )
    new = local(slot.slot.start)
    assert (local(botox.start_at).date() - new.date()).days < 14
    sign_in(client, FRONT_DESK)
    path = f"/staff/visits/{third.id}/move"
    assert client.get(path).status_code == 200
    page = client.get(path, params={"day": new.date().isoformat(), "time": f"{new:%H:%M}"})
    assert page.status_code == 200, text(main_of(page.text))
    words = text(main_of(page.text))
    assert "1 other visit would become unsafe." in words
    assert f"(visit {botox.id})" in words and "microneedling-then-botox" in words
    [replan] = fields(page.text, "replan")
    visit_id, _, proposed = replan.partition("@")
    assert int(visit_id) == botox.id and (date.fromisoformat(proposed[:10]) - new.date()).days >= 14
    assert f'href="/staff/patients/{third.patient_id}">Cancel</a>' in page.text
    assert starts(sessions, third.id, botox.id) == [local(third.start_at), local(botox.start_at)]  # nothing moved

    form = page.text[page.text.index('class="confirm-move"') :]
    data = {n: one(form, n) for n in ("csrf_token", "day", "time", "replan")}
    sent = client.post(path, data=data, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{path}?moved={third.id},{botox.id}"
    done = text(main_of(client.get(sent.headers["location"]).text))
    assert "Moved 2 visits, all together." in done
    assert [f"{t:%Y-%m-%dT%H:%M}" for t in starts(sessions, third.id, botox.id)] == [f"{new:%Y-%m-%dT%H:%M}", proposed]


def test_a_confirmed_move_that_is_no_longer_safe_is_refused_whole(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, visits = booked_series(sessions, "page.unsafe@example.com")
    third, botox = visits[2], visits[3]
    sign_in(client, FRONT_DESK)
    path = f"/staff/visits/{third.id}/move"
    csrf = one(client.get(path).text, "csrf_token")
    day = local(botox.start_at).date() - timedelta(days=1)  # the Botox left where it is, a day after
    sent = client.post(path, data={"csrf_token": csrf, "day": day.isoformat(), "time": "10:00"})
    assert sent.status_code == 409 and "We could not move these visits" in text(sent.text)
    with UnitOfWork(sessions) as uow:
        stored = uow.session.get(models.Visit, third.id)
        assert stored is not None and stored.start_at == third.start_at


def test_the_move_page_names_bad_times_and_hides_other_clinics_visits(client: TestClient) -> None:
    sign_in(client, FRONT_DESK)
    page = client.get("/staff/visits/1/move", params={"day": "2026-13-01", "time": "10:00"})
    assert page.status_code == 400 and 'id="day-error"' in page.text
    # Avneet Dhillon's HydraFacial is at Mill Lake Medispa (clinic 3): not the front desk's to move.
    assert client.get("/staff/visits/5/move").status_code == 404


def test_each_step_s_window_is_what_the_rules_and_the_plan_s_spacing_say(sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "page.windows@example.com")
    proposal = propose_plan(sessions, KB, default_plans(), template=SERIES, patient_id=patient, clinic_id=CLINIC)
    timeline = proposal_timeline(sessions, KB, proposal)
    first, second, third, botox = timeline.windows
    assert [w.item.session for w in (first, second, third)] == [1, 2, 3] and botox.item.treatment == "botox"
    assert first.earliest == today() and first.ideal is None  # nothing before it binds
    # The series 28 days apart, ideally 28-42; Botox at least 14 days after the last, ideally 14-28.
    for before, after, least, most in ((first, second, 28, 42), (second, third, 28, 42), (third, botox, 14, 28)):
        assert after.earliest == before.day + timedelta(days=least)
        assert after.ideal == (after.earliest, before.day + timedelta(days=most))
    for w in timeline.windows:
        assert w.earliest <= w.day and timeline.first <= w.day <= timeline.last
        if w.fit == "ideal" and w.ideal is not None:
            assert w.ideal[0] <= w.day <= w.ideal[1]
        bar = timeline.bar(w)
        assert bar["soon"] == timeline.at(w.earliest) <= bar["chosen"] <= 100
