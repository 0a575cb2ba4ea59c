"""The `safewindow` command: each group of commands lives in its own module and registers itself here."""

from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from safewindow.cli import (
    advice_commands,
    booking_commands,
    consent_commands,
    demo_commands,
    deposit_commands,
    messages_commands,
    offer_commands,
    order_commands,
    plan_commands,
    record_commands,
    store_commands,
    time_off_commands,
    web_commands,
    worker_commands,
)
from safewindow.knowledge.loader import KnowledgeError

app = typer.Typer(
    help="safewindow: when an aesthetic treatment is safe, and booking it only then.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
advice_commands.register(app)
store_commands.register(app)
booking_commands.register(app)
consent_commands.register(app)
deposit_commands.register(app)
demo_commands.register(app)
messages_commands.register(app)
offer_commands.register(app)
order_commands.register(app)
plan_commands.register(app)
record_commands.register(app)
time_off_commands.register(app)
web_commands.register(app)
worker_commands.register(app)


def main() -> None:
    """Usage errors become one `error:` line and exit code 2, like every other bad input."""
    try:
        code = app(standalone_mode=False)
    except TyperException as error:  # Typer's own usage errors: missing argument, unknown option, ...
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except KnowledgeError as error:
        raise SystemExit(f"error: the knowledge base is broken: {error}") from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
