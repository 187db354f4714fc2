"""Bulletins and deliveries are scoped like everything else, and relations cost constant SQL.

District D holds wards A and B (tests/api/org.py's world). Another ward's bulletin or delivery
answers exactly as if it did not exist: null from node, bulletin and nodes; NOT_FOUND from every
mutation. Residents list nothing and see a bulletin of their own ward only once it is published,
without its history or deliveries. The public feed needs no token at all.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from domain.access import Actor, Role, Scope
from domain.bulletin import BulletinKind
from domain.ids import BulletinId
from domain.ports import Reach
from domain.services.bulletins import BulletinDraft
from tests.api.org import (
    ROLES,
    World,
    build_world,
    gid,
    group_gid,
    make_group,
    make_member,
    make_ward,
    ward_gid,
)
from tests.api.test_bulletins_api import (
    BULLETIN_APPROVE,
    BULLETIN_CANCEL,
    BULLETIN_CREATE,
    BULLETIN_REJECT,
    BULLETIN_SCHEDULE,
    BULLETIN_SUBMIT,
    BULLETIN_UPDATE,
    DELIVERY_RETRY,
    PNG,
    PREVIEW,
    PUBLISHED,
    record_outcomes,
    refused,
    upload,
)

NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Bulletin { title status }
    ... on Delivery { deliveryStatus: status }
    ... on PublicBulletin { title }
  }
}
"""
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
BULLETIN = """
query ($id: ID!) {
  bulletin(id: $id) {
    id title status author { fullName } history { toStatus }
    deliveries { id } deliveryStats { total }
  }
}
"""
BULLETINS = "query { bulletins(first: 50) { totalCount nodes { id title } } }"


@dataclass
class Bulletins:
    """In ward A: a published bulletin with one dead delivery, and a draft. In B: a submitted one."""

    published: Any  # domain Bulletin
    draft: Any
    other_ward: Any
    delivery_id: uuid.UUID


def actor_of(world: World, role: str) -> Actor:
    member = world.actors[role]
    return Actor(member_id=member.id, roles={member.ward_id: Role.OFFICER})


@pytest.fixture(scope="class")
async def world(shared_api) -> World:
    return await build_world(shared_api.container.organisation)


@pytest.fixture(scope="class")
async def bulletins(shared_api, world) -> Bulletins:
    """Arranged through the service, as the officers and commanders would."""
    svc = shared_api.container.bulletins
    officer_a = actor_of(world, "officer_a")
    commander_a = Actor(
        member_id=world.actors["commander_a"].id, roles={world.wards["A"].id: Role.COMMANDER}
    )
    second_group = await make_group(
        shared_api.container.organisation, world.wards["A"], "Tổ dân phố 2 Tân Mai"
    )

    def draft(letter: str, title: str) -> BulletinDraft:
        return BulletinDraft(
            ward_id=world.wards[letter].id,
            kind=BulletinKind.SCAM_WARNING,
            title=title,
            body="Không chuyển tiền cho người lạ.",
            target_group_ids=(world.groups[letter].id,)
            + ((second_group.id,) if letter == "A" else ()),
        )

    published = await svc.create(officer_a, draft("A", "Tin đã đăng của A"))
    await svc.submit(officer_a, published.id, None)
    await svc.approve(commander_a, published.id, None)
    await record_outcomes(
        shared_api.container, published.id, dead={second_group.id}, reach=Reach(views=5)
    )
    draft_a = await svc.create(officer_a, draft("A", "Bản nháp của A"))
    officer_b = actor_of(world, "officer_b")
    other = await svc.create(officer_b, draft("B", "Tin của B"))
    await svc.submit(officer_b, other.id, None)
    async with shared_api.container.uow() as uow:
        (deliveries,) = await uow.deliveries.of_bulletins([published.id], scope=Scope.all())
    (dead,) = [d for d in deliveries if d.group_id == second_group.id]
    return Bulletins(published=published, draft=draft_a, other_ward=other, delivery_id=dead.id)


def bgid(bulletin: Any) -> str:
    return gid("Bulletin", bulletin.id)


# What each role sees of A's bulletins: (published, draft)
SEES = {
    "resident_a": (True, False),
    "officer_a": (True, True),
    "commander_a": (True, True),
    "admin_d": (True, True),
    "officer_b": (False, False),
}
STAFF_OF_A = {"officer_a", "commander_a", "admin_d"}


