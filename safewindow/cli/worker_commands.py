"""`safewindow worker [--once] [--interval SECONDS]`: send the outbox's due e-mail and text reminders.

E-mail through SMTP when SAFEWINDOW_SMTP_HOST is set (port, STARTTLS or TLS, credentials from SAFEWINDOW_SMTP_*),
otherwise as .eml files in $SAFEWINDOW_DATA_DIR/mail/; texts through Twilio when SAFEWINDOW_TEXT_ACCOUNT_SID is
set, otherwise as .txt files in $SAFEWINDOW_DATA_DIR/texts/. Prints counts only: never a recipient or a body."""

from __future__ import annotations

import dataclasses
import threading
from typing import Annotated

import typer

from safewindow.cli.advice_commands import JsonFlag
from safewindow.cli.output import console, print_json
from safewindow.cli.store_access import sessions
from safewindow.clock import now_utc
from safewindow.worker import RunReport, mailer_from_settings, run_forever, texter_from_settings, worker_round


def _say(report: RunReport, as_json: bool) -> None:
    counts = dataclasses.asdict(report)
    if as_json:
        print_json(counts)
    else:
        console.print(", ".join(f"{value} {name.replace('_', ' ')}" for name, value in counts.items()))


def _say_if_any(report: RunReport, as_json: bool) -> None:
    if any(dataclasses.astuple(report)):
        _say(report, as_json)


def worker(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then stop.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1.0, help="Seconds between rounds when running on.")
    ] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Send due reminders, confirmations and aftercare e-mail, and text reminders, retrying failures with backoff."""
    session_factory = sessions()
    mailer, texter = mailer_from_settings(), texter_from_settings()
    if not as_json:
        console.print(f"sending e-mail through {mailer.where}, texts through {texter.where}")
    if once:
        _say(worker_round(session_factory, mailer, now_utc(), texter=texter), as_json)
        return
    stop = threading.Event()
    try:
        run_forever(
            session_factory,
            mailer,
            interval,
            stop,
            on_report=lambda report: _say_if_any(report, as_json),
            texter=texter,
        )
    except KeyboardInterrupt:
        stop.set()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
