"""Arranging partner tests: partners, their tokens, named tips."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from domain.access import Actor
from domain.partner import PartnerClient
from domain.reporter import ReporterIdentity, TipSource
from domain.services.partners import PartnerClientCreate
from domain.services.tips import TipSubmission
from domain.tip import Tip
from domain.ward import Ward

SYSTEM = Actor.system_actor()
REPORTER_NAME = "Nguyễn Văn Tố Giác"
REPORTER_PHONE = "+84987654321"
TIP_BODY = "Có người lạ bán ma tuý ở ngõ 12 phố Tân Mai, tối nào cũng thấy."


async def make_partner(
    app: Any, *wards: Ward, name: str = "Báo An ninh Thủ đô", scopes=("tips:read",)
) -> tuple[PartnerClient, str]:
    return await app.partners.create_client(
        SYSTEM,
        PartnerClientCreate(name=name, ward_ids=tuple(w.id for w in wards), scopes=tuple(scopes)),
    )


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def partner_token(http: httpx.AsyncClient, client: PartnerClient, secret: str) -> str:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, secret),
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def partner_gql(
    http: httpx.AsyncClient, token: str, query: str, variables: dict | None = None
) -> dict:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def submit_tip(app: Any, ward: Ward, body: str = TIP_BODY) -> Tip:
    """A named (not anonymous) tip: its reporter's name and phone are kept, sealed."""
    receipt = await app.tips.submit(
        None,
        TipSubmission(
            ward_id=ward.id,
            body=body,
            source=TipSource.APP,
            anonymous=False,
            reporter=ReporterIdentity.of(name=REPORTER_NAME, phone=REPORTER_PHONE),
        ),
    )
    return receipt.tip
