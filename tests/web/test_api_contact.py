"""A patient's contact preferences over HTTP: the patient reads and changes her own, staff read anyone's and record
what the patient told them, another patient gets 404 as if she did not exist. Turning texts on writes text
reminders for her booked visits; a number that is not a mobile one, or texts without a number, is 422 naming
`phone` with nothing changed. Reads are audited by ids, a change with the choices and never the number. Who gets
which status is also in tests/web/test_role_matrix.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from safewindow.services.contact_preferences import set_contact_preferences
from safewindow.services.demo_accounts import DEMO_PASSWORD
from safewindow.store.outbox_models import Channel, OutboxMessage
from safewindow.web.api_contact import ContactPreferencesOut
from tests.web.fuzz_as import headers_of, tag_schema, validate
from tests.web.test_api_demo import CLINIC, EMAILS, SIMRAN, TODAY, Demo, open_demo

PATH = f"/api/v1/patients/{SIMRAN}/contact-preferences"
DEMO_PHONE = "+16045550142"
AS_IN_THE_DEMO = {
    "patient_id": SIMRAN,
    "email": "simran.gill@example.com",
    "phone": DEMO_PHONE,
    "email_reminders": True,
    "text_reminders": False,
}
STAFF = ("front desk", "practitioner", "aesthetician", "clinic admin")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with open_demo(tmp_path_factory.mktemp("contact")) as opened:
        yield opened


@pytest.fixture(autouse=True)
def as_in_the_demo(demo: Demo) -> None:
    """Simran's choices as the demo has them, whatever an earlier test changed."""
    set_contact_preferences(
        demo.sessions, patient_id=SIMRAN, actor="test", phone=DEMO_PHONE, email_reminders=True, text_reminders=False
    )


def changes(demo: Demo) -> list[dict[str, Any]]:
    """The audit log's changes of Simran's contact preferences, newest first."""
    return [e for e in demo.audit("patient", SIMRAN) if e["action"] == "patient.contact-preferences"]


def texts(demo: Demo, visit: int) -> list[OutboxMessage]:
    with demo.sessions() as session:
        return list(
            session.query(OutboxMessage)
            .filter(OutboxMessage.visit_id == visit, OutboxMessage.channel == Channel.TEXT)
            .order_by(OutboxMessage.due_at)
        )


def test_the_patient_and_staff_read_her_choices_and_another_patient_gets_404(demo: Demo) -> None:
    mine = demo.ok("GET", PATH, "patient")
    assert ContactPreferencesOut.model_validate(mine).model_dump() == AS_IN_THE_DEMO
    for who in STAFF:
        assert demo.ok("GET", PATH, who) == AS_IN_THE_DEMO, who
    other = demo.call("GET", PATH, "other patient")
    assert (other.status_code, other.json()) == (
        404,
        {"detail": [{"field": "patient", "problem": f"no patient {SIMRAN}"}]},
    )
    unknown = demo.call("GET", "/api/v1/patients/999999/contact-preferences", "front desk")
    assert (unknown.status_code, unknown.json()["detail"][0]["field"]) == (404, "patient")


def test_turning_texts_on_writes_text_reminders_for_her_booked_visit(demo: Demo) -> None:
    # Three days ahead: both reminders (48 and 2 hours before) are still to come.
    at = demo.free_slot("chemical-peel-light", patient=SIMRAN, first=TODAY + timedelta(days=3))
    booking = {"patient": SIMRAN, "treatment": "chemical-peel-light", "clinic": CLINIC, "at": at}
    visit = demo.ok("POST", "/api/v1/visits", "front desk", status=201, json=booking)["id"]
    assert texts(demo, visit) == []

    body = {"phone": "604 555 0111", "email_reminders": True, "text_reminders": True}
    changed = demo.ok("PUT", PATH, "patient", json=body)
    assert changed == {**AS_IN_THE_DEMO, "phone": "+16045550111", "text_reminders": True}
    assert demo.ok("GET", PATH, "front desk") == changed
    sent_to = [(text.kind, text.recipient, text.subject) for text in texts(demo, visit)]
    assert sent_to == [("reminder-48h", "+16045550111", ""), ("reminder-2h", "+16045550111", "")]
    assert all("peel" not in text.body.lower() for text in texts(demo, visit))  # a lock screen shows it

    body = {"phone": "604 555 0111", "email_reminders": True, "text_reminders": False}
    assert demo.ok("PUT", PATH, "patient", json=body)["text_reminders"] is False
    assert texts(demo, visit) == []


