import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorCode
from domain.events import InquiryEscalated, InquiryReceived, InquiryUpdated
from domain.history import Transition
from domain.ids import MemberId, WardId
from domain.inquiry import QUESTION_MAX, Department, Inquiry, InquiryStatus
from domain.reporter import TipSource

S = InquiryStatus
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=2)
WARD = WardId(uuid.uuid4())
OFFICER = MemberId(uuid.uuid4())
RESIDENT = MemberId(uuid.uuid4())
KB_ANSWER = "Hồ sơ đăng ký thường trú gồm tờ khai CT01 và giấy tờ chứng minh chỗ ở hợp pháp."


def new_inquiry(question: str = "Đăng ký thường trú cần giấy tờ gì?") -> Inquiry:
    return Inquiry.receive(ward_id=WARD, source=TipSource.ZALO, question=question, now=T0)


STEPS: dict[str, Callable[[Inquiry], object]] = {
    "auto_answer": lambda q: q.auto_answer(KB_ANSWER, "1.004194", now=T1),
    "route": lambda q: q.route(Department.QLHC_TTXH, actor_id=None, now=T1),
    "answer_by": lambda q: q.answer_by(OFFICER, "Anh mang CCCD đến trụ sở.", now=T1),
    "close": lambda q: q.close(actor_id=RESIDENT, now=T1),
    "reopen": lambda q: q.reopen(actor_id=RESIDENT, now=T1, comment="Chưa rõ"),
}
LEGAL = {
    "auto_answer": {S.RECEIVED},
    "route": {S.RECEIVED, S.ROUTED},
    "answer_by": {S.ROUTED},
    "close": {S.AUTO_ANSWERED, S.ANSWERED},
    "reopen": {S.AUTO_ANSWERED, S.ANSWERED},
}
PATH = {
    S.RECEIVED: [],
    S.AUTO_ANSWERED: ["auto_answer"],
    S.ROUTED: ["route"],
    S.ANSWERED: ["route", "answer_by"],
    S.CLOSED: ["route", "answer_by", "close"],
}


def in_status(status: InquiryStatus) -> Inquiry:
    q = new_inquiry()
    for step in PATH[status]:
        STEPS[step](q)
    assert q.status is status
    q.events.clear()
    return q


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        (S.RECEIVED, "auto_answer", S.AUTO_ANSWERED),
        (S.RECEIVED, "route", S.ROUTED),
        (S.ROUTED, "route", S.ROUTED),
        (S.ROUTED, "answer_by", S.ANSWERED),
        (S.AUTO_ANSWERED, "close", S.CLOSED),
        (S.ANSWERED, "close", S.CLOSED),
        (S.AUTO_ANSWERED, "reopen", S.ROUTED),
        (S.ANSWERED, "reopen", S.ROUTED),
    ],
)
def test_legal_transition(start: InquiryStatus, action: str, expected: InquiryStatus) -> None:
    q = in_status(start)
    STEPS[action](q)
    assert q.status is expected
    last = q.history[-1]
    assert (last.from_status, last.to_status, last.at) == (start, expected, T1)
    assert q.events == [InquiryUpdated(q.id, WARD, expected)]


@pytest.mark.parametrize(
    ("start", "action"),
    [(s, a) for a in STEPS for s in InquiryStatus if s not in LEGAL[a]],
)
def test_illegal_transition(start: InquiryStatus, action: str) -> None:
    q = in_status(start)
    history = list(q.history)
    with pytest.raises(DomainError) as err:
        STEPS[action](q)
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert (q.status, q.history, q.events) == (start, history, [])


def test_receive_cleans_the_question_to_nfc() -> None:
    q = new_inquiry(unicodedata.normalize("NFD", "  Làm   hộ chiếu ở đâu? "))
    assert q.question == unicodedata.normalize("NFC", "Làm hộ chiếu ở đâu?")
    assert (q.status, q.received_at, q.reopened) == (S.RECEIVED, T0, False)
    assert q.events == [InquiryReceived(q.id, WARD)]


