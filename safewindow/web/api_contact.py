"""A patient's contact preferences in the API: `GET`/`PUT /api/v1/patients/{id}/contact-preferences`
(services/contact_preferences.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
