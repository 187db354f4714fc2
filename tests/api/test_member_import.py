"""memberImport over the GraphQL multipart request spec: CSV and XLSX, all or nothing.

Requests are real multipart/form-data bodies with `operations`, `map` and the file part, as a
browser or the officers' app sends them.
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from api.app import create_app
from api.bootstrap import bootstrap
from api.config import Settings
from domain.access import Role
from domain.group import Group
from domain.member import Member
from domain.ward import Ward
from tests.api.org import group_gid, make_group, make_member, make_ward, row_counts, ward_gid

MEMBER_IMPORT = """
mutation ($input: MemberImportInput!) {
  memberImport(input: $input) {
    createdCount
    updatedCount
    rowErrors { row column code message messageEn }
    userErrors { field code message messageEn }
  }
}
"""
MEMBERS = """
query ($f: MemberFilter) {
  members(first: 100, filter: $f) {
    totalCount
    nodes { fullName phone address householdSize groups { externalId } roles { role } }
  }
}
"""

VI_HEADER = "Họ tên,Số điện thoại,Địa chỉ,Số nhân khẩu,Nhóm"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Desk:
    """Ward A with two groups (external ids TDP1, TDP2), its officer and a resident; ward B's officer."""

    ward: Ward
    groups: dict[str, Group]
    officer: Member
    resident: Member
    other_officer: Member


@pytest.fixture
async def desk(shared_api) -> Desk:
    svc = shared_api.container.organisation
    ward = await make_ward(svc, "Phường Tân Mai")
    other = await make_ward(svc, "Phường Tương Mai")
    return Desk(
        ward=ward,
        groups={
            ext: await make_group(svc, ward, f"Tổ {ext}", external_id=f"{ext}-{ward.code}")
            for ext in ("TDP1", "TDP2")
        },
        officer=await make_member(svc, ward, "Lê Văn Cảnh", roles=(Role.OFFICER,)),
        resident=await make_member(svc, ward, "Nguyễn Thị Dân"),
        other_officer=await make_member(svc, other, "Đỗ Minh Tuấn", roles=(Role.OFFICER,)),
    )


def csv_bytes(*lines: str, bom: bool = True) -> bytes:
    return ("\ufeff" if bom else "").encode() + "\r\n".join(lines).encode("utf-8")


def xlsx_bytes(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    ward: Ward | str,
    content: bytes,
    filename: str = "ho-dan.csv",
    content_type: str = "text/csv",
) -> httpx.Response:
    """A multipart request following the GraphQL multipart request spec."""
    operations = {
        "query": MEMBER_IMPORT,
        "variables": {
            "input": {"wardId": ward if isinstance(ward, str) else ward_gid(ward), "file": None}
        },
    }
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, content, content_type)},
        headers={**headers, "Apollo-Require-Preflight": "true"},
    )