def test_the_front_desk_records_what_the_patient_told_them(demo: Demo) -> None:
    body = {"phone": None, "email_reminders": False, "text_reminders": False}
    recorded = demo.ok("PUT", PATH, "front desk", json=body)
    assert recorded == {**AS_IN_THE_DEMO, "phone": None, "email_reminders": False}
    assert demo.ok("GET", PATH, "patient") == recorded
    me = demo.ok("GET", "/api/v1/me", "front desk")
    [change, *_] = changes(demo)
    assert change["actor"] == f"front-desk:{me['account_id']}"
    assert change["detail"] == {"email_reminders": False, "text_reminders": False, "phone_changed": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12", "email_reminders": True, "text_reminders": False}, "phone"),
        ({"phone": "604 555 01", "email_reminders": True, "text_reminders": True}, "phone"),
        ({"phone": None, "email_reminders": True, "text_reminders": True}, "phone"),
        ({"phone": "", "email_reminders": True, "text_reminders": True}, "phone"),
        ({"phone": "604 555 0111\n", "email_reminders": True, "text_reminders": False}, "phone"),
        ({"phone": "6" * 65, "email_reminders": True, "text_reminders": False}, "phone"),
        ({"phone": DEMO_PHONE, "email_reminders": "often", "text_reminders": False}, "email_reminders"),
        ({"phone": DEMO_PHONE, "email_reminders": True}, "text_reminders"),
        ({"phone": DEMO_PHONE, "email_reminders": True, "text_reminders": True, "sms": True}, "sms"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_changes_nothing(demo: Demo, body: dict[str, Any], field: str) -> None:
    before = len(changes(demo))
    response = demo.call("PUT", PATH, "patient", json=body)
    assert response.status_code == 422, response.text
    assert [problem["field"] for problem in response.json()["detail"]] == [field]
    assert demo.ok("GET", PATH, "front desk") == AS_IN_THE_DEMO
    assert len(changes(demo)) == before


def test_texts_without_a_number_say_so(demo: Demo) -> None:
    response = demo.call("PUT", PATH, "patient", json={"phone": None, "email_reminders": True, "text_reminders": True})
    assert response.json() == {"detail": [{"field": "phone", "problem": "text reminders need a mobile number"}]}


def test_another_patient_the_anonymous_and_a_cookie_without_its_token_change_nothing(demo: Demo) -> None:
    body = {"phone": "604 555 0111", "email_reminders": False, "text_reminders": True}
    other = demo.call("PUT", PATH, "other patient", json=body)
    assert (other.status_code, other.json()["detail"][0]["field"]) == (404, "patient")
    assert demo.call("GET", PATH).status_code == demo.call("PUT", PATH, json=body).status_code == 401
    unknown = demo.call("PUT", "/api/v1/patients/999999/contact-preferences", "front desk", json=body)
    assert (unknown.status_code, unknown.json()["detail"][0]["field"]) == (404, "patient")

    signed_in = demo.client.post("/api/v1/sessions", json={"email": EMAILS["patient"], "password": DEMO_PASSWORD})
    try:
        assert signed_in.status_code == 201  # the client keeps the cookie, as a browser does
        forged = demo.client.put(PATH, json=body)
        assert (forged.status_code, forged.json()["detail"][0]["field"]) == (403, "csrf_token")
    finally:
        demo.client.cookies.clear()
    assert demo.ok("GET", PATH, "front desk") == AS_IN_THE_DEMO


def test_reads_are_audited_by_ids_and_a_change_without_the_number(demo: Demo) -> None:
    before = len(demo.audit("patient-contact-preferences", SIMRAN))
    demo.ok("GET", PATH, "practitioner")
    reads = demo.audit("patient-contact-preferences", SIMRAN)
    assert len(reads) == before + 1
    assert (reads[0]["action"], reads[0]["actor"].split(":")[0], reads[0]["detail"]) == (
        "patient-contact-preferences.read",
        "practitioner",
        {},
    )
    demo.ok("PUT", PATH, "patient", json={"phone": "(604) 555-0199", "email_reminders": True, "text_reminders": True})
    [change, *_] = changes(demo)
    assert change["actor"].startswith("patient:")
    assert change["detail"] == {"email_reminders": True, "text_reminders": True, "phone_changed": True}
    everything = demo.call("GET", "/api/v1/audit", "clinic admin", params={"limit": 1000}).text
    assert "555-0199" not in everything and "5550199" not in everything


# Schemathesis on the contact endpoints as the front desk (allowed on both): for inputs generated from the schema,
# never a 5xx, and every response as documented.
fuzzed, schema = tag_schema("contact")


@pytest.fixture(scope="module")
def front_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    yield from headers_of(fuzzed, tmp_path_factory.mktemp("contact-fuzz"), "front desk")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_contact_api_conforms_to_its_schema_for_the_front_desk(
    case: schemathesis.Case, front_desk: dict[str, str]
) -> None:
    validate(case, front_desk)
