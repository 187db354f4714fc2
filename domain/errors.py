"""Expected failures. The API turns each Problem into a userError; nothing here is a crash."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    REQUIRED = "required"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    OUT_OF_RANGE = "out_of_range"
    INVALID_PHONE = "invalid_phone"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    UNAUTHENTICATED = "unauthenticated"
    INVALID_TRANSITION = "invalid_transition"
    ALREADY_ARCHIVED = "already_archived"
    SELF_APPROVAL = "self_approval"
    NOT_COMMANDER = "not_commander"
    INVALID_FILE = "invalid_file"
    CYCLE = "cycle"


@dataclass(frozen=True, slots=True)
class Msg:
    """A message in Vietnamese with its English translation."""

    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class Problem:
    code: ErrorCode
    message: Msg
    field: tuple[str, ...] = ()


class DomainError(Exception):
    """One or more problems that the caller could have avoided."""

    def __init__(self, *problems: Problem) -> None:
        if not problems:
            raise ValueError("a DomainError needs at least one problem")
        self.problems: tuple[Problem, ...] = problems
        super().__init__("; ".join(f"{p.code}: {p.message.en}" for p in problems))

    @classmethod
    def one(cls, code: ErrorCode, vi: str, en: str, field: tuple[str, ...] = ()) -> DomainError:
        return cls(Problem(code, Msg(vi, en), field))

    @property
    def code(self) -> ErrorCode:
        return self.problems[0].code

    def under(self, *prefix: str) -> DomainError:
        """The same problems with their field paths nested under `prefix`."""
        return DomainError(
            *(Problem(p.code, p.message, (*prefix, *p.field)) for p in self.problems)
        )


def not_found(what_vi: str, what_en: str, field: tuple[str, ...] = ("id",)) -> DomainError:
    return DomainError.one(
        ErrorCode.NOT_FOUND, f"Không tìm thấy {what_vi}.", f"{what_en} not found.", field
    )


def forbidden(field: tuple[str, ...] = ()) -> DomainError:
    return DomainError.one(
        ErrorCode.FORBIDDEN,
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
        field,
    )


def invalid_transition(
    entity_vi: str, entity_en: str, state: str, action: str, *, action_en: str | None = None
) -> DomainError:
    """`action` is the verb in both messages unless `action_en` gives the English one."""
    return DomainError.one(
        ErrorCode.INVALID_TRANSITION,
        f"Không thể {action} {entity_vi} đang ở trạng thái '{state}'.",
        f"Cannot {action_en or action} a {entity_en} in state '{state}'.",
        ("status",),
    )
