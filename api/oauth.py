"""POST /oauth/token: OAuth2 client credentials for integration partners (RFC 6749 §4.4).

The request is read and checked here (form encoding, repeated parameters, one way of client
authentication); the client it names is loaded; then authlib's authorization server
(adapters/auth/oauth_server.py) authenticates the client, checks grant and scope and answers, in
a worker thread because checking a secret hash costs about 30 ms of CPU.

    POST /oauth/token
    Authorization: Basic base64(client_id:client_secret)      (or client_id/client_secret in the form)
    Content-Type: application/x-www-form-urlencoded

    grant_type=client_credentials&scope=tips:read

answers 200 {"access_token", "token_type": "Bearer", "expires_in": 3600, "scope"}, or an RFC 6749
error: 401 invalid_client (with WWW-Authenticate), 400 invalid_request, unsupported_grant_type,
invalid_scope. Every answer carries Cache-Control: no-store.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.auth.oauth_server import TokenRequest
from api.bootstrap import Container

log = logging.getLogger("gandan.oauth")

MAX_BODY = 8192
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(description: str, error: str = "invalid_request", status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


async def _body(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY (read no further than that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def oauth_routes(container: Container) -> list[Route]:
    server = container.oauth_server
    partners = container.partners
    # What authlib checks for transport security: the address partners use. It must be https in
    # production (or authlib answers insecure_transport); loopback http is accepted for
    # development.
    token_uri = container.settings.public_base_url.rstrip("/") + "/oauth/token"

    async def token(request: Request) -> JSONResponse:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            return _error("The body must be application/x-www-form-urlencoded.")
        body = await _body(request)
        if body is None:
            return _error("The request body is too large.")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return _error("The form cannot be read.")
        names = [name for name, _ in pairs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            # RFC 6749 §3.2: request parameters must not be included more than once.
            return _error(f"Repeated parameter: {', '.join(repeated)}.")
        form = dict(pairs)
        if not form.get("grant_type"):
            return _error("The grant_type parameter is required.")
        basic_id, _ = extract_basic_authorization(request.headers)
        if basic_id is not None and ("client_secret" in form or "client_id" in form):
            # RFC 6749 §2.3: a client uses one authentication method per request.
            return _error("Authenticate with HTTP Basic or with the form, not both.")
        client_id = basic_id or form.get("client_id") or ""
        partner = await partners.find_client(client_id) if client_id else None
        status, payload, headers = await asyncio.to_thread(
            server.token_response,
            TokenRequest(uri=token_uri, headers=request.headers, form=form, partner=partner),
        )
        if status == 200:
            log.info("access token issued to partner %s", client_id)
        else:
            log.info("token request refused: %s (client %r)", payload.get("error"), client_id[:64])
        return JSONResponse(payload, status_code=status, headers=dict(headers))

    return [Route("/oauth/token", token, methods=["POST"])]