class TestReads:
    @pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
    async def test_bulletin_by_id_node_and_nodes(self, shared_api, world, bulletins, role):
        # given A's published bulletin and its draft
        as_ = world.actor_id(role)
        sees_published, sees_draft = SEES[role]

        for bulletin, visible in (
            (bulletins.published, sees_published),
            (bulletins.draft, sees_draft),
        ):
            # when the caller asks for each by id, as a node and among nodes
            by_id = await shared_api.gql(BULLETIN, {"id": bgid(bulletin)}, as_=as_)
            node = await shared_api.gql(NODE, {"id": bgid(bulletin)}, as_=as_)
            nodes = await shared_api.gql(NODES, {"ids": [bgid(bulletin)]}, as_=as_)

            # then it is there, or null exactly as an id that never existed
            if not visible:
                assert by_id == {"bulletin": None}
                assert node == {"node": None}
                assert nodes == {"nodes": [None]}
                continue
            assert by_id["bulletin"]["title"] == bulletin.title
            assert node["node"]["__typename"] == "Bulletin"
            assert nodes["nodes"] == [{"__typename": "Bulletin", "id": bgid(bulletin)}]
            read = by_id["bulletin"]
            if role in STAFF_OF_A:
                assert read["author"] == {"fullName": "Lê Văn Cảnh"}
                assert len(read["history"]) == (4 if bulletin is bulletins.published else 0)
            else:
                # a resident reads the content, but not who wrote it, its history or deliveries
                assert read["author"] is None
                assert read["history"] == []
                assert read["deliveries"] == []
                assert read["deliveryStats"] == {"total": 0}

        # and B's submitted bulletin is only for B's staff and the district's admin
        other = await shared_api.gql(BULLETIN, {"id": bgid(bulletins.other_ward)}, as_=as_)
        assert (other["bulletin"] is not None) is (role in {"officer_b", "admin_d"})

    @pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
    async def test_delivery_node(self, shared_api, world, bulletins, role):
        # when the caller asks for a delivery of A's bulletin as a node
        delivery = gid("Delivery", bulletins.delivery_id)
        node = await shared_api.gql(NODE, {"id": delivery}, as_=world.actor_id(role))
        published = await shared_api.gql(
            BULLETIN, {"id": bgid(bulletins.published)}, as_=world.actor_id(role)
        )

        # then the staff of A see it; everyone else, residents of A included, sees nothing
        if role in STAFF_OF_A:
            assert node == {
                "node": {"__typename": "Delivery", "id": delivery, "deliveryStatus": "DEAD"}
            }
            assert len(published["bulletin"]["deliveries"]) == 2
        else:
            assert node == {"node": None}

    @pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
    async def test_bulletins_lists_only_wards_where_officer(
        self, shared_api, world, bulletins, role
    ):
        # when the caller lists bulletins
        data = await shared_api.gql(BULLETINS, as_=world.actor_id(role))

        # then officers and above see their wards' bulletins; residents see none at all
        expected = {
            "resident_a": set(),
            "officer_a": {bulletins.published.title, bulletins.draft.title},
            "commander_a": {bulletins.published.title, bulletins.draft.title},
            "admin_d": {
                bulletins.published.title,
                bulletins.draft.title,
                bulletins.other_ward.title,
            },
            "officer_b": {bulletins.other_ward.title},
        }[role]
        assert {n["title"] for n in data["bulletins"]["nodes"]} == expected
        assert data["bulletins"]["totalCount"] == len(expected)

    async def test_anonymous_callers_must_sign_in_except_for_the_feed(
        self, shared_api, world, bulletins
    ):
        # when a caller without a token lists, reads, previews bulletins and reads a node
        for document, variables in (
            (BULLETINS, None),
            (BULLETIN, {"id": bgid(bulletins.published)}),
            (PREVIEW, {"id": bgid(bulletins.published)}),
            (NODE, {"id": bgid(bulletins.published)}),
        ):
            errors = await shared_api.errors(document, variables)
            # then each is an UNAUTHENTICATED error
            assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]

        # while the public feed answers without a token, with the published bulletin only
        feed = await shared_api.gql(PUBLISHED, {"wardCode": world.wards["A"].code, "first": 10})
        nodes = feed["publishedBulletins"]["nodes"]
        assert [n["title"] for n in nodes] == [bulletins.published.title]
        public_id = nodes[0]["id"]

        # and a signed-in member of any ward reads it by that id as a PublicBulletin
        node = await shared_api.gql(NODE, {"id": public_id}, as_=world.actor_id("officer_b"))
        assert node == {
            "node": {
                "__typename": "PublicBulletin",
                "id": public_id,
                "title": bulletins.published.title,
            }
        }
        draft = await shared_api.gql(
            NODE, {"id": gid("PublicBulletin", bulletins.draft.id)}, as_=world.actor_id("admin_d")
        )
        assert draft == {"node": None}

    @pytest.mark.parametrize("role", ["resident_a", "officer_b"])
    async def test_preview_of_a_bulletin_not_yours_is_not_found(
        self, shared_api, world, bulletins, role
    ):
        data = await shared_api.gql(
            PREVIEW, {"id": bgid(bulletins.draft)}, as_=world.actor_id(role)
        )
        assert data["bulletinPreview"]["preview"] is None
        assert [(e["code"], e["field"]) for e in data["bulletinPreview"]["userErrors"]] == [
            ("NOT_FOUND", ["id"])
        ]


