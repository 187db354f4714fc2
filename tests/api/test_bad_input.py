"""Bad input never crashes the API: it is a 4xx, a GraphQL error or a userError, and stores nothing.

Every test arranges its own ward, so the tests of a class share one database (emptied at its end).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from domain.access import Role
from domain.group import Group
from domain.member import Member
from domain.ward import Ward
from tests.api.org import (
    gid,
    group_gid,
    make_group,
    make_member,
    make_ward,
    member_gid,
    row_counts,
    unique,
    unique_phone,
    ward_gid,
)

USER_ERRORS = "userErrors { field code message messageEn }"
NODE = "query ($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
WARD = "query ($id: ID) { ward(id: $id) { id } }"
WARDS = "query ($f: WardFilter, $first: Int!, $after: String) { wards(filter: $f, first: $first, after: $after) { totalCount } }"
GROUPS = "query ($f: GroupFilter, $first: Int!, $after: String) { groups(filter: $f, first: $first, after: $after) { totalCount } }"
MEMBERS = "query ($f: MemberFilter, $first: Int!, $after: String) { members(filter: $f, first: $first, after: $after) { totalCount } }"
CONNECTIONS = {"wards": WARDS, "groups": GROUPS, "members": MEMBERS}

WARD_CREATE = f"mutation ($input: WardCreateInput!) {{ wardCreate(input: $input) {{ ward {{ id }} {USER_ERRORS} }} }}"
WARD_UPDATE = f"mutation ($input: WardUpdateInput!) {{ wardUpdate(input: $input) {{ ward {{ id }} {USER_ERRORS} }} }}"
GROUP_CREATE = f"mutation ($input: GroupCreateInput!) {{ groupCreate(input: $input) {{ group {{ id }} {USER_ERRORS} }} }}"
GROUP_UPDATE = f"mutation ($input: GroupUpdateInput!) {{ groupUpdate(input: $input) {{ group {{ id }} {USER_ERRORS} }} }}"
GROUP_ARCHIVE = f"mutation ($input: GroupArchiveInput!) {{ groupArchive(input: $input) {{ group {{ id }} {USER_ERRORS} }} }}"
MEMBER_CREATE = f"mutation ($input: MemberCreateInput!) {{ memberCreate(input: $input) {{ member {{ id }} {USER_ERRORS} }} }}"
MEMBER_UPDATE = f"mutation ($input: MemberUpdateInput!) {{ memberUpdate(input: $input) {{ member {{ id }} {USER_ERRORS} }} }}"
MEMBER_REMOVE = f"mutation ($input: MemberRemoveInput!) {{ memberRemove(input: $input) {{ member {{ id }} {USER_ERRORS} }} }}"
ROLE_ASSIGN = f"mutation ($input: RoleChangeInput!) {{ roleAssign(input: $input) {{ member {{ id }} {USER_ERRORS} }} }}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class Desk:
    """A ward with its commander, a resident and a group."""

    ward: Ward
    commander: Member
    resident: Member
    group: Group


@pytest.fixture
async def desk(shared_api) -> Desk:
    svc = shared_api.container.organisation
    ward = await make_ward(svc, "Phường Tân Mai")
    return Desk(
        ward=ward,
        commander=await make_member(svc, ward, "Trần Văn Bảo", roles=(Role.COMMANDER,)),
        resident=await make_member(svc, ward, "Nguyễn Văn An"),
        group=await make_group(svc, ward, "Tổ 1"),
    )


def member_input(desk: Desk, **changes: Any) -> dict:
    """A valid memberCreate input, changed as asked."""
    return {
        "input": {
            "wardId": ward_gid(desk.ward),
            "fullName": "Lý Thị Cúc",
            "phone": unique_phone(),
            **changes,
        }
    }


def assert_client_errors(body: dict) -> list[dict]:
    """GraphQL errors that name the problem, none of them masked as an internal error."""
    errors = body.get("errors") or []
    assert errors, body
    for error in errors:
        assert error["message"] != "Unexpected error.", body
        assert (error.get("extensions") or {}).get("code") != "INTERNAL", body
    return errors


def refused(data: dict) -> list[tuple[str, list[str]]]:
    (payload,) = data.values()
    assert all(v is None for k, v in payload.items() if k != "userErrors"), payload
    for error in payload["userErrors"]:
        assert error["message"] and error["messageEn"]
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


class TestGlobalIds:
    @pytest.mark.parametrize(
        ("raw", "error"),
        [
            ("abc", "Value cannot represent a GlobalID"),
            ("", "Value cannot represent a GlobalID"),
            (b64("Nope:1"), "GlobalID requires a GraphQL type"),
            (b64("no colon"), "Value cannot represent a GlobalID"),
            (b64("Ward:1"), None),
            (b64("Ward:"), None),
            (b64(f"Ward:{uuid.uuid4()}"), None),
        ],
        ids=["abc", "empty", "Nope:1", "no-colon", "Ward:1", "Ward:", "Ward:unknown"],
    )
    async def test_node_with_a_malformed_or_unknown_id(self, shared_api, desk, raw, error):
        # when node is asked for an id that is malformed or names nothing
        response = await shared_api.post(NODE, {"id": raw}, as_=desk.commander.id)

        # then the answer is null, with a client error when the id itself is wrong
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == {"node": None}
        if error is None:
            assert "errors" not in body
        else:
            (only,) = assert_client_errors(body)
            assert error in only["message"]
            assert only["path"] == ["node"]

    async def test_node_with_a_group_id_built_on_a_ward_uuid(self, shared_api, desk):
        # when a Group id carries the uuid of a ward
        data = await shared_api.gql(NODE, {"id": gid("Group", desk.ward.id)}, as_=desk.commander.id)

        # then there is no such group
        assert data == {"node": None}

    async def test_nodes_with_one_malformed_id(self, shared_api, desk):
        # when nodes gets a valid and a malformed id
        response = await shared_api.post(
            NODES, {"ids": [group_gid(desk.group), "abc"]}, as_=desk.commander.id
        )

        # then the whole field fails with a client error
        assert response.status_code == 200
        (error,) = assert_client_errors(response.json())
        assert "abc" in error["message"]

    @pytest.mark.parametrize(
        ("document", "variables", "message"),
        [
            (WARD, {"id": "GROUP"}, "'id' must hold Ward ids."),
            (WARD, {"id": "abc"}, "Value cannot represent a GlobalID"),
            (WARDS, {"f": {"parentId": "GROUP"}, "first": 5}, "'parentId' must hold Ward ids."),
            (GROUPS, {"f": {"wardIds": ["GROUP"]}, "first": 5}, "'wardIds' must hold Ward ids."),
            (
                GROUPS,
                {"f": {"wardIds": [b64("Ward:1")]}, "first": 5},
                "'wardIds' must hold Ward ids.",
            ),
            (MEMBERS, {"f": {"groupIds": ["WARD"]}, "first": 5}, "'groupIds' must hold Group ids."),
            (MEMBERS, {"f": {"wardIds": ["abc"]}, "first": 5}, "Value cannot represent a GlobalID"),
        ],
        ids=[
            "ward-group-id",
            "ward-abc",
            "wards-parent-group-id",
            "groups-ward-ids-group-id",
            "groups-ward-ids-not-uuid",
            "members-group-ids-ward-id",
            "members-ward-ids-abc",
        ],
    )
    async def test_query_arguments_with_wrong_ids(
        self, shared_api, desk, document, variables, message
    ):
        # given ids of the wrong type, or malformed, in query arguments ("GROUP"/"WARD": real ids)
        real = {"GROUP": group_gid(desk.group), "WARD": ward_gid(desk.ward)}
        variables = _substitute(variables, real)

        # when the query runs
        response = await shared_api.post(document, variables, as_=desk.commander.id)

        # then it is a client error saying what is wrong, in English and Vietnamese when ours
        assert response.status_code == 200
        (error,) = assert_client_errors(response.json())
        assert message in error["message"]
        if error.get("extensions", {}).get("code") == "BAD_USER_INPUT":
            assert error["extensions"]["messageVi"]

    @pytest.mark.parametrize(
        ("document", "make_input", "field"),
        [
            (GROUP_CREATE, lambda d: _group_input(d, wardId=group_gid(d.group)), ["wardId"]),
            (GROUP_CREATE, lambda d: _group_input(d, wardId=b64("Nope:1")), ["wardId"]),
            (GROUP_CREATE, lambda d: _group_input(d, wardId=b64("Ward:1")), ["wardId"]),
            (MEMBER_CREATE, lambda d: member_input(d, wardId=member_gid(d.resident)), ["wardId"]),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, groupIds=[group_gid(d.group), ward_gid(d.ward)]),
                ["groupIds", "1"],
            ),
            (
                MEMBER_UPDATE,
                lambda d: {"input": {"id": ward_gid(d.ward), "fullName": "X"}},
                ["id"],
            ),
            (MEMBER_REMOVE, lambda d: {"input": {"id": group_gid(d.group)}}, ["id"]),
            (GROUP_ARCHIVE, lambda d: {"input": {"id": member_gid(d.resident)}}, ["id"]),
            (
                GROUP_UPDATE,
                lambda d: {"input": {"id": gid("Group", "42"), "name": "X"}},
                ["id"],
            ),
            (
                WARD_UPDATE,
                lambda d: {"input": {"id": group_gid(d.group), "name": "X"}},
                ["id"],
            ),
            (
                WARD_CREATE,
                lambda d: {
                    "input": {"code": unique("C"), "name": "X", "parentId": member_gid(d.resident)}
                },
                ["parentId"],
            ),
            (
                ROLE_ASSIGN,
                lambda d: {
                    "input": {
                        "memberId": group_gid(d.group),
                        "wardId": ward_gid(d.ward),
                        "role": "OFFICER",
                    }
                },
                ["memberId"],
            ),
            (
                ROLE_ASSIGN,
                lambda d: {
                    "input": {
                        "memberId": member_gid(d.resident),
                        "wardId": member_gid(d.resident),
                        "role": "OFFICER",
                    }
                },
                ["wardId"],
            ),
        ],
        ids=[
            "groupCreate-group-as-ward",
            "groupCreate-unknown-type",
            "groupCreate-ward-not-uuid",
            "memberCreate-member-as-ward",
            "memberCreate-ward-in-groupIds",
            "memberUpdate-ward-as-member",
            "memberRemove-group-as-member",
            "groupArchive-member-as-group",
            "groupUpdate-not-uuid",
            "wardUpdate-group-as-ward",
            "wardCreate-member-as-parent",
            "roleAssign-group-as-member",
            "roleAssign-member-as-ward",
        ],
    )
    async def test_mutation_inputs_with_wrong_ids(
        self, shared_api, desk, document, make_input, field
    ):
        # given a mutation whose input names an object of the wrong type
        before = await row_counts(shared_api.container)

        # when the commander sends it
        data = await shared_api.gql(document, make_input(desk), as_=desk.commander.id)

        # then it is a userError at the field, and nothing changed
        assert refused(data) == [("INVALID", field)]
        assert await row_counts(shared_api.container) == before

    @pytest.mark.parametrize("raw", ["abc", "", "%%%"])
    async def test_mutation_input_with_a_malformed_id(self, shared_api, desk, raw):
        # given an id that is not a global id at all
        before = await row_counts(shared_api.container)

        # when it is sent as the ward of a new member
        response = await shared_api.post(
            MEMBER_CREATE, member_input(desk, wardId=raw), as_=desk.commander.id
        )

        # then the mutation fails as a whole with a client error naming the value (strawberry
        # decodes global ids before the resolver runs, so no userError can point at wardId)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        (error,) = assert_client_errors(body)
        assert error["message"] == f'Value cannot represent a GlobalID: "{raw}".'
        assert error["path"] == ["memberCreate"]
        assert await row_counts(shared_api.container) == before


class TestArguments:
    @pytest.mark.parametrize(
        ("document", "variables"),
        [
            (GROUPS, {"f": {"channels": ["TELEGRAM"]}, "first": 5}),
            (MEMBERS, {"f": {"roles": ["KING"]}, "first": 5}),
            (GROUPS, {"f": {"channels": "ZALO"}, "first": 5}),
            (GROUPS, {"first": "ten"}),
            (GROUPS, {"first": 2**31}),
            (GROUPS, {"f": {"includeArchived": "yes"}, "first": 5}),
            (GROUPS, {"f": {"unknownField": 1}, "first": 5}),
        ],
        ids=[
            "unknown-channel",
            "unknown-role",
            "channel-not-enum",
            "first-text",
            "first-too-big",
            "bool-text",
            "unknown-field",
        ],
    )
    async def test_invalid_variable_values(self, shared_api, desk, document, variables):
        # when a variable holds a value its type cannot take
        response = await shared_api.post(document, variables, as_=desk.commander.id)

        # then the request is refused as the client's mistake, not masked as an internal error
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        (error,) = assert_client_errors(body)
        assert error["message"].startswith("Variable '$")

    async def test_unknown_enum_literal(self, shared_api, desk):
        # when a literal enum value does not exist
        response = await shared_api.post(
            "{ groups(filter: {channels: [TELEGRAM]}) { totalCount } }", as_=desk.commander.id
        )

        # then validation refuses the document
        (error,) = assert_client_errors(response.json())
        assert "TELEGRAM" in error["message"]

    async def test_unknown_enum_in_a_mutation_stores_nothing(self, shared_api, desk):
        # given a new group on a channel that does not exist
        before = await row_counts(shared_api.container)

        # when the commander creates it
        response = await shared_api.post(
            GROUP_CREATE, _group_input(desk, channel="TELEGRAM"), as_=desk.commander.id
        )

        # then it is refused and nothing is stored
        (error,) = assert_client_errors(response.json())
        assert "TELEGRAM" in error["message"]
        assert await row_counts(shared_api.container) == before

    @pytest.mark.parametrize("first", [0, -1, 101, 1000])
    @pytest.mark.parametrize("connection", list(CONNECTIONS))
    async def test_page_size_out_of_bounds(self, shared_api, desk, connection, first):
        # when a connection is asked for a page size outside 1..100
        response = await shared_api.post(
            CONNECTIONS[connection], {"first": first}, as_=desk.commander.id
        )

        # then it is a client error in both languages
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        (error,) = assert_client_errors(body)
        assert error["message"] == "'first' must be between 1 and 100."
        assert error["path"] == [connection]
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "messageVi": "'first' phải nằm trong khoảng 1 đến 100.",
        }

    @pytest.mark.parametrize("first", [1, 100])
    async def test_page_size_bounds_are_allowed(self, shared_api, desk, first):
        # when the page size is at either bound
        data = await shared_api.gql(GROUPS, {"first": first}, as_=desk.commander.id)

        # then the query runs
        assert data == {"groups": {"totalCount": 1}}

    @pytest.mark.parametrize(
        "cursor",
        [
            "xyz",
            "!!!",
            "",
            base64.urlsafe_b64encode(b"c1:not-a-uuid").decode(),
            base64.urlsafe_b64encode(f"c2:{uuid.uuid4()}".encode()).decode(),
            base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
            str(uuid.uuid4()),
        ],
        ids=["xyz", "punctuation", "empty", "not-uuid", "other-version", "not-utf8", "raw-uuid"],
    )
    @pytest.mark.parametrize("connection", list(CONNECTIONS))
    async def test_bad_cursor(self, shared_api, desk, connection, cursor):
        # when a cursor we never handed out is sent
        response = await shared_api.post(
            CONNECTIONS[connection], {"first": 5, "after": cursor}, as_=desk.commander.id
        )

        # then it is refused in both languages
        assert response.status_code == 200
        (error,) = assert_client_errors(response.json())
        assert error["message"] == "The 'after' cursor is not valid."
        assert error["extensions"]["messageVi"] == "Con trỏ 'after' không hợp lệ."


class TestValidation:
    @pytest.mark.parametrize(
        ("document", "make_input", "code", "field", "vi", "en"),
        [
            (
                MEMBER_CREATE,
                lambda d: member_input(d, phone="abc"),
                "INVALID_PHONE",
                ["phone"],
                "Số điện thoại 'abc' không hợp lệ.",
                "'abc' is not a valid phone number.",
            ),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, phone="0912"),
                "INVALID_PHONE",
                ["phone"],
                "Số điện thoại '0912' không hợp lệ.",
                "'0912' is not a valid phone number.",
            ),
            (
                MEMBER_UPDATE,
                lambda d: {"input": {"id": member_gid(d.resident), "phone": "+84 1"}},
                "INVALID_PHONE",
                ["phone"],
                "Số điện thoại '+84 1' không hợp lệ.",
                "'+84 1' is not a valid phone number.",
            ),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, fullName="Nguyễn " * 20),
                "TOO_LONG",
                ["fullName"],
                "Họ tên dài quá 120 ký tự.",
                "Full name is longer than 120 characters.",
            ),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, fullName="   "),
                "REQUIRED",
                ["fullName"],
                "Họ tên không được để trống.",
                "Full name is required.",
            ),
            (
                MEMBER_UPDATE,
                lambda d: {"input": {"id": member_gid(d.resident), "fullName": ""}},
                "REQUIRED",
                ["fullName"],
                "Họ tên không được để trống.",
                "Full name is required.",
            ),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, householdSize=0),
                "OUT_OF_RANGE",
                ["householdSize"],
                "Số nhân khẩu phải từ 1 đến 100.",
                "Household size must be between 1 and 100.",
            ),
            (
                MEMBER_CREATE,
                lambda d: member_input(d, address="x" * 301),
                "TOO_LONG",
                ["address"],
                "Địa chỉ dài quá 300 ký tự.",
                "Address is longer than 300 characters.",
            ),
            (
                GROUP_CREATE,
                lambda d: _group_input(d, name="T" * 201),
                "TOO_LONG",
                ["name"],
                "Tên nhóm dài quá 200 ký tự.",
                "Group name is longer than 200 characters.",
            ),
            (
                GROUP_CREATE,
                lambda d: _group_input(d, name=" \t "),
                "REQUIRED",
                ["name"],
                "Tên nhóm không được để trống.",
                "Group name is required.",
            ),
            (
                GROUP_CREATE,
                lambda d: _group_input(d, externalId="có dấu cách"),
                "INVALID",
                ["externalId"],
                "Mã nhóm trên kênh không hợp lệ (1-128 ký tự, không có khoảng trắng).",
                "The channel id must be 1-128 characters without spaces.",
            ),
            (
                GROUP_UPDATE,
                lambda d: {"input": {"id": group_gid(d.group), "name": ""}},
                "REQUIRED",
                ["name"],
                "Tên nhóm không được để trống.",
                "Group name is required.",
            ),
            (
                WARD_UPDATE,
                lambda d: {"input": {"id": ward_gid(d.ward), "name": "P" * 201}},
                "TOO_LONG",
                ["name"],
                "Tên đơn vị dài quá 200 ký tự.",
                "Unit name is longer than 200 characters.",
            ),
        ],
        ids=[
            "phone-letters",
            "phone-short",
            "phone-update",
            "name-too-long",
            "name-blank",
            "name-empty-update",
            "household-zero",
            "address-too-long",
            "group-name-too-long",
            "group-name-blank",
            "external-id-spaces",
            "group-name-empty-update",
            "ward-name-too-long",
        ],
    )
    async def test_invalid_values_are_user_errors(
        self, shared_api, desk, document, make_input, code, field, vi, en
    ):
        # given an input with one value the domain refuses
        before = await row_counts(shared_api.container)

        # when the commander sends it (an admin of the ward for wardUpdate)
        as_ = desk.commander.id
        if document == WARD_UPDATE:
            as_ = (
                await make_member(
                    shared_api.container.organisation, desk.ward, "Admin", roles=(Role.ADMIN,)
                )
            ).id
            before = await row_counts(shared_api.container)
        data = await shared_api.gql(document, make_input(desk), as_=as_)

        # then one userError says where and why, in Vietnamese and English, and nothing changed
        (payload,) = data.values()
        assert payload["userErrors"] == [
            {"field": field, "code": code, "message": vi, "messageEn": en}
        ]
        assert all(v is None for k, v in payload.items() if k != "userErrors")
        assert await row_counts(shared_api.container) == before
        unchanged = await shared_api.gql(
            "query ($id: ID!) { node(id: $id) { ... on Member { fullName phone } } }",
            {"id": member_gid(desk.resident)},
            as_=desk.commander.id,
        )
        assert unchanged["node"] == {"fullName": "Nguyễn Văn An", "phone": desk.resident.phone}


class TestHttp:
    """Requests that never reach a resolver. Each carries a memberCreate that must not run."""

    @pytest.mark.parametrize(
        ("request_", "status", "reason"),
        [
            (
                {"content": b"{not json", "json_type": True},
                400,
                "Unable to parse request body as JSON",
            ),
            (
                {"content": b"\xc3\x28", "json_type": True},
                400,
                "Unable to parse request body as JSON",
            ),
            ({"content": b"[" * 50_000 + b"]" * 50_000, "json_type": True}, 400, None),
            ({"json": "a string"}, 400, "The request body must be a JSON object."),
            ({"json": 42}, 400, "The request body must be a JSON object."),
            ({"json": [{"query": "MUTATION"}]}, 400, "Batching is not enabled"),
            ({"json": {"query": ""}}, 400, "No GraphQL query found in the request"),
            ({"json": {}}, 400, "No GraphQL query found in the request"),
            ({"json": {"query": "MUTATION", "variables": [1]}}, 400, None),
            ({"json": {"query": 42}}, 400, None),
            (
                {"content": b"MUTATION", "content_type": "text/plain"},
                400,
                "Unsupported content type",
            ),
            (
                {"content": b"MUTATION", "content_type": "application/graphql"},
                400,
                "Unsupported content type",
            ),
            ({"data": {"query": "MUTATION"}}, 400, "Unsupported content type"),
        ],
        ids=[
            "invalid-json",
            "invalid-utf8",
            "deep-json",
            "json-string",
            "json-number",
            "batch",
            "empty-query",
            "no-query",
            "variables-list",
            "query-number",
            "text-plain",
            "application-graphql",
            "form-urlencoded",
        ],
    )
    async def test_malformed_requests(self, shared_api, desk, request_, status, reason):
        # given a memberCreate sent in a malformed request
        before = await row_counts(shared_api.container)
        mutation = _inline_member_create(desk)
        kwargs = _request(request_, mutation)
        headers = {**kwargs.pop("headers", {}), **shared_api.headers(desk.commander.id)}

        # when it is posted
        response = await shared_api.client.post("/graphql", headers=headers, **kwargs)

        # then it is a 4xx saying why, and nothing is stored
        assert response.status_code == status, response.text
        if reason:
            assert reason in response.text
        assert await row_counts(shared_api.container) == before

    async def test_get_with_a_mutation_is_refused(self, shared_api, desk):
        # given a memberCreate sent as a GET
        before = await row_counts(shared_api.container)

        # when it arrives
        response = await shared_api.client.get(
            "/graphql",
            params={"query": _inline_member_create(desk)},
            headers={"accept": "application/json", **shared_api.headers(desk.commander.id)},
        )

        # then it is refused: GET may only read
        assert 400 <= response.status_code < 500
        assert "mutations are not allowed when using GET" in response.text
        assert await row_counts(shared_api.container) == before

    async def test_get_with_a_query_works(self, shared_api, desk):
        # when a query is sent as a GET
        response = await shared_api.client.get(
            "/graphql",
            params={"query": "{ me { fullName } }"},
            headers={"accept": "application/json", **shared_api.headers(desk.commander.id)},
        )

        # then it is answered
        assert response.status_code == 200
        assert response.json() == {"data": {"me": {"fullName": "Trần Văn Bảo"}}}

    async def test_other_methods_are_refused(self, shared_api, desk):
        # when the endpoint is called with PUT
        response = await shared_api.client.put("/graphql", json={"query": "{ me { id } }"})

        # then it is not allowed
        assert response.status_code == 405

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ("mutation { memberCreate(", "Syntax Error"),
            ("mutation { memberCreat(input: {}) { member { id } } }", "Cannot query field"),
            ("query { wards { totalCount } } query { me { id } }", "operation"),
        ],
        ids=["syntax", "unknown-field", "two-anonymous-operations"],
    )
    async def test_invalid_documents(self, shared_api, desk, query, message):
        # when a document does not parse or validate
        before = await row_counts(shared_api.container)
        response = await shared_api.post(query, as_=desk.commander.id)

        # then it is a client error and nothing runs
        assert response.status_code == 200
        (error, *_) = assert_client_errors(response.json())
        assert message in error["message"]
        assert await row_counts(shared_api.container) == before

    async def test_query_deeper_than_the_limit(self, shared_api, desk):
        # given a mutation whose selection goes 11 levels below its root field (the limit is 10)
        before = await row_counts(shared_api.container)
        selection = "id " + "parent { " * 8 + "id" + " }" * 8
        query = _inline_member_create(desk, f"member {{ ward {{ {selection} }} }}")

        # when it is sent
        response = await shared_api.post(query, as_=desk.commander.id)

        # then it is refused whole, and the member is not created
        assert response.status_code == 200
        body = response.json()
        assert body.get("data") is None
        (error,) = assert_client_errors(body)
        assert "exceeds maximum operation depth of 10" in error["message"]
        assert await row_counts(shared_api.container) == before

    async def test_query_within_the_depth_limit(self, shared_api, desk):
        # given a selection exactly 10 levels below its root field
        selection = "ward { " + "parent { " * 7 + "id" + " }" * 7 + " }"
        query = f"{{ groups {{ nodes {{ {selection} }} }} }}"

        # when it is sent, then it runs
        data = await shared_api.gql(query, as_=desk.commander.id)
        assert data["groups"]["nodes"] == [{"ward": {"parent": None}}]

    @pytest.mark.parametrize(("aliases", "refused_"), [(30, False), (31, True)])
    async def test_aliases_limit(self, shared_api, desk, aliases, refused_):
        # given a mutation repeating memberCreate under many aliases
        before = await row_counts(shared_api.container)
        fields = " ".join(
            f'm{i}: memberCreate(input: {{wardId: "{ward_gid(desk.ward)}", fullName: "Cư dân {i}"}})'
            " { userErrors { code } }"
            for i in range(aliases)
        )

        # when it is sent
        response = await shared_api.post(f"mutation {{ {fields} }}", as_=desk.commander.id)

        # then beyond 30 aliases it is refused whole and nothing is stored
        assert response.status_code == 200
        after = await row_counts(shared_api.container)
        if refused_:
            (error,) = assert_client_errors(response.json())
            assert error["message"] == f"{aliases} aliases found. Allowed: 30"
            assert after == before
        else:
            assert "errors" not in response.json()
            assert after["members"] == before["members"] + aliases

    async def test_too_many_tokens(self, shared_api, desk):
        # given a query of more than 2000 tokens
        before = await row_counts(shared_api.container)
        query = _inline_member_create(desk, "member { id " + "fullName " * 2000 + "}")

        # when it is sent, then it is refused before it runs
        response = await shared_api.post(query, as_=desk.commander.id)
        assert response.status_code == 200
        (error,) = assert_client_errors(response.json())
        assert "token" in error["message"].lower()
        assert await row_counts(shared_api.container) == before

    @pytest.mark.parametrize(
        ("form", "reason"),
        [
            ({"operations": '"MUTATION"', "map": "{}"}, "The request body must be a JSON object."),
            ({"operations": "{not json", "map": "{}"}, "Unable to parse request body as JSON"),
            ({"operations": "OPS", "map": "[1]"}, "GraphQL multipart spec"),
            ({"operations": "OPS", "map": '{"0": [1]}'}, "GraphQL multipart spec"),
            ({"operations": "OPS", "map": '{"0": ["variables.nowhere.deep"]}'}, "File(s) missing"),
            ({"operations": "OPS", "map": '{"9": ["variables.input.file"]}'}, "File(s) missing"),
        ],
        ids=[
            "operations-string",
            "operations-invalid",
            "map-list",
            "map-path-number",
            "map-bad-path",
            "map-unknown-file",
        ],
    )
    async def test_malformed_multipart(self, shared_api, desk, form, reason):
        # given a multipart request that does not follow the multipart request spec
        before = await row_counts(shared_api.container)
        operations = '{"query": "' + _inline_member_create(desk).replace('"', '\\"') + '"}'
        data = {k: v.replace("OPS", operations).replace("MUTATION", "x") for k, v in form.items()}

        # when it is posted with a file
        response = await shared_api.client.post(
            "/graphql",
            data=data,
            files={"0": ("a.csv", b"Ho ten,SDT\n", "text/csv")},
            headers=shared_api.headers(desk.commander.id),
        )

        # then it is a 400 and nothing is stored
        assert response.status_code == 400, response.text
        assert reason in response.text
        assert await row_counts(shared_api.container) == before


def _group_input(desk: Desk, **changes: Any) -> dict:
    return {
        "input": {
            "wardId": ward_gid(desk.ward),
            "channel": "ZALO_GROUP",
            "externalId": unique("ext"),
            "name": "Tổ 2",
            **changes,
        }
    }


def _inline_member_create(desk: Desk, selection: str = "member { id }") -> str:
    return (
        f'mutation {{ memberCreate(input: {{wardId: "{ward_gid(desk.ward)}",'
        f' fullName: "Lý Thị Cúc", phone: "{unique_phone()}"}}) {{ {selection} }} }}'
    )


def _request(spec: dict, mutation: str) -> dict:
    """httpx keyword arguments for a request spec; MUTATION stands for the mutation's text."""

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("MUTATION", mutation)
        if isinstance(value, bytes):
            return value.replace(b"MUTATION", mutation.encode())
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    kwargs: dict[str, Any] = {}
    if "json" in spec:
        kwargs["json"] = fill(spec["json"])
    if "data" in spec:
        kwargs["data"] = fill(spec["data"])
    if "content" in spec:
        kwargs["content"] = fill(spec["content"])
        content_type = "application/json" if spec.get("json_type") else spec["content_type"]
        kwargs["headers"] = {"content-type": content_type}
    return kwargs


def _substitute(value: Any, real: dict[str, str]) -> Any:
    if isinstance(value, str):
        return real.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, real) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, real) for v in value]
    return value
