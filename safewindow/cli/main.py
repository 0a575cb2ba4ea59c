"""The `safewindow` command: each group of commands lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from safewindow.cli import advice_commands, demo_commands
from safewindow.knowledge.loader import KnowledgeError

app = typer.Typer(
    help="safewindow: when an aesthetic treatment is safe, and booking it only then.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
advice_commands.register(app)
demo_commands.register(app)


def main() -> None:
    try:
        app()
    except KnowledgeError as error:
        raise SystemExit(f"error: the knowledge base is broken: {error}") from None


if __name__ == "__main__":
    main()
