"""How a patient hears from the clinic, on the pages: the patient's own Messages page, and the chart's Messages
section where staff record what the patient told them (services/contact_preferences.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
