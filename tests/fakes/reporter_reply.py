"""A ReporterReply that records what it was asked to send, for tests of tips and inquiries.

`failures` are raised by the next calls, in order; `answer` is the platform message id it
returns (None: nothing was sent, as for a portal report without a way back)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from domain.inquiry import Inquiry
from domain.reporter import ReporterIdentity
from domain.tip import Tip


@dataclass(frozen=True)
class SentReply:
    tip_id: object
    tracking_code: str
    reporter: ReporterIdentity | None
    text: str
    last_inbound_at: datetime | None


@dataclass
class RecordingReply:
    sent: list[SentReply] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    answer: bool = True
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(
        self,
        tip: Tip | Inquiry,
        reporter: ReporterIdentity | None,
        text: str,
        *,
        last_inbound_at: datetime | None,
    ) -> str | None:
        if self.failures:
            raise self.failures.pop(0)
        code = getattr(tip, "tracking_code", "")
        self.sent.append(SentReply(tip.id, code, reporter, text, last_inbound_at))
        return f"out-{next(self._ids)}" if self.answer else None

    def to(self, tip_id: object) -> list[SentReply]:
        return [s for s in self.sent if s.tip_id == tip_id]
