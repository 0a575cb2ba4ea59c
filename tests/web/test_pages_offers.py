"""The administrator's page of treatments offered and the booking policy: listed, changed with the forms (errors
beside their fields, nothing written), audited, and applied to the next slots; for the clinic's administrator
only, each change with the session's CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.store import models
from tests.web.test_pages_support import (
    ADMIN,
    CLINIC,
    FRONT_DESK,
    client_for,
    count,
    csrf,
    demo_store,
    main_of,
    sign_in,
    text,
)

PAGE = "/admin/treatments"
BOTOX = {
    "treatment": "botox",
    "duration_minutes": "30",
    "buffer_before_minutes": "5",
    "buffer_after_minutes": "10",
    "permission": "may-inject",
    "room_kind": "treatment",
    "device_kind": "",
    "active": "on",
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("offers"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        sign_in(test_client, ADMIN)
        yield test_client


def offer_of(sessions: sessionmaker[Session], slug: str) -> models.ClinicTreatment | None:
    with sessions() as session:
        return session.query(models.ClinicTreatment).filter_by(clinic_id=CLINIC, treatment_slug=slug).one_or_none()


def audited(sessions: sessionmaker[Session], action: str) -> int:
    return count(sessions, models.AuditEntry, models.AuditEntry.action == action)


def test_the_page_lists_what_the_clinic_offers_and_its_policy(client: TestClient) -> None:
    html = client.get(PAGE).text
    shown = text(main_of(html))
    assert "Botulinum toxin (Botox and similar) 30 min 5 + 10 min May inject A treatment room None Change" in shown
    assert "Intense pulsed light (IPL) 30 min 5 + 15 min May use energy devices A laser room, a laser device" in shown
    assert 'href="/admin/treatments?treatment=botox#offer"' in html
    for control in ("treatment", "duration_minutes", "buffer_before_minutes", "permission", "min_notice_minutes"):
        assert f'<label for="{control}">' in html
    assert 'name="min_notice_minutes" value="120"' in html.replace('id="min_notice_minutes" ', "")
    # Choosing a treatment fills the form with how it is offered.
    chosen = client.get(f"{PAGE}?treatment=botox").text
    assert '<option value="botox" selected>' in chosen and '<option value="may-inject" selected>' in chosen
    # One not offered yet comes with the knowledge base's usual length.
    kybella = client.get(f"{PAGE}?treatment=kybella").text
    assert '<option value="kybella" selected>' in kybella and 'value="30"' in kybella
    assert 'href="/admin/treatments"' in client.get("/staff").text


def test_a_changed_treatment_is_saved_audited_and_offered_with_its_new_length(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    before = audited(sessions, "clinic.treatment-changed")
    data = {**BOTOX, "treatment": "dermal-filler", "duration_minutes": "60", "buffer_after_minutes": "20"}
    assert client.post(f"{PAGE}/offer", data={**data, "csrf_token": "forged"}).status_code == 403
    assert audited(sessions, "clinic.treatment-changed") == before
    sent = client.post(f"{PAGE}/offer", data={**data, "csrf_token": csrf(client, PAGE)}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{PAGE}?done=offer"
    assert "The treatment is saved." in client.get(sent.headers["location"]).text
    saved = offer_of(sessions, "dermal-filler")
    assert saved is not None and (saved.duration_minutes, saved.buffer_after_minutes) == (60, 20)
    assert audited(sessions, "clinic.treatment-changed") == before + 1
    slots = client.get(f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "dermal-filler", "limit": 1}).json()
    assert slots
    (slot,) = slots
    assert datetime.fromisoformat(slot["end"]) - datetime.fromisoformat(slot["start"]) == timedelta(minutes=60)


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({**BOTOX, "treatment": ""}, ("treatment",)),
        (
            {**BOTOX, "duration_minutes": "", "buffer_before_minutes": "ten"},
            ("duration_minutes", "buffer_before_minutes"),
        ),
        (
            {**BOTOX, "duration_minutes": "0", "buffer_after_minutes": "500"},
            ("duration_minutes", "buffer_after_minutes"),
        ),
        ({**BOTOX, "permission": ""}, ("permission",)),
        ({**BOTOX, "room_kind": "sauna", "device_kind": "time-machine"}, ("room_kind", "device_kind")),
        ({**BOTOX, "treatment": "no-such-thing"}, ("treatment",)),
    ],
)
def test_a_bad_treatment_is_a_message_beside_its_field_and_nothing_is_written(
    client: TestClient, sessions: sessionmaker[Session], data: dict[str, str], fields: tuple[str, ...]
) -> None:
    before = (audited(sessions, "clinic.treatment-changed"), audited(sessions, "clinic.treatment-offered"))
    sent = client.post(f"{PAGE}/offer", data={**data, "csrf_token": csrf(client, PAGE)})
    assert sent.status_code == 400
    for name in fields:
        assert f'id="{name}-error"' in sent.text
        assert f'href="#{name}"' in sent.text
    assert (audited(sessions, "clinic.treatment-changed"), audited(sessions, "clinic.treatment-offered")) == before
    botox = offer_of(sessions, "botox")
    assert botox is not None and botox.required_permission_id == "may-inject" and botox.duration_minutes == 30


def test_the_booking_policy_is_saved_audited_and_refused_beside_its_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    policy = {
        "min_notice_minutes": "1440",
        "horizon_days": "60",
        "slot_step_minutes": "30",
        "change_notice_minutes": "2880",
    }
    bad = client.post(
        f"{PAGE}/policy",
        data={
            **policy,
            "horizon_days": "0",
            "slot_step_minutes": "7",
            "change_notice_minutes": "20161",
            "csrf_token": csrf(client, PAGE),
        },
    )
    assert bad.status_code == 400
    assert 'id="horizon_days-error"' in bad.text and 'id="slot_step_minutes-error"' in bad.text
    assert 'id="change_notice_minutes-error"' in bad.text
    assert 'value="1440"' in bad.text  # what was typed stays
    assert audited(sessions, "clinic.booking-policy-changed") == 0
    sent = client.post(f"{PAGE}/policy", data={**policy, "csrf_token": csrf(client, PAGE)}, follow_redirects=False)
    assert sent.status_code == 303
    assert "The booking policy is saved." in client.get(sent.headers["location"]).text
    assert audited(sessions, "clinic.booking-policy-changed") == 1
    with sessions() as session:
        row = session.get(models.BookingPolicy, CLINIC)
        assert row is not None
        assert (row.min_notice_minutes, row.horizon_days, row.slot_step_minutes, row.change_notice_minutes) == (
            1440,
            60,
            30,
            2880,
        )
    starts = client.get(f"/api/v1/clinics/{CLINIC}/slots", params={"treatment": "botox", "limit": 50}).json()
    assert starts and all(s["start"][14:16] in ("00", "30") for s in starts)


def test_only_the_clinic_admin_opens_or_changes_it(sessions: sessionmaker[Session]) -> None:
    with client_for(sessions) as other:
        assert other.get(PAGE, follow_redirects=False).status_code in (303, 401)
        sign_in(other, FRONT_DESK)
        token = csrf(other, "/staff")
        assert other.get(PAGE).status_code == 403
        assert other.post(f"{PAGE}/offer", data={**BOTOX, "csrf_token": token}).status_code == 403
        assert other.post(f"{PAGE}/policy", data={"horizon_days": "1", "csrf_token": token}).status_code == 403
        assert 'href="/admin/treatments"' not in other.get("/staff").text
