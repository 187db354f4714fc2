"""Bulletins through GraphQL: write, preview, submit, approve (writing the outbox), reject, edit,
schedule, cancel, retry a dead delivery, upload attachments, and the public feed.

Every test arranges its own desk of units, so tests share one database without seeing each
other's rows. Channel outcomes (sent, dead) are arranged through the domain and the unit of work,
the way the worker records them; everything under test goes through HTTP.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from strawberry import relay

from domain.access import Role, Scope
from domain.channels import ChannelKind
from domain.group import Group
from domain.ids import BulletinId, GroupId
from domain.member import Member
from domain.ports import Reach
from domain.ward import Ward
from tests.api.org import SYSTEM, gid, group_gid, make_group, make_member, make_ward, ward_gid

USER_ERRORS = "userErrors { field code message messageEn }"
ATTACHMENT_FIELDS = "blobKey mediaType filename sizeBytes contentType url"
DELIVERY_FIELDS = (
    "id status channel group { name } attempts maxAttempts nextAttemptAt lastError"
    " externalPostId externalUrl sandbox sentAt reach { views reactions shares comments }"
    " history { fromStatus toStatus actor { fullName } at comment }"
)
BULLETIN_FIELDS = f"""
  id kind status title body ward {{ code }} author {{ fullName }} approvedBy {{ fullName }}
  approvedAt scheduledAt publishedAt createdAt updatedAt
  attachments {{ {ATTACHMENT_FIELDS} }}
  targetGroups {{ name }} targetWards {{ code }}
  history {{ fromStatus toStatus actor {{ fullName }} at comment }}
  deliveries {{ {DELIVERY_FIELDS} }}
  deliveryStats {{ total pending sending sent failed dead sandbox views reactions shares comments }}
"""

BULLETIN_CREATE = f"""
mutation ($input: BulletinCreateInput!) {{
  bulletinCreate(input: $input) {{ bulletin {{ {BULLETIN_FIELDS} }} {USER_ERRORS} }}
}}
"""
BULLETIN_UPDATE = f"""
mutation ($input: BulletinUpdateInput!) {{
  bulletinUpdate(input: $input) {{ bulletin {{ {BULLETIN_FIELDS} }} {USER_ERRORS} }}
}}
"""
BULLETIN_SCHEDULE = f"""
mutation ($input: BulletinScheduleInput!) {{
  bulletinSchedule(input: $input) {{ bulletin {{ {BULLETIN_FIELDS} }} {USER_ERRORS} }}
}}
"""
DELIVERY_RETRY = f"""
mutation ($input: DeliveryRetryInput!) {{
  deliveryRetry(input: $input) {{
    delivery {{ {DELIVERY_FIELDS} bulletin {{ status }} }} {USER_ERRORS}
  }}
}}
"""
ATTACHMENT_UPLOAD = f"""
mutation ($input: AttachmentUploadInput!) {{
  attachmentUpload(input: $input) {{ attachment {{ {ATTACHMENT_FIELDS} }} {USER_ERRORS} }}
}}
"""


def transition(name: str) -> str:
    return f"""
