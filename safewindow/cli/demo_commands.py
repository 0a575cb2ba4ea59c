"""`safewindow demo ...`: what `make run` shows."""

from __future__ import annotations

from datetime import date

import typer

from safewindow.cli.advice_commands import when
from safewindow.cli.store_commands import demo_load

demo_app = typer.Typer(help="Demonstrations on fictional Abbotsford data.")
SEED_VISIT = "microneedling@2026-11-10"


@demo_app.command("seed")
def seed() -> None:
    """The seed's question: microneedling on 10 Nov 2026; when can the patient have Botox?"""
    typer.echo(f"A patient had {SEED_VISIT.replace('@', ' on ')}. When can they have Botox?\n")
    when(
        "botox",
        history=[SEED_VISIT],
        factor=None,
        on=None,
        today=date(2026, 11, 11).isoformat(),
        zone="America/Vancouver",
        as_json=False,
    )
    typer.echo("\nThe same question for a patient with sensitive skin:\n")
    when(
        "botox",
        history=[SEED_VISIT],
        factor=["sensitive-skin"],
        on=None,
        today=date(2026, 11, 11).isoformat(),
        zone="America/Vancouver",
        as_json=False,
    )


demo_app.command("load")(demo_load)


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
