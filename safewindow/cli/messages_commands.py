"""`safewindow messages PATIENT_ID`: how a patient hears from the clinic (services/contact_preferences.py)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
