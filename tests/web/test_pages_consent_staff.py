"""Consent forms on the staff's pages: the chart says where each upcoming visit's consent stands (not signed, then
signed once the front desk records the paper form the patient signed by hand); a paper form with the wrong name,
or none of its answers, names each field and writes nothing; a patient's forged post, a post without the session's
token, and staff of another clinic are refused; each view of a signature's words is audited; a withdrawal flags the
visit again. The clinic administrator's editor starts from the knowledge base's starter where the clinic has no
form, from the form in use otherwise; saving a change makes a new version, which the chart then asks the patient to
sign; saving it unchanged makes none; bad input is named beside its field; other roles may not open it.

Every test makes its own patient, and each treatment whose form a test changes is changed by that test only (the
tests share one demo store, and may run in any order)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.consent import Form, starter_body
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.consents import form_for, form_versions, sign
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.store import models
from safewindow.store.consent_models import Consent, ConsentForm, ConsentWithdrawal
from safewindow.store.unit_of_work import UnitOfWork
from tests.visits import begun_visit, first_free_visit
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    PATIENT,
    PRACTITIONER,
    client_for,
    count,
    csrf,
    demo_store,
    main_of,
    new_patient,
    sign_in,
    text,
)

SUMAS_FRONT_DESK = "frontdesk.sumas@demo.example"  # works at Sumas Mountain Aesthetics only
WRITTEN_RECORD = "the practitioner still confirms informed consent with the patient at the visit"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("consent-staff"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def in_use(sessions: sessionmaker[Session], treatment: str) -> Form:
    with UnitOfWork(sessions) as uow:
        form = form_for(uow.session, CLINIC, treatment)
    assert form is not None, f"the demo clinic has no form for {treatment}"
    return form


def versions(sessions: sessionmaker[Session], treatment: str) -> int:
    with UnitOfWork(sessions) as uow:
        return len(form_versions(uow.session, CLINIC, treatment))


def booked(sessions: sessionmaker[Session], email: str, treatment: str = "microneedling") -> tuple[int, int]:
    """A new patient with a visit of `treatment` booked at the demo clinic: (patient, visit)."""
    patient = new_patient(sessions, email)
    return patient, first_free_visit(sessions, patient, clinic_id=CLINIC, treatment=treatment).id


def signatures(sessions: sessionmaker[Session], patient: int) -> list[Consent]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(Consent).where(Consent.patient_id == patient).order_by(Consent.id)))


def visit_card(html: str, visit: int) -> str:
    """What an upcoming visit's card on the chart says, as read."""
    main = main_of(html)
    start = main.index(f'<li class="card" id="visit-{visit}">')
    return text(main[start : main.index("</li>", start)])


def section(html: str) -> str:
    """The chart's Consent forms section, as HTML."""
    main = main_of(html)
    start = main.index('<section aria-labelledby="consents-title" id="consents">')
    return main[start : main.index("</section>", start)]


