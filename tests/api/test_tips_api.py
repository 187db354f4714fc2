"""Tips over HTTP: submitting with or without a token, the lifecycle, the thread with the
reporter, following a tip by its code, revealing the reporter (audited), and the promise that no
other answer ever carries who the reporter is. Every relation costs constant SQL."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from api.bootstrap import bootstrap
from domain.access import Actor, Role, Scope
from domain.ports import TipFilter
from domain.reporter import ReporterIdentity, TipSource
from domain.services.tips import ChannelTip, TipSubmission
from domain.tip import TipCategory
from tests.api.org import World, build_world, gid, member_gid, ward_gid
from tests.fakes.reporter_reply import RecordingReply

PHONE = "0987654321"
PHONE_E164 = "+84987654321"
NAME = "Lý Thị Kín Đáo"
APP_USER = "app-install-5f3a9c"
ZALO_USER = "5550001112223334445"
REASON = "Cần mời người báo lên làm việc để xác minh"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02" + bytes(200)

TIP_FIELDS = """
  id trackingCode category status source body anonymous outcome arrests dismissReason
  receivedAt updatedAt dueAt overdue escalatedAt acknowledgedAt canRevealReporter
  ward { code } group { name } assignee { fullName }
  history { fromStatus toStatus at comment actor { fullName } }
  messages { id direction body channel at author { fullName } }
  attachments { blobKey mediaType filename sizeBytes contentType }
"""
TIP_SUBMIT = """
mutation ($input: TipSubmitInput!) {
  tipSubmit(input: $input) {
    receipt { trackingCode receivedAt category }
    tip { TIP_FIELDS }
    userErrors { field code message messageEn }
  }
}
""".replace("TIP_FIELDS", TIP_FIELDS)
TIP = "query ($id: ID!) { tip(id: $id) { TIP_FIELDS } }".replace("TIP_FIELDS", TIP_FIELDS)
TIPS = """
query ($filter: TipFilter, $first: Int, $after: String) {
  tips(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { TIP_FIELDS }
  }
}
""".replace("TIP_FIELDS", TIP_FIELDS)
NODE = "query ($id: ID!) { node(id: $id) { __typename id ... on Tip { trackingCode body } } }"
TIP_STATUS = """
query ($code: String!) {
  tipStatus(trackingCode: $code) { trackingCode status receivedAt updatedAt replies { body at } }
}
"""
AUDIT_LOG = """
query ($filter: AuditLogFilter) {
  auditLog(filter: $filter, first: 50) {
    totalCount
    nodes { action subjectType subjectId reason at actor { fullName } ward { code } }
  }
}
"""


def _payload(name: str, body: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation ($input: {input_type}!) {{ {name}(input: $input) {{ {body}"
        " userErrors { field code message messageEn } } }"
    )


TIP_TRIAGE = _payload("tipTriage", "tip { status category dueAt }")
TIP_ASSIGN = _payload("tipAssign", "tip { status assignee { fullName } }")
TIP_START = _payload("tipStartInvestigation", "tip { status }")
TIP_RESOLVE = _payload("tipResolve", "tip { status outcome arrests }")
TIP_DISMISS = _payload("tipDismiss", "tip { status dismissReason }")
TIP_REPLY = _payload("tipReply", "message { direction body author { fullName } }")
TIP_REVEAL = _payload("tipRevealReporter", "reporter { platform channelUserId phone name }")


@pytest.fixture
def replies() -> RecordingReply:
    return RecordingReply()


@pytest.fixture
async def container(settings, db, clock, replies):
    """The API's container with a ReporterReply that records what reporters are sent."""
    return bootstrap(settings, engine=db, clock=clock, reporter_reply=replies)


@pytest.fixture
async def world(api) -> World:
    return await build_world(api.container.organisation)


def tip_gid(tip_id: Any) -> str:
    return gid("Tip", tip_id)


def who(world: World, role: str) -> Any:
    return world.actor_id(role)


async def submit(api, world: World, *, as_: Any = None, **fields: Any) -> dict:
    variables = {
        "wardId": ward_gid(world.wards["A"]),
        "body": "Có nhóm thanh niên tụ tập sử dụng ma tuý ở bãi đất trống",
        "anonymous": False,
        "category": "MA_TUY",
        "reporter": {"phone": PHONE, "name": NAME, "channelUserId": APP_USER},
    } | fields
    return (await api.gql(TIP_SUBMIT, {"input": variables}, as_=as_))["tipSubmit"]