mutation ($input: BulletinTransitionInput!) {{
  {name}(input: $input) {{ bulletin {{ {BULLETIN_FIELDS} }} {USER_ERRORS} }}
}}
"""


BULLETIN_SUBMIT = transition("bulletinSubmit")
BULLETIN_APPROVE = transition("bulletinApprove")
BULLETIN_REJECT = transition("bulletinReject")
BULLETIN_CANCEL = transition("bulletinCancel")

BULLETIN = f"query ($id: ID!) {{ bulletin(id: $id) {{ {BULLETIN_FIELDS} }} }}"
BULLETINS = """
query ($filter: BulletinFilter, $first: Int!, $after: String) {
  bulletins(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id title status kind }
  }
}
"""
PREVIEW = f"""
query ($id: ID!) {{
  bulletinPreview(id: $id) {{
    preview {{
      bulletin {{ id status }}
      blocking
      channels {{
        channel title text media blocking findings {{ severity code message messageEn }}
      }}
      targets {{ group {{ name }} channel }}
    }}
    {USER_ERRORS}
  }}
}}
"""
PUBLISHED = """
query ($wardCode: String!, $kinds: [BulletinKind!], $first: Int!, $after: String) {
  publishedBulletins(wardCode: $wardCode, kinds: $kinds, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind title body publishedAt url ward { code name }
      attachments { blobKey mediaType filename contentType url }
    }
  }
}
"""
TYPE_FIELDS = 'query { __type(name: "PublicBulletin") { fields { name } } }'

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(300)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free" + bytes(400)
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
LONG_BODY = " ".join(["Cảnh báo lừa đảo qua điện thoại, không chuyển tiền cho người lạ."] * 40)


@dataclass
class Desk:
    """District D above ward A, and ward A1 below A; ward B beside A.

    A has a Zalo group, a Facebook page and a YouTube channel; A1 two active groups and an
    archived one. Officers and commanders of A, an admin of D, a resident of A, an officer of B.
    """

    district: Ward
    a: Ward
    a1: Ward
    b: Ward
    zalo: Group
    facebook: Group
    youtube: Group
    child_zalo: Group
    child_portal: Group
    officer: Member
    officer2: Member
    commander: Member
    commander2: Member
    admin: Member
    resident: Member
    officer_b: Member


async def build_desk(svc: Any) -> Desk:
    district = await make_ward(svc, "Công an quận Hoàng Mai")
    a = await make_ward(svc, "Phường Tân Mai", district)
    a1 = await make_ward(svc, "Tổ công tác Tân Mai 1", a)
    b = await make_ward(svc, "Phường Tương Mai", district)
    child_zalo = await make_group(svc, a1, "Tổ dân phố 9")
    child_portal = await make_group(svc, a1, "Cổng Tân Mai 1", channel=ChannelKind.PORTAL)
    archived = await make_group(svc, a1, "Nhóm cũ")
    await svc.archive_group(SYSTEM, archived.id)
    return Desk(
        district=district,
        a=a,
        a1=a1,
        b=b,
        zalo=await make_group(svc, a, "Tổ dân phố 1 Tân Mai"),
        facebook=await make_group(
            svc, a, "Công an phường Tân Mai", channel=ChannelKind.FACEBOOK_PAGE
        ),
        youtube=await make_group(
            svc, a, "Kênh Công an Tân Mai", channel=ChannelKind.YOUTUBE_CHANNEL
        ),
        child_zalo=child_zalo,
        child_portal=child_portal,
        officer=await make_member(svc, a, "Lê Văn Cảnh", roles=(Role.OFFICER,)),
        officer2=await make_member(svc, a, "Đinh Văn Sát", roles=(Role.OFFICER,)),
        commander=await make_member(svc, a, "Trần Văn Bảo", roles=(Role.COMMANDER,)),
        commander2=await make_member(svc, a, "Bùi Văn Phó", roles=(Role.COMMANDER,)),
        admin=await make_member(svc, district, "Phạm Quốc Quận", roles=(Role.ADMIN,)),
        resident=await make_member(svc, a, "Nguyễn Thị Dân"),
        officer_b=await make_member(svc, b, "Đỗ Minh Tuấn", roles=(Role.OFFICER,)),
    )


@pytest.fixture
async def desk(shared_api) -> Desk:
    return await build_desk(shared_api.container.organisation)


# Helpers


def ok(data: dict) -> Any:
    """The object of a mutation payload that must have succeeded."""
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]
    (obj,) = (v for k, v in payload.items() if k != "userErrors")
    assert obj is not None
    return obj


def refused(data: dict) -> list[tuple[str, list[str]]]:
    (payload,) = data.values()
    assert all(v is None for k, v in payload.items() if k != "userErrors"), payload
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


def uuid_of(global_id: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id).node_id)


def draft_input(desk: Desk, **overrides: Any) -> dict:
    return {
        "wardId": ward_gid(desk.a),
        "kind": "SCAM_WARNING",
        "title": "Cảnh giác cuộc gọi giả danh công an",
        "body": "Công an phường không gọi điện yêu cầu chuyển tiền.\n\nHãy báo ngay cho tổ trưởng.",
        "targetGroupIds": [group_gid(desk.zalo)],
        **overrides,
    }


async def create(api: Any, who: Member, input: dict) -> dict:
    return ok(await api.gql(BULLETIN_CREATE, {"input": input}, as_=who.id))


async def step(api: Any, document: str, who: Member, bulletin: dict, comment: str | None = None):
    return await api.gql(
        document, {"input": {"id": bulletin["id"], "comment": comment}}, as_=who.id
    )


async def approved(api: Any, desk: Desk, **overrides: Any) -> dict:
    """A bulletin written by the officer, submitted and approved by the commander."""
    bulletin = await create(api, desk.officer, draft_input(desk, **overrides))
    ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin))
    return ok(await step(api, BULLETIN_APPROVE, desk.commander, bulletin))


async def record_outcomes(
    container: Any,
    bulletin_id: uuid.UUID,
    *,
    dead: set[GroupId] | None = None,
    reach: Reach | None = None,
) -> None:
    """What the worker would record: each delivery claimed and sent, or dead for `dead` groups;
    then the bulletin settles. `reach` is what the channels later report for each sent post."""
    now = container.clock.now()
    async with container.uow() as uow:
        bulletin = await uow.bulletins.get(
            BulletinId(bulletin_id), scope=Scope.all(), for_update=True
        )
        deliveries = await uow.deliveries.of_bulletin_for_update(BulletinId(bulletin_id))
        for delivery in deliveries:
            delivery.claim(now)
            if delivery.group_id in (dead or set()):
                delivery.fail(
                    "zalo 403: the OA was removed from the group",
                    retryable=False,
                    retry_after=None,
                    now=now,
                    rand=lambda: 0.5,
                )
            else:
                delivery.succeed(
                    external_post_id=f"post-{delivery.id.hex[:8]}",
                    external_url=f"https://example.test/p/{delivery.id.hex[:8]}",
                    now=now,
                )
        bulletin.settle([d.status for d in deliveries], now)
        await uow.commit()
    if reach is not None:
        async with container.uow() as uow:
            for delivery in deliveries:
                if delivery.group_id not in (dead or set()):
                    await uow.deliveries.record_reach(delivery.id, reach, now)
            await uow.commit()


async def upload(
    api: Any,
    who: Member | None,
    ward: Ward | str,
    content: bytes,
    filename: str,
    content_type: str,
    client: httpx.AsyncClient | None = None,
) -> dict:
    """attachmentUpload as a GraphQL multipart request; the payload."""
    operations = {
        "query": ATTACHMENT_UPLOAD,
        "variables": {
            "input": {"wardId": ward if isinstance(ward, str) else ward_gid(ward), "file": None}
        },
    }
    response = await (client or api.client).post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, content, content_type)},
        headers={**api.headers(who.id if who else None), "Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["attachmentUpload"]


def later(api: Any, **delta: float) -> datetime:
    return (api.container.clock.now() + timedelta(**delta)).replace(microsecond=0)


# The main flow


async def test_create_preview_submit_approve(shared_api, desk):
    # given an officer of A writing a long scam warning for a Zalo group and the YouTube channel
    api = shared_api
    bulletin = await create(
        api,
        desk.officer,
        draft_input(
            desk,
            title="  Cảnh giác   cuộc gọi giả danh công an ",
            body=LONG_BODY,
            targetGroupIds=[group_gid(desk.zalo), group_gid(desk.youtube)],
        ),
    )

    # then it is a draft, written by the officer, cleaned, with nothing sent yet
    assert bulletin["status"] == "DRAFT"
    assert bulletin["kind"] == "SCAM_WARNING"
    assert bulletin["title"] == "Cảnh giác cuộc gọi giả danh công an"
    assert bulletin["ward"] == {"code": desk.a.code}
    assert bulletin["author"] == {"fullName": "Lê Văn Cảnh"}
    assert bulletin["approvedBy"] is None
    assert bulletin["publishedAt"] is None
    assert {g["name"] for g in bulletin["targetGroups"]} == {desk.zalo.name, desk.youtube.name}
    assert bulletin["history"] == []
    assert bulletin["deliveries"] == []
    assert bulletin["deliveryStats"]["total"] == 0

    # when the officer previews it
    preview = (await api.gql(PREVIEW, {"id": bulletin["id"]}, as_=desk.officer.id))[
        "bulletinPreview"
    ]

    # then YouTube blocks (no video) and the Zalo group warns that the text will be cut
    assert preview["userErrors"] == []
    shown = preview["preview"]
    assert shown["blocking"] is True
    channels = {c["channel"]: c for c in shown["channels"]}
    assert set(channels) == {"ZALO_GROUP", "YOUTUBE_CHANNEL"}
    youtube = channels["YOUTUBE_CHANNEL"]
    assert youtube["blocking"] is True
    assert youtube["title"] == "Cảnh giác cuộc gọi giả danh công an"
    assert [(f["severity"], f["code"]) for f in youtube["findings"]] == [
        ("BLOCKING", "video_required")
    ]
    assert youtube["findings"][0]["message"] and youtube["findings"][0]["messageEn"]
    zalo = channels["ZALO_GROUP"]
    assert zalo["blocking"] is False
    assert zalo["title"] is None
    assert [(f["severity"], f["code"]) for f in zalo["findings"]] == [("WARNING", "text_truncated")]
    assert len(zalo["text"]) <= 2000
    assert zalo["text"].startswith("CẢNH GIÁC CUỘC GỌI GIẢ DANH CÔNG AN")
    assert {(t["group"]["name"], t["channel"]) for t in shown["targets"]} == {
        (desk.zalo.name, "ZALO_GROUP"),
        (desk.youtube.name, "YOUTUBE_CHANNEL"),
    }

    # when the officer submits it and the commander approves it
    submitted = ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin, "Xin duyệt"))
    assert submitted["status"] == "SUBMITTED"
    refusal = await step(api, BULLETIN_APPROVE, desk.commander, bulletin)

    # then approval is refused where YouTube would refuse it, and nothing changes
    assert refused(refusal) == [("INVALID", ["channels", "youtube_channel", "video_required"])]
    again = (await api.gql(BULLETIN, {"id": bulletin["id"]}, as_=desk.commander.id))["bulletin"]
    assert again["status"] == "SUBMITTED"
    assert again["deliveries"] == []

    # when the officer drops the YouTube target and the commander approves
    edited = ok(
        await api.gql(
            BULLETIN_UPDATE,
            {"input": {"id": bulletin["id"], "targetGroupIds": [group_gid(desk.zalo)]}},
            as_=desk.officer.id,
        )
    )
    assert edited["status"] == "SUBMITTED"
    result = ok(await step(api, BULLETIN_APPROVE, desk.commander, bulletin, "Đồng ý"))

    # then it is publishing, approved by the commander, with one pending delivery
    assert result["status"] == "PUBLISHING"
    assert result["approvedBy"] == {"fullName": "Trần Văn Bảo"}
    assert result["approvedAt"] is not None
    assert [(h["fromStatus"], h["toStatus"]) for h in result["history"]] == [
        ("DRAFT", "SUBMITTED"),
        ("SUBMITTED", "APPROVED"),
        ("APPROVED", "PUBLISHING"),
    ]
    assert [h["comment"] for h in result["history"]] == ["Xin duyệt", "Đồng ý", None]
    assert [h["actor"] for h in result["history"]] == [
        {"fullName": "Lê Văn Cảnh"},
        {"fullName": "Trần Văn Bảo"},
        None,
    ]
    (delivery,) = result["deliveries"]
    assert delivery["status"] == "PENDING"
    assert delivery["channel"] == "ZALO_GROUP"
    assert delivery["group"] == {"name": desk.zalo.name}
    assert delivery["attempts"] == 0
    assert delivery["maxAttempts"] == 6
    assert delivery["nextAttemptAt"] is not None
    assert delivery["reach"] is None
    assert delivery["history"] == []
    assert result["deliveryStats"] == {
        "total": 1,
        "pending": 1,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "dead": 0,
        "sandbox": 0,
        "views": 0,
        "reactions": 0,
        "shares": 0,
        "comments": 0,
    }


async def test_approval_writes_one_delivery_per_group_of_target_units(shared_api, desk):
    # given a bulletin of A for its Facebook page and a group of A1, and for all of unit A1
    api = shared_api
    result = await approved(
        api,
        desk,
        targetGroupIds=[group_gid(desk.facebook), group_gid(desk.child_zalo)],
        targetWardIds=[ward_gid(desk.a1)],
    )

    # then each active group gets exactly one delivery: the page, and A1's two (not the archived)
    assert result["status"] == "PUBLISHING"
    assert result["deliveryStats"]["total"] == 3
    assert result["deliveryStats"]["pending"] == 3
    assert sorted(d["channel"] for d in result["deliveries"]) == [
        "FACEBOOK_PAGE",
        "PORTAL",
        "ZALO_GROUP",
    ]
    assert {d["status"] for d in result["deliveries"]} == {"PENDING"}
    # and the commander of A, who holds no role in A1, sees A1's groups as absent
    assert sorted((d["group"] or {}).get("name", "") for d in result["deliveries"]) == [
        "",
        "",
        desk.facebook.name,
    ]
    assert result["targetWards"] == []

    # while the district admin, who reaches every unit, reads every group by name
    read = (await api.gql(BULLETIN, {"id": result["id"]}, as_=desk.admin.id))["bulletin"]
    assert {d["group"]["name"] for d in read["deliveries"]} == {
        desk.facebook.name,
        desk.child_zalo.name,
        desk.child_portal.name,
    }
    assert read["targetWards"] == [{"code": desk.a1.code}]


# Who may approve


async def test_author_cannot_approve_or_reject_own_bulletin(shared_api, desk):
    # given a bulletin written and submitted by a commander of A
    api = shared_api
    bulletin = await create(api, desk.commander, draft_input(desk))
    ok(await step(api, BULLETIN_SUBMIT, desk.commander, bulletin))

    # when the author approves or rejects it
    approve = await step(api, BULLETIN_APPROVE, desk.commander, bulletin)
    reject = await step(api, BULLETIN_REJECT, desk.commander, bulletin, "Tự từ chối")

    # then both are refused: another commander must decide
    assert refused(approve) == [("SELF_APPROVAL", [])]
    assert refused(reject) == [("SELF_APPROVAL", [])]
    assert ok(await step(api, BULLETIN_APPROVE, desk.commander2, bulletin))["status"] == (
        "PUBLISHING"
    )


@pytest.mark.parametrize("who", ["officer2", "admin"])
async def test_only_a_commander_of_the_ward_approves(shared_api, desk, who):
    # given a submitted bulletin of A
    api = shared_api
    bulletin = await create(api, desk.officer, draft_input(desk))
    ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin))

    # when another officer of A, or the district's admin, approves or rejects it
    approve = await step(api, BULLETIN_APPROVE, getattr(desk, who), bulletin)
    reject = await step(api, BULLETIN_REJECT, getattr(desk, who), bulletin, "Không đạt")

    # then the domain refuses: only a commander of the bulletin's own ward decides
    assert refused(approve) == [("NOT_COMMANDER", [])]
    assert refused(reject) == [("NOT_COMMANDER", [])]
    read = (await api.gql(BULLETIN, {"id": bulletin["id"]}, as_=desk.officer.id))["bulletin"]
    assert read["status"] == "SUBMITTED"
    assert read["deliveries"] == []


async def test_reject_with_reason_then_resubmit(shared_api, desk):
    # given a submitted bulletin
    api = shared_api
    bulletin = await create(api, desk.officer, draft_input(desk))
    ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin))

    # when the commander rejects it without a reason
    bare = await step(api, BULLETIN_REJECT, desk.commander, bulletin)

    # then a reason is required
    assert refused(bare) == [("REQUIRED", ["comment"])]

    # when the commander rejects it with a reason
    rejected = ok(
        await step(api, BULLETIN_REJECT, desk.commander, bulletin, "  Thiếu số điện thoại  ")
    )

    # then the history shows who rejected it, when, and why
    assert rejected["status"] == "REJECTED"
    last = rejected["history"][-1]
    assert (last["fromStatus"], last["toStatus"]) == ("SUBMITTED", "REJECTED")
    assert last["actor"] == {"fullName": "Trần Văn Bảo"}
    assert last["comment"] == "Thiếu số điện thoại"
    assert datetime.fromisoformat(last["at"]) == datetime.fromisoformat(rejected["updatedAt"])

    # when the officer fixes it and submits it again, it can be approved
    fixed = ok(
        await api.gql(
            BULLETIN_UPDATE,
            {"input": {"id": bulletin["id"], "body": "Gọi 0243.863.3121 khi nghi ngờ."}},
            as_=desk.officer.id,
        )
    )
    assert fixed["status"] == "REJECTED"
    assert ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin))["status"] == "SUBMITTED"
    done = ok(await step(api, BULLETIN_APPROVE, desk.commander, bulletin))
    assert [h["toStatus"] for h in done["history"]] == [
        "SUBMITTED",
        "REJECTED",
        "SUBMITTED",
        "APPROVED",
        "PUBLISHING",
    ]


# Editing, scheduling, cancelling


async def test_editing_a_scheduled_bulletin_sends_it_back_and_drops_its_deliveries(
    shared_api, desk
):
    # given a bulletin approved for tomorrow, its deliveries waiting in the outbox
    api = shared_api
    at = later(api, days=1)
    bulletin = await approved(
        api,
        desk,
        scheduledAt=at.isoformat(),
        targetGroupIds=[group_gid(desk.zalo), group_gid(desk.facebook)],
    )
    assert bulletin["status"] == "SCHEDULED"
    assert datetime.fromisoformat(bulletin["scheduledAt"]) == at
    assert [d["status"] for d in bulletin["deliveries"]] == ["PENDING", "PENDING"]
    assert {datetime.fromisoformat(d["nextAttemptAt"]) for d in bulletin["deliveries"]} == {at}

    # when the officer changes its text
    edited = ok(
        await api.gql(
            BULLETIN_UPDATE,
            {
                "input": {
                    "id": bulletin["id"],
                    "title": "Cảnh giác cuộc gọi giả danh (cập nhật)",
                    "comment": "Sửa tiêu đề",
                }
            },
            as_=desk.officer.id,
        )
    )

    # then it waits for approval again, without its approval or its unsent deliveries
    assert edited["status"] == "SUBMITTED"
    assert edited["title"] == "Cảnh giác cuộc gọi giả danh (cập nhật)"
    assert edited["approvedBy"] is None
    assert edited["approvedAt"] is None
    assert edited["deliveries"] == []
    last = edited["history"][-1]
    assert (last["fromStatus"], last["toStatus"], last["comment"]) == (
        "SCHEDULED",
        "SUBMITTED",
        "Sửa tiêu đề",
    )
    assert last["actor"] == {"fullName": "Lê Văn Cảnh"}

    # and a fresh approval writes fresh deliveries
    again = ok(await step(api, BULLETIN_APPROVE, desk.commander, bulletin))
    assert again["status"] == "SCHEDULED"
    assert len(again["deliveries"]) == 2
    assert {d["id"] for d in again["deliveries"]}.isdisjoint(
        {d["id"] for d in bulletin["deliveries"]}
    )


async def test_a_bulletin_being_published_cannot_be_edited(shared_api, desk):
    # given a bulletin approved to go out now
    api = shared_api
    bulletin = await approved(api, desk)

    # when the officer edits it
    result = await api.gql(
        BULLETIN_UPDATE, {"input": {"id": bulletin["id"], "title": "Khác"}}, as_=desk.officer.id
    )

    # then the state machine refuses
    assert refused(result) == [("INVALID_TRANSITION", ["status"])]


async def test_schedule_set_move_and_clear(shared_api, desk):
    # given a draft
    api = shared_api
    bulletin = await create(api, desk.officer, draft_input(desk))

    def schedule(at: Any, who: Member = desk.officer) -> Any:
        return api.gql(BULLETIN_SCHEDULE, {"input": {"id": bulletin["id"], "at": at}}, as_=who.id)

    # when the officer schedules it with a time without a zone, and in the past
    naive = await schedule(later(api, days=1).replace(tzinfo=None).isoformat())
    past = await schedule(later(api, hours=-1).isoformat())

    # then both are refused at `at`
    assert refused(naive) == [("INVALID", ["at"])]
    assert refused(past) == [("INVALID", ["at"])]

    # when it schedules it for 08:00 Hà Nội time the day after tomorrow, given with its offset
    tomorrow = (api.container.clock.now().astimezone(HANOI) + timedelta(days=2)).replace(
        hour=8, minute=0, second=0, microsecond=0
    )
    assert tomorrow.isoformat().endswith("+07:00")
    draft = ok(await schedule(tomorrow.isoformat()))

    # then the draft carries that instant and is still a draft
    assert draft["status"] == "DRAFT"
    assert datetime.fromisoformat(draft["scheduledAt"]) == tomorrow

    # when it is approved, it waits; its deliveries are due at that time
    ok(await step(api, BULLETIN_SUBMIT, desk.officer, bulletin))
    waiting = ok(await step(api, BULLETIN_APPROVE, desk.commander, bulletin))
    assert waiting["status"] == "SCHEDULED"
    (delivery,) = waiting["deliveries"]
    assert datetime.fromisoformat(delivery["nextAttemptAt"]) == tomorrow

    # when the officer moves it a day earlier, the bulletin stays approved and the outbox follows
    sooner = tomorrow - timedelta(days=1)
    moved = ok(await schedule(sooner.isoformat()))
    assert moved["status"] == "SCHEDULED"
    assert moved["approvedBy"] == {"fullName": "Trần Văn Bảo"}
    assert datetime.fromisoformat(moved["deliveries"][0]["nextAttemptAt"]) == sooner

    # when it clears the time, it goes out now
    now = ok(await schedule(None))
    assert now["status"] == "PUBLISHING"
    assert now["scheduledAt"] is None
    due = datetime.fromisoformat(now["deliveries"][0]["nextAttemptAt"])
    assert due <= api.container.clock.now()
    assert [h["toStatus"] for h in now["history"]][-2:] == ["APPROVED", "PUBLISHING"]


async def test_cancel(shared_api, desk):
    # given a draft and a scheduled bulletin with deliveries waiting
    api = shared_api
    draft = await create(api, desk.officer, draft_input(desk))
    scheduled = await approved(api, desk, scheduledAt=later(api, days=2).isoformat())
    assert len(scheduled["deliveries"]) == 1

    # when the officer cancels both
    first = ok(await step(api, BULLETIN_CANCEL, desk.officer, draft, "Trùng tin"))
    second = ok(await step(api, BULLETIN_CANCEL, desk.officer, scheduled))

    # then both are cancelled, the comment kept, and the waiting deliveries withdrawn
    assert first["status"] == "CANCELLED"
    assert first["history"][-1]["comment"] == "Trùng tin"
    assert second["status"] == "CANCELLED"
    assert second["deliveries"] == []

    # and a cancelled bulletin can be neither cancelled again, nor submitted, nor edited
    assert refused(await step(api, BULLETIN_CANCEL, desk.officer, draft)) == [
        ("INVALID_TRANSITION", ["status"])
    ]
    assert refused(await step(api, BULLETIN_SUBMIT, desk.officer, draft)) == [
        ("INVALID_TRANSITION", ["status"])
    ]


# Input checks


async def test_create_refuses_bad_input_with_field_paths(shared_api, desk):
    api = shared_api
    cases = [
        (
            {"scheduledAt": later(api, days=1).replace(tzinfo=None).isoformat()},
            [("INVALID", ["scheduledAt"])],
        ),
        ({"title": "   "}, [("REQUIRED", ["title"])]),
        (
            {"targetGroupIds": [group_gid(desk.zalo), ward_gid(desk.a)]},
            [("INVALID", ["targetGroupIds", "1"])],
        ),
        ({"wardId": group_gid(desk.zalo)}, [("INVALID", ["wardId"])]),
        (
            {"targetGroupIds": [gid("Group", uuid.uuid4())], "targetWardIds": [ward_gid(desk.b)]},
            [("NOT_FOUND", ["targetWardIds", "0"]), ("NOT_FOUND", ["targetGroupIds", "0"])],
        ),
        (
            {
                "attachments": [
                    {"blobKey": "0" * 64, "filename": "anh.png"},
                    {"blobKey": "không-có", "filename": "video.mp4"},
                ]
            },
            [
                ("NOT_FOUND", ["attachments", "0", "blobKey"]),
                ("NOT_FOUND", ["attachments", "1", "blobKey"]),
            ],
        ),
    ]
    for overrides, expected in cases:
        # when the officer creates a bulletin with a bad field
        result = await api.gql(
            BULLETIN_CREATE, {"input": draft_input(desk, **overrides)}, as_=desk.officer.id
        )
        # then it is a userError at that field, and nothing is stored
        assert refused(result) == expected, overrides
    listed = await api.gql(BULLETINS, {"first": 10}, as_=desk.officer.id)
    assert listed["bulletins"]["totalCount"] == 0


async def test_submit_needs_a_target(shared_api, desk):
    # given a draft without targets
    api = shared_api
    bulletin = await create(api, desk.officer, draft_input(desk, targetGroupIds=[]))

    # when the officer submits it
    result = await step(api, BULLETIN_SUBMIT, desk.officer, bulletin)

    # then a target is required
    assert refused(result) == [("REQUIRED", ["targetGroupIds"])]


# Lists


async def test_bulletins_filters_and_pages(shared_api, desk):
    # given three bulletins of A in different kinds and states
    api = shared_api
    scam = await create(api, desk.officer, draft_input(desk, title="Lừa đảo qua Zalo"))
    ok(await step(api, BULLETIN_SUBMIT, desk.officer, scam))
    await create(
        api, desk.officer, draft_input(desk, kind="MISSING_PERSON", title="Tìm người mất tích")
    )
    await create(
        api, desk.officer, draft_input(desk, kind="COMMUNITY_NOTICE", title="Họp tổ dân phố")
    )

    async def titles(filter: dict | None = None, first: int = 10, after: str | None = None):
        data = await api.gql(
            BULLETINS, {"filter": filter, "first": first, "after": after}, as_=desk.commander.id
        )
        return data["bulletins"]

    # then filters narrow the list; text matches without diacritics
    assert (await titles())["totalCount"] == 3
    assert [n["title"] for n in (await titles({"text": "lua dao"}))["nodes"]] == [
        "Lừa đảo qua Zalo"
    ]
    assert [n["title"] for n in (await titles({"text": "MẤT TÍCH"}))["nodes"]] == [
        "Tìm người mất tích"
    ]
    assert [n["status"] for n in (await titles({"statuses": ["SUBMITTED"]}))["nodes"]] == [
        "SUBMITTED"
    ]
    kinds = await titles({"kinds": ["MISSING_PERSON", "COMMUNITY_NOTICE"]})
    assert {n["kind"] for n in kinds["nodes"]} == {"MISSING_PERSON", "COMMUNITY_NOTICE"}
    assert (await titles({"wardIds": [ward_gid(desk.b)]}))["totalCount"] == 0
    now = api.container.clock.now()
    assert (await titles({"createdFrom": (now + timedelta(hours=1)).isoformat()}))[
        "totalCount"
    ] == 0
    assert (await titles({"createdTo": (now + timedelta(hours=1)).isoformat()}))["totalCount"] == 3

    # and pages follow each other in creation order
    page1 = await titles(first=2)
    page2 = await titles(first=2, after=page1["pageInfo"]["endCursor"])
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page2["pageInfo"]["hasNextPage"] is False
    assert [n["title"] for n in page1["nodes"] + page2["nodes"]] == [
        "Lừa đảo qua Zalo",
        "Tìm người mất tích",
        "Họp tổ dân phố",
    ]

    # and a time without a zone is a client error
    errors = await api.errors(
        BULLETINS,
        {"filter": {"createdFrom": now.replace(tzinfo=None).isoformat()}, "first": 10},
        as_=desk.commander.id,
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


# Attachments


async def test_attachment_upload_reads_the_type_from_the_bytes(shared_api, desk):
    # given an officer uploading a PNG called a PDF, a JPEG called text and an MP4 called a JPEG
    api = shared_api
    png = await upload(api, desk.officer, desk.a, PNG, "C:\\fakepath\\so-do.png", "application/pdf")
    jpeg = await upload(api, desk.officer, desk.a, JPEG, "anh-doi-tuong.jpg", "text/plain")
    mp4 = await upload(api, desk.officer, desk.a, MP4, "canh-bao.mp4", "image/jpeg")

    # then each is stored under its content hash with the type its bytes show
    assert png["userErrors"] == jpeg["userErrors"] == mp4["userErrors"] == []
    base = api.container.settings.public_base_url.rstrip("/")
    for payload, content, media, content_type, name in (
        (png, PNG, "IMAGE", "image/png", "so-do.png"),
        (jpeg, JPEG, "IMAGE", "image/jpeg", "anh-doi-tuong.jpg"),
        (mp4, MP4, "VIDEO", "video/mp4", "canh-bao.mp4"),
    ):
        attachment = payload["attachment"]
        assert attachment["mediaType"] == media
        assert attachment["contentType"] == content_type
        assert attachment["filename"] == name
        assert attachment["sizeBytes"] == len(content)
        assert attachment["url"] == f"{base}/media/{attachment['blobKey']}"
        assert await api.container.blobs.get(attachment["blobKey"]) == content

    # when the officer attaches the image and the video, under new names, for the YouTube channel
    bulletin = await create(
        api,
        desk.officer,
        draft_input(
            desk,
            targetGroupIds=[group_gid(desk.youtube)],
            attachments=[
                {"blobKey": png["attachment"]["blobKey"], "filename": "Sơ đồ.png"},
                {"blobKey": mp4["attachment"]["blobKey"], "filename": "Video cảnh báo.mp4"},
            ],
        ),
    )

    # then the types are read again from the stored files, and YouTube has its one video
    assert [(a["mediaType"], a["contentType"], a["filename"]) for a in bulletin["attachments"]] == [
        ("IMAGE", "image/png", "Sơ đồ.png"),
        ("VIDEO", "video/mp4", "Video cảnh báo.mp4"),
    ]
    preview = (await api.gql(PREVIEW, {"id": bulletin["id"]}, as_=desk.officer.id))[
        "bulletinPreview"
    ]["preview"]
    assert preview["blocking"] is False
    (youtube,) = preview["channels"]
    assert "video_required" not in {f["code"] for f in youtube["findings"]}

    # when it replaces the attachments with the JPEG only
    edited = ok(
        await api.gql(
            BULLETIN_UPDATE,
            {
                "input": {
                    "id": bulletin["id"],
                    "attachments": [
                        {"blobKey": jpeg["attachment"]["blobKey"], "filename": "a.jpg"}
                    ],
                }
            },
            as_=desk.officer.id,
        )
    )
    assert [a["contentType"] for a in edited["attachments"]] == ["image/jpeg"]


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(100), "setup.exe"),
        (b"\x00\x00\x00\x18ftypheic" + bytes(100), "anh.heic"),
        (b"", "rong.png"),
    ],
)
async def test_attachment_upload_refuses_what_it_cannot_recognise(
    shared_api, desk, content, filename
):
    # when the officer uploads a program, a HEIF image or an empty file, each called a PNG
    result = await upload(shared_api, desk.officer, desk.a, content, filename, "image/png")

    # then it is refused at `file`
    assert result["attachment"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("INVALID_FILE", ["file"])]


async def test_attachment_upload_of_documents(shared_api, desk):
    api = shared_api
    csv = "\ufeffHọ tên,Số điện thoại\nNguyễn Văn An,0912345678\n".encode()
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    for content, name, expected in (
        (csv, "danh-sach.csv", "text/csv"),
        (pdf, "huong-dan.pdf", "application/pdf"),
        (ole, "mau-don.doc", "application/msword"),
    ):
        result = await upload(api, desk.officer, desk.a, content, name, "image/png")
        assert result["userErrors"] == [], name
        assert (result["attachment"]["mediaType"], result["attachment"]["contentType"]) == (
            "FILE",
            expected,
        )


@pytest.fixture
async def small_api(shared_api) -> Any:
    """The app with a 1 KiB upload limit, on the same database and token key as `shared_api`."""
    from api.app import create_app
    from api.bootstrap import bootstrap
    from api.config import Settings

    settings = Settings(
        database_url=shared_api.container.settings.database_url,
        var_dir=shared_api.container.settings.var_dir,
        log_json=False,
        max_upload_bytes=1024,
    )
    container = bootstrap(settings, engine=shared_api.container.engine)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_attachment_upload_limits_images_but_not_videos_to_the_upload_limit(
    shared_api, desk, small_api
):
    # given an upload limit of 1 KiB
    big_png = PNG + bytes(2000)
    big_mp4 = MP4 + bytes(4000)

    # when the officer uploads a 2 KiB image and a 4 KiB video
    image = await upload(shared_api, desk.officer, desk.a, big_png, "a.png", "image/png", small_api)
    video = await upload(shared_api, desk.officer, desk.a, big_mp4, "v.mp4", "video/mp4", small_api)

    # then the image is refused as too large, and the video (held to its own limit) is stored
    assert [(e["code"], e["field"]) for e in image["userErrors"]] == [("INVALID_FILE", ["file"])]
    assert "larger than 1 KB" in image["userErrors"][0]["messageEn"]
    assert video["userErrors"] == []
    assert video["attachment"]["sizeBytes"] == len(big_mp4)


# Delivery outcomes


async def test_delivery_retry_of_a_dead_delivery(shared_api, desk):
    # given an approved bulletin whose Zalo delivery died and whose Facebook post went out
    api = shared_api
    bulletin = await approved(
        api, desk, targetGroupIds=[group_gid(desk.zalo), group_gid(desk.facebook)]
    )
    await record_outcomes(
        api.container,
        uuid_of(bulletin["id"]),
        dead={desk.zalo.id},
        reach=Reach(views=120, reactions=7, shares=3, comments=None),
    )
    read = (await api.gql(BULLETIN, {"id": bulletin["id"]}, as_=desk.officer.id))["bulletin"]
    assert read["status"] == "PARTIALLY_FAILED"
    assert read["publishedAt"] is not None
    stats = read["deliveryStats"]
    assert (stats["total"], stats["sent"], stats["dead"]) == (2, 1, 1)
    assert (stats["views"], stats["reactions"], stats["shares"], stats["comments"]) == (
        120,
        7,
        3,
        0,
    )
    by_channel = {d["channel"]: d for d in read["deliveries"]}
    sent, dead = by_channel["FACEBOOK_PAGE"], by_channel["ZALO_GROUP"]
    assert sent["status"] == "SENT"
    assert sent["externalUrl"].startswith("https://example.test/p/")
    assert sent["reach"] == {"views": 120, "reactions": 7, "shares": 3, "comments": None}
    assert dead["status"] == "DEAD"
    assert dead["attempts"] == 1
    assert "removed from the group" in dead["lastError"]
    assert [(h["fromStatus"], h["toStatus"]) for h in dead["history"]] == [
        ("PENDING", "SENDING"),
        ("SENDING", "DEAD"),
    ]

    # when the officer retries the sent one, and the dead one
    retry_sent = await api.gql(DELIVERY_RETRY, {"input": {"id": sent["id"]}}, as_=desk.officer.id)
    retried = ok(
        await api.gql(
            DELIVERY_RETRY,
            {"input": {"id": dead["id"], "comment": "Đã thêm OA vào nhóm"}},
            as_=desk.officer.id,
        )
    )

    # then only the dead one goes back to the outbox, by hand, and the bulletin publishes again
    assert refused(retry_sent) == [("INVALID_TRANSITION", ["status"])]
    assert retried["status"] == "PENDING"
    assert retried["attempts"] == 0
    last = retried["history"][-1]
    assert (last["fromStatus"], last["toStatus"]) == ("DEAD", "PENDING")
    assert last["actor"] == {"fullName": "Lê Văn Cảnh"}
    assert last["comment"] == "Đã thêm OA vào nhóm"
    assert retried["bulletin"] == {"status": "PUBLISHING"}


async def test_delivery_retry_refuses_a_resident_and_a_bad_id(shared_api, desk):
    api = shared_api
    bulletin = await approved(api, desk)
    await record_outcomes(api.container, uuid_of(bulletin["id"]), dead={desk.zalo.id})
    (delivery,) = bulletin["deliveries"]
    resident = await api.gql(
        DELIVERY_RETRY, {"input": {"id": delivery["id"]}}, as_=desk.resident.id
    )
    wrong_type = await api.gql(
        DELIVERY_RETRY, {"input": {"id": bulletin["id"]}}, as_=desk.officer.id
    )
    assert refused(resident) == [("NOT_FOUND", ["id"])]
    assert refused(wrong_type) == [("INVALID", ["id"])]


# The public feed


async def test_published_bulletins_without_a_token(shared_api, desk):
    # given three approved bulletins of A, two of them published, one still going out
    api = shared_api
    png = await upload(api, desk.officer, desk.a, PNG, "so-do.png", "image/png")
    first = await approved(
        api,
        desk,
        title="Tin thứ nhất",
        attachments=[{"blobKey": png["attachment"]["blobKey"], "filename": "so-do.png"}],
    )
    second = await approved(api, desk, kind="MISSING_PERSON", title="Tin thứ hai")
    await approved(api, desk, title="Tin đang gửi")
    await create(api, desk.officer, draft_input(desk, title="Bản nháp"))
    for bulletin in (first, second):
        await record_outcomes(api.container, uuid_of(bulletin["id"]))

    # when anyone, without a token, reads A's feed
    data = await api.gql(PUBLISHED, {"wardCode": desk.a.code, "first": 10})

    # then it holds the published ones, newest first, with their content and media links
    base = api.container.settings.public_base_url.rstrip("/")
    feed = data["publishedBulletins"]
    assert feed["totalCount"] == 2
    assert [n["title"] for n in feed["nodes"]] == ["Tin thứ hai", "Tin thứ nhất"]
    newest, oldest = feed["nodes"]
    assert newest["kind"] == "MISSING_PERSON"
    assert newest["ward"] == {"code": desk.a.code, "name": "Phường Tân Mai"}
    assert newest["publishedAt"] is not None
    assert newest["id"] != second["id"]  # a PublicBulletin id, not the staff's Bulletin id
    assert newest["url"] == f"{base}/bulletins/{uuid_of(second['id'])}"
    key = png["attachment"]["blobKey"]
    assert oldest["attachments"] == [
        {
            "blobKey": key,
            "mediaType": "IMAGE",
            "filename": "so-do.png",
            "contentType": "image/png",
            "url": f"{base}/media/{key}",
        }
    ]

    # and kinds filter it, and pages follow newest first
    kinds = await api.gql(
        PUBLISHED, {"wardCode": desk.a.code, "kinds": ["MISSING_PERSON"], "first": 10}
    )
    assert [n["title"] for n in kinds["publishedBulletins"]["nodes"]] == ["Tin thứ hai"]
    page1 = (await api.gql(PUBLISHED, {"wardCode": desk.a.code, "first": 1}))["publishedBulletins"]
    page2 = (
        await api.gql(
            PUBLISHED,
            {"wardCode": desk.a.code, "first": 1, "after": page1["pageInfo"]["endCursor"]},
        )
    )["publishedBulletins"]
    assert [n["title"] for n in page1["nodes"] + page2["nodes"]] == ["Tin thứ hai", "Tin thứ nhất"]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page2["pageInfo"]["hasNextPage"] is False

    # and another unit's code, or an unknown one, gives an empty feed
    for code in (desk.b.code, "KHONG-CO"):
        empty = (await api.gql(PUBLISHED, {"wardCode": code, "first": 10}))["publishedBulletins"]
        assert empty["totalCount"] == 0
        assert empty["nodes"] == []


async def test_public_bulletin_type_has_no_staff_fields(shared_api):
    # when the schema is asked what a PublicBulletin holds
    fields = (await shared_api.gql(TYPE_FIELDS))["__type"]["fields"]

    # then it is the content only: never who wrote, approved or sent it
    assert {f["name"] for f in fields} == {
        "id",
        "kind",
        "title",
        "body",
        "ward",
        "publishedAt",
        "attachments",
        "url",
    }
