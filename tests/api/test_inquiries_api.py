"""Inquiries and the knowledge base through the HTTP API, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.knowledge.seed_procedures import SEED
from api.bootstrap import bootstrap
from tests.api.org import World, build_world, gid, ward_gid
from tests.fakes.reporter_reply import RecordingReply

USER_ERRORS = "userErrors { field code message messageEn }"
ASK = f"""mutation($input: InquiryAskInput!) {{ inquiryAsk(input: $input) {{
  answered answer procedure {{ code legalBasis link }}
  inquiry {{ id status department procedureCode matchConfidence autoAnswered }}
  {USER_ERRORS} }} }}"""
INQUIRY = (
    "inquiry { id status department answer answeredBy { fullName } reopened history { toStatus } }"
)
ANSWER = f"""mutation($input: InquiryAnswerInput!) {{ inquiryAnswer(input: $input) {{
  {INQUIRY} {USER_ERRORS} }} }}"""
ROUTE = f"""mutation($input: InquiryRouteInput!) {{ inquiryRoute(input: $input) {{
  {INQUIRY} {USER_ERRORS} }} }}"""
FEEDBACK = f"""mutation($input: InquiryFeedbackInput!) {{ inquiryFeedback(input: $input) {{
  {INQUIRY} {USER_ERRORS} }} }}"""
QUEUE = """query($f: InquiryFilter) { inquiries(filter: $f) { totalCount
  nodes { id question status department overdue } } }"""
ESCALATED = """query($f: InquiryFilter) { inquiries(filter: $f) { totalCount
  nodes { id escalatedAt } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on Inquiry { question } } }"
PROCEDURES = "query($s: String) { procedures(search: $s) { code name status } }"
PROCEDURE = """query($c: String!) { procedure(code: $c) { code name fee legalBasis unconfirmed
  documents { name formCode } filingMethods department link history { toStatus } } }"""
CONTENT = {
    "name": "Đăng ký nuôi chó, mèo",
    "authority": "Công an cấp xã",
    "whoMayFile": "Chủ vật nuôi",
    "documents": [{"name": "Tờ khai", "formCode": "tk01"}],
    "filingMethods": ["IN_PERSON"],
    "timeLimit": "03 ngày làm việc",
    "fee": "Không thu phí",
    "legalBasis": "Quy định của địa phương",
    "department": "WARD",
    "keywords": ["nuôi chó"],
}
CREATE = f"""mutation($input: ProcedureCreateInput!) {{ procedureCreate(input: $input) {{
  procedure {{ code status version }} {USER_ERRORS} }} }}"""
PUBLISH = f"""mutation($input: ProcedurePublishInput!) {{ procedurePublish(input: $input) {{
  procedure {{ code status }} {USER_ERRORS} }} }}"""
UPDATE = f"""mutation($input: ProcedureUpdateInput!) {{ procedureUpdate(input: $input) {{
  procedure {{ code status version fee revisions {{ version fee }} }} {USER_ERRORS} }} }}"""
RETIRE = f"""mutation($input: ProcedureRetireInput!) {{ procedureRetire(input: $input) {{
  procedure {{ code status }} {USER_ERRORS} }} }}"""


@pytest.fixture
def replies() -> RecordingReply:
    return RecordingReply()


@pytest.fixture
async def container(settings, db, clock, replies):
    return bootstrap(settings, engine=db, clock=clock, reporter_reply=replies)


@pytest.fixture
async def world(api) -> World:
    world = await build_world(api.container.organisation)
    assert await api.container.procedures.seed(SEED) == len(SEED)
    return world


async def ask(api, world, question: str, *, as_: Any = None, letter: str = "A") -> dict:
    data = await api.gql(
        ASK, {"input": {"question": question, "wardId": ward_gid(world.wards[letter])}}, as_=as_
    )
    return data["inquiryAsk"]