# Mutations on another ward's bulletin answer NOT_FOUND, exactly as for an unknown id.

MUTATIONS = {
    "bulletinSubmit": (BULLETIN_SUBMIT, lambda b: {"id": b}),
    "bulletinApprove": (BULLETIN_APPROVE, lambda b: {"id": b}),
    "bulletinReject": (BULLETIN_REJECT, lambda b: {"id": b, "comment": "Không đạt"}),
    "bulletinCancel": (BULLETIN_CANCEL, lambda b: {"id": b}),
    "bulletinUpdate": (BULLETIN_UPDATE, lambda b: {"id": b, "title": "Đổi tên"}),
    "bulletinSchedule": (BULLETIN_SCHEDULE, lambda b: {"id": b, "at": None}),
}


class TestMutations:
    @pytest.mark.parametrize("name", list(MUTATIONS))
    @pytest.mark.parametrize("role", ["officer_b", "resident_a"])
    async def test_another_wards_bulletin_is_not_found(
        self, shared_api, world, bulletins, role, name
    ):
        document, make_input = MUTATIONS[name]
        for target in (bgid(bulletins.draft), gid("Bulletin", uuid.uuid4())):
            # when the caller changes A's draft, or a bulletin that never existed
            data = await shared_api.gql(
                document, {"input": make_input(target)}, as_=world.actor_id(role)
            )
            # then both answer NOT_FOUND at id, and the draft is untouched
            assert refused(data) == [("NOT_FOUND", ["id"])]
        async with shared_api.container.uow() as uow:
            stored = await uow.bulletins.get(BulletinId(bulletins.draft.id), scope=Scope.all())
        assert stored.title == bulletins.draft.title
        assert stored.status.value == "draft"

    @pytest.mark.parametrize("role", ["officer_b", "resident_a"])
    async def test_delivery_retry_outside_the_ward_is_not_found(
        self, shared_api, world, bulletins, role
    ):
        # when a caller who is not staff of A retries A's dead delivery
        data = await shared_api.gql(
            DELIVERY_RETRY,
            {"input": {"id": gid("Delivery", bulletins.delivery_id)}},
            as_=world.actor_id(role),
        )
        # then it answers as for a delivery that does not exist
        assert refused(data) == [("NOT_FOUND", ["id"])]

    @pytest.mark.parametrize(
        ("role", "letter", "expected"),
        [
            ("officer_b", "A", ("NOT_FOUND", ["wardId"])),
            ("resident_a", "A", ("FORBIDDEN", ["wardId"])),
            ("anonymous", "A", ("UNAUTHENTICATED", [])),
        ],
    )
    async def test_create_and_upload_need_an_officer_of_the_ward(
        self, shared_api, world, role, letter, expected
    ):
        ward = world.wards[letter]
        create = await shared_api.gql(
            BULLETIN_CREATE,
            {
                "input": {
                    "wardId": ward_gid(ward),
                    "kind": "COMMUNITY_NOTICE",
                    "title": "Họp tổ dân phố",
                    "body": "Tối thứ Bảy, 19 giờ.",
                    "targetGroupIds": [group_gid(world.groups[letter])],
                }
            },
            as_=world.actor_id(role),
        )
        assert refused(create) == [expected]
        who = world.actors.get(role)
        uploaded = await upload(shared_api, who, ward, PNG, "a.png", "image/png")
        assert uploaded["attachment"] is None
        assert [(e["code"], e["field"]) for e in uploaded["userErrors"]] == [expected]

    async def test_targets_outside_the_unit_are_not_found(self, shared_api, world):
        # when A's officer targets B's group and B itself
        data = await shared_api.gql(
            BULLETIN_CREATE,
            {
                "input": {
                    "wardId": ward_gid(world.wards["A"]),
                    "kind": "COMMUNITY_NOTICE",
                    "title": "Họp tổ dân phố",
                    "body": "Tối thứ Bảy, 19 giờ.",
                    "targetGroupIds": [group_gid(world.groups["B"])],
                    "targetWardIds": [ward_gid(world.wards["B"])],
                }
            },
            as_=world.actor_id("officer_a"),
        )
        # then both are absent from where A may send
        assert refused(data) == [
            ("NOT_FOUND", ["targetWardIds", "0"]),
            ("NOT_FOUND", ["targetGroupIds", "0"]),
        ]


# Query count: relations through DataLoaders, whatever the page size.

