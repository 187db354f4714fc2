"""Run any ASGI app with uvicorn on 127.0.0.1 in a background thread, for tests.

    with serve_app(app) as server:
        httpx.get(server.url("/healthz"))

The server listens on a socket bound before uvicorn starts (port 0: the kernel picks a free port),
so there is no race between choosing a port and using it. The thread runs its own event loop,
which makes the server usable from synchronous tests, from async tests on any loop, and from code
that calls `asyncio.run` itself (click commands). Leaving the block stops the server, waits for
the thread and closes the socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now (for 'connection refused' tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)


@contextlib.contextmanager
def serve_app(
    app: ASGIApp, *, startup_timeout: float = 10.0, **options: Any
) -> Iterator[LiveServer]:
    """Serve `app` until the block ends. `options` go to uvicorn.Config (e.g. lifespan="on")."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    settings: dict[str, Any] = {
        "loop": "asyncio",
        "http": "h11",
        "ws": "none",
        "lifespan": "off",
        "log_config": None,  # never reconfigure the test run's logging
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 2,
        "timeout_keep_alive": 1,
    }
    settings.update(options)
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, **settings))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # reported to the test thread, not lost in this one
            failure.append(error)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError(f"test server on port {port} failed to start") from (
                    failure[0] if failure else None
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"test server on port {port} did not start in time")
            time.sleep(0.005)
        yield LiveServer(HOST, port)
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"test server on port {port} did not stop")
    if failure:
        raise RuntimeError(f"test server on port {port} crashed") from failure[0]