@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("", ErrorCode.REQUIRED),
        ("  ", ErrorCode.REQUIRED),
        ("x" * (QUESTION_MAX + 1), ErrorCode.TOO_LONG),
    ],
)
def test_question_is_required_and_bounded(question: str, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as err:
        new_inquiry(question)
    assert (err.value.code, err.value.problems[0].field) == (code, ("question",))


def test_question_at_the_limit_is_accepted() -> None:
    assert len(new_inquiry("x" * QUESTION_MAX).question) == QUESTION_MAX


def test_auto_answer_comes_from_the_knowledge_base() -> None:
    q = in_status(S.RECEIVED)
    q.auto_answer(KB_ANSWER, "1.004194", now=T1)
    assert (q.answer, q.procedure_code, q.answered_by) == (KB_ANSWER, "1.004194", None)
    assert q.history == [Transition(S.RECEIVED, S.AUTO_ANSWERED, None, T1, None)]


@pytest.mark.parametrize(("answer", "code"), [("", "1.004194"), (KB_ANSWER, " ")])
def test_auto_answer_needs_an_answer_and_a_procedure(answer: str, code: str) -> None:
    q = in_status(S.RECEIVED)
    with pytest.raises(DomainError) as err:
        q.auto_answer(answer, code, now=T1)
    assert err.value.code is ErrorCode.REQUIRED
    assert q.status is S.RECEIVED


def test_route_sets_and_changes_the_department() -> None:
    q = in_status(S.RECEIVED)
    q.route(Department.CSGT, actor_id=OFFICER, now=T1)
    q.route(Department.QLHC_TTXH, actor_id=OFFICER, now=T1, comment="Nhầm phòng")
    assert q.department is Department.QLHC_TTXH
    assert q.history[-1] == Transition(S.ROUTED, S.ROUTED, OFFICER, T1, "Nhầm phòng")


def test_an_officer_answer_records_who_answered() -> None:
    q = in_status(S.ROUTED)
    q.answer_by(OFFICER, "Mời anh đến trụ sở  vào sáng thứ Hai.", now=T1)
    assert (q.answer, q.answered_by) == ("Mời anh đến trụ sở vào sáng thứ Hai.", OFFICER)
    assert q.history[-1].actor_id == OFFICER


def test_an_officer_answer_cannot_be_empty() -> None:
    q = in_status(S.ROUTED)
    with pytest.raises(DomainError) as err:
        q.answer_by(OFFICER, "   ", now=T1)
    assert err.value.code is ErrorCode.REQUIRED
    assert q.status is S.ROUTED


@pytest.mark.parametrize(
    ("start", "department"),
    [(S.AUTO_ANSWERED, Department.WARD), (S.ANSWERED, Department.QLHC_TTXH)],
)
def test_reopen_sends_the_question_to_a_person(
    start: InquiryStatus, department: Department
) -> None:
    q = in_status(start)
    q.reopen(actor_id=RESIDENT, now=T1, comment="Tôi vẫn chưa hiểu")
    assert (q.status, q.reopened, q.department) == (S.ROUTED, True, department)
    assert q.history[-1] == Transition(start, S.ROUTED, RESIDENT, T1, "Tôi vẫn chưa hiểu")


@pytest.mark.parametrize("start", [S.AUTO_ANSWERED, S.ANSWERED])
def test_reopen_only_once(start: InquiryStatus) -> None:
    q = in_status(start)
    q.reopen(actor_id=RESIDENT, now=T1)
    q.answer_by(OFFICER, "Anh xem hướng dẫn chi tiết tại trụ sở.", now=T1)
    history = list(q.history)
    with pytest.raises(DomainError) as err:
        q.reopen(actor_id=RESIDENT, now=T1)
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert err.value.problems[0].message.en == "A question can be reopened only once."
    assert (q.status, q.history) == (S.ANSWERED, history)
    q.close(actor_id=RESIDENT, now=T1)
    assert q.status is S.CLOSED


COMMANDER = MemberId(uuid.uuid4())


def test_escalation_once_per_deadline_and_again_after_rerouting() -> None:
    inquiry = new_inquiry()
    inquiry.route(Department.WARD, actor_id=None, now=T0, due_in=timedelta(days=2))
    assert not inquiry.escalate(T0 + timedelta(days=1), (COMMANDER,))  # not yet due
    late = T0 + timedelta(days=2)
    inquiry.events.clear()
    assert inquiry.escalate(late, (COMMANDER,))
    assert inquiry.escalated_at == late and inquiry.status is S.ROUTED
    assert inquiry.events == [
        InquiryEscalated(inquiry.id, WARD, (COMMANDER,)),
        InquiryUpdated(inquiry.id, WARD, S.ROUTED),
    ]
    assert not inquiry.escalate(late + timedelta(hours=1))  # once per deadline
    inquiry.route(Department.QLHC_TTXH, actor_id=OFFICER, now=late, due_in=timedelta(days=5))
    assert inquiry.escalated_at is None and not inquiry.overdue(late + timedelta(days=4))
    assert inquiry.escalate(late + timedelta(days=5))


def test_an_answered_inquiry_is_never_escalated() -> None:
    inquiry = new_inquiry()
    inquiry.route(Department.WARD, actor_id=None, now=T0, due_in=timedelta(days=2))
    inquiry.answer_by(OFFICER, "Anh mang tờ khai CT01 đến Công an phường.", now=T1)
    assert not inquiry.escalate(T0 + timedelta(days=3))
    assert inquiry.escalated_at is None
