"""Fakes for the outside world: loopback HTTP servers standing in for real services, a log sink."""

from tests.fakes.logs import JsonLines
from tests.fakes.servers import LiveServer, free_port, serve_app

__all__ = ["JsonLines", "LiveServer", "free_port", "serve_app"]
