"""A commune-level police unit (Công an phường/xã), or a unit above it such as a district."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import DomainError, ErrorCode
from domain.events import Event, WardCreated
from domain.ids import WardId, new_id
from domain.text import required_text

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


def valid_code(raw: str | None) -> str:
    code = (raw or "").strip()
    if not _CODE.match(code):
        raise DomainError.one(
            ErrorCode.INVALID,
            "Mã đơn vị chỉ gồm chữ, số, '.', '_' hoặc '-', tối đa 32 ký tự.",
            "A unit code is 1-32 letters, digits, '.', '_' or '-'.",
            ("code",),
        )
    return code


def valid_name(raw: str | None) -> str:
    return required_text(raw, "name", max_len=200, label_vi="Tên đơn vị", label_en="Unit name")


@dataclass(slots=True)
class Ward:
    id: WardId
    code: str
    name: str
    parent_id: WardId | None
    created_at: datetime
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def create(cls, *, code: str, name: str, parent_id: WardId | None, now: datetime) -> Ward:
        ward = cls(WardId(new_id()), valid_code(code), valid_name(name), parent_id, now)
        ward.events.append(WardCreated(ward.id))
        return ward

    def rename(self, name: str) -> None:
        self.name = valid_name(name)

    def move_under(self, parent_id: WardId | None, ancestors_of_parent: list[WardId]) -> None:
        """Attach to another unit; `ancestors_of_parent` lets us refuse a loop."""
        if parent_id is not None and (parent_id == self.id or self.id in ancestors_of_parent):
            raise DomainError.one(
                ErrorCode.CYCLE,
                "Không thể đặt đơn vị dưới chính nó hoặc đơn vị cấp dưới của nó.",
                "A unit cannot be placed under itself or one of its own sub-units.",
                ("parentId",),
            )
        self.parent_id = parent_id
