"""Security headers on every response, and the API docs page with the one looser policy it needs."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # A patient's history travels in the query string of /when and /api/v1/advice: never pass it on as a referrer.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
# The same reason: answers about a patient are not for shared caches or the browser's disk.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Adds HEADERS to every HTTP response, keeping any a route set itself (the docs page sets its own policy).
    A plain ASGI middleware rather than BaseHTTPMiddleware: it costs a few microseconds, not a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                extra = HEADERS if static else (*HEADERS, NO_STORE)
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI, which FastAPI loads from a CDN with one inline script: that script is allowed by its hash."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title, swagger_favicon_url="/static/favicon.svg")
    scripts = re.findall(rb"<script>(.*?)</script>", page.body, flags=re.DOTALL)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'" for s in scripts)
    cdn = "https://cdn.jsdelivr.net"
    policy = (
        f"default-src 'self'; script-src 'self' {cdn} {hashes}; style-src 'self' {cdn} 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
    return HTMLResponse(page.body, headers={"content-security-policy": policy})