async def test_the_seed_is_public_and_searchable_with_or_without_diacritics(api, world):
    listed = (await api.gql(PROCEDURES))["procedures"]
    assert len(listed) == len(SEED) == 23 and {p["status"] for p in listed} == {"PUBLISHED"}
    for search in ("gia hạn tạm trú", "gia han tam tru"):
        found = (await api.gql(PROCEDURES, {"s": search}))["procedures"]
        assert found[0]["code"] == "dang_ky_tam_tru", search
    one = (await api.gql(PROCEDURE, {"c": "dang_ky_thuong_tru"}))["procedure"]
    assert "CT01" in {d["formCode"] for d in one["documents"]}
    assert one["link"].endswith("/procedures/dang_ky_thuong_tru") and one["history"] == []
    assert (await api.gql(PROCEDURE, {"c": "khong_co"}))["procedure"] is None
    # Seeding again adds nothing and keeps what is there.
    assert await api.container.procedures.seed(SEED) == 0


async def test_a_clear_question_is_answered_at_once_citing_the_law(api, world, clock):
    resident = world.actor_id("resident_a")
    for question in (
        "Làm căn cước cho trẻ em dưới 14 tuổi cần giấy tờ gì?",
        "lam can cuoc cho tre em duoi 14 tuoi can giay to gi",
    ):
        got = await ask(api, world, question, as_=resident)
        assert got["userErrors"] == [] and got["answered"] is True, (question, got)
        assert got["procedure"]["code"] == "cap_can_cuoc_duoi_14"
        assert got["procedure"]["legalBasis"] in got["answer"]
        assert got["procedure"]["link"] in got["answer"]
        assert got["inquiry"]["status"] == "AUTO_ANSWERED" and got["inquiry"]["autoAnswered"]


async def test_an_off_topic_question_is_routed_to_the_ward_not_answered(api, world):
    got = await ask(api, world, "Cho hỏi tối nay đội tuyển Việt Nam đá mấy giờ?")
    assert got["answered"] is False and got["answer"] is None
    assert got["inquiry"] is None  # anonymous: nothing to follow it by in the response
    officer = world.actor_id("officer_a")
    queue = (await api.gql(QUEUE, {"f": {"statuses": ["ROUTED"]}}, as_=officer))["inquiries"]
    (routed,) = queue["nodes"]
    assert routed["department"] == "WARD" and not routed["overdue"]


async def test_a_routed_inquiry_is_answered_by_an_officer_of_its_ward_only(api, world, clock):
    resident = world.actor_id("resident_a")
    got = await ask(api, world, "Tôi muốn hỏi về giá vàng hôm nay", as_=resident)
    inquiry_id = got["inquiry"]["id"]
    assert got["inquiry"]["status"] == "ROUTED"

    stranger = await api.gql(
        ANSWER,
        {"input": {"id": inquiry_id, "text": "Gọi điện lực."}},
        as_=world.actor_id("officer_b"),
    )
    assert stranger["inquiryAnswer"]["userErrors"][0]["code"] == "NOT_FOUND"
    hidden = await api.gql(NODE, {"id": inquiry_id}, as_=world.actor_id("officer_b"))
    assert hidden["node"] is None

    answer = "Bác gọi tổng đài điện lực 1900 1288 giúp cháu ạ."
    done = await api.gql(
        ANSWER, {"input": {"id": inquiry_id, "text": answer}}, as_=world.actor_id("officer_a")
    )
    result = done["inquiryAnswer"]
    assert result["userErrors"] == []
    assert result["inquiry"]["status"] == "ANSWERED"
    assert result["inquiry"]["answeredBy"]["fullName"] == "Lê Văn Cảnh"
    # The asker sees their answer; another ward's officer still does not.
    mine = await api.gql(NODE, {"id": inquiry_id}, as_=resident)
    assert mine["node"]["question"].startswith("Tôi muốn")


