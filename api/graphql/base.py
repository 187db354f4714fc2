"""Shared GraphQL building blocks: userErrors, cursor connections, global ids, client errors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry import relay

from domain.errors import DomainError, Problem
from domain.errors import ErrorCode as DomainErrorCode
from domain.ports import Page

T = TypeVar("T")
E = TypeVar("E")

ErrorCode = strawberry.enum(
    DomainErrorCode, name="ErrorCode", description="Why a change was refused."
)


class ClientError(GraphQLError):
    """A request the client could have avoided (bad id, bad cursor, page too large). Never masked."""

    def __init__(self, message_en: str, message_vi: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message_en, extensions={"code": code, "messageVi": message_vi})


def unauthenticated() -> ClientError:
    return ClientError("You need to sign in.", "Bạn cần đăng nhập.", "UNAUTHENTICATED")


@strawberry.type(
    description="A change that was refused, with where and why, in Vietnamese and English."
)
class UserError:
    field: list[str] = strawberry.field(
        description="Path of the input field at fault (empty: the whole input)."
    )
    code: ErrorCode
    message: str = strawberry.field(description="Vietnamese message.")
    message_en: str = strawberry.field(description="English message.")

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            field=list(problem.field),
            code=problem.code,
            message=problem.message.vi,
            message_en=problem.message.en,
        )


def user_errors(error: DomainError) -> list[UserError]:
    return [UserError.from_problem(p) for p in error.problems]


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: relay.PageInfo
    total_count: int = strawberry.field(description="Rows matching the filter, across all pages.")

    @strawberry.field(description="The nodes of this page, without edges.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(
        cls, page: Page[E], convert: Callable[[E], T], cursor_of: Callable[[E], str]
    ) -> Connection[T]:
        edges = [
            Edge(cursor=encode_cursor(cursor_of(item)), node=convert(item)) for item in page.items
        ]
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next,
                has_previous_page=False,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )


_CURSOR_PREFIX = "c1:"


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + value).encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    """Cursors are opaque to clients; anything we did not hand out is refused."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError
        value = raw[len(_CURSOR_PREFIX) :]
        uuid.UUID(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ClientError(
            "The 'after' cursor is not valid.", "Con trỏ 'after' không hợp lệ."
        ) from None
    return value


def page_size(first: int, maximum: int) -> int:
    if not 1 <= first <= maximum:
        raise ClientError(
            f"'first' must be between 1 and {maximum}.",
            f"'first' phải nằm trong khoảng 1 đến {maximum}.",
        )
    return first


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        return None


def decode_id(global_id: relay.GlobalID, type_name: str, field: Sequence[str]) -> uuid.UUID:
    """The UUID behind a global id of the expected type, or a userError at `field`."""
    value = parse_uuid(global_id.node_id) if global_id.type_name == type_name else None
    if value is None:
        raise DomainError.one(
            DomainErrorCode.INVALID,
            f"Mã định danh không phải của {type_name}.",
            f"The id is not a valid {type_name} id.",
            tuple(field),
        )
    return value


def query_ids(
    global_ids: Sequence[relay.GlobalID] | None, type_name: str, field: str
) -> tuple[uuid.UUID, ...]:
    """Ids in a query filter: a malformed one is a client error, not an empty result."""
    ids = []
    for gid in global_ids or ():
        value = parse_uuid(gid.node_id) if gid.type_name == type_name else None
        if value is None:
            raise ClientError(
                f"'{field}' must hold {type_name} ids.", f"'{field}' phải chứa mã {type_name}."
            )
        ids.append(value)
    return tuple(ids)


async def mutate(
    work: Callable[[], Awaitable[Any]],
    ok: Callable[[Any], T],
    failed: Callable[[list[UserError]], T],
) -> T:
    """Run a use case; expected failures become userErrors in the payload."""
    try:
        result = await work()
    except DomainError as error:
        return failed(user_errors(error))
    return ok(result)
