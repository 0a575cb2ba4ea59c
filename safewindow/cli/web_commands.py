"""`safewindow serve`: the web application (API and pages) on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from safewindow.web.access_log import log_config


def serve(
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port to listen on.")] = 8000,
) -> None:
    """Serve the web pages and the REST API (/api/v1, documented at /docs) until interrupted."""
    print(f"safewindow is at http://{host}:{port}/  (API docs: http://{host}:{port}/docs; Ctrl-C stops it)", flush=True)
    uvicorn.run(
        "safewindow.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=False,
        log_config=log_config(),  # the access log leaves out query strings: they hold patients' histories
        proxy_headers=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
