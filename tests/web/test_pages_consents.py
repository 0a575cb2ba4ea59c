"""A patient's consent forms, on their own pages: the list names each booked visit whose consent is not on file
(and why), signing the form in use covers it (the list, My visits and the chart agree), a missing tick or a name
other than the one on file is said beside its field and writes nothing, a form the clinic changed meanwhile is
refused with its new words, and a withdrawal is recorded once. Another patient's signature is 'not found';
staff, visitors and forms without the session's token get nowhere.

Every test has a patient of its own. The demo forms at Fraser Valley Skin Studio (clinic 1) are never changed;
a test that changes a form changes one no other test signs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from safewindow.domain.consent import Standing
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services.chart import load_chart
from safewindow.services.consents import form_for, upcoming_coverage, write_form
from safewindow.services.consents import sign as sign_service
from safewindow.store import models
from safewindow.store.consent_models import Consent, ConsentWithdrawal
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.pages_consents import Block, blocks_of
from tests.visits import first_free_visit
from tests.web.test_pages_support import (
    CLINIC,
    FRONT_DESK,
    PRACTITIONER,
    client_for,
    count,
    csrf,
    demo_store,
    field,
    main_of,
    new_patient,
    sign_in,
    text,
)

BOTOX = "botox"
SIGNED, WITHDRAWN = "patient.consent-signed", "patient.consent-withdrawn"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("consents"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def patient(sessions: sessionmaker[Session], email: str, *, visit: str | None = BOTOX, clinic: int = CLINIC) -> int:
    """A new patient (the name on file is 'Test ' and the e-mail's local part, titled), with a booked visit."""
    found = new_patient(sessions, email)
    if visit:
        first_free_visit(sessions, found, clinic_id=clinic, treatment=visit)
    return found


def name_of(email: str) -> str:
    return f"Test {email.split('@')[0].title()}"


def sign(
    client: TestClient,
    *,
    name: str,
    agreed: bool = True,
    clinic: int = CLINIC,
    treatment: str = BOTOX,
    version: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    """The sign form as the page gives it (its version and token, unless told otherwise), sent."""
    form = client.get(f"/my/consents/{clinic}/{treatment}")
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": field(form.text, "csrf_token") if token is None else token,
        "version": field(form.text, "version") if version is None else version,
        "signed_name": name,
    }
    if agreed:
        data["agreed"] = "yes"
    sent: httpx.Response = client.post(f"/my/consents/{clinic}/{treatment}", data=data, follow_redirects=False)
    return sent


def section(html: str, title_id: str) -> str:
    main = main_of(html)
    start = main.index(f'aria-labelledby="{title_id}"')
    return main[start : main.index("</section>", start)]


def audited(sessions: sessionmaker[Session], action: str, patient_id: int) -> list[models.AuditEntry]:
    with UnitOfWork(sessions) as uow:
        return list(
            uow.session.scalars(
                select(models.AuditEntry)
                .where(models.AuditEntry.action == action, models.AuditEntry.entity_id == str(patient_id))
                .order_by(models.AuditEntry.id)
            )
        )


def consents_of(sessions: sessionmaker[Session], patient_id: int) -> int:
    return count(sessions, Consent, Consent.patient_id == patient_id)


def error_beside(html: str, field_id: str) -> str:
    """The error said in a field's box, tied to its control by aria-describedby."""
    said = re.search(rf'<p class="error-message" id="{field_id}-error">(.*?)</p>', html, re.DOTALL)
    assert said, f"no error beside {field_id}"
    control = re.search(rf'<input[^>]* id="{field_id}"[^>]*>', html)
    assert control and f"{field_id}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0)
    return text(said.group(1)).strip()


def signed_id(sent: httpx.Response) -> int:
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(r"/my/consents\?signed=(\d+)", sent.headers["location"])
    assert found, sent.headers["location"]
    return int(found.group(1))


# --- The form's words ---------------------------------------------------------------------------------------------


def test_a_forms_text_becomes_paragraphs_and_bullet_lists() -> None:
    body = "I agree.\nOn two lines.\n\nWhat to expect:\n- redness\n- a bruise\n  \nAfter the list.\r\n\r\n- alone"
    assert blocks_of(body) == [
        Block("paragraph", ("I agree.", "On two lines.")),
        Block("paragraph", ("What to expect:",)),
        Block("list", ("redness", "a bruise")),
        Block("paragraph", ("After the list.",)),
        Block("list", ("alone",)),
    ]


def test_the_form_in_use_is_shown_with_its_words_and_a_labelled_form(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    email = "consent-read@example.com"
    patient(sessions, email, visit=None)
    sign_in(client, email)
    with UnitOfWork(sessions) as uow:
        form = form_for(uow.session, CLINIC, BOTOX)
    assert form is not None

    main = main_of(client.get(f"/my/consents/{CLINIC}/{BOTOX}").text)

    said = text(main)
    assert f"<h1>{form.title}</h1>" in main and f"version {form.version}" in said
    assert "Fraser Valley Skin Studio's own" in said and "your practitioner goes over it with you" in said
    assert "decides whether and when to treat you" in said
    assert "<li>results vary from person to person and are not guaranteed;</li>" in main
    assert "<p>What to expect afterwards:</p>" in main
    assert '<input type="checkbox" id="agreed" name="agreed" value="yes">' in main
    assert '<label for="agreed">I have read and agree</label>' in main
    assert '<label for="signed_name">Type your full name to sign</label>' in main
    assert f"As the clinic has it on file: {name_of(email)}." in said
    assert f'<input type="hidden" name="version" value="{form.version}">' in main


def test_a_clinics_words_are_never_markup(client: TestClient, sessions: sessionmaker[Session]) -> None:
    write_form(
        sessions,
        clinic_id=3,
        treatment="microneedling",
        title="Consent <i>now</i>",
        body='I agree <script>alert("x")</script>.\n\n- <b>bold</b> & more',
        actor="test",
    )
    email = "consent-markup@example.com"
    patient(sessions, email, visit=None)
    sign_in(client, email)

    main = main_of(client.get("/my/consents/3/microneedling").text)

    assert "<script>" not in main and "<b>" not in main and "<i>" not in main
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in main
    assert "<li>&lt;b&gt;bold&lt;/b&gt; &amp; more</li>" in main
    assert "<h1>Consent &lt;i&gt;now&lt;/i&gt;</h1>" in main


@pytest.mark.parametrize(
    "path",
    [
        "/my/consents/1/chemical-peel-light",
        "/my/consents/1/kybella",
        "/my/consents/999/botox",
        f"/my/consents/1/{'x' * 80}",
    ],
    ids=["offered-without-a-form", "not-offered", "no-such-clinic", "too-long"],
)
def test_no_form_to_sign_is_not_found(client: TestClient, sessions: sessionmaker[Session], path: str) -> None:
    email = f"consent-none-{len(path)}-{path.split('/')[-1][:10]}@example.com"
    found = patient(sessions, email, visit=None)
    sign_in(client, email)
    assert client.get(path).status_code == 404
    data = {"csrf_token": csrf(client, "/my/consents"), "agreed": "yes", "signed_name": name_of(email), "version": "1"}
    assert client.post(path, data=data).status_code == 404
    assert consents_of(sessions, found) == 0


# --- The list, and signing ----------------------------------------------------------------------------------------


def test_the_list_shows_a_booked_visit_that_needs_consent(client: TestClient, sessions: sessionmaker[Session]) -> None:
    email = "consent-list@example.com"
    patient(sessions, email)
    sign_in(client, email)

    answer = client.get("/my/consents")

    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert '<a href="/my/consents" aria-current="page">Consent forms</a>' in answer.text
    to_sign = section(answer.text, "to-sign-title")
    said = text(to_sign)
    assert "Botulinum toxin (Botox and similar)" in said and "at Fraser Valley Skin Studio" in said
    assert "You have not signed this form yet." in said
    assert f'href="/my/consents/{CLINIC}/{BOTOX}">Read and sign' in to_sign
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:00-0[78]:00">', to_sign)  # the clinic's clock
    assert "None." in text(section(answer.text, "covered-title"))
    assert "You have not signed a consent form yet." in text(section(answer.text, "signed-title"))
    assert "your practitioner goes over it with you" in text(main_of(answer.text))
    visits = main_of(client.get("/my/visits").text)
    assert re.search(
        r'Please <a href="/my/consents/1/botox">sign the consent form<span class="visually-hidden">', visits
    )
    assert '<a href="/my/consents">Consent forms</a>' in client.get("/my/visits").text


def test_signing_covers_the_visit_everywhere(client: TestClient, sessions: sessionmaker[Session]) -> None:
    email = "consent-sign@example.com"
    found = patient(sessions, email)
    sign_in(client, email)

    consent = signed_id(sign(client, name=f"  {name_of(email).upper()} "))  # case and spacing do not matter

    page = client.get(f"/my/consents?signed={consent}").text
    assert "You signed Consent to Botulinum toxin (Botox and similar) (version 1)." in text(main_of(page))
    assert "Nothing to sign before your booked visits." in text(section(page, "to-sign-title"))
    covered = text(section(page, "covered-title"))
    assert "Botulinum toxin" in covered and "Consent form signed on" in covered
    mine = section(page, "signed-title")
    said = text(mine)
    assert "Consent to Botulinum toxin (Botox and similar)" in said and "Version 1" in said
    assert "Clinic Fraser Valley Skin Studio" in said and "How Signed online" in said and "Withdrawn No" in said
    assert f'href="/my/consents/signed/{consent}"' in mine
    assert f'action="/my/consents/signed/{consent}/withdraw"' in mine
    assert "Withdrawing means the clinic will ask you again before treating you." in said

    kb = default_knowledge_base()
    with UnitOfWork(sessions) as uow:
        ((_, coverage),) = upcoming_coverage(uow.session, found)
        chart = load_chart(uow.session, kb, found)
    assert coverage.standing is Standing.SIGNED and coverage.signature and coverage.signature.id == consent
    (visit,) = chart.upcoming
    assert visit.consent is not None and visit.consent.standing is Standing.SIGNED
    assert "Consent form signed on" in text(main_of(client.get("/my/visits").text))
    shown = text(main_of(client.get(f"/my/visits/{visit.visit_id}").text))
    assert "Consent form signed on" in shown and "Please sign" not in shown

    (entry,) = audited(sessions, SIGNED, found)
    assert entry.actor.startswith("patient:") and entry.detail["consent_id"] == consent
    assert entry.detail["on_paper"] is False
    assert "test" not in json.dumps(entry.detail).lower()  # ids only: never the name signed


@pytest.mark.parametrize(
    ("agreed", "typed", "version", "wrong"),
    [
        (False, "right", None, {"agreed": "tick the box to say you have read this form and agree to it"}),
        (True, "Someone Else", None, {"signed_name": "type the full name the clinic has on file"}),
        (True, "", None, {"signed_name": "type your full name to sign"}),
        (False, "", None, {"agreed": "tick the box", "signed_name": "type your full name"}),
        (True, "right", "abc", {"version": "say which version of the form was read"}),
    ],
    ids=["unticked", "wrong-name", "no-name", "neither", "no-version"],
)
def test_a_sign_with_problems_names_each_field_and_writes_nothing(
    client: TestClient,
    sessions: sessionmaker[Session],
    agreed: bool,
    typed: str,
    version: str | None,
    wrong: dict[str, str],
) -> None:
    email = f"consent-wrong-{len(wrong)}{agreed:d}{len(typed)}{version or ''}@example.com"
    found = patient(sessions, email, visit=None)
    sign_in(client, email)
    entries = count(sessions, models.AuditEntry)

    sent = sign(client, name=name_of(email) if typed == "right" else typed, agreed=agreed, version=version)

    assert sent.status_code == 400
    main = main_of(sent.text)
    for name, problem in wrong.items():
        if name == "version":
            assert problem in text(
                re.findall(r'<p class="error-message form-error" id="version-error">.*?</p>', main)[0]
            )
            assert '<a href="#version-error">The form: ' in main
        else:
            assert problem in error_beside(main, name)
            assert f'<a href="#{name}">' in main
    assert ('id="agreed-error"' in main) == ("agreed" in wrong)
    assert ('id="signed_name-error"' in main) == ("signed_name" in wrong)
    if typed == "Someone Else":
        assert 'value="Someone Else"' in main  # as typed
    assert ('id="agreed" name="agreed" value="yes" checked' in main) == agreed
    assert consents_of(sessions, found) == 0
    assert count(sessions, models.AuditEntry) == entries


def test_a_form_changed_meanwhile_is_refused_with_its_new_words(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    email = "consent-changed@example.com"
    found = patient(sessions, email, visit="dermal-filler", clinic=3)
    sign_in(client, email)
    read = client.get("/my/consents/3/dermal-filler").text
    assert field(read, "version") == "1"
    write_form(
        sessions,
        clinic_id=3,
        treatment="dermal-filler",
        title="Consent to dermal filler, revised",
        body="The revised words.\n\n- a new risk to know about",
        actor="test",
    )

    sent = client.post(
        "/my/consents/3/dermal-filler",
        data={"csrf_token": field(read, "csrf_token"), "version": "1", "agreed": "yes", "signed_name": name_of(email)},
    )

    assert sent.status_code == 409
    main = main_of(sent.text)
    said = text(main)
    assert (
        "The clinic has changed this form" in said and "it is now version 2" in said and "Nothing was signed." in said
    )
    assert "<h1>Consent to dermal filler, revised</h1>" in main
    assert "<p>The revised words.</p>" in main and "<li>a new risk to know about</li>" in main
    assert '<input type="hidden" name="version" value="2">' in main
    assert f'value="{name_of(email)}"' in main and 'name="agreed" value="yes" checked' not in main
    assert consents_of(sessions, found) == 0 and audited(sessions, SIGNED, found) == []
    # The list says why: the form in use is one they have not signed.
    assert "You have not signed this form yet." in text(section(client.get("/my/consents").text, "to-sign-title"))


def test_the_words_signed_stay_as_signed_after_the_clinic_changes_its_form(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    email = "consent-kept@example.com"
    patient(sessions, email, clinic=2)
    sign_in(client, email)
    with UnitOfWork(sessions) as uow:
        before = form_for(uow.session, 2, BOTOX)
    assert before is not None
    consent = signed_id(sign(client, clinic=2, name=name_of(email)))
    write_form(sessions, clinic_id=2, treatment=BOTOX, title="Botox consent, 2027", body="New words.", actor="test")

    answer = client.get(f"/my/consents/signed/{consent}")

    assert answer.status_code == 200
    main = main_of(answer.text)
    said = text(main)
    assert f"<h1>{before.title}</h1>" in main and "New words." not in said
    assert (
        "I understand that:" in said and "<li>results vary from person to person and are not guaranteed;</li>" in main
    )
    assert f"Signed by {name_of(email)}" in said and "How Signed online" in said and "Withdrawn No" in said
    assert "Sumas Mountain Aesthetics's own" in said and "decides whether and when to treat you" in said
    assert "has changed this form since (it is now version 2)" in said
    assert 'href="/my/consents/2/botox">Read and sign the new version' in main
    needed = text(section(client.get("/my/consents").text, "to-sign-title"))
    assert "The clinic has changed its form since you signed it" in needed


def test_a_paper_form_recorded_by_staff_says_so(client: TestClient, sessions: sessionmaker[Session]) -> None:
    email = "consent-paper@example.com"
    found = patient(sessions, email)
    paper = sign_service(
        sessions,
        patient_id=found,
        clinic_id=CLINIC,
        treatment=BOTOX,
        version=1,
        signed_name=name_of(email),
        agreed=True,
        actor="front-desk:1",
        on_paper=True,
    )
    sign_in(client, email)

    page = client.get("/my/consents").text

    assert "How Paper form recorded by staff" in text(section(page, "signed-title"))
    assert "Consent form signed on" in text(section(page, "covered-title"))
    view = text(main_of(client.get(f"/my/consents/signed/{paper.id}").text))
    assert "How Paper form recorded by staff" in view and "front-desk:1" not in view


# --- Withdrawing ----------------------------------------------------------------------------------------------------


def test_withdrawing_is_recorded_once_and_the_clinic_asks_again(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    email = "consent-withdraw@example.com"
    found = patient(sessions, email)
    sign_in(client, email)
    consent = signed_id(sign(client, name=name_of(email)))
    token = csrf(client, "/my/consents")

    first = client.post(f"/my/consents/signed/{consent}/withdraw", data={"csrf_token": token}, follow_redirects=False)
    again = client.post(f"/my/consents/signed/{consent}/withdraw", data={"csrf_token": token}, follow_redirects=False)

    assert (first.status_code, first.headers["location"]) == (303, f"/my/consents?withdrawn={consent}")
    assert (again.status_code, again.headers["location"]) == (303, f"/my/consents?already={consent}")
    page = client.get(first.headers["location"]).text
    assert "You withdrew your consent to Consent to Botulinum toxin" in text(main_of(page))
    assert "You withdrew your consent, so the clinic asks you again" in text(section(page, "to-sign-title"))
    mine = section(page, "signed-title")
    assert "Withdrawn Yes, on" in text(mine) and "/withdraw" not in mine
    assert "was already withdrawn; nothing changed" in text(main_of(client.get(again.headers["location"]).text))
    view = text(main_of(client.get(f"/my/consents/signed/{consent}").text))
    assert "You withdrew this consent on" in view and "Withdraw this consent" not in view
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 1
    (entry,) = audited(sessions, WITHDRAWN, found)
    assert entry.actor.startswith("patient:") and entry.detail == {"consent_id": consent}
    assert "Please sign the consent form" in text(main_of(client.get("/my/visits").text).replace("<a", " <a"))


def test_another_patients_signature_is_not_found(client: TestClient, sessions: sessionmaker[Session]) -> None:
    owner = "consent-owner@example.com"
    patient(sessions, owner, visit=None)
    sign_in(client, owner)
    consent = signed_id(sign(client, name=name_of(owner)))
    other = "consent-other@example.com"
    patient(sessions, other, visit=None)
    sign_in(client, other)
    token = csrf(client, "/my/consents")

    assert client.get(f"/my/consents/signed/{consent}").status_code == 404
    assert client.post(f"/my/consents/signed/{consent}/withdraw", data={"csrf_token": token}).status_code == 404
    assert client.get("/my/consents/signed/999999").status_code == 404
    assert f"/my/consents/signed/{consent}" not in client.get(f"/my/consents?signed={consent}").text
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 0


# --- Who may ------------------------------------------------------------------------------------------------------


def test_a_form_without_the_session_token_is_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    email = "consent-token@example.com"
    found = patient(sessions, email, visit=None)
    sign_in(client, email)
    for token in ("", "forged"):
        assert sign(client, name=name_of(email), token=token).status_code == 403
    assert consents_of(sessions, found) == 0
    consent = signed_id(sign(client, name=name_of(email)))
    for data in ({}, {"csrf_token": "forged"}):
        assert client.post(f"/my/consents/signed/{consent}/withdraw", data=data).status_code == 403
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 0


@pytest.mark.parametrize("staff", [FRONT_DESK, PRACTITIONER], ids=["front-desk", "practitioner"])
def test_staff_and_visitors_do_not_use_the_patients_pages(
    client: TestClient, sessions: sessionmaker[Session], staff: str
) -> None:
    email = f"consent-staff-{staff.split('@')[0]}@example.com"
    patient(sessions, email, visit=None)
    sign_in(client, email)
    consent = signed_id(sign(client, name=name_of(email)))
    client.cookies.clear()
    for path in ("/my/consents", f"/my/consents/{CLINIC}/{BOTOX}", f"/my/consents/signed/{consent}"):
        away = client.get(path, follow_redirects=False)
        assert away.status_code == 303 and away.headers["location"].startswith("/sign-in?next=")

    sign_in(client, staff)
    token = csrf(client, "/staff")
    for path in ("/my/consents", f"/my/consents/{CLINIC}/{BOTOX}", f"/my/consents/signed/{consent}"):
        assert client.get(path).status_code == 403
    data = {"csrf_token": token, "agreed": "yes", "signed_name": name_of(email), "version": "1"}
    assert client.post(f"/my/consents/{CLINIC}/{BOTOX}", data=data).status_code == 403
    assert client.post(f"/my/consents/signed/{consent}/withdraw", data={"csrf_token": token}).status_code == 403
    assert count(sessions, ConsentWithdrawal, ConsentWithdrawal.consent_id == consent) == 0
    assert '<a href="/my/consents"' not in client.get("/staff").text


def test_reading_ones_own_consents_is_audited_as_the_other_my_pages_are(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    email = "consent-reads@example.com"
    patient(sessions, email)
    sign_in(client, email)
    consent = signed_id(sign(client, name=name_of(email)))

    def written_by(path: str) -> int:
        before = count(sessions, models.AuditEntry)
        assert client.get(path).status_code == 200
        return count(sessions, models.AuditEntry) - before

    mine = written_by("/my/visits")
    assert written_by("/my/consents") == mine
    assert written_by(f"/my/consents/signed/{consent}") == mine
    assert written_by(f"/my/consents/{CLINIC}/{BOTOX}") == mine
