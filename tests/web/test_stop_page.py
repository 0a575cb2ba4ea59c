"""The stop link's page, as a patient opening it from an e-mail (no sign-in) and as a mailbox's one-click
"Unsubscribe" (RFC 8058: a post with `List-Unsubscribe=One-Click`): the page says what the link will do and to
which masked address before anything changes; using it turns e-mail reminders and recalls off; a link the
clinic did not send is a 404 that changes nothing; nothing of it is kept by a cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from safewindow.services.contact_preferences import contact_preferences
from safewindow.services.stop_links import issue_stop_link
from safewindow.store.unit_of_work import UnitOfWork
from tests.web.test_pages_support import client_for, demo_store, main_of, new_patient, text


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    yield from demo_store(tmp_path_factory.mktemp("stop"))


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with client_for(sessions) as test_client:
        yield test_client


def link_for(sessions: sessionmaker[Session], patient: int) -> str:
    with UnitOfWork(sessions, write=True) as uow:
        url = issue_stop_link(uow.session, patient, "http://testserver")
        uow.commit()
    return url.removeprefix("http://testserver")


def reminders_by_email(sessions: sessionmaker[Session], patient: int) -> bool:
    with UnitOfWork(sessions) as uow:
        return contact_preferences(uow.session, patient).email_reminders


def test_opening_the_link_asks_first_and_the_button_stops_them(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    patient = new_patient(sessions, "harjit.stop@example.com")
    path = link_for(sessions, patient)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Stop reminders by e-mail? This stops the reminders before each visit" in text(main_of(page.text))
    assert "h***@example.com" in page.text and "harjit.stop" not in page.text
    assert f'action="{path}"' in page.text
    assert reminders_by_email(sessions, patient)  # opening it changed nothing
    done = client.post(path)
    assert done.status_code == 200
    assert "Done. Reminders and recalls by e-mail to h***@example.com are off." in text(main_of(done.text))
    assert not reminders_by_email(sessions, patient)
    again = client.get(path)
    assert "are already off" in text(main_of(again.text)) and "<form" not in main_of(again.text)


def test_a_mailbox_s_one_click_post_stops_them(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "one.click@example.com")
    path = link_for(sessions, patient)
    answer = client.post(path, content="List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 200
    assert not reminders_by_email(sessions, patient)


def test_a_link_the_clinic_did_not_send_is_not_found(client: TestClient, sessions: sessionmaker[Session]) -> None:
    patient = new_patient(sessions, "wrong.link@example.com")
    path = link_for(sessions, patient)
    for wrong in (path[:-1], "/stop/made-up"):
        for answer in (client.get(wrong), client.post(wrong)):
            assert answer.status_code == 404
            assert "This link does not work" in text(main_of(answer.text))
    assert reminders_by_email(sessions, patient)