async def import_as(api: Any, who: Any, ward: Ward, content: bytes, **kwargs: Any) -> dict:
    response = await upload(api.client, api.headers(who), ward, content, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["memberImport"]


async def members_of(api: Any, desk: Desk) -> dict[str, dict]:
    """Ward A's members by phone, as its officer reads them."""
    data = await api.gql(MEMBERS, as_=desk.officer.id)
    return {m["phone"]: m for m in data["members"]["nodes"]}


class TestImport:
    async def test_csv_with_bom_and_vietnamese_headers(self, shared_api, desk):
        # given a UTF-8 CSV with a BOM, Vietnamese headers, decomposed names and local phones
        tdp1, tdp2 = (desk.groups[g].external_id for g in ("TDP1", "TDP2"))
        content = csv_bytes(
            VI_HEADER,
            unicodedata.normalize("NFD", f"Phạm Văn Hùng,0912 345 678,Số 5 ngõ 12,4,{tdp1}"),
            f"Vũ Thị Lan,0987654321,,2,{tdp1}; {tdp2}",
            "Hoàng Văn Nam,+84 903 123 456,,,",
        )
        before = await row_counts(shared_api.container)

        # when ward A's officer imports it
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then three residents are created, clean and in their groups
        assert result == {"createdCount": 3, "updatedCount": 0, "rowErrors": [], "userErrors": []}
        after = await row_counts(shared_api.container)
        assert after["members"] == before["members"] + 3
        assert after["grants"] == before["grants"] + 3
        members = await members_of(shared_api, desk)
        hung = members["+84912345678"]
        assert hung["fullName"] == "Phạm Văn Hùng"
        assert unicodedata.is_normalized("NFC", hung["fullName"])
        assert hung["address"] == "Số 5 ngõ 12"
        assert hung["householdSize"] == 4
        assert hung["groups"] == [{"externalId": f"TDP1-{desk.ward.code}"}]
        assert hung["roles"] == [{"role": "RESIDENT"}]
        lan = members["+84987654321"]
        assert sorted(g["externalId"] for g in lan["groups"]) == [
            f"TDP1-{desk.ward.code}",
            f"TDP2-{desk.ward.code}",
        ]
        assert members["+84903123456"]["householdSize"] is None

    async def test_xlsx_with_phones_typed_as_numbers(self, shared_api, desk):
        # given an XLSX whose phone cells are numbers that lost their leading zero
        content = xlsx_bytes(
            ["Họ và tên", "SĐT", "Địa chỉ", "Nhân khẩu", "Mã nhóm"],
            ["Trịnh Văn Quý", 912345678, "Tổ 3", 5, f"TDP2-{desk.ward.code}"],
            ["Lương Thị Mơ", 987654321.0, None, 3.0, None],
            ["Mai Văn Tư", 84903123456, None, None, None],
            [None, None, None, None, None],
        )

        # when the officer imports it
        result = await import_as(
            shared_api,
            desk.officer.id,
            desk.ward,
            content,
            filename="ho-dan.xlsx",
            content_type=XLSX_TYPE,
        )

        # then the numbers are read back as the phones they were
        assert result == {"createdCount": 3, "updatedCount": 0, "rowErrors": [], "userErrors": []}
        members = await members_of(shared_api, desk)
        assert members["+84912345678"]["fullName"] == "Trịnh Văn Quý"
        assert members["+84912345678"]["householdSize"] == 5
        assert members["+84912345678"]["groups"] == [{"externalId": f"TDP2-{desk.ward.code}"}]
        assert members["+84987654321"]["householdSize"] == 3
        assert members["+84903123456"]["fullName"] == "Mai Văn Tư"

    @pytest.mark.parametrize(
        "header",
        [
            "Full name,Phone,Address,Household size,Group",
            "full_name;phone;address;household_size;group",
            "NAME\tPHONE\tADDRESS\tHOUSEHOLD SIZE\tGROUP",
        ],
        ids=["comma", "semicolon-snake", "tab-upper"],
    )
    async def test_english_headers_and_other_delimiters(self, shared_api, desk, header):
        # given a CSV with English headers, separated by commas, semicolons or tabs
        sep = ";" if ";" in header else "\t" if "\t" in header else ","
        content = csv_bytes(
            header,
            sep.join(["Kim Văn Sơn", "0912345678", "Ngõ 1", "3", ""]),
            bom=False,
        )

        # when the officer imports it
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then the columns are recognised
        assert result["createdCount"] == 1, result
        member = (await members_of(shared_api, desk))["+84912345678"]
        assert (member["fullName"], member["address"], member["householdSize"]) == (
            "Kim Văn Sơn",
            "Ngõ 1",
            3,
        )

    async def test_reimport_updates_by_phone(self, shared_api, desk):
        # given two households imported once
        first = csv_bytes(
            VI_HEADER, "Phạm Văn Hùng,0912345678,Số 5,4,", "Vũ Thị Lan,0987654321,,2,"
        )
        assert (await import_as(shared_api, desk.officer.id, desk.ward, first))["createdCount"] == 2
        before = await row_counts(shared_api.container)

        # when the corrected list is imported again, phones written differently
        group = f"TDP1-{desk.ward.code}"
        second = csv_bytes(
            VI_HEADER,
            f"Phạm Văn Hưng,+84 912 345 678,Số 7,5,{group}",
            "Vũ Thị Lan,84987654321,,3,",
        )
        result = await import_as(shared_api, desk.officer.id, desk.ward, second)

        # then both are updated in place and nobody is added
        assert result == {"createdCount": 0, "updatedCount": 2, "rowErrors": [], "userErrors": []}
        after = await row_counts(shared_api.container)
        assert after["members"] == before["members"]
        assert after["grants"] == before["grants"]
        members = await members_of(shared_api, desk)
        assert members["+84912345678"]["fullName"] == "Phạm Văn Hưng"
        assert members["+84912345678"]["address"] == "Số 7"
        assert members["+84912345678"]["householdSize"] == 5
        assert members["+84912345678"]["groups"] == [{"externalId": group}]
        assert members["+84987654321"]["householdSize"] == 3

    async def test_one_bad_row_stores_nothing(self, shared_api, desk):
        # given a file where every row but one is fine
        content = csv_bytes(
            VI_HEADER,
            "Phạm Văn Hùng,0912345678,,4,",
            "Vũ Thị Lan,số này sai,,2,",
            "Hoàng Văn Nam,0903123456,,,",
        )
        before = await row_counts(shared_api.container)

        # when it is imported
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then the bad cell is reported by row and column, and no row is stored
        assert result["createdCount"] == 0
        assert result["updatedCount"] == 0
        assert result["userErrors"] == []
        assert result["rowErrors"] == [
            {
                "row": 3,
                "column": "phone",
                "code": "INVALID_PHONE",
                "message": "Số điện thoại 'số này sai' không hợp lệ.",
                "messageEn": "'số này sai' is not a valid phone number.",
            }
        ]
        assert await row_counts(shared_api.container) == before
        assert "+84912345678" not in await members_of(shared_api, desk)

    async def test_every_problem_is_reported(self, shared_api, desk):
        # given rows with several problems each, an unknown group and a phone used twice
        content = csv_bytes(
            VI_HEADER,
            ",,,0,",
            "Phạm Văn Hùng,0912345678,,abc,KHONG-CO",
            "Vũ Thị Lan,0912 345 678,,2.5,",
            "X" * 121 + ",0987654321,,101,",
        )
        before = await row_counts(shared_api.container)

        # when it is imported
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then each cell at fault is named, and nothing is stored
        assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
            (2, "full_name", "REQUIRED"),
            (2, "phone", "REQUIRED"),
            (2, "household_size", "OUT_OF_RANGE"),
            (3, "household_size", "INVALID"),
            (3, "group", "NOT_FOUND"),
            (4, "household_size", "INVALID"),
            (5, "full_name", "TOO_LONG"),
            (5, "household_size", "OUT_OF_RANGE"),
        ]
        group_error = next(e for e in result["rowErrors"] if e["column"] == "group")
        assert group_error["message"] == "Không có nhóm 'KHONG-CO' trong đơn vị."
        assert group_error["messageEn"] == "The unit has no group 'KHONG-CO'."
        assert result["createdCount"] == 0
        assert await row_counts(shared_api.container) == before

    async def test_duplicate_phone_in_the_file(self, shared_api, desk):
        # given the same phone on two rows, written two ways
        content = csv_bytes(VI_HEADER, "Phạm Văn Hùng,0912345678,,,", "Vũ Thị Lan,+84912345678,,,")
        before = await row_counts(shared_api.container)

        # when it is imported
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then the second row is a duplicate of the first, and nothing is stored
        assert result["rowErrors"] == [
            {
                "row": 3,
                "column": "phone",
                "code": "DUPLICATE",
                "message": "Trùng số điện thoại với dòng 2.",
                "messageEn": "Same phone number as row 2.",
            }
        ]
        assert await row_counts(shared_api.container) == before

    async def test_group_of_another_ward_is_unknown(self, shared_api, desk):
        # given a group of another ward, referenced by its channel id
        other = await make_ward(shared_api.container.organisation, "Phường Khác")
        await make_group(shared_api.container.organisation, other, "Tổ lạ", external_id="LA-1")
        content = csv_bytes(VI_HEADER, "Phạm Văn Hùng,0912345678,,,LA-1")

        # when ward A's officer imports it
        result = await import_as(shared_api, desk.officer.id, desk.ward, content)

        # then the group is not found in ward A
        assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
            (2, "group", "NOT_FOUND")
        ]


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "filename", "en"),
        [
            (csv_bytes("Địa chỉ,Nhóm", "Số 5,TDP1"), "a.csv", "Missing required columns"),
            (
                csv_bytes("Họ tên,Địa chỉ", "Phạm Văn Hùng,Số 5"),
                "a.csv",
                "Missing required columns",
            ),
            (b"", "a.csv", "The file is empty."),
            (csv_bytes("", "", ""), "a.csv", "The file is empty."),
            (csv_bytes(VI_HEADER), "a.csv", "The file has no data rows."),
            (bytes(range(256)) * 4, "a.bin", "could not be read"),
            (b"Ho ten,SDT\x00\r\nA,0912345678", "a.csv", "neither CSV nor XLSX"),
            (b"%PDF-1.7\n" + bytes(range(128, 256)), "a.pdf", "could not be read"),
            ("ZIP", "a.xlsx", "damaged or not XLSX"),
            (b"PK\x03\x04 not really a zip", "a.csv", "damaged or not XLSX"),
            (b"Ho ten,SDT\r\n", "a.xlsx", "damaged or not XLSX"),
        ],
        ids=[
            "no-name-or-phone",
            "no-phone",
            "empty",
            "blank-lines",
            "header-only",
            "garbage",
            "nul-bytes",
            "pdf",
            "zip-not-xlsx",
            "zip-magic-only",
            "csv-named-xlsx",
        ],
    )
    async def test_unreadable_file(self, shared_api, desk, content, filename, en):
        # given a file that cannot be read as a household list
        if content == "ZIP":
            content = _zip_that_is_not_xlsx()
        before = await row_counts(shared_api.container)

        # when the officer imports it
        result = await import_as(shared_api, desk.officer.id, desk.ward, content, filename=filename)

        # then the file as a whole is refused, in both languages, and nothing is stored
        (error,) = result["userErrors"]
        assert (error["field"], error["code"]) == (["file"], "INVALID_FILE")
        assert en in error["messageEn"]
        assert error["message"]
        assert result["rowErrors"] == []
        assert result["createdCount"] == result["updatedCount"] == 0
        assert await row_counts(shared_api.container) == before

    @pytest.mark.parametrize(
        ("who", "code"),
        [("other_officer", "NOT_FOUND"), ("resident", "FORBIDDEN"), (None, "UNAUTHENTICATED")],
        ids=["officer-of-another-ward", "resident", "anonymous"],
    )
    async def test_who_may_import(self, shared_api, desk, who, code):
        # given a valid file for ward A
        content = csv_bytes(VI_HEADER, "Phạm Văn Hùng,0912345678,,,")
        before = await row_counts(shared_api.container)

        # when someone who is not an officer of A imports it
        headers = shared_api.headers(getattr(desk, who).id) if who else {}
        response = await upload(shared_api.client, headers, desk.ward, content)

        # then it is refused as for any mutation of ward A, and nothing is stored
        result = response.json()["data"]["memberImport"]
        assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
            ([] if code == "UNAUTHENTICATED" else ["wardId"], code)
        ]
        assert result["createdCount"] == 0
        assert await row_counts(shared_api.container) == before

    async def test_anonymous_is_refused_before_the_file_is_read(self, shared_api, desk):
        # when an anonymous caller sends a file that cannot be read
        response = await upload(shared_api.client, {}, desk.ward, b"PK\x03\x04garbage", "x.xlsx")

        # then the answer is about signing in, not about the file
        result = response.json()["data"]["memberImport"]
        assert [e["code"] for e in result["userErrors"]] == ["UNAUTHENTICATED"]

    async def test_ward_id_of_the_wrong_type(self, shared_api, desk):
        # when the ward id is a group's id
        response = await upload(
            shared_api.client,
            shared_api.headers(desk.officer.id),
            group_gid(desk.groups["TDP1"]),
            csv_bytes(VI_HEADER, "Phạm Văn Hùng,0912345678,,,"),
        )

        # then it is a userError at wardId
        result = response.json()["data"]["memberImport"]
        assert [(e["field"], e["code"]) for e in result["userErrors"]] == [(["wardId"], "INVALID")]