def error_of(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="error-message" id="{field_id}-error">(.*?)</p>', html, re.S)
    assert found, f"no error beside {field_id}"
    return text(found.group(1)).strip()


def paper(client: TestClient, patient: int, **fields: str) -> tuple[int, str, str]:
    """The chart's paper-form form sent with its token: (status, where it leads, the page shown)."""
    token = csrf(client, f"/staff/patients/{patient}")
    sent = client.post(
        f"/staff/patients/{patient}/consents", data={"csrf_token": token, **fields}, follow_redirects=False
    )
    if sent.status_code == 303:
        return 303, sent.headers["location"], client.get(sent.headers["location"]).text
    return sent.status_code, "", sent.text


def signed_on_paper(client: TestClient, patient: int, treatment: str, name: str, version: int = 1) -> int:
    """A signed paper form recorded from the chart: its id."""
    status, location, _ = paper(
        client, patient, form=f"{CLINIC}:{treatment}", version=str(version), signed_name=name, agreed="yes"
    )
    assert status == 303, location
    found = re.search(r"consented=(\d+)", location)
    assert found
    return int(found.group(1))


# --- The chart ------------------------------------------------------------------------------------------------------


def test_the_chart_says_not_signed_then_covered_once_the_paper_form_is_recorded(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = booked(sessions, "unsigned@example.com")
    sign_in(client, FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    card = visit_card(chart, visit)
    assert "No signed consent form covers this visit." in card
    assert "Not signed: the patient has not signed “Consent to Microneedling” (version 1)." in card
    assert 'class="flag block order-missing consent-missing"' in main_of(chart)
    consents = text(section(chart))
    assert "None signed." in consents and WRITTEN_RECORD in consents
    assert f'action="/staff/patients/{patient}/consents"' in chart
    assert f'<option value="{CLINIC}:microneedling">' in section(chart)
    assert "The patient signed the paper form, which is filed" in consents

    status, location, shown = paper(
        client, patient, form=f"{CLINIC}:microneedling", version="1", signed_name=" test  UNSIGNED ", agreed="yes"
    )
    assert status == 303 and location.startswith(f"/staff/patients/{patient}?consented=")
    card = visit_card(shown, visit)
    assert "No signed consent form covers this visit." not in card
    assert "Consent form: Signed on" in card and "on paper, recorded by frontdesk@demo.example (front-desk)" in card
    consents = text(section(shown))
    assert "The signed paper form is recorded: “Consent to Microneedling”, version 1" in consents
    assert "On paper, recorded by frontdesk@demo.example (front-desk)" in consents and "In force" in consents
    (stored,) = signatures(sessions, patient)
    assert (stored.on_paper, stored.signed_name, stored.recorded_by.startswith("front-desk:")) == (
        True,
        "test UNSIGNED",
        True,
    )
    assert f'href="/staff/consents/{stored.id}"' in section(shown)
    with UnitOfWork(sessions) as uow:
        audit = uow.session.scalars(
            select(models.AuditEntry).where(
                models.AuditEntry.action == "patient.consent-signed", models.AuditEntry.entity_id == str(patient)
            )
        ).one()
    assert audit.detail == {"consent_id": stored.id, "form_id": stored.form_id, "on_paper": True}  # ids only

    # Recorded, the page is the chart's own address: reloading it records nothing.
    client.get(location)
    assert len(signatures(sessions, patient)) == 1


def test_a_paper_form_with_the_wrong_name_or_missing_answers_names_each_field_and_writes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, _ = booked(sessions, "misnamed@example.com")
    sign_in(client, FRONT_DESK)
    status, _, shown = paper(
        client, patient, form=f"{CLINIC}:microneedling", version="1", signed_name="Someone Else", agreed="yes"
    )
    assert status == 400
    consents = section(shown)
    assert "type the full name the clinic has on file: Test Misnamed" in error_of(consents, "consent-signed_name")
    assert 'href="#consent-signed_name"' in consents  # the summary leads to the field
    assert 'value="Someone Else"' in consents and 'aria-invalid="true"' in consents  # the form as sent
    assert f'<option value="{CLINIC}:microneedling" selected>' in consents
    assert signatures(sessions, patient) == []

    status, _, shown = paper(client, patient)
    assert status == 400
    consents = section(shown)
    assert error_of(consents, "consent-form") == "Error: choose the form the patient signed"
    assert "give the version printed on the paper form" in error_of(consents, "consent-version")
    assert "type the name as the patient signed it" in error_of(consents, "consent-signed_name")
    assert "the patient has signed the paper form and it is filed" in error_of(consents, "consent-agreed")

    # A version that is no number, or one the form never had, is named; the other answers still are.
    status, _, shown = paper(client, patient, form=f"{CLINIC}:microneedling", version="v1", signed_name="Test Misnamed")
    assert status == 400
    consents = section(shown)
    assert "is not a version number" in error_of(consents, "consent-version")
    assert "tick the box" in error_of(consents, "consent-agreed")
    assert 'id="consent-signed_name-error"' not in consents
    status, _, shown = paper(
        client, patient, form=f"{CLINIC}:microneedling", version="7", signed_name="Test Misnamed", agreed="yes"
    )
    assert status == 400
    assert "there is no version 7: the form in use is version 1" in error_of(section(shown), "consent-version")
    status, _, shown = paper(
        client, patient, form=f"{CLINIC}:microneedling", version="0", signed_name="Test Misnamed", agreed="yes"
    )
    assert status == 400 and "there is no version 0" in error_of(section(shown), "consent-version")
    status, _, shown = paper(
        client, patient, form=f"{CLINIC}:chemical-peel-light", version="1", signed_name="Test Misnamed", agreed="yes"
    )
    assert status == 400 and "the clinic has no such form" in error_of(section(shown), "consent-form")
    assert signatures(sessions, patient) == []


def test_a_paper_form_recorded_later_is_dated_as_written_on_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, _ = booked(sessions, "dated@example.com")
    sign_in(client, FRONT_DESK)
    form = {"form": f"{CLINIC}:microneedling", "version": "1", "signed_name": "Test Dated", "agreed": "yes"}
    assert 'type="date" id="consent-signed_on" name="signed_on"' in section(
        client.get(f"/staff/patients/{patient}").text
    )
    status, _, shown = paper(client, patient, **form, signed_on="2026-11-10")  # the form is in use from 11 Nov
    assert status == 400 and "was put in use on 11 Nov 2026" in error_of(section(shown), "consent-signed_on")
    assert 'value="2026-11-10"' in section(shown) and 'href="#consent-signed_on"' in section(shown)
    status, _, shown = paper(client, patient, **form, signed_on="10/11/2026")
    assert status == 400 and "is not a date in YYYY-MM-DD form" in error_of(section(shown), "consent-signed_on")
    assert signatures(sessions, patient) == []

    status, _, _ = paper(client, patient, **form, signed_on="2026-11-12")
    assert status == 303
    (stored,) = signatures(sessions, patient)
    assert (stored.signed_on, stored.on_paper) == (date(2026, 11, 12), True)


def test_a_patients_forged_post_a_post_without_the_token_and_another_clinics_staff_are_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, _ = booked(sessions, "guarded@example.com")
    fields = {"form": f"{CLINIC}:microneedling", "version": "1", "signed_name": "Test Guarded", "agreed": "yes"}

    sign_in(client, "guarded@example.com")  # the patient, with their own session's token
    token = csrf(client, "/account")
    forged = client.post(f"/staff/patients/{patient}/consents", data={"csrf_token": token, **fields})
    assert forged.status_code == 403
    assert client.get(f"/staff/patients/{patient}").status_code == 403

    sign_in(client, FRONT_DESK)
    assert client.post(f"/staff/patients/{patient}/consents", data=fields).status_code == 403  # no token
    wrong = client.post(f"/staff/patients/{patient}/consents", data={"csrf_token": "not-the-token", **fields})
    assert wrong.status_code == 403
    assert signatures(sessions, patient) == []
    consent = signed_on_paper(client, patient, "microneedling", "Test Guarded")
    assert client.post(f"/staff/consents/{consent}/withdraw", data={"back": "chart"}).status_code == 403

    # Sumas Mountain's front desk is offered its own clinic's forms, and may not record or withdraw this one's.
    sign_in(client, SUMAS_FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    assert f'value="{CLINIC}:microneedling"' not in section(chart) and "Sumas Mountain Aesthetics:" in section(chart)
    assert f'action="/staff/consents/{consent}/withdraw"' not in chart
    assert paper(client, patient, **fields)[0] == 403
    token = csrf(client, f"/staff/patients/{patient}")
    assert client.post(f"/staff/consents/{consent}/withdraw", data={"csrf_token": token}).status_code == 403

    sign_in(client, "guarded@example.com")
    token = csrf(client, "/account")
    assert client.get(f"/staff/consents/{consent}").status_code == 403
    assert client.post(f"/staff/consents/{consent}/withdraw", data={"csrf_token": token}).status_code == 403
    assert len(signatures(sessions, patient)) == 1
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 0


def test_each_view_of_the_words_signed_is_audited_and_a_withdrawal_flags_the_visit_again(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = booked(sessions, "withdrawing@example.com")
    sign_in(client, FRONT_DESK)
    consent = signed_on_paper(client, patient, "microneedling", "Test Withdrawing")
    reads = (models.AuditEntry.action == "consent.read", models.AuditEntry.entity_id == str(consent))
    assert count(sessions, models.AuditEntry, *reads) == 0

    sign_in(client, PRACTITIONER)
    page = client.get(f"/staff/consents/{consent}")
    assert page.status_code == 200
    main = text(main_of(page.text))
    assert "“Consent to Microneedling”, signed by Test Withdrawing" in main
    assert "I ask Fraser Valley Skin Studio to treat me with Microneedling." in main  # the exact words
    assert "On paper, signed by hand; recorded by frontdesk@demo.example (front-desk)" in main
    assert "In force" in main and WRITTEN_RECORD in main
    with UnitOfWork(sessions) as uow:
        (entry,) = uow.session.scalars(select(models.AuditEntry).where(*reads))
        assert (entry.entity, entry.detail, entry.actor.startswith("practitioner:")) == ("consent", {}, True)
    client.get(f"/staff/consents/{consent}")
    assert count(sessions, models.AuditEntry, *reads) == 2
    assert client.get("/staff/consents/999999").status_code == 404

    # The practitioner withdraws it from the chart, as the patient asked: the visit is flagged again.
    token = csrf(client, f"/staff/patients/{patient}")
    done = client.post(
        f"/staff/consents/{consent}/withdraw", data={"csrf_token": token, "back": "chart"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/staff/patients/{patient}?withdrawn={consent}#consents"
    chart = client.get(done.headers["location"]).text
    assert "The consent is withdrawn: “Consent to Microneedling”, version 1, no longer covers any visit." in text(
        section(chart)
    )
    card = visit_card(chart, visit)
    assert "No signed consent form covers this visit." in card and "Withdrawn: the patient withdrew the consent" in card
    assert "Withdrawn on" in text(section(chart)) and "by Dr. Anika Brar (practitioner)" in text(section(chart))
    assert f'action="/staff/consents/{consent}/withdraw"' not in chart
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 1

    # Withdrawing it again, from its own page, changes nothing and says so.
    again = client.post(f"/staff/consents/{consent}/withdraw", data={"csrf_token": token}, follow_redirects=False)
    assert again.headers["location"] == f"/staff/consents/{consent}?withdrawn=2"
    shown = text(main_of(client.get(again.headers["location"]).text))
    assert "This consent was already withdrawn. Nothing changed." in shown and "by Dr. Anika Brar" in shown
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 1


def test_beside_the_treatment_records_consent_box_the_chart_says_whether_a_signed_form_covered_the_visit(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "recorded@example.com")
    visit = begun_visit(sessions, patient)  # Botox, days ago
    record_outcome(sessions, default_knowledge_base(), visit_id=visit, outcome=Outcome.COMPLETED, actor="test")
    sign_in(client, PRACTITIONER)

    def hint() -> str:
        html = main_of(client.get(f"/staff/patients/{patient}").text)
        found = re.search(rf'<p class="hint consent-on-file" id="record-{visit}-consent-form">(.*?)</p>', html, re.S)
        assert found and f'aria-describedby="record-{visit}-consent-form"' in html
        return text(found.group(1))

    assert "No signed consent form on file covers this visit." in hint() and "Not signed" in hint()
    with UnitOfWork(sessions) as uow:
        start = uow.session.get_one(models.Visit, visit).start_at
    sign(
        sessions,
        patient_id=patient,
        clinic_id=CLINIC,
        treatment="botox",
        version=in_use(sessions, "botox").version,
        signed_name="Test Recorded",
        agreed=True,
        actor="test",
        on_paper=True,
        now=start - timedelta(days=1),
    )
    assert "A signed consent form covered this visit." in hint() and "on paper" in hint()


# --- The administrator's forms -----------------------------------------------------------------------------------


def test_the_admin_sees_each_treatment_offered_with_its_form_or_none(client: TestClient) -> None:
    sign_in(client, ADMIN)
    staff = client.get("/staff").text
    assert 'href="/admin/consent-forms"' in staff  # in the administrator's navigation
    page = client.get("/admin/consent-forms")
    assert page.status_code == 200 and 'aria-current="page">Consent forms' in page.text
    main = main_of(page.text)
    row = text(main[main.index('id="form-microneedling"') : main.index("</tr>", main.index('id="form-microneedling"'))])
    assert "“Consent to Microneedling”, version" in row and "by demo-loader" in row and "Change the form" in row
    peel = main.index('id="form-chemical-peel-light"')
    row = text(main[peel : main.index("</tr>", peel)])
    assert "Light chemical peel" in row and "No form: patients are not asked to sign" in row and "Write a form" in row
    assert "the practitioner still confirms informed consent" in text(main)


def test_the_editor_starts_from_the_starter_where_there_is_no_form_and_from_the_form_in_use_otherwise(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    kb = default_knowledge_base()
    sign_in(client, ADMIN)
    page = client.get("/admin/consent-forms/chemical-peel-light")
    assert page.status_code == 200
    main = main_of(page.text)
    assert (
        "This is a starter drafted from the knowledge base; read it and make it your clinic's own before saving."
        in text(main)
    )
    assert 'value="Consent to Light chemical peel"' in main
    starter = starter_body(kb.treatments["chemical-peel-light"], list(kb.factors.values()), "Fraser Valley Skin Studio")
    assert text(starter) in text(main)
    assert "Earlier versions" in text(main) and "None." in text(main)

    form = in_use(sessions, "botox")
    main = main_of(client.get("/admin/consent-forms/botox").text)
    assert "starter drafted" not in text(main)
    assert f"Version {form.version} is in use, written by demo-loader" in text(main)
    assert f'value="{form.title}"' in main and text(form.body) in text(main)
    assert client.get("/admin/consent-forms/kybella").status_code == 404  # not offered here
    assert client.get("/admin/consent-forms/no-such-thing").status_code == 404


def test_saving_a_change_makes_a_new_version_which_the_chart_then_asks_the_patient_to_sign(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient, visit = booked(sessions, "resign@example.com", treatment="dermal-filler")
    sign_in(client, FRONT_DESK)
    signed_on_paper(client, patient, "dermal-filler", "Test Resign")
    assert "No signed consent form covers this visit." not in visit_card(
        client.get(f"/staff/patients/{patient}").text, visit
    )
    first = in_use(sessions, "dermal-filler")
    assert first.version == 1

    sign_in(client, ADMIN)
    token = csrf(client, "/admin/consent-forms/dermal-filler")
    body = first.body.replace("\n", "\r\n") + "\r\n\r\nI have been given a copy of this form."
    saved = client.post(
        "/admin/consent-forms/dermal-filler",
        data={"csrf_token": token, "title": "Consent to dermal filler", "body": body},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/consent-forms/dermal-filler?saved=2"
    main = text(main_of(client.get(saved.headers["location"]).text))
    assert "Version 2 is in use now." in main
    assert "Patients who signed an earlier version will be asked to sign again" in main
    assert "Version 1: “Consent to Dermal filler (hyaluronic acid)”, written by demo-loader" in main  # read-only
    second = in_use(sessions, "dermal-filler")
    assert (second.version, second.title) == (2, "Consent to dermal filler")
    assert second.body.endswith("a copy of this form.") and "\r" not in second.body
    with UnitOfWork(sessions) as uow:
        entry = uow.session.scalars(
            select(models.AuditEntry)
            .where(models.AuditEntry.action == "clinic.consent-form-written")
            .order_by(models.AuditEntry.id.desc())
        ).first()
    assert entry is not None and entry.detail["version"] == 2 and entry.detail["before_version"] == 1

    sign_in(client, FRONT_DESK)
    chart = client.get(f"/staff/patients/{patient}").text
    card = visit_card(chart, visit)
    assert "No signed consent form covers this visit." in card
    assert "A new version of the form needs signing: the patient signed version 1" in card
    assert "version 2 is in use now" in card
    assert "Earlier version" in text(section(chart))

    # The patient signed the old paper: recording it now is refused with the reason, and nothing is written.
    status, _, shown = paper(
        client, patient, form=f"{CLINIC}:dermal-filler", version="1", signed_name="Test Resign", agreed="yes"
    )
    assert status == 409
    assert "We could not record this consent form" in shown and "consent-form-changed" in shown
    assert "it is now version 2" in text(shown)
    assert len(signatures(sessions, patient)) == 1
    signed_on_paper(client, patient, "dermal-filler", "Test Resign", version=2)
    assert "Consent form: Signed on" in visit_card(client.get(f"/staff/patients/{patient}").text, visit)


def test_saving_the_form_unchanged_makes_no_new_version(client: TestClient, sessions: sessionmaker[Session]) -> None:
    form = in_use(sessions, "botox-touch-up")
    before = versions(sessions, "botox-touch-up")
    written = count(sessions, models.AuditEntry, models.AuditEntry.action == "clinic.consent-form-written")
    sign_in(client, ADMIN)
    token = csrf(client, "/admin/consent-forms/botox-touch-up")
    # As a browser sends it: the text area's line ends as CR LF.
    sent = client.post(
        "/admin/consent-forms/botox-touch-up",
        data={"csrf_token": token, "title": f" {form.title} ", "body": form.body.replace("\n", "\r\n")},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/admin/consent-forms/botox-touch-up?unchanged={form.version}"
    main = text(main_of(client.get(sent.headers["location"]).text))
    assert f"No change: version {form.version} stays in use." in main and "is in use now" not in main
    assert versions(sessions, "botox-touch-up") == before
    assert count(sessions, models.AuditEntry, models.AuditEntry.action == "clinic.consent-form-written") == written


def test_saving_the_starter_puts_the_first_version_in_use(client: TestClient, sessions: sessionmaker[Session]) -> None:
    sign_in(client, ADMIN)
    page = client.get("/admin/consent-forms/laser-nonablative").text
    body = re.search(r'<textarea id="body" name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert body
    sent = client.post(
        "/admin/consent-forms/laser-nonablative",
        data={"csrf_token": csrf(client, "/admin/consent-forms"), "title": "Laser consent", "body": unescape(body[1])},
        follow_redirects=False,
    )
    assert sent.headers["location"] == "/admin/consent-forms/laser-nonablative?saved=1"
    main = text(main_of(client.get(sent.headers["location"]).text))
    assert "Version 1 is in use now." in main and "Patients are asked to sign it before their visits" in main
    assert "starter drafted" not in main
    assert in_use(sessions, "laser-nonablative").title == "Laser consent"


def test_a_title_too_long_or_an_empty_body_is_named_beside_its_field_and_nothing_is_saved(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    before = count(sessions, ConsentForm)
    sign_in(client, ADMIN)
    token = csrf(client, "/admin/consent-forms/botox")
    sent = client.post("/admin/consent-forms/botox", data={"csrf_token": token, "title": "T" * 201, "body": "  "})
    assert sent.status_code == 400
    main = main_of(sent.text)
    assert error_of(main, "title") == "Error: at most 200 characters"
    assert error_of(main, "body") == "Error: write what the patient agrees to"
    assert 'href="#title"' in main and 'href="#body"' in main  # the summary leads to each field
    assert f'value="{"T" * 201}"' in main  # the title as sent, to shorten
    sent = client.post("/admin/consent-forms/botox", data={"csrf_token": token, "title": " ", "body": "x" * 20_001})
    assert sent.status_code == 400
    assert "give the form a title" in error_of(sent.text, "title")
    assert "at most 20000 characters" in error_of(sent.text, "body")
    assert client.post("/admin/consent-forms/botox", data={"title": "A", "body": "B"}).status_code == 403  # no token
    assert count(sessions, ConsentForm) == before


@pytest.mark.parametrize("email", [FRONT_DESK, PRACTITIONER, PATIENT])
def test_only_the_clinic_administrator_opens_the_consent_form_pages(client: TestClient, email: str) -> None:
    sign_in(client, email)
    assert 'href="/admin/consent-forms"' not in client.get("/account").text
    assert client.get("/admin/consent-forms").status_code == 403
    assert client.get("/admin/consent-forms/botox").status_code == 403
    token = csrf(client, "/account")
    forged = client.post("/admin/consent-forms/botox", data={"csrf_token": token, "title": "Mine", "body": "Mine"})
    assert forged.status_code == 403


def test_a_version_saved_by_someone_else_while_the_editor_was_open_is_not_replaced(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    form = in_use(sessions, "microneedling")
    sign_in(client, ADMIN)
    page = client.get("/admin/consent-forms/microneedling").text
    assert f'name="based_on" value="{form.version}"' in page
    token = csrf(client, "/admin/consent-forms/microneedling")
    first = {"csrf_token": token, "title": "Mine", "body": "My words.", "based_on": str(form.version)}
    assert client.post("/admin/consent-forms/microneedling", data=first, follow_redirects=False).status_code == 303
    # A second administrator, still editing the version both began from, saves other words.
    theirs = first | {"title": "Theirs", "body": "Their words."}
    sent = client.post("/admin/consent-forms/microneedling", data=theirs, follow_redirects=False)
    assert sent.status_code == 409
    main = text(main_of(sent.text))
    assert f"Version {form.version + 1} of this form was saved after you began from version {form.version}" in main
    assert "Their words." in sent.text  # what they typed is kept to merge by hand
    assert (in_use(sessions, "microneedling").version, in_use(sessions, "microneedling").body) == (
        form.version + 1,
        "My words.",
    )
