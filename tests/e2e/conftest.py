"""End-to-end: the real app on uvicorn (127.0.0.1, a free port, in a background thread) driven by Debian's
Chromium through Playwright. No browser is ever downloaded: without /usr/bin/chromium these tests skip, and
with CI=true they fail instead. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NoReturn

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from safewindow.web.access_log import log_config
from safewindow.web.app import create_app
from safewindow.web.dependencies import today

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SEED_TODAY = date(2026, 11, 11)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true, so the browser tests must run", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_app(app: FastAPI) -> Iterator[str]:
    """Serves `app` with uvicorn on a free loopback port until the generator is closed; yields its URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=log_config()))
    thread = threading.Thread(target=server.run, name=f"uvicorn-e2e-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 s", pytrace=False)
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """The real application, served by uvicorn on the loopback interface for the whole session. The clinic's
    today is the day after the seed question's microneedling, as in tests/web, so the calculator's answers
    do not turn into "already passed" as the calendar moves on."""
    app = create_app()
    app.dependency_overrides[today] = lambda: SEED_TODAY
    yield from serve_app(app)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh page at phone and at desktop width, JavaScript off: the pages must work without it. The test
    fails if the browser reports a Content-Security-Policy violation or any other console error, except the
    400 status a form with errors is meant to have."""
    context = browser.new_context(base_url=base_url, viewport=request.param, java_script_enabled=False)
    new_page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "responded with a status of 400" not in message.text:
            errors.append(message.text)

    new_page.on("console", on_console)
    yield new_page
    context.close()
    assert not errors, errors