async def staff_submit(api, world: World, **fields: Any) -> dict:
    """A tip submitted without a token, then read back by officer_a."""
    receipt = (await submit(api, world, **fields))["receipt"]
    return await tip_by_code(api, world, receipt["trackingCode"])


async def tip_by_code(api, world: World, code: str) -> dict:
    found = await api.gql(TIPS, {"filter": {}, "first": 100}, as_=who(world, "officer_a"))
    (tip,) = [t for t in found["tips"]["nodes"] if t["trackingCode"] == code]
    return tip


async def act(api, query: str, as_: Any, **input: Any) -> dict:
    data = await api.gql(query, {"input": input}, as_=as_)
    return next(iter(data.values()))


def codes(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


# Submitting


async def test_an_anonymous_report_needs_no_token_and_gets_its_code_at_once(
    api, world, replies
) -> None:
    payload = await submit(api, world, anonymous=True, reporter=None, source="PORTAL")
    assert payload["userErrors"] == [] and payload["tip"] is None
    code = payload["receipt"]["trackingCode"]
    assert code.startswith("GD-") and payload["receipt"]["category"] == "MA_TUY"
    (sent,) = replies.sent
    assert sent.tracking_code == code and code in sent.text and sent.reporter is None
    tip = await tip_by_code(api, world, code)
    assert (tip["anonymous"], tip["source"], tip["canRevealReporter"]) == (True, "PORTAL", False)
    assert [m["direction"] for m in tip["messages"]] == ["OUT"]
    assert tip["acknowledgedAt"] is not None


async def test_a_named_report_without_a_token_needs_a_phone_or_a_name(api, world) -> None:
    payload = await submit(api, world, reporter=None)
    assert codes(payload) == [(["reporter"], "REQUIRED")] and payload["receipt"] is None
    payload = await submit(api, world, reporter={"phone": "12"})
    assert codes(payload) == [(["reporter", "phone"], "INVALID_PHONE")]
    payload = await submit(api, world, reporter={"name": "Chị Hoa"})
    assert payload["userErrors"] == [] and payload["receipt"]["trackingCode"]


async def test_submit_refuses_what_it_cannot_take(api, world) -> None:
    cases = [
        ({"source": "ZALO"}, [(["source"], "INVALID")]),
        ({"wardId": None}, [(["wardId"], "REQUIRED")]),
        ({"wardId": None, "wardCode": "KHONG-CO"}, [(["wardCode"], "NOT_FOUND")]),
        (
            {"wardId": gid("Ward", "00000000-0000-7000-8000-000000000000")},
            [(["wardId"], "NOT_FOUND")],
        ),
        ({"wardId": gid("Group", world.groups["A"].id)}, [(["wardId"], "INVALID")]),
        ({"body": "   "}, [(["body"], "REQUIRED")]),
        ({"body": "x" * 4001}, [(["body"], "TOO_LONG")]),
    ]
    for fields, expected in cases:
        payload = await submit(api, world, **fields)
        assert codes(payload) == expected, fields
    async with api.container.uow() as uow:
        page = await uow.tips.page(TipFilter(), scope=Scope.all(), after=None, first=10)
    assert page.total == 0


async def test_a_unit_can_be_named_by_its_code(api, world) -> None:
    payload = await submit(api, world, wardId=None, wardCode="B", reporter=None, anonymous=True)
    tip = (await api.gql(TIPS, {}, as_=who(world, "officer_b")))["tips"]["nodes"][0]
    assert tip["trackingCode"] == payload["receipt"]["trackingCode"] and tip["ward"]["code"] == "B"


async def test_staff_get_the_whole_tip_back(api, world) -> None:
    payload = await submit(api, world, as_=who(world, "officer_a"), reporter=None)
    tip = payload["tip"]
    assert tip["trackingCode"] == payload["receipt"]["trackingCode"]
    assert (tip["status"], tip["ward"]["code"], tip["history"]) == ("RECEIVED", "A", [])
    # Not anonymous and no reporter given: the signed-in officer reported it under their name.
    revealed = await act(api, TIP_REVEAL, who(world, "commander_a"), id=tip["id"], reason=REASON)
    assert revealed["reporter"]["name"] == world.actors["officer_a"].full_name
    # Staff of another unit submitting here get the receipt only.
    payload = await submit(api, world, as_=who(world, "officer_b"))
    assert payload["tip"] is None and payload["receipt"]["trackingCode"]


async def test_files_come_with_the_tip(api, world) -> None:
    operations = {
        "query": TIP_SUBMIT,
        "variables": {
            "input": {
                "wardId": ward_gid(world.wards["A"]),
                "body": "Ảnh chụp xe tải đổ trộm rác",
                "anonymous": True,
                "files": [None, None],
            }
        },
    }
    response = await api.client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.files.0"], "1": ["variables.input.files.1"]}),
        },
        files={
            "0": ("xe-tai.png", PNG, "image/png"),
            "1": ("ghi-chu.txt", "Biển số 29C-123.45".encode(), "text/plain"),
        },
        headers={"Apollo-Require-Preflight": "true"},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["tipSubmit"]
    assert payload["userErrors"] == []
    tip = await tip_by_code(api, world, payload["receipt"]["trackingCode"])
    assert [
        (a["filename"], a["mediaType"], a["contentType"], a["sizeBytes"])
        for a in tip["attachments"]
    ] == [
        ("xe-tai.png", "IMAGE", "image/png", len(PNG)),
        ("ghi-chu.txt", "FILE", "text/plain", len("Biển số 29C-123.45".encode())),
    ]
    assert await api.container.blobs.get(tip["attachments"][0]["blobKey"]) == PNG


