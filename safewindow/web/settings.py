"""The web application's settings, from SAFEWINDOW_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from safewindow.clock import DEFAULT_ZONE


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEWINDOW_", extra="ignore")

    zone: str = DEFAULT_ZONE  # the clinic's zone: its calendar days and its "today"
    # Session cookies are always HttpOnly and SameSite=Lax; Secure when the request came over HTTPS (directly
    # or as X-Forwarded-Proto from the proxy in front), or always when this is set.
    secure_cookies: bool = False
