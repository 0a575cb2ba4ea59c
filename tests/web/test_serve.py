"""`safewindow serve`, run as a user runs it: a real uvicorn process on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import typer
from typer.testing import CliRunner

from safewindow.cli.web_commands import register

# The command registered on its own group, as cli/main.py registers each group.
LAUNCH = (
    "import typer; from safewindow.cli.web_commands import register; "
    "app = typer.Typer(); app.callback()(lambda: None); register(app); app()"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_offers_host_and_port() -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output and "127.0.0.1" in result.output


def test_serve_answers_over_http_and_logs_no_query_strings() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"{base}/api/v1/ping").json() == {"ok": True}
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start within 20 s"
                time.sleep(0.1)
        seed = {"treatment": "botox", "history": "microneedling@2026-11-10"}
        assert httpx.get(f"{base}/api/v1/advice", params=seed).json()["earliest"] == "2026-11-24"
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert '"GET /api/v1/advice HTTP/1.1" 200' in out
    assert "microneedling" not in out + err and "history" not in out + err