async def test_a_file_that_is_not_accepted_stores_nothing(api, world) -> None:
    operations = {
        "query": TIP_SUBMIT,
        "variables": {
            "input": {
                "wardId": ward_gid(world.wards["A"]),
                "body": "Tệp lạ",
                "anonymous": True,
                "files": [None],
            }
        },
    }
    response = await api.client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.files.0"]}),
        },
        files={"0": ("virus.exe", b"MZ\x90\x00" + bytes(100), "application/octet-stream")},
        headers={"Apollo-Require-Preflight": "true"},
    )
    payload = response.json()["data"]["tipSubmit"]
    assert codes(payload) == [(["files", "0"], "INVALID_FILE")]
    assert (await api.gql(TIPS, {}, as_=who(world, "officer_a")))["tips"]["totalCount"] == 0


async def test_unauthenticated_submits_are_rate_limited(api, world) -> None:
    for _ in range(30):
        await submit(api, world, anonymous=True, reporter=None)
    errors = await api.errors(
        TIP_SUBMIT,
        {"input": {"wardId": ward_gid(world.wards["A"]), "body": "x", "anonymous": True}},
    )
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED"
    # Staff are not held back.
    payload = await submit(api, world, as_=who(world, "officer_a"))
    assert payload["userErrors"] == []


# The lifecycle


async def test_the_lifecycle_through_the_api(api, world, clock) -> None:
    tip = await staff_submit(api, world, category=None)
    assert tip["category"] == "KHAC"
    officer, commander = who(world, "officer_a"), who(world, "commander_a")
    triaged = await act(api, TIP_TRIAGE, officer, id=tip["id"], category="PCCC", comment="Có khói")
    assert triaged["tip"]["status"] == "TRIAGED" and triaged["tip"]["category"] == "PCCC"
    assigned = await act(
        api, TIP_ASSIGN, commander, id=tip["id"], assigneeId=member_gid(world.actors["officer_a"])
    )
    assert assigned["tip"]["assignee"]["fullName"] == "Lê Văn Cảnh"
    assert (await act(api, TIP_START, officer, id=tip["id"]))["tip"]["status"] == "INVESTIGATING"
    refused = await act(api, TIP_RESOLVE, officer, id=tip["id"], outcome="UNFOUNDED", arrests=2)
    assert codes(refused) == [(["arrests"], "INVALID")]
    clock.advance(hours=2)
    done = await act(
        api, TIP_RESOLVE, officer, id=tip["id"], outcome="CASE_SOLVED", arrests=1, comment="Xong"
    )
    assert done["tip"] == {"status": "RESOLVED", "outcome": "CASE_SOLVED", "arrests": 1}
    tip = (await api.gql(TIP, {"id": tip["id"]}, as_=commander))["tip"]
    assert [(h["toStatus"], h["actor"]["fullName"]) for h in tip["history"]] == [
        ("TRIAGED", "Lê Văn Cảnh"),
        ("ASSIGNED", "Trần Văn Bảo"),
        ("INVESTIGATING", "Lê Văn Cảnh"),
        ("RESOLVED", "Lê Văn Cảnh"),
    ]
    assert tip["history"][0]["comment"] == "Có khói" and tip["overdue"] is False
    assert codes(await act(api, TIP_START, officer, id=tip["id"])) == [
        (["status"], "INVALID_TRANSITION")
    ]


