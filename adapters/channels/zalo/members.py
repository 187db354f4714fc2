"""Who is in an OA-managed Zalo group, and who follows an Official Account, page by page.

Both listings are GET calls through the ZaloClient (raw `access_token` header, the `data` JSON
parameter, the error envelope, token refresh), so an access token that expires part-way through a
long listing is refreshed and the listing goes on from the same offset.

- Group members (GMF, channels.md §1.5): GET `/v3.0/oa/group/listmember` with
  data `{"group_id", "offset", "count"}`. channels.md names the endpoint but not its fields, so the
  answer is read as `data.members[] {user_id, name}` with `data.total` — [UNCONFIRMED]: check it on
  a live GMF account. `display_name` is accepted for the name too, and the listing ends at the
  first page shorter than `count` (or once `total` members were read).
- Followers (§1.4): GET `/v3.0/oa/user/getlist` with data `{"offset", "count" ≤ 50,
  "is_follower": true}` → `data.users[].user_id` and `data.total`. Zalo reads no further than an
  offset of about 9951 [SINGLE]; past it the listing stops with a warning and MembershipTruncated.
  Names would cost one `/v3.0/oa/user/detail` call per follower, out of the same quota as
  publishing, so followers come without names.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from adapters.channels.base import ChannelDeps, missing_credentials
from adapters.channels.zalo.client import ZaloClient
from domain.channels import ChannelKind
from domain.ports import ChannelError, ChannelMember, GroupRef, MembershipTruncated

log = logging.getLogger("gandan.channels.zalo")

LIST_MEMBER_PATH = "/v3.0/oa/group/listmember"
FOLLOWERS_PATH = "/v3.0/oa/user/getlist"
PAGE_SIZE = 50  # the follower list's maximum; GMF documents none, so it gets the same
FOLLOWER_OFFSET_CAP = 9951  # the highest offset getlist answers [SINGLE]


class ZaloGroupMembers:
    """The members of an OA-managed group (GMF), as Zalo lists them."""

    kind = ChannelKind.ZALO_GROUP
    page_size = PAGE_SIZE

    def __init__(self, deps: ChannelDeps, client: ZaloClient | None = None) -> None:
        self._deps = deps
        self.api = client or ZaloClient(deps)

    async def members(self, target: GroupRef) -> AsyncIterator[ChannelMember]:
        ref = _credentials_ref(self._deps, target)
        offset = 0
        while True:
            params = {"group_id": target.external_id, "offset": offset, "count": self.page_size}
            data = await self.api.get(ref, LIST_MEMBER_PATH, params)
            rows = _rows(data, "members")
            for row in rows:
                yield _member(row, name_fields=("name", "display_name"))
            offset += len(rows)
            total = _total(data)
            if len(rows) < self.page_size or (total is not None and offset >= total):
                return


class ZaloFollowers:
    """The followers of an Official Account (the OA's own group), as Zalo lists them."""

    kind = ChannelKind.ZALO_OA
    page_size = PAGE_SIZE
    offset_cap = FOLLOWER_OFFSET_CAP

    def __init__(self, deps: ChannelDeps, client: ZaloClient | None = None) -> None:
        self._deps = deps
        self.api = client or ZaloClient(deps)

    async def members(self, target: GroupRef) -> AsyncIterator[ChannelMember]:
        ref = _credentials_ref(self._deps, target)
        offset = 0
        while True:
            params = {"offset": offset, "count": self.page_size, "is_follower": True}
            data = await self.api.get(ref, FOLLOWERS_PATH, params)
            rows = _rows(data, "users")
            for row in rows:
                yield _member(row, name_fields=("display_name",))
            offset += len(rows)
            total = _total(data)
            if len(rows) < self.page_size or (total is not None and offset >= total):
                return
            if offset > self.offset_cap:
                more = f"{total - offset} more" if total is not None else "maybe more"
                log.warning(
                    "zalo follower list of %s truncated at offset %d (%s); Zalo reads no further",
                    target.external_id,
                    offset,
                    more,
                )
                raise MembershipTruncated(
                    f"Zalo lists followers only up to offset {self.offset_cap}: "
                    f"read {offset}, {more} not listed"
                )


def zalo_membership_sources(
    deps: ChannelDeps, kinds: set[ChannelKind] | None = None
) -> dict[ChannelKind, ZaloGroupMembers | ZaloFollowers]:
    """The Zalo listings for the given kinds (default both), sharing one client and its locks."""
    client = ZaloClient(deps)
    sources = {
        ChannelKind.ZALO_GROUP: ZaloGroupMembers(deps, client),
        ChannelKind.ZALO_OA: ZaloFollowers(deps, client),
    }
    return {k: s for k, s in sources.items() if kinds is None or k in kinds}


def _credentials_ref(deps: ChannelDeps, target: GroupRef) -> str:
    ref = target.credentials_ref
    if not ref or deps.credentials.config(ref) is None:
        raise missing_credentials(ref)
    return ref


def _rows(data: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    rows = data.get(field)
    if rows is None:
        return []  # an empty group may come without the list at all
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise _bad_response(f"data.{field} is not a list of objects")
    return rows


def _member(row: Mapping[str, Any], *, name_fields: tuple[str, ...]) -> ChannelMember:
    user_id = row.get("user_id")
    # Zalo ids are 19-digit strings; Python reads one sent as a JSON number without losing digits.
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip():
        raise _bad_response("a member without a user_id")
    names = (row.get(f) for f in name_fields)
    name = next((n.strip() for n in names if isinstance(n, str) and n.strip()), None)
    return ChannelMember(external_user_id=user_id.strip(), display_name=name)


def _total(data: Mapping[str, Any]) -> int | None:
    try:
        return int(data["total"])
    except (KeyError, TypeError, ValueError):
        return None


def _bad_response(detail: str) -> ChannelError:
    return ChannelError(
        f"Zalo answered a member list without the expected shape: {detail}",
        retryable=True,
        code="zalo:bad_response",
    )
