"""Requests per second of GET /api/v1/advice (the seed question) next to GET /api/v1/ping (a bare endpoint) on
one uvicorn server, in the same run. The ratio shows what the advice itself costs over the framework's floor.
Target: advice at 60 % or more of ping.

Loopback only: the server is a subprocess on 127.0.0.1 (a free port). The load comes from CLIENTS keep-alive
connections in this process, each a few lines of HTTP/1.1 over asyncio streams: httpx's client tops out near
800 requests/s on this kind of machine, below the server, and would measure itself. httpx only checks that
the server is up. Bounded: WARM_UP seconds per endpoint, then ROUNDS rounds of SECONDS seconds per endpoint,
alternating so that drift hits both alike, and at most MAX_REQUESTS requests per round.

Reproduce: .venv/bin/python bench/api.py"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx

CLIENTS = 4  # concurrent keep-alive connections
WARM_UP = 1.0
SECONDS = 1.2
ROUNDS = 5
MAX_REQUESTS = 50_000
ADVICE = "/api/v1/advice?treatment=botox&history=microneedling@2026-11-10"
PING = "/api/v1/ping"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "safewindow.web.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{PING}").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("bench: the server did not start")
        time.sleep(0.1)


async def connection(port: int, path: str, stop: float, budget: list[int]) -> int:
    """One keep-alive connection sending GET `path` until `stop` or the shared budget runs out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    answered = 0
    try:
        while time.perf_counter() < stop and budget[0] > 0:
            budget[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if head[9:12] != b"200":
                raise SystemExit(f"bench: GET {path} answered {head[9:12].decode()}")
            length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            answered += 1
    finally:
        writer.close()
    return answered


async def hammer(port: int, path: str, seconds: float) -> float:
    """Requests per second over `seconds` with CLIENTS connections."""
    began = time.perf_counter()
    budget = [MAX_REQUESTS]
    counts = await asyncio.gather(*(connection(port, path, began + seconds, budget) for _ in range(CLIENTS)))
    return sum(counts) / (time.perf_counter() - began)


async def measure(port: int) -> dict[str, list[float]]:
    for path in (PING, ADVICE):
        await hammer(port, path, WARM_UP)
    rates: dict[str, list[float]] = {PING: [], ADVICE: []}
    for _ in range(ROUNDS):
        for path in (PING, ADVICE):
            rates[path].append(await hammer(port, path, SECONDS))
    return rates


def main() -> None:
    port = free_port()
    server = start_server(port)
    try:
        rates = asyncio.run(measure(port))
    finally:
        server.terminate()
        server.wait(timeout=20)
    ping, advice = statistics.median(rates[PING]), statistics.median(rates[ADVICE])
    ratios = [a / p for a, p in zip(rates[ADVICE], rates[PING], strict=True)]
    print(f"GET {PING}: {ping:,.0f} requests/s (median of {ROUNDS} rounds)")
    print(f"GET {ADVICE}: {advice:,.0f} requests/s")
    ratio = statistics.median(ratios)
    spread = ", ".join(f"{r:.0%}" for r in ratios)
    print(f"advice / ping: {ratio:.0%} (rounds: {spread}); target 60 %: {'met' if ratio >= 0.6 else 'missed'}")
    print(
        f"one uvicorn worker (h11), {CLIENTS} keep-alive connections, {ROUNDS} x {SECONDS} s per endpoint after "
        f"{WARM_UP} s warm-up, loopback; client and server share {os.cpu_count()} CPUs; "
        f"python {sys.version.split()[0]}"
    )
    print("reproduce: .venv/bin/python bench/api.py")


if __name__ == "__main__":
    main()