async def test_dismissing_needs_a_commander_before_anyone_is_assigned(api, world) -> None:
    tip = await staff_submit(api, world)
    refused = await act(api, TIP_DISMISS, who(world, "officer_a"), id=tip["id"], reason="Trùng")
    assert codes(refused) == [([], "FORBIDDEN")]
    done = await act(api, TIP_DISMISS, who(world, "commander_a"), id=tip["id"], reason="Trùng")
    assert done["tip"] == {"status": "DISMISSED", "dismissReason": "Trùng"}


async def test_overdue_tips_are_flagged_filtered_and_escalated(api, world, clock) -> None:
    fire = await staff_submit(api, world, category="PCCC")
    drugs = await staff_submit(api, world, category="MA_TUY")
    clock.advance(hours=2)
    officer = who(world, "officer_a")
    overdue = (await api.gql(TIPS, {"filter": {"overdue": True}}, as_=officer))["tips"]
    assert [t["id"] for t in overdue["nodes"]] == [fire["id"]] and overdue["nodes"][0]["overdue"]
    on_time = (await api.gql(TIPS, {"filter": {"overdue": False}}, as_=officer))["tips"]
    assert [t["id"] for t in on_time["nodes"]] == [drugs["id"]]
    escalated = await api.container.tips.escalate_overdue()
    assert [e.commander_ids for e in escalated] == [
        tuple(sorted([world.actors["commander_a"].id, world.deputies["A"].id]))
    ]
    tip = (await api.gql(TIP, {"id": fire["id"]}, as_=officer))["tip"]
    assert tip["escalatedAt"] is not None