async def test_the_asker_says_it_did_not_help_and_a_person_takes_over_once(api, world):
    resident = world.actor_id("resident_a")
    got = await ask(
        api, world, "Đăng ký tạm trú cho sinh viên thuê trọ cần giấy tờ gì?", as_=resident
    )
    inquiry_id = got["inquiry"]["id"]
    assert got["answered"]
    no = await api.gql(FEEDBACK, {"input": {"id": inquiry_id, "helped": False}}, as_=resident)
    reopened = no["inquiryFeedback"]["inquiry"]
    assert (
        reopened["status"] == "ROUTED" and reopened["reopened"] and reopened["department"] == "WARD"
    )
    officer = world.actor_id("officer_a")
    await api.gql(
        ANSWER, {"input": {"id": inquiry_id, "text": "Em mang hợp đồng thuê."}}, as_=officer
    )
    again = await api.gql(FEEDBACK, {"input": {"id": inquiry_id, "helped": False}}, as_=resident)
    assert again["inquiryFeedback"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    yes = await api.gql(FEEDBACK, {"input": {"id": inquiry_id, "helped": True}}, as_=resident)
    assert yes["inquiryFeedback"]["inquiry"]["status"] == "CLOSED"
    other = await api.gql(
        FEEDBACK, {"input": {"id": inquiry_id, "helped": False}}, as_=world.actor_id("officer_b")
    )
    assert other["inquiryFeedback"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_overdue_inquiries_are_listed_and_rerouting_restarts_the_clock(api, world, clock):
    officer = world.actor_id("officer_a")
    got = await ask(api, world, "Tôi muốn hỏi về việc hàng xóm xây nhà lấn đất", as_=officer)
    inquiry_id = got["inquiry"]["id"]
    clock.advance(days=3)
    late = (await api.gql(QUEUE, {"f": {"overdue": True}}, as_=officer))["inquiries"]
    assert [n["id"] for n in late["nodes"]] == [inquiry_id]
    moved = await api.gql(
        ROUTE, {"input": {"id": inquiry_id, "department": "QLHC_TTXH"}}, as_=officer
    )
    assert moved["inquiryRoute"]["inquiry"]["department"] == "QLHC_TTXH"
    assert (await api.gql(QUEUE, {"f": {"overdue": True}}, as_=officer))["inquiries"][
        "totalCount"
    ] == 0
    by_dept = await api.gql(QUEUE, {"f": {"departments": ["QLHC_TTXH"]}}, as_=officer)
    assert by_dept["inquiries"]["totalCount"] == 1
    assert (await api.gql(QUEUE, as_=world.actor_id("officer_b")))["inquiries"]["totalCount"] == 0


async def test_overdue_inquiries_escalate_to_the_wards_commanders_once_per_deadline(
    api, world, clock
):
    officer, commander = world.actor_id("officer_a"), world.actor_id("commander_a")
    got = await ask(api, world, "Tôi muốn hỏi về việc hàng xóm xây nhà lấn đất", as_=officer)
    on_time = await ask(api, world, "Cho hỏi về lịch tiếp dân của phường", as_=officer)
    inquiry_id = got["inquiry"]["id"]
    assert await api.container.inquiries.escalate_overdue() == []  # nothing due: one probe
    clock.advance(days=3)
    # A later one, routed straight to a department with a five-day deadline, is not due yet.
    await api.gql(
        ROUTE, {"input": {"id": on_time["inquiry"]["id"], "department": "PCCC_CNCH"}}, as_=officer
    )
    escalated = await api.container.inquiries.escalate_overdue()
    assert [(gid("Inquiry", e.subject_id), e.commander_ids) for e in escalated] == [
        (inquiry_id, tuple(sorted([world.actors["commander_a"].id, world.deputies["A"].id])))
    ]
    assert await api.container.inquiries.escalate_overdue() == []  # once per deadline
    mine = await api.gql(ESCALATED, {"f": {"escalated": True}}, as_=commander)
    assert [(n["id"], n["escalatedAt"] is not None) for n in mine["inquiries"]["nodes"]] == [
        (inquiry_id, True)
    ]
    others = await api.gql(ESCALATED, {"f": {"escalated": False}}, as_=commander)
    assert [n["id"] for n in others["inquiries"]["nodes"]] == [on_time["inquiry"]["id"]]
    assert (await api.gql(ESCALATED, {"f": {"escalated": True}}, as_=world.actor_id("officer_b")))[
        "inquiries"
    ]["totalCount"] == 0  # another ward's officer sees none of it
    # Routed on: a new deadline, which escalates in its turn when it passes.
    await api.gql(ROUTE, {"input": {"id": inquiry_id, "department": "QLHC_TTXH"}}, as_=officer)
    moved = await api.gql(ESCALATED, {"f": {"escalated": True}}, as_=commander)
    assert moved["inquiries"]["totalCount"] == 0
    clock.advance(days=6)
    again = await api.container.inquiries.escalate_overdue()
    assert {gid("Inquiry", e.subject_id) for e in again} == {inquiry_id, on_time["inquiry"]["id"]}


async def test_only_admins_write_the_knowledge_base_and_every_version_is_kept(api, world):
    admin, officer = world.actor_id("admin_d"), world.actor_id("officer_a")
    refused = await api.gql(
        CREATE, {"input": {"code": "nuoi_cho_meo", "content": CONTENT}}, as_=officer
    )
    assert refused["procedureCreate"]["userErrors"][0]["code"] == "FORBIDDEN"
    made = await api.gql(CREATE, {"input": {"code": "nuoi_cho_meo", "content": CONTENT}}, as_=admin)
    assert made["procedureCreate"]["procedure"] == {
        "code": "nuoi_cho_meo",
        "status": "DRAFT",
        "version": 1,
    }
    assert (await api.gql(PROCEDURE, {"c": "nuoi_cho_meo"}))["procedure"] is None  # a draft
    dup = await api.gql(CREATE, {"input": {"code": "nuoi_cho_meo", "content": CONTENT}}, as_=admin)
    assert dup["procedureCreate"]["userErrors"][0]["code"] == "DUPLICATE"

    await api.gql(PUBLISH, {"input": {"code": "nuoi_cho_meo"}}, as_=admin)
    got = await ask(api, world, "Nuôi chó có phải đăng ký với công an không?")
    assert got["procedure"] and got["procedure"]["code"] == "nuoi_cho_meo"

    changed = await api.gql(
        UPDATE,
        {"input": {"code": "nuoi_cho_meo", "content": {**CONTENT, "fee": "10.000 đồng"}}},
        as_=admin,
    )
    p = changed["procedureUpdate"]["procedure"]
    assert (p["status"], p["version"], p["fee"]) == ("PUBLISHED", 2, "10.000 đồng")
    assert [r["fee"] for r in p["revisions"]] == ["Không thu phí", "10.000 đồng"]
    await api.gql(RETIRE, {"input": {"code": "nuoi_cho_meo", "comment": "Bãi bỏ"}}, as_=admin)
    after = await ask(api, world, "Nuôi chó có phải đăng ký với công an không?")
    assert not after["procedure"] or after["procedure"]["code"] != "nuoi_cho_meo"


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"question": "  ", "wardCode": "A"}, ["question"], "REQUIRED"),
        ({"question": "x" * 4001, "wardCode": "A"}, ["question"], "TOO_LONG"),
        ({"question": "Hỏi"}, ["wardId"], "REQUIRED"),
        ({"question": "Hỏi", "wardCode": "ZZ"}, ["wardCode"], "NOT_FOUND"),
        (
            {"question": "Hỏi", "wardId": gid("Group", "00000000-0000-0000-0000-000000000000")},
            ["wardId"],
            "INVALID",
        ),
        ({"question": "Hỏi", "wardCode": "A", "source": "ZALO"}, ["source"], "INVALID"),
    ],
)
async def test_bad_questions_get_user_errors(api, world, variables, field, code):
    got = (await api.gql(ASK, {"input": variables}))["inquiryAsk"]
    assert [(e["field"], e["code"]) for e in got["userErrors"]] == [(field, code)]
    assert all(e["message"] and e["messageEn"] for e in got["userErrors"])


async def test_bad_article_content_is_refused_with_field_paths(api, world):
    admin = world.actor_id("admin_d")
    bad = {**CONTENT, "name": "", "filingMethods": [], "documents": [{"name": ""}]}
    got = await api.gql(CREATE, {"input": {"code": "Bad Code", "content": bad}}, as_=admin)
    fields = {tuple(e["field"]) for e in got["procedureCreate"]["userErrors"]}
    assert ("code",) in fields or fields >= {
        ("name",),
        ("filingMethods",),
        ("documents", "0", "name"),
    }
    response = await api.post(PROCEDURES, {"s": "x" * 5000})
    assert response.status_code == 200 and response.json()["errors"]