PAGE = """
query ($first: Int!) {
  bulletins(first: $first) {
    totalCount
    nodes {
      id title status
      author { fullName }
      approvedBy { fullName }
      ward { name }
      targetGroups { name }
      targetWards { name }
      history { toStatus actor { fullName } }
      deliveries { status group { name } reach { views } }
      deliveryStats { total sent dead views }
    }
  }
}
"""
# Measured on SQLite and PostgreSQL alike: 2 are the token check (a commander's member and
# grants); the page is 6 (count, select, and the bulletins' attachments, target groups, target
# wards and history); members are 2 batches of 3 with their groups and identities (authors and
# approvers, then the history's actors one level down); groups 2 batches (targets, then the
# deliveries' groups); wards, deliveries and reach 1 each.
BULLETIN_PAGE_STATEMENTS = 19
BULLETIN_COUNT = 50


@contextlib.contextmanager
def counting(api: Any) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = api.container.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@dataclass
class Busy:
    commander: Any
    group_count: int


@pytest.fixture(scope="class")
async def busy(shared_api) -> Busy:
    """A ward with 50 published bulletins, each delivered to three groups with reach reported."""
    org, svc = shared_api.container.organisation, shared_api.container.bulletins
    ward = await make_ward(org, "Phường Hoàng Văn Thụ")
    groups = [await make_group(org, ward, f"Tổ dân phố {i}") for i in range(3)]
    officer = await make_member(org, ward, "Lê Văn Cảnh", roles=(Role.OFFICER,))
    commander = await make_member(org, ward, "Trần Văn Bảo", roles=(Role.COMMANDER,))
    as_officer = Actor(member_id=officer.id, roles={ward.id: Role.OFFICER})
    as_commander = Actor(member_id=commander.id, roles={ward.id: Role.COMMANDER})
    for i in range(BULLETIN_COUNT):
        bulletin = await svc.create(
            as_officer,
            BulletinDraft(
                ward_id=ward.id,
                kind=BulletinKind.COMMUNITY_NOTICE,
                title=f"Thông báo số {i}",
                body="Nội dung thông báo.",
                target_group_ids=tuple(g.id for g in groups[:2]),
                target_ward_ids=(ward.id,),
            ),
        )
        await svc.submit(as_officer, bulletin.id, "Xin duyệt")
        await svc.approve(as_commander, bulletin.id, "Đồng ý")
        await record_outcomes(
            shared_api.container,
            bulletin.id,
            dead={groups[0].id} if i % 5 == 0 else set(),
            reach=Reach(views=10 + i, reactions=1),
        )
    return Busy(commander=commander, group_count=len(groups))


class TestQueryCount:
    async def test_bulletin_page_costs_the_same_at_5_and_50(self, shared_api, busy):
        async def cost(first: int) -> tuple[int, dict]:
            with counting(shared_api) as statements:
                data = await shared_api.gql(PAGE, {"first": first}, as_=busy.commander.id)
            return len(statements), data

        # when the commander reads a page of 5 and one of 50 bulletins with every relation
        small, small_data = await cost(5)
        large, large_data = await cost(BULLETIN_COUNT)

        # then both cost the same few statements
        assert small == large, (small, large)
        assert large <= BULLETIN_PAGE_STATEMENTS, large
        # and the large page really holds everything asked for
        nodes = large_data["bulletins"]["nodes"]
        assert len(small_data["bulletins"]["nodes"]) == 5
        assert len(nodes) == BULLETIN_COUNT
        for i, node in enumerate(nodes):
            assert node["title"] == f"Thông báo số {i}"
            assert node["author"] == {"fullName": "Lê Văn Cảnh"}
            assert node["approvedBy"] == {"fullName": "Trần Văn Bảo"}
            assert node["ward"] == {"name": "Phường Hoàng Văn Thụ"}
            assert len(node["targetGroups"]) == 2
            assert node["targetWards"] == [{"name": "Phường Hoàng Văn Thụ"}]
            assert [h["toStatus"] for h in node["history"]] == [
                "SUBMITTED",
                "APPROVED",
                "PUBLISHING",
                "PARTIALLY_FAILED" if i % 5 == 0 else "PUBLISHED",
            ]
            assert node["history"][0]["actor"] == {"fullName": "Lê Văn Cảnh"}
            assert len(node["deliveries"]) == busy.group_count
            assert all(d["group"]["name"].startswith("Tổ dân phố") for d in node["deliveries"])
            sent = [d for d in node["deliveries"] if d["status"] == "SENT"]
            assert {d["reach"]["views"] for d in sent} == {10 + i}
            stats = node["deliveryStats"]
            assert stats["total"] == busy.group_count
            assert stats["sent"] == len(sent)
            assert stats["dead"] == busy.group_count - len(sent)
            assert stats["views"] == (10 + i) * len(sent)
