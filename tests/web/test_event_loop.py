"""A request that waits for the database does not hold up anyone else's. The real app on a real uvicorn server
(a free loopback port, in a background thread) with the demo clinics in a fresh SQLite file.

The test holds SQLite's write lock itself (`BEGIN IMMEDIATE`), sends a signed-in request that needs the lock,
and while that one waits asks for other pages: they must be answered first. A handler that did its blocking
work on the event loop would stall the whole server until the waiting request gave up (the busy timeout) and
failed. The tests assert the order of the answers, never how long anything took."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import uvicorn

from safewindow.services import accounts
from safewindow.services.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts
from safewindow.store import migrate
from safewindow.store.database import make_engine, make_session_factory
from safewindow.store.demo import load_demo
from safewindow.store.unit_of_work import UnitOfWork
from safewindow.web.access_log import log_config
from safewindow.web.app import create_app
from tests.web.test_api_demo import EMAILS, QUICK_HASHER, SIMRAN
from tests.web.test_serve import free_port

SAFETY = 60.0  # seconds: only so that a broken build fails instead of hanging


@dataclass(frozen=True)
class Served:
    url: str
    database: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("event-loop") / "clinic.sqlite3"
    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    # argon2 at its production cost is half a second a hash; these sign-ins need no such protection.
    with mock.patch.object(accounts, "HASHER", QUICK_HASHER):
        with UnitOfWork(sessions, write=True) as uow:
            load_demo(uow.session)
            ensure_demo_accounts(uow.session)
            uow.commit()
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(sessions=sessions), host="127.0.0.1", port=port, log_config=log_config())
        )
        thread = threading.Thread(target=server.run, name=f"uvicorn-event-loop-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start within 20 s"
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{port}", database)
        finally:
            server.should_exit = True
            thread.join(timeout=20)
            engine.dispose()


def bearer(served: Served, who: str) -> dict[str, str]:
    answer = httpx.post(
        f"{served.url}/api/v1/sessions", json={"email": EMAILS[who], "password": DEMO_PASSWORD}, timeout=SAFETY
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def send_and_signal(served: Served, sent: threading.Event, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The request; `sent` is set once it is on the wire, so the server has it before anything sent after."""

    def trace(event: str, _info: dict[str, Any]) -> None:
        if event == "http11.receive_response_headers.started":
            sent.set()

    with httpx.Client(base_url=served.url, timeout=SAFETY) as client:
        return client.request(method, path, extensions={"trace": trace}, **kwargs)


# (who, method, path, form, the status once the lock is free): each needs the write lock.
WAITING = {
    # A plain `def` route: the chart read and its audit entry in one write transaction.
    "staff-chart": ("front desk", "GET", f"/staff/patients/{SIMRAN}", None, 200),
    # An `async def` route that reads its form on the event loop, then records the intake in the thread pool.
    "patient-intake": ("patient", "POST", "/my/history", {"prior_treatment": "", "prior_date": ""}, 303),
}


@pytest.mark.parametrize("case", WAITING)
def test_others_are_answered_while_a_request_waits_for_the_write_lock(served: Served, case: str) -> None:
    who, method, path, form, done = WAITING[case]
    waiting_as = bearer(served, who)
    staff = bearer(served, "front desk")
    holder = sqlite3.connect(served.database, isolation_level=None, timeout=SAFETY)
    sent = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long booking elsewhere would hold it
            waiting: Future[httpx.Response] = pool.submit(
                send_and_signal, served, sent, method, path, headers=waiting_as, data=form, follow_redirects=False
            )
            assert sent.wait(SAFETY), "the waiting request was never sent"
            public = httpx.get(f"{served.url}/when", params={"treatment": "botox"}, timeout=SAFETY)
            assert not waiting.done(), "the public calculator was answered only after the waiting request"
            signed_in = httpx.get(f"{served.url}/staff", headers=staff, timeout=SAFETY)
            assert not waiting.done(), "a signed-in page was answered only after the waiting request"
        finally:
            holder.rollback()  # the lock is free: the waiting request goes on
            holder.close()
        answer = waiting.result(timeout=SAFETY)
    assert (public.status_code, signed_in.status_code) == (200, 200)
    assert answer.status_code == done, answer.text
