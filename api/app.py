"""The ASGI application: GraphQL at /graphql, health probes, request ids and logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import sqlalchemy as sa
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from api.auth import ActorUser, BearerTokenBackend, PartnerTokenAuth, PartnerUser, refuse
from api.bootstrap import Container, bootstrap
from api.caching import GraphQLGetCache
from api.config import Settings
from api.graphql.context import Context
from api.graphql.schema import build_schema
from api.logs import request_id
from api.oauth import oauth_routes
from api.public import public_routes
from api.webhooks import webhook_routes
from api.worker import DeliveryWorker
from domain.access import Actor

log = logging.getLogger("gandan.http")


class GandanGraphQL(GraphQL):
    def __init__(self, container: Container, backend: BearerTokenBackend, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.container = container
        self.backend = backend

    async def on_ws_connect(self, context: Context) -> dict[str, Any] | None:
        """Subscriptions authenticate in connection_init: {"Authorization": "Bearer <token>"}."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        raw = (
            params.get("Authorization") or params.get("authorization") or params.get("token") or ""
        )
        token = str(raw).removeprefix("Bearer ").removeprefix("bearer ").strip()
        if token:
            try:
                user = await self.backend.user_for_token(token)
            except AuthenticationError as error:
                raise ConnectionRejectionError(
                    {"message": str(error), "code": "UNAUTHENTICATED"}
                ) from None
            if isinstance(user, PartnerUser):
                context.partner = user.principal
            else:
                context.act_as(user.actor)
        if not context.actor.authenticated and context.partner is None:
            raise ConnectionRejectionError(
                {"message": "You need to sign in.", "code": "UNAUTHENTICATED"}
            )
        return None

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            return await super().run(request, context, root_value)
        finally:
            if isinstance(request, Request):
                await request.close()  # uploads wait in temporary files until the form is closed

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry lets bodies such as `"text"`, `1`, bad UTF-8 or very deep arrays crash; refuse them."""
        try:
            parsed = self.decode_json(data)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """A `map` that is not {key: [path, …]} crashes strawberry; it is the client's mistake."""
        try:
            return await super().parse_multipart(request)
        except (AttributeError, TypeError, ValueError, IndexError):
            raise HTTPException(
                400, "The multipart request does not follow the GraphQL multipart spec."
            ) from None

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        user = request.scope.get("user")
        actor = user.actor if isinstance(user, ActorUser) else Actor.anonymous()
        partner = user.principal if isinstance(user, PartnerUser) else None
        return Context(
            request=request,
            response=response,
            actor=actor,
            container=self.container,
            partner=partner,
        )


class RequestIdMiddleware:
    """Tags each request with an id (the caller's X-Request-ID if sane) and logs its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id.reset(token)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, container: Container | None = None) -> Starlette:
    """The app for `settings`; pass a `container` to share adapters (tests do)."""
    settings = settings or (container.settings if container else Settings())
    owned = container is None
    container = container or bootstrap(settings)

    async def readyz(_request: Request) -> JSONResponse:
        try:
            async with container.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as error:  # any failure means "not ready", never a crash
            log.warning("readiness check failed: %s", error)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info(
            "started",
            extra={"env": settings.env.value, "database": container.engine.url.get_backend_name()},
        )
        worker = DeliveryWorker(container) if settings.embedded_worker and owned else None
        task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            if worker and task:
                worker.stop()
                await task
            if owned:
                await container.aclose()
            log.info("stopped")

    backend = BearerTokenBackend(
        container.tokens,
        container.organisation,
        PartnerTokenAuth(container.partner_tokens, container.partners),
    )
    graphql = GandanGraphQL(
        container,
        backend,
        schema=build_schema(settings),
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        multipart_uploads_enabled=True,
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *public_routes(container),
            *oauth_routes(container),
            *webhook_routes(container),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(GraphQLGetCache),
            Middleware(AuthenticationMiddleware, backend=backend, on_error=refuse),
        ],
        lifespan=lifespan,
    )
    app.state.container = container
    return app
