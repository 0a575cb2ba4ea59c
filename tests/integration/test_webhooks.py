"""Webhooks on real SQLite and PostgreSQL, delivered to a real HTTP receiver on 127.0.0.1: deliveries are written
in the transaction of the change (a refused booking writes none), signed with the endpoint's secret over the
timestamp and the raw body, retried with backoff after a 500, logged with the receiver's answers, and managed by
a clinic admin through /api/v1/webhooks."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from safewindow.clock import clinic_zone
from safewindow.knowledge.loader import default_knowledge_base
from safewindow.services import webhooks
from safewindow.services.accounts import sign_in
from safewindow.services.booking import Refused, book, cancel, reschedule
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.services.mail_choices import set_opt_out
from safewindow.services.notifications import recall_due, record_visit_change
from safewindow.services.outcomes import Outcome, record_outcome
from safewindow.services.patients import add_patient
from safewindow.store import models
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.store.webhook_models import WebhookAttempt, WebhookDelivery
from safewindow.web.app import create_app
from safewindow.worker import MAX_ATTEMPTS, FolderMailer, backoff, run_once

warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning)
from fastapi.testclient import TestClient  # noqa: E402

KB = default_knowledge_base()
ZONE = clinic_zone("America/Vancouver")
NOW = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 25 Nov, 09:00 in Abbotsford
LOCAL = webhooks.WebhookSettings(allow_local=True, timeout=5)
PUBLIC_ONLY = webhooks.WebhookSettings(allow_local=False, timeout=5)
EVERYTHING = list(webhooks.EVENTS)


@dataclass
class Receiver:
    """Records every POST; answers with `answers` in turn, then 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.received.append((dict(self.headers.items()), body))
            status, text = found.answers.pop(0) if found.answers else (200, "thanks")
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/safewindow"
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with UnitOfWork(session_factory, write=True) as uow:
        load_demo(uow.session)
        uow.commit()
    return session_factory


def endpoint(sessions: sessionmaker[Session], url: str, events: list[str], clinic_id: int = 1) -> tuple[int, str]:
    with UnitOfWork(sessions, write=True) as uow:
        made = webhooks.register(uow.session, clinic_id=clinic_id, url=url, events=events, actor="t", settings=LOCAL)
        uow.commit()
        return made.endpoint.id, made.secret


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def new_patient(sessions: sessionmaker[Session], name: str = "Asha Grewal") -> int:
    patient = add_patient(
        sessions, KB, name=name, birth_date="1990-05-05", actor="t", today=NOW.date(), email="asha@example.com"
    )
    return patient.id


def booked(sessions: sessionmaker[Session], patient: int, at: str, treatment: str = "botox") -> int:
    return book(
        sessions, KB, patient_id=patient, treatment=treatment, clinic_id=1, start=local(at), actor="t", now=NOW
    ).visit.id


