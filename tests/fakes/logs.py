"""A log sink for tests: records formatted by the app's JsonFormatter, kept as parsed dicts.

handler = JsonLines()
logging.getLogger("gandan").addHandler(handler)
...
[line] = handler.of("gandan.http")
"""

from __future__ import annotations

import json
import logging

from api.logs import JsonFormatter


class JsonLines(logging.Handler):
    """Formats each record with the app's JsonFormatter, as production would, and keeps it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def of(self, logger: str) -> list[dict]:
        return [line for line in self.lines if line["logger"] == logger]
