"""Queries over bulletins: the staff's lists and previews, and the public's published feed."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from api.graphql.base import (
    ClientError,
    Connection,
    UserError,
    decode_cursor,
    decode_id,
    mutate,
    page_size,
    query_ids,
)
from api.graphql.bulletins.inputs import BulletinFilter
from api.graphql.bulletins.types import (
    Bulletin,
    BulletinKind,
    BulletinPreview,
    PublicBulletin,
)
from api.graphql.context import Info
from api.graphql.permissions import IsAuthenticated
from domain import ports
from domain.access import Role, Scope
from domain.bulletin import BulletinStatus
from domain.ids import BulletinId

PUBLISHED = (BulletinStatus.PUBLISHED, BulletinStatus.PARTIALLY_FAILED)


def _first(info: Info, first: int) -> int:
    return page_size(first, info.context.container.settings.max_page_size)


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ClientError(
            f"'{field}' must carry a time zone (e.g. 2026-11-23T08:00:00+07:00).",
            f"'{field}' phải kèm múi giờ (ví dụ 2026-11-23T08:00:00+07:00).",
        )
    return value


def _empty() -> ports.Page:
    return ports.Page(items=[], end_cursor=None, has_next=False, total=0)


@strawberry.type(description="A preview, or why there is none.")
class BulletinPreviewPayload:
    preview: BulletinPreview | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BulletinQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Bulletins of the wards where you are an officer or above.",
    )
    async def bulletins(
        self,
        info: Info,
        filter: BulletinFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Bulletin]:
        f = filter or BulletinFilter()
        domain_filter = ports.BulletinFilter(
            ward_ids=query_ids(f.ward_ids, "Ward", "wardIds"),
            kinds=tuple(f.kinds or ()),
            statuses=tuple(f.statuses or ()),
            text=f.text,
            created_from=_aware(f.created_from, "createdFrom"),
            created_to=_aware(f.created_to, "createdTo"),
        )
        async with info.context.container.uow() as uow:
            page = await uow.bulletins.page(
                domain_filter,
                scope=info.context.actor.scope(Role.OFFICER),
                after=decode_cursor(after),
                first=_first(info, first),
            )
        return Connection.from_page(page, Bulletin.from_domain, lambda b: str(b.id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="One bulletin; null when absent or not yours. Residents see their ward's"
        " published bulletins.",
    )
    async def bulletin(self, info: Info, id: relay.GlobalID) -> Bulletin | None:
        (bulletin_id,) = query_ids([id], "Bulletin", "id")
        bulletin = await info.context.loaders.bulletins_by_id.load(BulletinId(bulletin_id))
        return Bulletin.from_domain(bulletin) if bulletin else None

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="How the bulletin will look on each channel it targets, and what would stop"
        " its approval. A bulletin that is absent or not yours is a NOT_FOUND userError.",
    )
    async def bulletin_preview(self, info: Info, id: relay.GlobalID) -> BulletinPreviewPayload:
        svc, actor = info.context.container.bulletins, info.context.actor

        async def run():
            return await svc.preview(actor, BulletinId(decode_id(id, "Bulletin", ("id",))))

        return await mutate(
            run,
            lambda preview: BulletinPreviewPayload(preview=BulletinPreview.from_domain(preview)),
            lambda errors: BulletinPreviewPayload(user_errors=errors),
        )

    @strawberry.field(
        description="A unit's published bulletins, newest first, for anyone: no token needed."
        " An unknown code gives an empty list."
    )
    async def published_bulletins(
        self,
        info: Info,
        ward_code: str,
        kinds: list[BulletinKind] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[PublicBulletin]:
        size, cursor = _first(info, first), decode_cursor(after)
        async with info.context.container.uow() as uow:
            ward = await uow.wards.by_code(ward_code.strip())
            if ward is None:
                page = _empty()
            else:
                page = await uow.bulletins.page(
                    ports.BulletinFilter(
                        ward_ids=(ward.id,),
                        kinds=tuple(kinds or ()),
                        statuses=PUBLISHED,
                        newest_first=True,
                    ),
                    scope=Scope.all(),
                    after=cursor,
                    first=size,
                )
        return Connection.from_page(page, PublicBulletin.from_domain, lambda b: str(b.id))
