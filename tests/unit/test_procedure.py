"""The knowledge-base article: validation, its life (draft → published → retired), versions, and
the answer composed from it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorCode
from domain.ids import MemberId
from domain.inquiry import Department
from domain.procedure import (
    FilingMethod,
    Procedure,
    ProcedureContent,
    ProcedureStatus,
    RequiredDocument,
    compose_answer,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ADMIN = MemberId(uuid.uuid4())
LINK = "https://gandan.example/procedures/dang_ky_tam_tru"

CONTENT = ProcedureContent(
    name="Đăng ký tạm trú",
    authority="Công an cấp xã nơi dự kiến tạm trú",
    who_may_file="Người đến sống ngoài nơi thường trú từ 30 ngày trở lên",
    documents=(RequiredDocument("Tờ khai thay đổi thông tin cư trú", "ct01"),),
    filing_methods=(FilingMethod.IN_PERSON, FilingMethod.VNEID, FilingMethod.VNEID),
    time_limit="03 ngày làm việc",
    fee="15.000 đồng; 7.000 đồng nếu nộp trực tuyến",
    legal_basis="Luật Cư trú 2020, Điều 27–28",
    department=Department.WARD,
    summary="Nộp tại Công an phường hoặc trên VNeID.",
    keywords=("kt3", "  kt3 ", "ở trọ"),
    unconfirmed=("Mức phí theo danh sách có thể đã thay đổi.",),
)


def test_a_draft_is_validated_and_normalised():
    p = Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=ADMIN, now=T0)
    assert p.status is ProcedureStatus.DRAFT and p.version == 1
    assert p.content.documents[0].form_code == "CT01"
    assert p.content.filing_methods == (FilingMethod.IN_PERSON, FilingMethod.VNEID)
    assert p.content.keywords == ("kt3", "ở trọ")


@pytest.mark.parametrize("code", ["", "Dang_Ky", "đăng_ký", "ab", "x" * 65, "a b"])
def test_a_code_is_a_lower_case_ascii_slug(code):
    with pytest.raises(DomainError) as e:
        Procedure.draft(code, CONTENT, actor_id=ADMIN, now=T0)
    assert e.value.problems[0].field == ("code",)


def test_every_problem_of_the_content_is_reported_with_its_field():
    bad = replace(
        CONTENT,
        name=" ",
        fee="x" * 301,
        filing_methods=(),
        documents=(RequiredDocument(""), RequiredDocument("Giấy", "X" * 17)),
    )
    with pytest.raises(DomainError) as e:
        Procedure.draft("dang_ky_tam_tru", bad, actor_id=ADMIN, now=T0)
    fields = {(p.field, p.code) for p in e.value.problems}
    assert fields == {
        (("name",), ErrorCode.REQUIRED),
        (("fee",), ErrorCode.TOO_LONG),
        (("filingMethods",), ErrorCode.REQUIRED),
        (("documents", "0", "name"), ErrorCode.REQUIRED),
        (("documents", "1", "formCode"), ErrorCode.TOO_LONG),
    }


def test_publish_revise_retire_and_republish_are_recorded():
    p = Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=ADMIN, now=T0)
    p.publish(actor_id=ADMIN, now=T0 + timedelta(hours=1))
    p.revise(replace(CONTENT, fee="Miễn phí"), actor_id=ADMIN, now=T0 + timedelta(hours=2))
    assert (p.status, p.version, p.content.fee) == (ProcedureStatus.PUBLISHED, 2, "Miễn phí")
    p.revise(replace(CONTENT, fee="Miễn phí"), actor_id=ADMIN, now=T0 + timedelta(hours=3))
    assert p.version == 2  # nothing changed: no new version
    p.retire(actor_id=ADMIN, now=T0 + timedelta(hours=4), comment="Thủ tục đã bãi bỏ")
    with pytest.raises(DomainError) as e:
        p.revise(CONTENT, actor_id=ADMIN, now=T0 + timedelta(hours=5))
    assert e.value.code is ErrorCode.INVALID_TRANSITION
    p.publish(actor_id=ADMIN, now=T0 + timedelta(hours=6))
    steps = [(s.from_status, s.to_status) for s in p.history]
    assert steps == [
        ("draft", "draft"),
        ("draft", "published"),
        ("published", "published"),
        ("published", "retired"),
        ("retired", "published"),
    ]
    assert [r.fee for r in p.revisions] == [CONTENT.fee, "Miễn phí"]


def test_publishing_twice_is_refused():
    p = Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=ADMIN, now=T0)
    p.publish(actor_id=ADMIN, now=T0)
    with pytest.raises(DomainError):
        p.publish(actor_id=ADMIN, now=T0)


def test_the_answer_cites_the_legal_basis_the_link_and_what_is_unconfirmed():
    p = Procedure.draft("dang_ky_tam_tru", CONTENT, actor_id=ADMIN, now=T0)
    answer = compose_answer(p, LINK)
    for part in ("Đăng ký tạm trú", "CT01", "VNeID", "03 ngày", "Luật Cư trú 2020", LINK):
        assert part in answer
    assert "chưa được xác nhận" in answer and "Mức phí theo danh sách" in answer


def test_a_long_answer_gives_up_the_documents_but_never_the_basis_or_the_link():
    many = tuple(RequiredDocument(f"Giấy tờ số {i} " + "rất dài " * 20) for i in range(30))
    p = Procedure.draft("dang_ky_tam_tru", replace(CONTENT, documents=many), actor_id=ADMIN, now=T0)
    answer = compose_answer(p, LINK, max_len=1500)
    assert len(answer) <= 1500
    assert LINK in answer and "Căn cứ pháp lý" in answer
    assert "Giấy tờ số 29" not in answer
