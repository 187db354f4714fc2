"""A knowledge-base article: one administrative procedure, as a resident needs to know it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import NewType

from domain.errors import DomainError, ErrorCode, Msg, Problem, invalid_transition
from domain.events import Event
from domain.history import Transition
from domain.ids import MemberId, new_id
from domain.inquiry import Department
from domain.text import clean, optional_text, required_text

ProcedureId = NewType("ProcedureId", uuid.UUID)

CODE = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
SHORT_MAX = 300
LONG_MAX = 4000
LIST_MAX = 40


class ProcedureStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class FilingMethod(StrEnum):
    IN_PERSON = "in_person"  # at the ward police or the provincial department
    NATIONAL_PORTAL = "national_portal"  # dichvucong.gov.vn
    POLICE_PORTAL = "police_portal"  # dichvucong.bocongan.gov.vn
    VNEID = "vneid"  # the national identity app
    POST = "post"  # by post or phone, where the ward publishes how


@dataclass(frozen=True, slots=True)
class RequiredDocument:
    name: str
    form_code: str | None = None  # CT01, TK01…


@dataclass(frozen=True, slots=True)
class ProcedureContent:
    """What an officer writes; everything else on a Procedure is bookkeeping."""

    name: str
    authority: str  # who handles it: "Công an cấp xã nơi cư trú"
    who_may_file: str
    documents: tuple[RequiredDocument, ...]
    filing_methods: tuple[FilingMethod, ...]
    time_limit: str
    fee: str
    legal_basis: str
    department: Department
    summary: str = ""  # one or two sentences, the first thing an answer says
    filing_notes: str = ""
    # Words residents use that the text does not: "nhập khẩu", "làm căn cước cho con"…
    keywords: tuple[str, ...] = ()
    # Facts the sources could not confirm; an answer flags them so nobody relies on them blindly.
    unconfirmed: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def validated(self) -> ProcedureContent:
        problems: list[Problem] = []

        def text(value: str, path: str, max_len: int, vi: str, en: str, *, required: bool) -> str:
            *parent, name = path.split(".")
            check = required_text if required else optional_text
            try:
                return check(value, name, max_len=max_len, label_vi=vi, label_en=en) or ""
            except DomainError as e:
                problems.extend(e.under(*parent).problems)
                return value

        name = text(self.name, "name", SHORT_MAX, "Tên thủ tục", "Name", required=True)
        authority = text(
            self.authority, "authority", SHORT_MAX, "Cơ quan", "Authority", required=True
        )
        who = text(
            self.who_may_file, "whoMayFile", LONG_MAX, "Người nộp", "Who may file", required=True
        )
        limit = text(
            self.time_limit, "timeLimit", SHORT_MAX, "Thời hạn", "Time limit", required=True
        )
        fee = text(self.fee, "fee", SHORT_MAX, "Lệ phí", "Fee", required=True)
        basis = text(
            self.legal_basis, "legalBasis", LONG_MAX, "Căn cứ", "Legal basis", required=True
        )
        summary = text(self.summary, "summary", LONG_MAX, "Tóm tắt", "Summary", required=False)
        notes = text(
            self.filing_notes, "filingNotes", LONG_MAX, "Cách nộp", "Filing", required=False
        )
        documents = tuple(
            RequiredDocument(
                text(
                    d.name, f"documents.{i}.name", SHORT_MAX, "Giấy tờ", "Document", required=True
                ),
                _form_code(d.form_code, i, problems),
            )
            for i, d in enumerate(self.documents)
        )
        lists = {
            "documents": documents,
            "keywords": self.keywords,
            "unconfirmed": self.unconfirmed,
            "sources": self.sources,
        }
        for name_, items in lists.items():
            if len(items) > LIST_MAX:
                problems.append(
                    _problem(
                        ErrorCode.OUT_OF_RANGE,
                        f"Tối đa {LIST_MAX} mục.",
                        f"At most {LIST_MAX} items.",
                        (name_,),
                    )
                )
        if not self.filing_methods:
            problems.append(
                _problem(
                    ErrorCode.REQUIRED,
                    "Cần ít nhất một cách nộp hồ sơ.",
                    "At least one filing method is required.",
                    ("filingMethods",),
                )
            )
        if problems:
            raise DomainError(*problems)
        return replace(
            self,
            name=name,
            authority=authority,
            who_may_file=who,
            time_limit=limit,
            fee=fee,
            legal_basis=basis,
            summary=summary,
            filing_notes=notes,
            documents=documents,
            filing_methods=tuple(dict.fromkeys(self.filing_methods)),
            keywords=_distinct(self.keywords),
            unconfirmed=_distinct(self.unconfirmed),
            sources=_distinct(self.sources),
        )


def _problem(code: ErrorCode, vi: str, en: str, path: tuple[str, ...]) -> Problem:
    return Problem(code, Msg(vi, en), path)


def _form_code(value: str | None, index: int, problems: list[Problem]) -> str | None:
    code = clean(value or "").upper()
    if not code:
        return None
    if len(code) > 16:
        problems.append(
            _problem(
                ErrorCode.TOO_LONG,
                "Mã biểu mẫu dài quá 16 ký tự.",
                "The form code is longer than 16 characters.",
                ("documents", str(index), "formCode"),
            )
        )
    return code


def _distinct(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for t in (clean(i) for i in items) if t))


def valid_code(code: str) -> str:
    value = clean(code or "")
    if not CODE.match(value):
        raise DomainError.one(
            ErrorCode.INVALID,
            "Mã thủ tục chỉ gồm chữ thường không dấu, số và dấu gạch dưới (3–64 ký tự).",
            "A procedure code is 3-64 lower-case ASCII letters, digits and underscores.",
            ("code",),
        )
    return value


_P = ProcedureStatus


@dataclass(slots=True)
class Procedure:
    id: ProcedureId
    code: str
    content: ProcedureContent
    updated_at: datetime
    status: ProcedureStatus = ProcedureStatus.DRAFT
    version: int = 1
    history: list[Transition] = field(default_factory=list)
    # Each version's content, oldest first, so an edit can be reviewed against what residents saw.
    revisions: list[ProcedureContent] = field(default_factory=list)
    # Nothing subscribes to articles yet; the unit of work collects events from every entity.
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def draft(
        cls,
        code: str,
        content: ProcedureContent,
        *,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
    ) -> Procedure:
        checked = content.validated()
        procedure = cls(ProcedureId(new_id()), valid_code(code), checked, now)
        note = _comment(comment)
        procedure.history.append(
            Transition(_P.DRAFT, _P.DRAFT, actor_id, now, f"v1: {note}" if note else "v1")
        )
        procedure.revisions.append(checked)
        return procedure

    def revise(
        self,
        content: ProcedureContent,
        *,
        actor_id: MemberId | None,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        """A published article stays published while edited: residents see the corrected text at once."""
        if self.status is _P.RETIRED:
            raise invalid_transition("thủ tục", "procedure", self.status, "sửa", action_en="edit")
        checked = content.validated()
        if checked == self.content:
            return
        self.content = checked
        self.version += 1
        self.revisions.append(checked)
        note = _comment(comment)
        self.history.append(
            Transition(
                self.status,
                self.status,
                actor_id,
                now,
                f"v{self.version}: {note or ''}".strip(": "),
            )
        )
        self.updated_at = now

    def publish(self, *, actor_id: MemberId | None, now: datetime) -> None:
        self._move({_P.DRAFT, _P.RETIRED}, _P.PUBLISHED, actor_id, now, "đăng", "publish", None)

    def retire(
        self, *, actor_id: MemberId | None, now: datetime, comment: str | None = None
    ) -> None:
        self._move(
            {_P.DRAFT, _P.PUBLISHED}, _P.RETIRED, actor_id, now, "thôi dùng", "retire", comment
        )

    def _move(
        self,
        allowed: set[ProcedureStatus],
        to: ProcedureStatus,
        actor_id: MemberId | None,
        now: datetime,
        vi: str,
        en: str,
        comment: str | None,
    ) -> None:
        if self.status not in allowed:
            raise invalid_transition("thủ tục", "procedure", self.status, vi, action_en=en)
        self.history.append(Transition(self.status, to, actor_id, now, _comment(comment)))
        self.status = to
        self.updated_at = now


def _comment(comment: str | None) -> str | None:
    return optional_text(comment, "comment", max_len=2000, label_vi="Ghi chú", label_en="Comment")


FILING_VI = {
    FilingMethod.IN_PERSON: "trực tiếp tại cơ quan công an",
    FilingMethod.NATIONAL_PORTAL: "Cổng Dịch vụ công quốc gia (dichvucong.gov.vn)",
    FilingMethod.POLICE_PORTAL: "Cổng Dịch vụ công Bộ Công an (dichvucong.bocongan.gov.vn)",
    FilingMethod.VNEID: "ứng dụng VNeID",
    FilingMethod.POST: "qua bưu chính, điện thoại hoặc thư điện tử do Công an xã/phường công bố",
}
VERIFY_VI = (
    "Thông tin để tham khảo; vui lòng kiểm tra lại với Công an xã/phường nơi cư trú trước khi nộp."
)


def compose_answer(procedure: Procedure, link: str, *, max_len: int = 1900) -> str:
    """The answer sent to a resident: what to bring, where, how long, how much, on what legal
    basis, and a link to the full article. Facts the sources could not confirm are flagged.

    Channels cap a message (Zalo at 2,000 characters): the document list gives way first, then
    the summary, so the legal basis and the link always arrive."""
    c = procedure.content
    documents = "\n".join(
        f"- {d.name}" + (f" (mẫu {d.form_code})" if d.form_code else "") for d in c.documents
    )
    methods = "; ".join(FILING_VI[m] for m in c.filing_methods)
    head = [f"{c.name}."]
    body = [
        f"Nơi giải quyết: {c.authority}.",
        f"Cách nộp: {methods}.",
        f"Thời hạn: {c.time_limit}.",
        f"Lệ phí: {c.fee}.",
        f"Căn cứ pháp lý: {c.legal_basis}.",
    ]
    if c.unconfirmed:
        body.append("Lưu ý, các điểm sau chưa được xác nhận: " + " ".join(c.unconfirmed))
    tail = [f"Chi tiết: {link}", VERIFY_VI]
    for parts in (
        [*head, c.summary, f"Hồ sơ gồm:\n{documents}" if documents else "", *body, *tail],
        [*head, c.summary, "Hồ sơ: xem chi tiết ở đường dẫn dưới đây.", *body, *tail],
        [*head, *body, *tail],
    ):
        text = "\n".join(p for p in parts if p)
        if len(text) <= max_len:
            return text
    return "\n".join([*head, *tail])
