"""A report from a resident (tin báo), followed by a tracking code and a protected reporter."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.bulletin import Attachment
from domain.errors import DomainError, ErrorCode, invalid_transition
from domain.events import Event, TipEscalated, TipReceived, TipUpdated
from domain.history import Transition
from domain.ids import GroupId, MemberId, TipId, WardId, new_id
from domain.reporter import ReporterId, TipSource
from domain.text import fold, optional_text, required_text

BODY_MAX = 4000

# Digits and letters of the Vietnamese alphabet, less what is confused when read or heard:
# 0/O and 1/I/L look alike; F, J, W and Z are not Vietnamese letters, so people name them
# in different ways over the phone.
TRACKING_ALPHABET = "23456789ABCDEGHKMNPQRSTUVXY"
TRACKING_LENGTH = 9  # 27**9 ≈ 2**42.8 codes: ≥ 40 bits, read aloud as three groups of three
TRACKING_PREFIX = "GD"
TRACKING_BYTES = 8  # 64 random bits leave the modulo bias below one in a million


class TipCategory(StrEnum):
    AN_NINH_CHINH_TRI = "an_ninh_chinh_tri"  # political security
    HINH_SU = "hinh_su"  # crime
    MA_TUY = "ma_tuy"  # drugs
    GIAO_THONG = "giao_thong"  # traffic
    PCCC = "pccc"  # fire prevention
    GAY_ROI = "gay_roi"  # public disorder
    MAU_THUAN = "mau_thuan"  # disputes between residents
    LUA_DAO = "lua_dao"  # fraud
    KHAC = "khac"  # other


class TipStatus(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class TipOutcome(StrEnum):
    CASE_SOLVED = "case_solved"
    REFERRED = "referred"
    UNFOUNDED = "unfounded"


class MessageDirection(StrEnum):
    IN = "in"  # from the reporter
    OUT = "out"  # from the police: an officer's reply or the automatic acknowledgement


_S = TipStatus
OPEN = frozenset({_S.RECEIVED, _S.TRIAGED, _S.ASSIGNED, _S.INVESTIGATING})
CLOSED = frozenset({_S.RESOLVED, _S.DISMISSED})
MESSAGE_MAX = 2000
ATTACHMENTS_MAX = 10


def new_tracking_code(rand_bytes: bytes) -> str:
    """A code like 'GD-7K4-M9P-QXA' from at least TRACKING_BYTES random bytes (os.urandom)."""
    if len(rand_bytes) < TRACKING_BYTES:
        raise ValueError(f"need at least {TRACKING_BYTES} random bytes")
    number = int.from_bytes(rand_bytes, "big")
    chars = []
    for _ in range(TRACKING_LENGTH):
        number, index = divmod(number, len(TRACKING_ALPHABET))
        chars.append(TRACKING_ALPHABET[index])
    return _format("".join(chars))


def normalise_tracking_code(text: str | None) -> str:
    """Accept what a resident types or dictates: any case, spaces, dots, no dashes, no prefix."""
    # fold() also strips the diacritics a Vietnamese keyboard may add (Telex turns 'dd' into 'đ').
    compact = "".join(ch for ch in fold(text or "") if ch.isalnum()).upper()
    if len(compact) == TRACKING_LENGTH + len(TRACKING_PREFIX) and compact.startswith(
        TRACKING_PREFIX
    ):
        compact = compact[len(TRACKING_PREFIX) :]
    if len(compact) != TRACKING_LENGTH or any(ch not in TRACKING_ALPHABET for ch in compact):
        raise DomainError.one(
            ErrorCode.INVALID,
            "Mã tra cứu không đúng. Mã có dạng GD-XXX-XXX-XXX.",
            "This is not a tracking code. Codes look like GD-XXX-XXX-XXX.",
            ("trackingCode",),
        )
    return _format(compact)


def _format(chars: str) -> str:
    groups = (chars[i : i + 3] for i in range(0, len(chars), 3))
    return "-".join((TRACKING_PREFIX, *groups))


# A code quoted in a message: GD then nine symbols, in any case, spaced, dotted or dashed.
_QUOTED = re.compile(r"(?<![0-9A-Z])GD[\s.\-]*((?:[0-9A-Z][\s.\-]*){9})(?![0-9A-Z])", re.IGNORECASE)


def find_tracking_code(text: str | None) -> str | None:
    """The first well-formed tracking code quoted in a free-text message, normalised, or None.

    Only codes written with their GD prefix count: nine loose symbols are too easily a phone
    number or a plate."""
    folded = fold(text or "").upper()
    for match in _QUOTED.finditer(folded):
        try:
            return normalise_tracking_code("GD" + match.group(1))
        except DomainError:
            continue
    return None


@dataclass(frozen=True, slots=True)
class TipMessage:
    """One message of a tip's thread. Never says who the reporter is: an inbound message has no
    author; an outbound one has the officer who wrote it, or none for the acknowledgement."""

    id: uuid.UUID
    tip_id: TipId
    direction: MessageDirection
    body: str
    channel: TipSource
    at: datetime
    author_id: MemberId | None = None
    external_message_id: str | None = None

    @classmethod
    def create(
        cls,
        *,
        tip_id: TipId,
        direction: MessageDirection,
        body: str,
        channel: TipSource,
        at: datetime,
        author_id: MemberId | None = None,
        external_message_id: str | None = None,
    ) -> TipMessage:
        return cls(
            id=new_id(),
            tip_id=tip_id,
            direction=direction,
            body=required_text(
                body, "text", max_len=MESSAGE_MAX, label_vi="Tin nhắn", label_en="Message"
            ),
            channel=channel,
            at=at,
            author_id=author_id,
            external_message_id=(external_message_id or None),
        )


@dataclass(slots=True)
class Tip:
    id: TipId
    ward_id: WardId
    tracking_code: str
    category: TipCategory
    source: TipSource
    body: str
    anonymous: bool
    # An opaque key into the identity vault; the tip itself never holds who the reporter is.
    # An anonymous tip's vault entry holds only the way back to the reporter (reporter.to_keep).
    reporter_id: ReporterId | None
    received_at: datetime
    status: TipStatus = TipStatus.RECEIVED
    group_id: GroupId | None = None  # the group or account it came through, if any
    assignee_id: MemberId | None = None
    outcome: TipOutcome | None = None
    arrests: int = 0
    dismiss_reason: str | None = None
    due_at: datetime | None = None  # the SLA deadline of its category
    escalated_at: datetime | None = None
    acknowledged_at: datetime | None = None
    updated_at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    history: list[Transition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def receive(
        cls,
        *,
        ward_id: WardId,
        tracking_code: str,
        source: TipSource,
        body: str,
        anonymous: bool,
        reporter_id: ReporterId | None,
        now: datetime,
        category: TipCategory = TipCategory.KHAC,
        group_id: GroupId | None = None,
        due_at: datetime | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Tip:
        if len(attachments) > ATTACHMENTS_MAX:
            raise DomainError.one(
                ErrorCode.OUT_OF_RANGE,
                f"Tối đa {ATTACHMENTS_MAX} tệp đính kèm.",
                f"At most {ATTACHMENTS_MAX} attachments.",
                ("attachments",),
            )
        tip = cls(
            id=TipId(new_id()),
            ward_id=ward_id,
            tracking_code=normalise_tracking_code(tracking_code),
            category=category,
            source=source,
            body=required_text(
                body, "body", max_len=BODY_MAX, label_vi="Nội dung", label_en="Body"
            ),
            anonymous=anonymous,
            reporter_id=reporter_id,
            received_at=now,
            group_id=group_id,
            due_at=due_at,
            updated_at=now,
            attachments=tuple(attachments),
        )
        tip.events.append(TipReceived(tip.id, ward_id))
        return tip

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def overdue(self, now: datetime) -> bool:
        return self.open and self.due_at is not None and self.due_at <= now

    def set_due(self, due_at: datetime | None) -> None:
        """A new deadline (after a change of category): a later one may be escalated again."""
        if due_at != self.due_at:
            self.due_at = due_at
            self.escalated_at = None

    def acknowledge(self, now: datetime) -> None:
        """The reporter was told the tracking code; only the first acknowledgement counts."""
        if self.acknowledged_at is None:
            self.acknowledged_at = now

    def escalate(self, now: datetime, commander_ids: tuple[MemberId, ...] = ()) -> bool:
        """Hand an overdue tip to the ward's commanders, once per deadline."""
        if not self.overdue(now) or self.escalated_at is not None:
            return False
        self.escalated_at = now
        self.updated_at = now
        self.events.append(TipEscalated(self.id, self.ward_id, commander_ids))
        return True

    def triage(
        self,
        category: TipCategory,
        *,
        actor_id: MemberId,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        self._require({_S.RECEIVED}, "phân loại", "triage")
        self._move(_S.TRIAGED, actor_id, now, comment)
        self.category = category

    def assign(
        self,
        officer_id: MemberId,
        *,
        actor_id: MemberId,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        """Assign, or hand over to another officer, who then starts the investigation anew."""
        self._require({_S.TRIAGED, _S.ASSIGNED, _S.INVESTIGATING}, "giao", "assign")
        self._move(_S.ASSIGNED, actor_id, now, comment)
        self.assignee_id = officer_id

    def start_investigation(
        self, *, actor_id: MemberId, now: datetime, comment: str | None = None
    ) -> None:
        self._require({_S.ASSIGNED}, "bắt đầu xác minh", "start investigating")
        self._move(_S.INVESTIGATING, actor_id, now, comment)

    def resolve(
        self,
        outcome: TipOutcome,
        *,
        arrests: int = 0,
        actor_id: MemberId,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        self._require({_S.INVESTIGATING}, "kết thúc", "resolve")
        if arrests < 0:
            raise DomainError.one(
                ErrorCode.OUT_OF_RANGE,
                "Số người bị bắt không được âm.",
                "The number of arrests cannot be negative.",
                ("arrests",),
            )
        if outcome is TipOutcome.UNFOUNDED and arrests:
            raise DomainError.one(
                ErrorCode.INVALID,
                "Tin báo không có cơ sở thì không có người bị bắt.",
                "An unfounded tip cannot lead to arrests.",
                ("arrests",),
            )
        self._move(_S.RESOLVED, actor_id, now, comment)
        self.outcome = outcome
        self.arrests = arrests

    def dismiss(self, reason: str | None, *, actor_id: MemberId, now: datetime) -> None:
        self._require(OPEN, "loại bỏ", "dismiss")
        text = required_text(reason, "reason", max_len=2000, label_vi="Lý do", label_en="Reason")
        self._move(_S.DISMISSED, actor_id, now, text)
        self.dismiss_reason = text

    def _require(self, allowed: frozenset[TipStatus] | set[TipStatus], vi: str, en: str) -> None:
        if self.status not in allowed:
            raise invalid_transition("tin báo", "tip", self.status, vi, action_en=en)

    def _move(
        self, to: TipStatus, actor_id: MemberId | None, now: datetime, comment: str | None
    ) -> None:
        note = optional_text(
            comment, "comment", max_len=2000, label_vi="Ghi chú", label_en="Comment"
        )
        self.history.append(Transition(self.status, to, actor_id, now, note))
        self.status = to
        self.updated_at = now
        self.events.append(TipUpdated(self.id, self.ward_id, to))