async def test_the_list_filters(api, world, clock) -> None:
    officer = who(world, "officer_a")
    first = await staff_submit(api, world, body="Phát hiện buôn bán ma tuý", category="MA_TUY")
    clock.advance(hours=1)
    second = await staff_submit(api, world, body="Đánh bạc ở quán nước", category="HINH_SU")
    await act(api, TIP_TRIAGE, officer, id=second["id"], category="HINH_SU")

    async def ids(**filter: Any) -> list[str]:
        data = await api.gql(TIPS, {"filter": filter}, as_=officer)
        return [t["id"] for t in data["tips"]["nodes"]]

    assert await ids() == [second["id"], first["id"]]  # newest first
    assert await ids(text="MA TUY") == [first["id"]]
    assert await ids(text="đánh bạc") == [second["id"]]
    assert await ids(categories=["HINH_SU", "PCCC"]) == [second["id"]]
    assert await ids(statuses=["RECEIVED"]) == [first["id"]]
    assert await ids(wardIds=[ward_gid(world.wards["B"])]) == []
    later = (clock.now() - timedelta(minutes=30)).isoformat()
    assert await ids(receivedFrom=later) == [second["id"]]
    assert await ids(receivedTo=later) == [first["id"]]
    page = (await api.gql(TIPS, {"first": 1}, as_=officer))["tips"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
    rest = await api.gql(TIPS, {"first": 1, "after": page["pageInfo"]["endCursor"]}, as_=officer)
    assert [t["id"] for t in rest["tips"]["nodes"]] == [first["id"]]
    errors = await api.errors(
        TIPS, {"filter": {"receivedFrom": "2026-11-23T08:00:00"}}, as_=officer
    )
    assert "time zone" in errors[0]["message"]


# The thread with the reporter


async def test_replies_reach_the_reporter_and_their_answers_join_the_thread(
    api, world, replies, clock
) -> None:
    svc = api.container.tips
    receipt = await svc.receive_from_channel(
        ChannelTip(
            ward_id=world.wards["A"].id,
            platform=TipSource.ZALO,
            channel_user_id=ZALO_USER,
            body="Có người trộm xe máy ở ngõ 5",
            display_name=NAME,
            group_id=world.groups["A"].id,
            external_message_id="z-1",
        )
    )
    clock.advance(minutes=3)
    tip = receipt.tip
    replied = await act(
        api, TIP_REPLY, who(world, "officer_a"), id=tip_gid(tip.id), text="Anh cho biết biển số?"
    )
    assert replied["message"] == {
        "direction": "OUT",
        "body": "Anh cho biết biển số?",
        "author": {"fullName": "Lê Văn Cảnh"},
    }
    ack, reply = replies.sent
    assert reply.reporter == ReporterIdentity(TipSource.ZALO, ZALO_USER, None, NAME)
    assert reply.last_inbound_at == tip.received_at
    found = await svc.find_open_tip_for(TipSource.ZALO, ZALO_USER)
    await svc.add_inbound_message(found.id, "Biển số 29B1-555.55", TipSource.ZALO, "z-2")
    data = (await api.gql(TIP, {"id": tip_gid(tip.id)}, as_=who(world, "officer_a")))["tip"]
    assert [(m["direction"], m["author"]) for m in data["messages"]] == [
        ("IN", None),
        ("OUT", None),
        ("OUT", {"fullName": "Lê Văn Cảnh"}),
        ("IN", None),
    ]
    assert data["group"]["name"] == world.groups["A"].name
    # The reporter follows it by code: the state and the police's messages only.
    status = (await api.gql(TIP_STATUS, {"code": tip.tracking_code.lower()}))["tipStatus"]
    assert status["trackingCode"] == tip.tracking_code and status["status"] == "RECEIVED"
    assert [r["body"] for r in status["replies"]] == [ack.text, "Anh cho biết biển số?"]
    assert (await api.gql(TIP_STATUS, {"code": "GD-222-333-444"}))["tipStatus"] is None
    assert (await api.gql(TIP_STATUS, {"code": "'; drop table tip; --"}))["tipStatus"] is None


TIP_FOLLOW_UP = """mutation ($input: TipFollowUpInput!) {
  tipFollowUp(input: $input) { accepted userErrors { field code } } }"""


async def test_an_anonymous_app_reporter_answers_by_tracking_code(api, world) -> None:
    receipt = (await submit(api, world, anonymous=True, reporter=None, source="APP"))["receipt"]
    code = receipt["trackingCode"]
    answer = {"trackingCode": code.lower().replace("-", " "), "text": "Họ thường tụ tập lúc 22 giờ"}
    result = (await api.gql(TIP_FOLLOW_UP, {"input": answer}))["tipFollowUp"]
    assert result == {"accepted": True, "userErrors": []}
    tip = await tip_by_code(api, world, code)
    assert [(m["direction"], m["body"]) for m in tip["messages"]][-1] == (
        "IN",
        "Họ thường tụ tập lúc 22 giờ",
    )
    unknown = {"trackingCode": "GD-222-333-444", "text": "xin chào"}
    refused = (await api.gql(TIP_FOLLOW_UP, {"input": unknown}))["tipFollowUp"]
    assert refused == {
        "accepted": False,
        "userErrors": [{"field": ["trackingCode"], "code": "NOT_FOUND"}],
    }
    empty = {"trackingCode": code, "text": "  "}
    refused = (await api.gql(TIP_FOLLOW_UP, {"input": empty}))["tipFollowUp"]
    assert refused["userErrors"] == [{"field": ["text"], "code": "REQUIRED"}]


async def test_tip_status_is_rate_limited(api, world) -> None:
    for _ in range(30):
        await api.gql(TIP_STATUS, {"code": "GD-222-333-444"})
    errors = await api.errors(TIP_STATUS, {"code": "GD-222-333-445"})
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED"


# Who the reporter is


async def test_identity_is_in_no_answer_but_the_reveal(api, world, replies) -> None:
    officer, commander = who(world, "officer_a"), who(world, "commander_a")
    payload = await submit(api, world, as_=officer)
    code = payload["receipt"]["trackingCode"]
    await api.container.tips.receive_from_channel(
        ChannelTip(
            ward_id=world.wards["A"].id,
            platform=TipSource.ZALO,
            channel_user_id=ZALO_USER,
            body="Tin báo qua Zalo",
            display_name=NAME,
            phone=PHONE,
        )
    )
    tip_id = payload["tip"]["id"]
    await act(api, TIP_REPLY, officer, id=tip_id, text="Cảm ơn chị đã báo tin")
    secrets = [PHONE, PHONE_E164, PHONE_E164[1:], NAME, APP_USER, ZALO_USER]
    answers = [
        json.dumps(payload),
        (await api.post(TIPS, {"first": 50}, as_=commander)).text,
        (await api.post(TIP, {"id": tip_id}, as_=commander)).text,
        (await api.post(NODE, {"id": tip_id}, as_=commander)).text,
        (await api.post(TIP_STATUS, {"code": code})).text,
        (await api.post(AUDIT_LOG, {}, as_=who(world, "admin_d"))).text,
    ]
    for answer in answers:
        for secret in secrets:
            assert secret not in answer, (secret, answer[:300])
    revealed = await act(api, TIP_REVEAL, commander, id=tip_id, reason=REASON)
    assert revealed["reporter"] == {
        "platform": "APP",
        "channelUserId": APP_USER,
        "phone": PHONE_E164,
        "name": NAME,
    }


async def test_every_reveal_is_in_the_audit_log_for_admins_only(api, world) -> None:
    tip = await staff_submit(api, world)
    commander, officer = who(world, "commander_a"), who(world, "officer_a")
    assert codes(await act(api, TIP_REVEAL, officer, id=tip["id"], reason=REASON)) == [
        ([], "FORBIDDEN")
    ]
    assert codes(await act(api, TIP_REVEAL, commander, id=tip["id"], reason="xem")) == [
        (["reason"], "REQUIRED")
    ]
    assert (await act(api, TIP_REVEAL, commander, id=tip["id"], reason=REASON))["reporter"]
    await act(api, TIP_TRIAGE, officer, id=tip["id"], category="MA_TUY")
    await act(
        api, TIP_ASSIGN, commander, id=tip["id"], assigneeId=member_gid(world.actors["officer_a"])
    )
    tip = (await api.gql(TIP, {"id": tip["id"]}, as_=officer))["tip"]
    assert tip["canRevealReporter"] is True
    assert (await act(api, TIP_REVEAL, officer, id=tip["id"], reason=REASON + "!"))["reporter"]

    log = (await api.gql(AUDIT_LOG, {}, as_=who(world, "admin_d")))["auditLog"]
    assert log["totalCount"] == 2
    assert [(e["actor"]["fullName"], e["reason"]) for e in log["nodes"]] == [
        ("Lê Văn Cảnh", REASON + "!"),
        ("Trần Văn Bảo", REASON),
    ]
    assert all(
        (e["action"], e["subjectType"], e["subjectId"], e["ward"]["code"])
        == ("tip.reveal_reporter", "tip", tip["id"], "A")
        for e in log["nodes"]
    )
    filtered = await api.gql(
        AUDIT_LOG,
        {"filter": {"subjectIds": [tip["id"]], "actions": ["tip.reveal_reporter"]}},
        as_=who(world, "admin_d"),
    )
    assert filtered["auditLog"]["totalCount"] == 2
    for role in ("commander_a", "officer_a", "officer_b", "resident_a"):
        assert (await api.gql(AUDIT_LOG, {}, as_=who(world, role)))["auditLog"]["totalCount"] == 0
    errors = await api.errors(AUDIT_LOG, {})
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


# Constant SQL


@contextlib.contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


# Measured when written; 5 are the token check. One more per page is a decision, one per row a bug.
TIP_PAGE_STATEMENTS = 14


async def test_a_page_of_tips_costs_constant_sql(api, world) -> None:
    svc = api.container.tips
    commander = Actor(world.actors["commander_a"].id, {world.wards["A"].id: Role.COMMANDER})
    for i in range(50):
        tip, _ = await svc.submit(
            None,
            TipSubmission(
                ward_id=world.wards["A"].id,
                body=f"Tin báo số {i}",
                source=TipSource.APP,
                anonymous=True,
                category=TipCategory.HINH_SU,
            ),
        )
        await svc.triage(commander, tip.id, TipCategory.HINH_SU, f"Phân loại {i}")
        await svc.assign(commander, tip.id, world.actors["officer_a"].id)
        await svc.reply(commander, tip.id, f"Trả lời {i}")
    counts = {}
    for size in (5, 50):
        with count_statements(api.container.engine) as seen:
            data = await api.gql(TIPS, {"first": size}, as_=who(world, "commander_a"))
        nodes = data["tips"]["nodes"]
        assert len(nodes) == size
        assert all(len(n["messages"]) == 2 and len(n["history"]) == 2 for n in nodes)
        assert all(n["assignee"]["fullName"] == "Lê Văn Cảnh" for n in nodes)
        counts[size] = len(seen)
    assert counts[5] == counts[50] <= TIP_PAGE_STATEMENTS, counts


async def test_tips_of_a_scope_read_back_through_the_repository(api, world) -> None:
    """The service's own writes are what the API reads (a smoke test of the wiring)."""
    receipt = await api.container.tips.submit(
        Actor.system_actor(),
        TipSubmission(
            ward_id=world.wards["B"].id,
            body="Mâu thuẫn hàng xóm",
            source=TipSource.PORTAL,
            anonymous=True,
        ),
    )
    async with api.container.uow() as uow:
        assert (
            await uow.tips.get(receipt.tip.id, scope=Scope(frozenset({world.wards["A"].id})))
            is None
        )
        assert (await uow.tips.get(receipt.tip.id, scope=Scope.all())).tracking_code == (
            receipt.tracking_code
        )


# Bad input


async def test_bad_input_is_refused_never_crashes(api, world) -> None:
    officer = who(world, "officer_a")
    tip = await staff_submit(api, world)
    ward_a = ward_gid(world.wards["A"])
    cases: list[tuple[str, dict]] = [
        (TIP, {"id": "not-a-global-id"}),
        (TIP, {"id": gid("Ward", world.wards["A"].id)}),
        (TIP, {"id": gid("Tip", "not-a-uuid")}),
        (TIPS, {"first": 0}),
        (TIPS, {"first": 100000}),
        (TIPS, {"after": "garbage"}),
        (TIPS, {"filter": {"wardIds": ["zzz"]}}),
        (TIPS, {"filter": {"categories": ["NOT_A_CATEGORY"]}}),
        (TIPS, {"filter": {"text": "%_\\'\"; --" * 50}}),
        (TIP_STATUS, {"code": "x" * 10000}),
        (TIP_STATUS, {"code": "GD-\u0000\u202e-AAA"}),
        (AUDIT_LOG, {"filter": {"subjectIds": ["zzz"]}}),
        (TIP_TRIAGE, {"input": {"id": "zzz", "category": "MA_TUY"}}),
        (TIP_TRIAGE, {"input": {"id": tip["id"], "category": "MA_TUY", "comment": "x" * 5000}}),
        (TIP_ASSIGN, {"input": {"id": tip["id"], "assigneeId": ward_a}}),
        (TIP_RESOLVE, {"input": {"id": tip["id"], "outcome": "CASE_SOLVED", "arrests": 2**40}}),
        (TIP_REPLY, {"input": {"id": tip["id"], "text": "x" * 5000}}),
        (TIP_REVEAL, {"input": {"id": tip["id"], "reason": None}}),
        (TIP_SUBMIT, {"input": {"wardId": ward_a, "body": "x", "anonymous": "yes"}}),
        (
            TIP_SUBMIT,
            {
                "input": {
                    "wardId": ward_a,
                    "body": "x",
                    "anonymous": False,
                    "reporter": {"phone": "0" * 500, "name": "y" * 500, "channelUserId": "z"},
                }
            },
        ),
    ]
    for query, variables in cases:
        response = await api.post(query, variables, as_=officer)
        assert response.status_code == 200, (variables, response.text)
        body = response.json()
        for error in body.get("errors") or ():
            assert (error.get("extensions") or {}).get("code") != "INTERNAL", (variables, body)
        if not body.get("errors"):
            (payload,) = body["data"].values()
            if isinstance(payload, dict) and "userErrors" in payload:
                assert payload["userErrors"], (variables, body)
