"""A resident's question, answered from the knowledge base or by an officer of a department."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import DomainError, ErrorCode, invalid_transition
from domain.events import Event, InquiryEscalated, InquiryReceived, InquiryUpdated
from domain.history import Transition
from domain.ids import GroupId, InquiryId, MemberId, WardId, new_id
from domain.reporter import ReporterId, TipSource
from domain.text import fold, optional_text, required_text

QUESTION_MAX = 4000
ANSWER_MAX = 8000


class InquiryStatus(StrEnum):
    RECEIVED = "received"
    AUTO_ANSWERED = "auto_answered"
    ROUTED = "routed"
    ANSWERED = "answered"
    CLOSED = "closed"


class Department(StrEnum):
    QLHC_TTXH = "qlhc_ttxh"  # quản lý hành chính về trật tự xã hội: residence, ID cards
    PCCC_CNCH = "pccc_cnch"  # phòng cháy chữa cháy và cứu nạn cứu hộ: fire and rescue
    CSGT = "csgt"  # cảnh sát giao thông: traffic police
    XUAT_NHAP_CANH = "xuat_nhap_canh"  # immigration
    TRUNG_TAM_CHI_HUY = "trung_tam_chi_huy"  # command information centre
    WARD = "ward"  # the ward's own officers


OPEN = frozenset({InquiryStatus.RECEIVED, InquiryStatus.ROUTED})


def default_sla() -> dict[Department, timedelta]:
    """Working targets per department (the Law on Complaints gives no deadline for questions):
    the ward answers within two days; departments that must look a file up get five."""
    return {
        Department.WARD: timedelta(days=2),
        Department.QLHC_TTXH: timedelta(days=5),
        Department.PCCC_CNCH: timedelta(days=5),
        Department.CSGT: timedelta(days=3),
        Department.XUAT_NHAP_CANH: timedelta(days=5),
        Department.TRUNG_TAM_CHI_HUY: timedelta(days=1),
    }


_S = InquiryStatus


@dataclass(slots=True)
class Inquiry:
    id: InquiryId
    ward_id: WardId
    source: TipSource  # where it came from, which is where the answer goes back
    question: str
    received_at: datetime
    status: InquiryStatus = InquiryStatus.RECEIVED
    group_id: GroupId | None = None  # the group or account it came through
    # Who asked: a signed-in app user, and/or the sealed way back on their channel.
    asker_member_id: MemberId | None = None
    asker_id: ReporterId | None = None
    external_message_id: str | None = None
    match_confidence: float | None = None
    due_at: datetime | None = None
    escalated_at: datetime | None = None  # to the ward's commanders, once per deadline
    updated_at: datetime | None = None
    procedure_code: str | None = None
    answer: str | None = None
    # None with an answer means the knowledge base answered.
    answered_by: MemberId | None = None
    department: Department | None = None
    reopened: bool = False
    history: list[Transition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def receive(
        cls,
        *,
        ward_id: WardId,
        source: TipSource,
        question: str,
        now: datetime,
        group_id: GroupId | None = None,
        asker_member_id: MemberId | None = None,
        asker_id: ReporterId | None = None,
        external_message_id: str | None = None,
    ) -> Inquiry:
        inquiry = cls(
            id=InquiryId(new_id()),
            ward_id=ward_id,
            source=source,
            question=required_text(
                question, "question", max_len=QUESTION_MAX, label_vi="Câu hỏi", label_en="Question"
            ),
            received_at=now,
            group_id=group_id,
            asker_member_id=asker_member_id,
            asker_id=asker_id,
            external_message_id=external_message_id,
            updated_at=now,
        )
        inquiry.events.append(InquiryReceived(inquiry.id, ward_id))
        return inquiry

    @property
    def question_folded(self) -> str:
        return fold(self.question)

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN and self.due_at is not None and self.due_at <= now

    def escalate(self, now: datetime, commander_ids: tuple[MemberId, ...] = ()) -> bool:
        """Hand an overdue inquiry to the ward's commanders, once per deadline. The status stays:
        the department still owes the answer; the commanders see to it that it comes."""
        if not self.overdue(now) or self.escalated_at is not None:
            return False
        self.escalated_at = now
        self.updated_at = now
        self.events.append(InquiryEscalated(self.id, self.ward_id, commander_ids))
        # Officers' live queues follow InquiryUpdated: the escalation shows there too.
        self.events.append(InquiryUpdated(self.id, self.ward_id, self.status))
        return True

    def _restart_clock(self, now: datetime, due_in: timedelta | None) -> None:
        """A new deadline, which may be escalated in its turn."""
        self.due_at = now + due_in if due_in is not None else None
        self.escalated_at = None

    def auto_answer(
        self, answer: str, procedure_code: str, *, now: datetime, confidence: float | None = None
    ) -> None:
        self._require({_S.RECEIVED}, "trả lời tự động", "auto-answer")
        text = _answer(answer)
        code = required_text(
            procedure_code, "procedureCode", max_len=64, label_vi="Mã thủ tục", label_en="Procedure"
        )
        self._move(_S.AUTO_ANSWERED, None, now, None)
        self.answer, self.procedure_code, self.answered_by = text, code, None
        self.match_confidence = confidence
        self.due_at = None

    def route(
        self,
        department: Department,
        *,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
        due_in: timedelta | None = None,
    ) -> None:
        """Send to a department, or on to another one when the first was wrong. The clock starts
        again with each department: the new one had no chance to answer before."""
        self._require({_S.RECEIVED, _S.ROUTED}, "chuyển", "route")
        self._move(_S.ROUTED, actor_id, now, comment)
        self.department = department
        self._restart_clock(now, due_in)

    def answer_by(
        self, officer_id: MemberId, text: str, *, now: datetime, comment: str | None = None
    ) -> None:
        self._require({_S.ROUTED}, "trả lời", "answer")
        answer = _answer(text)
        self._move(_S.ANSWERED, officer_id, now, comment)
        self.answer, self.answered_by = answer, officer_id
        self.due_at = None

    def close(
        self, *, actor_id: MemberId | None, now: datetime, comment: str | None = None
    ) -> None:
        self._require({_S.AUTO_ANSWERED, _S.ANSWERED}, "đóng", "close")
        self._move(_S.CLOSED, actor_id, now, comment)

    def reopen(
        self,
        *,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
        due_in: timedelta | None = None,
    ) -> None:
        """The resident was not helped: a person takes over. Once only, so it cannot loop."""
        if self.reopened:
            raise DomainError.one(
                ErrorCode.INVALID_TRANSITION,
                "Câu hỏi chỉ được mở lại một lần.",
                "A question can be reopened only once.",
                ("status",),
            )
        self._require({_S.AUTO_ANSWERED, _S.ANSWERED}, "mở lại", "reopen")
        self._move(_S.ROUTED, actor_id, now, comment)
        self.reopened = True
        # An auto-answered question was never routed; the ward's officers pick it up.
        self.department = self.department or Department.WARD
        self._restart_clock(now, due_in)

    def _require(self, allowed: set[InquiryStatus], vi: str, en: str) -> None:
        if self.status not in allowed:
            raise invalid_transition("câu hỏi", "question", self.status, vi, action_en=en)

    def _move(
        self, to: InquiryStatus, actor_id: MemberId | None, now: datetime, comment: str | None
    ) -> None:
        note = optional_text(
            comment, "comment", max_len=2000, label_vi="Ghi chú", label_en="Comment"
        )
        self.history.append(Transition(self.status, to, actor_id, now, note))
        self.status = to
        self.updated_at = now
        self.events.append(InquiryUpdated(self.id, self.ward_id, to))


def _answer(text: str | None) -> str:
    return required_text(
        text, "answer", max_len=ANSWER_MAX, label_vi="Câu trả lời", label_en="Answer"
    )