def deliveries(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def attempts(sessions: sessionmaker[Session]) -> list[WebhookAttempt]:
    with UnitOfWork(sessions) as uow:
        return list(uow.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def deliver(sessions: sessionmaker[Session], at: datetime, settings: webhooks.WebhookSettings = LOCAL) -> Any:
    return webhooks.deliver_due(sessions, at, backoff=backoff, max_attempts=MAX_ATTEMPTS, settings=settings)


def test_a_booking_is_delivered_signed_by_the_worker_with_ids_times_and_the_treatment_only(
    sessions: sessionmaker[Session], receiver: Receiver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    endpoint_id, secret = endpoint(sessions, receiver.url, ["visit.booked"])
    patient = new_patient(sessions)
    visit = booked(sessions, patient, "2026-12-01T10:00")
    with UnitOfWork(sessions, write=True) as uow:  # reported twice, written once
        row = uow.session.get(models.Visit, visit)
        assert row is not None
        record_visit_change(uow.session, row, "booked", now=NOW)
        uow.commit()
    [pending] = deliveries(sessions)
    assert (pending.endpoint_id, pending.event, pending.event_id) == (
        endpoint_id,
        "visit.booked",
        f"visit-{visit}-v1-booked",
    )

    monkeypatch.setenv("SAFEWINDOW_WEBHOOK_ALLOW_LOCAL", "true")
    report = run_once(sessions, FolderMailer(tmp_path), NOW)  # the worker: its e-mail, then its webhooks
    assert report.webhooks_delivered == 1
    [(headers, body)] = receiver.received
    assert webhooks.verify(secret, headers, body, now=NOW)
    assert headers["X-Safewindow-Signature"] == webhooks.sign(secret, int(NOW.timestamp()), body)
    assert headers["X-Safewindow-Event"] == "visit.booked" and headers["Content-Type"] == "application/json"
    assert headers["X-Safewindow-Event-Id"] == f"visit-{visit}-v1-booked"
    payload = json.loads(body)
    assert payload == {
        "id": f"visit-{visit}-v1-booked",
        "type": "visit.booked",
        "occurred_at": "2026-11-25T16:00:00Z",
        "clinic_id": 1,
        "data": {
            "visit_id": visit,
            "version": 1,
            "status": "booked",
            "patient_id": patient,
            "practitioner_id": payload["data"]["practitioner_id"],
            "treatment": "botox",
            "start": "2026-12-01T17:00:00Z",
            "end": "2026-12-01T17:30:00Z",
        },
    }
    for private in ("Asha", "Grewal", "asha@example.com", "1990-05-05"):
        assert private not in body.decode()

    [done] = deliveries(sessions)
    assert done.delivered_at == NOW and done.attempts == 1 and done.last_status == 200
    [logged] = attempts(sessions)
    assert (logged.attempt, logged.status, logged.response_body, logged.error) == (1, 200, "thanks", None)
    assert run_once(sessions, FolderMailer(tmp_path), NOW + timedelta(hours=1)).webhooks_delivered == 0


def test_a_refused_booking_writes_no_delivery(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    endpoint(sessions, receiver.url, EVERYTHING)
    patient = new_patient(sessions)
    with pytest.raises(Refused):
        booked(sessions, patient, "2026-12-01T07:00")  # before opening time
    assert deliveries(sessions) == []


def test_after_a_500_the_delivery_is_retried_with_backoff_and_every_answer_is_logged(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    _, secret = endpoint(sessions, receiver.url, ["visit.booked"])
    booked(sessions, new_patient(sessions), "2026-12-01T10:00")
    receiver.answers = [(500, "x" * 5000), (503, "busy")]

    first = deliver(sessions, NOW)
    assert (first.delivered, first.failed) == (0, 1)
    [row] = deliveries(sessions)
    assert (row.attempts, row.due_at, row.last_status, row.delivered_at) == (1, NOW + timedelta(minutes=1), 500, None)
    assert deliver(sessions, NOW + timedelta(seconds=59)).failed == 0  # not due yet
    assert deliver(sessions, NOW + timedelta(minutes=1)).failed == 1
    [row] = deliveries(sessions)
    assert row.due_at == NOW + timedelta(minutes=3)  # then 2 minutes
    assert deliver(sessions, NOW + timedelta(minutes=3)).delivered == 1

    log = attempts(sessions)
    assert [(a.attempt, a.status) for a in log] == [(1, 500), (2, 503), (3, 200)]
    assert log[0].response_body == "x" * webhooks.RESPONSE_CHARS  # truncated
    # Each try is signed afresh with its own timestamp; the body, and so the event id, stays the same.
    stamps = [int(headers["X-Safewindow-Timestamp"]) for headers, _ in receiver.received]
    assert stamps == [int((NOW + timedelta(minutes=m)).timestamp()) for m in (0, 1, 3)]
    assert len({body for _, body in receiver.received}) == 1
    assert all(
        webhooks.verify(secret, h, b, now=datetime.fromtimestamp(int(h["X-Safewindow-Timestamp"]), UTC))
        for h, b in receiver.received
    )


def test_gone_stops_the_retries(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    endpoint(sessions, receiver.url, ["visit.booked"])
    booked(sessions, new_patient(sessions), "2026-12-01T10:00")
    receiver.answers = [(410, "no such hook")]
    assert deliver(sessions, NOW).gave_up == 1
    assert deliver(sessions, NOW + timedelta(days=1)).delivered == 0
    [row] = deliveries(sessions)
    assert row.gave_up_at == NOW and len(receiver.received) == 1


def test_moves_cancellations_and_recalls_are_events_of_their_own(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    endpoint(sessions, receiver.url, EVERYTHING)
    endpoint(sessions, receiver.url, ["visit.cancelled"], clinic_id=2)  # another clinic's: hears nothing of ours
    patient = new_patient(sessions)
    visit = booked(sessions, patient, "2026-12-01T10:00")
    reschedule(sessions, KB, visit_id=visit, start=local("2026-12-03T11:00"), actor="t", now=NOW)
    cancel(sessions, KB, visit_id=visit, actor="t", now=NOW)
    with UnitOfWork(sessions, write=True) as uow:
        recall_due(
            uow.session, patient_id=patient, clinic_id=1, treatment_slug="botox", due_on=date(2027, 3, 1), now=NOW
        )
        set_opt_out(uow.session, patient, True, now=NOW)
        # An opted-out patient's recall is not passed on either.
        recall_due(
            uow.session, patient_id=patient, clinic_id=1, treatment_slug="botox", due_on=date(2027, 4, 1), now=NOW
        )
        uow.commit()
    assert [d.event_id for d in deliveries(sessions)] == [
        f"visit-{visit}-v1-booked",
        f"visit-{visit}-v2-rescheduled",
        f"visit-{visit}-v3-cancelled",
        f"recall-{patient}-botox-2027-03-01",
    ]
    assert deliver(sessions, NOW).delivered == 4
    moved, gone, recall = receiver.payloads()[1:]
    assert (
        moved["data"]["previous_start"] == "2026-12-01T17:00:00Z" and moved["data"]["start"] == "2026-12-03T18:00:00Z"
    )
    assert gone["type"] == "visit.cancelled" and gone["data"]["status"] == "cancelled"
    assert recall["data"] == {"patient_id": patient, "treatment": "botox", "due_on": "2027-03-01"}


def test_what_happened_at_a_visit_is_an_event_and_a_correction_another(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    endpoint(sessions, receiver.url, ["visit.completed", "visit.no-show"])
    visit = booked(sessions, new_patient(sessions), "2026-12-01T10:00")
    after = local("2026-12-01T11:00")
    record_outcome(sessions, KB, visit_id=visit, outcome=Outcome.NO_SHOW, actor="t", now=after)
    record_outcome(sessions, KB, visit_id=visit, outcome=Outcome.COMPLETED, actor="t", now=after)  # corrected
    record_outcome(sessions, KB, visit_id=visit, outcome=Outcome.COMPLETED, actor="t", now=after)  # a retry
    assert [d.event_id for d in deliveries(sessions)] == [f"visit-{visit}-v2-no-show", f"visit-{visit}-v3-completed"]
    assert deliver(sessions, after).delivered == 2
    missed, done = receiver.payloads()
    assert (missed["type"], missed["data"]["status"]) == ("visit.no-show", "no-show")
    assert (done["type"], done["data"]["status"], done["data"]["version"]) == ("visit.completed", "completed", 3)
    assert set(done["data"]) == {"visit_id", "version", "status", "patient_id", "practitioner_id", "treatment",
                                 "start", "end"}  # fmt: skip


def test_a_removed_endpoint_gets_nothing_more(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    endpoint_id, _ = endpoint(sessions, receiver.url, ["visit.booked"])
    booked(sessions, new_patient(sessions), "2026-12-01T10:00")
    with UnitOfWork(sessions, write=True) as uow:
        webhooks.remove(uow.session, clinic_id=1, endpoint_id=endpoint_id, actor="t", now=NOW)
        uow.commit()
    assert deliver(sessions, NOW).discarded == 1
    booked(sessions, new_patient(sessions, "Ben Dyck"), "2026-12-02T10:00")
    assert len(deliveries(sessions)) == 1 and receiver.received == []


def test_only_public_https_destinations_unless_local_ones_are_allowed(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    for url in ("http://hooks.example/x", "https://127.0.0.1/x", "https://10.1.2.3/x", "https://localhost/x"):
        with pytest.raises(webhooks.InputError):
            webhooks.check_url(url, PUBLIC_ONLY)
    with pytest.raises(webhooks.InputError):
        webhooks.check_url("https://user:secret@hooks.example/x", PUBLIC_ONLY)
    assert webhooks.check_url("https://hooks.example/x", PUBLIC_ONLY) == "https://hooks.example/x"
    # Checked again when sending: a name that leads to a private address is refused for good, unsent.
    endpoint(sessions, receiver.url, ["visit.booked"])
    booked(sessions, new_patient(sessions), "2026-12-01T10:00")
    assert deliver(sessions, NOW, PUBLIC_ONLY).gave_up == 1
    assert receiver.received == [] and "not public" in (deliveries(sessions)[0].last_error or "")


def test_a_signature_is_refused_for_another_body_another_secret_or_an_old_timestamp() -> None:
    body = b'{"id":"visit-1-v1-booked"}'
    headers = {
        "X-Safewindow-Timestamp": str(int(NOW.timestamp())),
        "X-Safewindow-Signature": webhooks.sign("s", int(NOW.timestamp()), body),
    }
    assert webhooks.verify("s", headers, body, now=NOW + timedelta(minutes=4))
    assert not webhooks.verify("s", headers, body + b" ", now=NOW)
    assert not webhooks.verify("other", headers, body, now=NOW)
    assert not webhooks.verify("s", headers, body, now=NOW + timedelta(minutes=6))  # a replay
    assert not webhooks.verify("s", {**headers, "X-Safewindow-Timestamp": str(int(NOW.timestamp()) + 1)}, body, now=NOW)


def test_a_clinic_admin_manages_their_clinics_webhooks_through_the_api(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    with UnitOfWork(sessions, write=True) as uow:
        ensure_demo_accounts(uow.session)
        uow.commit()
    admin = {"Authorization": f"Bearer {sign_in(sessions, 'admin@demo.example', DEMO_PASSWORD)[0]}"}
    desk = {"Authorization": f"Bearer {sign_in(sessions, 'frontdesk@demo.example', DEMO_PASSWORD)[0]}"}
    others, _ = endpoint(sessions, receiver.url, ["visit.booked"], clinic_id=2)
    with TestClient(create_app(sessions=sessions), raise_server_exceptions=False) as client:
        wanted = {"url": "https://crm.example/hooks", "events": ["visit.booked", "recall.due"], "description": "CRM"}
        made = client.post("/api/v1/webhooks", json=wanted, headers=admin)
        assert made.status_code == 201
        created = made.json()
        assert created["secret"].startswith("whsec_") and created["events"] == ["visit.booked", "recall.due"]
        listed = client.get("/api/v1/webhooks", headers=admin).json()
        assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]  # shown once

        assert client.post("/api/v1/webhooks", json=wanted, headers=desk).status_code == 403
        bad = client.post("/api/v1/webhooks", json={**wanted, "url": "http://10.0.0.5/x"}, headers=admin)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "url"
        unknown = client.post("/api/v1/webhooks", json={**wanted, "events": ["visit.moved"]}, headers=admin)
        assert unknown.status_code == 422 and "visit.moved" in unknown.json()["detail"][0]["problem"]
        assert client.delete(f"/api/v1/webhooks/{others}", headers=admin).status_code == 404  # not theirs

        visit = booked(sessions, new_patient(sessions), "2026-12-01T10:00")
        log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin).json()
        assert [(d["event_id"], d["attempts"], d["log"]) for d in log] == [(f"visit-{visit}-v1-booked", 0, [])]

        assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 204
        assert client.get("/api/v1/webhooks", headers=admin).json() == []
    with UnitOfWork(sessions) as uow:
        actions = list(
            uow.session.scalars(select(models.AuditEntry.action).where(models.AuditEntry.entity == "webhook"))
        )
    assert actions.count("webhook.created") == 2 and actions.count("webhook.deleted") == 1
