"""Tips are the business of their ward's staff only, by every path.

District D holds wards A and B (tests/api/org.py's world). A tip of ward A answers to an officer
of B, to a resident of A and to a stranger exactly as if it did not exist: it is in no list,
`node`, `nodes` and `tip` give null, every mutation answers NOT_FOUND (or UNAUTHENTICATED without a
token). `tipStatus` answers only to the tracking code, which is never shown to anyone outside the
ward, and cannot be guessed (at 27**9 codes, and rate-limited). Among the ward's staff, only its
commanders and the assigned officer can reveal the reporter; the audit log is for admins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from domain.access import Actor, Role
from domain.rate_limit import AccountLimiter
from domain.reporter import ReporterIdentity, TipSource
from domain.services.tips import TipSubmission
from domain.tip import TRACKING_BYTES, Tip, TipCategory, new_tracking_code
from tests.api.org import ROLES, World, build_world, gid, member_gid
from tests.api.test_tips_api import (
    AUDIT_LOG,
    NODE,
    REASON,
    TIP,
    TIP_ASSIGN,
    TIP_DISMISS,
    TIP_REPLY,
    TIP_REVEAL,
    TIP_STATUS,
    TIP_TRIAGE,
    TIPS,
)

NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
STAFF_OF_A = {"officer_a", "commander_a", "admin_d"}
REVEALERS = {"commander_a"}


@dataclass
class Tips:
    a: Tip
    b: Tip


@pytest.fixture(scope="class")
async def world(shared_api) -> World:
    # Guessing codes below asks many times from one address: lift the public rate limit here
    # (it has its own test in test_tips_api.py).
    shared_api.container.tip_limiter = AccountLimiter(rate=1000.0, burst=1000.0)
    return await build_world(shared_api.container.organisation)


@pytest.fixture(scope="class")
async def tips(shared_api, world) -> Tips:
    svc = shared_api.container.tips

    async def make(letter: str) -> Tip:
        receipt = await svc.submit(
            None,
            TipSubmission(
                ward_id=world.wards[letter].id,
                body=f"Tin báo của phường {letter}",
                source=TipSource.APP,
                anonymous=False,
                category=TipCategory.HINH_SU,
                reporter=ReporterIdentity.of(
                    platform=TipSource.APP, phone="0911222333", name="Người Báo"
                ),
            ),
        )
        return receipt.tip

    return Tips(a=await make("A"), b=await make("B"))


def tip_gid(tip: Tip) -> str:
    return gid("Tip", tip.id)


def member_of(world: World, role: str) -> Any:
    return world.actor_id(role)


async def refusal(api, query: str, role: str, world: World, **input: Any) -> str:
    """The first userError's code, or the GraphQL error's for a caller without a token."""
    response = await api.post(query, {"input": input}, as_=member_of(world, role))
    body = response.json()
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    (payload,) = body["data"].values()
    return payload["userErrors"][0]["code"] if payload["userErrors"] else "OK"


@pytest.mark.usefixtures("tips")
class TestEveryPath:
    @pytest.mark.parametrize("role", ROLES)
    async def test_list(self, shared_api, world, tips, role) -> None:
        response = await shared_api.post(TIPS, {"first": 100}, as_=member_of(world, role))
        body = response.json()
        if role == "anonymous":
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            return
        codes = {t["trackingCode"] for t in body["data"]["tips"]["nodes"]}
        assert (tips.a.tracking_code in codes) is (role in STAFF_OF_A)
        assert (tips.b.tracking_code in codes) is (role in {"admin_d", "officer_b"})

    @pytest.mark.parametrize("role", ROLES)
    async def test_by_id(self, shared_api, world, tips, role) -> None:
        as_ = member_of(world, role)
        visible = role in STAFF_OF_A
        for query, variables, key in (
            (NODE, {"id": tip_gid(tips.a)}, "node"),
            (TIP, {"id": tip_gid(tips.a)}, "tip"),
            (NODES, {"ids": [tip_gid(tips.a)]}, "nodes"),
        ):
            body = (await shared_api.post(query, variables, as_=as_)).json()
            if role == "anonymous":
                assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                continue
            found = body["data"][key]
            found = found[0] if key == "nodes" else found
            assert (found is not None) is visible, (query, body)

    @pytest.mark.parametrize("role", ROLES)
    async def test_mutations(self, shared_api, world, tips, role) -> None:
        api, a = shared_api, tip_gid(tips.a)
        if role in STAFF_OF_A:
            return  # the staff are let in: what they may then do is tested in test_tips_api.py
        expected = "UNAUTHENTICATED" if role == "anonymous" else "NOT_FOUND"
        officer_a = member_gid(world.actors["officer_a"])
        for query, input in (
            (TIP_TRIAGE, {"category": "MA_TUY"}),
            (TIP_ASSIGN, {"assigneeId": officer_a}),
            (TIP_DISMISS, {"reason": "Không rõ"}),
            (TIP_REPLY, {"text": "Xin chào"}),
            (TIP_REVEAL, {"reason": REASON}),
        ):
            assert await refusal(api, query, role, world, id=a, **input) == expected, query
        body = (await api.post(TIP, {"id": a}, as_=member_of(world, "commander_a"))).json()
        assert body["data"]["tip"]["status"] == "RECEIVED"
        assert body["data"]["tip"]["messages"][-1]["direction"] == "OUT"  # the acknowledgement

    @pytest.mark.parametrize("role", ROLES)
    async def test_reveal(self, shared_api, world, tips, role) -> None:
        if role not in STAFF_OF_A:
            return  # refused as NOT_FOUND above
        code = await refusal(shared_api, TIP_REVEAL, role, world, id=tip_gid(tips.a), reason=REASON)
        assert code == ("OK" if role in REVEALERS else "FORBIDDEN")

    @pytest.mark.parametrize("role", ROLES)
    async def test_guessing_tracking_codes_finds_nothing(self, shared_api, world, role) -> None:
        rng = random.Random(role)
        for _ in range(50):
            code = new_tracking_code(rng.randbytes(TRACKING_BYTES))
            data = await shared_api.gql(TIP_STATUS, {"code": code}, as_=member_of(world, role))
            assert data["tipStatus"] is None

    async def test_the_code_alone_shows_state_and_replies_not_who_or_where(
        self, shared_api, world, tips
    ) -> None:
        data = await shared_api.gql(TIP_STATUS, {"code": tips.a.tracking_code})
        assert set(data["tipStatus"]) == {
            "trackingCode",
            "status",
            "receivedAt",
            "updatedAt",
            "replies",
        }

    @pytest.mark.parametrize("role", ROLES)
    async def test_audit_log(self, shared_api, world, tips, role) -> None:
        # The reveal by commander_a above (or this one) is in the log of ward A.
        commander = Actor(world.actors["commander_a"].id, {world.wards["A"].id: Role.COMMANDER})
        await shared_api.container.tips.reveal_reporter(commander, tips.a.id, REASON)
        response = await shared_api.post(AUDIT_LOG, {}, as_=member_of(world, role))
        body = response.json()
        if role == "anonymous":
            assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            return
        total = body["data"]["auditLog"]["totalCount"]
        assert (total > 0) is (role == "admin_d")