@pytest.fixture
async def small_api(api, tmp_path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The app with a 2 KiB upload limit, on the same database and token key as `api`."""
    settings = Settings(
        database_url=api.container.settings.database_url,
        var_dir=api.container.settings.var_dir,
        log_json=False,
        max_upload_bytes=2048,
    )
    container = bootstrap(settings, engine=api.container.engine, clock=api.container.clock)
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, container


@pytest.mark.parametrize(("rows", "refused"), [(40, False), (120, True)])
async def test_file_over_the_size_limit(api, small_api, rows, refused):
    # given an officer of a ward, and a CSV under or over 2 KiB
    client, container = small_api
    svc = container.organisation
    ward = await make_ward(svc, "Phường Tân Mai")
    officer = await make_member(svc, ward, "Lê Văn Cảnh", roles=(Role.OFFICER,))
    content = csv_bytes("Họ tên,SĐT", *(f"Hộ {i},09{i:08d}" for i in range(rows)))
    assert (len(content) > 2048) is refused
    before = await row_counts(container)

    # when the officer imports it
    response = await upload(client, api.headers(officer.id), ward, content)

    # then a file over the limit is refused whole
    result = response.json()["data"]["memberImport"]
    if refused:
        (error,) = result["userErrors"]
        assert (error["field"], error["code"]) == (["file"], "INVALID_FILE")
        assert "larger than" in error["messageEn"]
        assert await row_counts(container) == before
    else:
        assert result["userErrors"] == []
        assert result["createdCount"] == rows
        async with container.uow() as uow:
            assert await uow.members.by_phone(ward.id, "+84900000007") is not None


def _zip_that_is_not_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "Không phải bảng tính")
    return out.getvalue()
