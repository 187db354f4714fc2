"""What residents and portals read without a token: the bulletin page, its media, the ward feed.

Everything here is published content only, and cacheable: responses carry an ETag and
Cache-Control, and a matching If-None-Match gets 304.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.blobs import BlobNotFound
from adapters.channels.portal.atom import MEDIA_TYPE, AtomEntry, AtomFeed, render_atom, urn_uuid
from api.bootstrap import Container
from domain.access import Scope
from domain.bulletin import BulletinStatus
from domain.ids import BulletinId
from domain.ports import BulletinFilter
from domain.procedure import FILING_VI, VERIFY_VI

FEED_SIZE = 50
PUBLISHED = (BulletinStatus.PUBLISHED, BulletinStatus.PARTIALLY_FAILED)


def cached(request: Request, body: bytes, media_type: str, *, max_age: int) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def not_found() -> Response:
    return Response(
        "Không tìm thấy / Not found\n", status_code=404, media_type="text/plain; charset=utf-8"
    )


def public_routes(container: Container) -> list[Route]:
    base = container.settings.public_base_url.rstrip("/")

    async def bulletin_page(request: Request) -> Response:
        try:
            bulletin_id = BulletinId(uuid.UUID(request.path_params["bulletin_id"]))
        except ValueError:
            return not_found()
        async with container.uow() as uow:
            bulletin = await uow.bulletins.get(bulletin_id, scope=Scope.all())
            ward = await uow.wards.get(bulletin.ward_id, scope=Scope.all()) if bulletin else None
        if bulletin is None or not bulletin.public or ward is None:
            return not_found()
        paragraphs = "".join(
            f"<p>{html.escape(p)}</p>" for p in bulletin.body.split("\n") if p.strip()
        )
        media = "".join(
            f'<p><a href="{base}/media/{a.blob_key}">{html.escape(a.filename)}</a></p>'
            for a in bulletin.attachments
        )
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(bulletin.title)}</title></head><body>"
            f"<p>{html.escape(ward.name)}</p><h1>{html.escape(bulletin.title)}</h1>"
            f"{paragraphs}{media}</body></html>"
        )
        return cached(request, page.encode(), "text/html; charset=utf-8", max_age=300)

    async def media(request: Request) -> Response:
        key = request.path_params["blob_key"]
        async with container.uow() as uow:
            attachment = await uow.bulletins.public_attachment(key)
        if attachment is None:
            return not_found()
        try:
            data = await container.blobs.get(key)
        except (BlobNotFound, KeyError):
            return not_found()
        response = cached(request, data, attachment.content_type, max_age=86400)
        response.headers["Content-Disposition"] = (
            f"inline; filename*=UTF-8''{quote(attachment.filename, safe='')}"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def ward_feed(request: Request) -> Response:
        code = request.path_params["ward_code"]
        async with container.uow() as uow:
            ward = await uow.wards.by_code(code)
            if ward is None:
                return not_found()
            page = await uow.bulletins.page(
                BulletinFilter(ward_ids=(ward.id,), statuses=PUBLISHED, newest_first=True),
                scope=Scope.all(),
                after=None,
                first=FEED_SIZE,
            )
        entries = tuple(
            AtomEntry(
                id=urn_uuid(b.id),
                title=b.title,
                link=f"{base}/bulletins/{b.id}",
                updated=b.updated_at
                if b.published_at is None
                else max(b.updated_at, b.published_at),
                published=b.published_at,
                content=b.body,
                categories=(b.kind.value,),
            )
            for b in page.items
        )
        feed = AtomFeed(
            id=urn_uuid(ward.id),
            title=f"Bản tin – {ward.name}",
            self_url=f"{base}/feeds/{ward.code}/bulletins.atom",
            updated=max((e.updated for e in entries), default=ward.created_at),
            author_name=ward.name,
            entries=entries,
        )
        return cached(request, render_atom(feed), MEDIA_TYPE, max_age=60)

    async def procedure_page(request: Request) -> Response:
        found = await container.procedures.get(None, request.path_params["code"])
        if found is None:
            return not_found()
        c = found.content
        esc = html.escape
        items = "".join(
            f"<li>{esc(d.name)}{f' ({esc(d.form_code)})' if d.form_code else ''}</li>"
            for d in c.documents
        )
        facts = "".join(
            f"<h2>{esc(label)}</h2><p>{esc(value)}</p>"
            for label, value in (
                ("Nơi giải quyết", c.authority),
                ("Người nộp", c.who_may_file),
                ("Cách nộp", "; ".join(FILING_VI[m] for m in c.filing_methods)),
                ("Thời hạn", c.time_limit),
                ("Lệ phí", c.fee),
                ("Căn cứ pháp lý", c.legal_basis),
            )
        )
        unconfirmed = "".join(f"<li>{esc(u)}</li>" for u in c.unconfirmed)
        page = (
            '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(c.name)}</title></head><body><h1>{esc(c.name)}</h1>"
            f"<p>{esc(c.summary)}</p><h2>Hồ sơ</h2><ul>{items}</ul>{facts}"
            + (f"<h2>Chưa được xác nhận</h2><ul>{unconfirmed}</ul>" if unconfirmed else "")
            + f"<p>{esc(VERIFY_VI)}</p></body></html>"
        )
        return cached(request, page.encode(), "text/html; charset=utf-8", max_age=300)

    return [
        Route("/procedures/{code}", procedure_page, methods=["GET", "HEAD"]),
        Route("/bulletins/{bulletin_id}", bulletin_page, methods=["GET", "HEAD"]),
        Route("/media/{blob_key}", media, methods=["GET", "HEAD"]),
        Route("/feeds/{ward_code}/bulletins.atom", ward_feed, methods=["GET", "HEAD"]),
    ]
