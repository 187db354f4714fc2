"""Use cases of tips: receive (from the app, the portal or a channel), work through the lifecycle,
talk with the reporter, reveal who they are (audited), and escalate what is overdue.

The reporter's identity goes through the vault on the way in and out and is never held by the
tip, never put in an event and never logged. It is opened for two purposes only: to carry a
message back on the reporter's channel (by the ReporterReply port, for the machine) and to
reveal it to a commander of the tip's ward or its assigned officer (with a reason, audited).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from domain.access import Actor, Role, Scope, can_reveal_reporter
from domain.bulletin import Attachment
from domain.errors import DomainError, ErrorCode, forbidden, not_found
from domain.events import Event, TipMessageAdded
from domain.ids import GroupId, MemberId, TipId, WardId, new_id
from domain.ports import (
    AuditEntry,
    ChannelError,
    Clock,
    EventPublisher,
    IdentityVault,
    ReplyFailed,
    ReporterReply,
    SealedReporter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.reporter import ReporterId, ReporterIdentity, TipSource, to_keep
from domain.services.deadlines import ESCALATION_BATCH, Escalation, escalate_to_commanders
from domain.text import clean, required_text
from domain.tip import (
    MessageDirection,
    Tip,
    TipCategory,
    TipMessage,
    TipOutcome,
    new_tracking_code,
    normalise_tracking_code,
)

log = logging.getLogger("gandan.tips")
R = TypeVar("R")

REVEAL_ACTION = "tip.reveal_reporter"
REVEAL_REASON_MIN = 10
_C = TipCategory
DEFAULT_SLA_HOURS: dict[TipCategory, float] = {
    _C.PCCC: 1,
    _C.AN_NINH_CHINH_TRI: 2,
    _C.MA_TUY: 4,
    _C.HINH_SU: 8,
    _C.GIAO_THONG: 24,
    _C.GAY_ROI: 24,
    _C.MAU_THUAN: 24,
    _C.LUA_DAO: 24,
    _C.KHAC: 24,
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def default_sla() -> dict[TipCategory, timedelta]:
    return {c: timedelta(hours=h) for c, h in DEFAULT_SLA_HOURS.items()}


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """When the ward's office is staffed: time windows on given weekdays, in its time zone."""

    windows: tuple[tuple[time, time], ...] = ((time(7, 30), time(17, 0)),)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday is 0
    timezone: str = "Asia/Ho_Chi_Minh"

    @classmethod
    def parse(
        cls, hours: str, days: str = "mon-fri", timezone: str = "Asia/Ho_Chi_Minh"
    ) -> OfficeHours:
        """'07:30-17:00' or '07:30-11:30,13:30-17:00'; days as 'mon-fri' or 'mon,wed,sat'."""
        windows = []
        for part in filter(None, (p.strip() for p in hours.split(","))):
            start, sep, end = part.partition("-")
            if not sep:
                raise ValueError(f"office hours {part!r} are not HH:MM-HH:MM")
            opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
            if closes <= opens:
                raise ValueError(f"office hours {part!r} close before they open")
            windows.append((opens, closes))
        if not windows:
            raise ValueError("no office hours given")
        weekdays: set[int] = set()
        for part in filter(None, (p.strip().lower() for p in days.split(","))):
            first, sep, last = part.partition("-")
            first, last = first.strip()[:3], (last.strip()[:3] if sep else first.strip()[:3])
            if first not in _DAYS or last not in _DAYS:
                raise ValueError(f"unknown days {part!r}")
            i, j = _DAYS.index(first), _DAYS.index(last)
            weekdays.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(j + 1)])
        if not weekdays:
            raise ValueError("no office days given")
        ZoneInfo(timezone)  # fail at start-up, not on the first tip
        return cls(tuple(windows), frozenset(weekdays), timezone)

    def __call__(self, at: datetime) -> bool:
        return self.contains(at)

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        now = local.time()
        return local.weekday() in self.weekdays and any(a <= now < b for a, b in self.windows)

    def describe_vi(self) -> str:
        hours = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in self.windows)
        days = sorted(self.weekdays)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            span = f"{_DAYS_VI[days[0]]} đến {_DAYS_VI[days[-1]]}"
        else:
            span = ", ".join(_DAYS_VI[d] for d in days)
        return f"{hours}, {span}"


@dataclass(frozen=True, slots=True)
class TipSubmission:
    """A tip from the mobile app or the portal (or typed in by staff)."""

    ward_id: WardId
    body: str
    source: TipSource
    anonymous: bool
    category: TipCategory | None = None
    reporter: ReporterIdentity | None = None
    attachments: tuple[Attachment, ...] = ()
    group_id: GroupId | None = None


@dataclass(frozen=True, slots=True)
class ChannelTip:
    """A message a channel platform delivered that was classified as a new tip.

    The ward comes from the group or account it came through. `external_message_id` makes the
    call idempotent: the same platform message never becomes a second tip."""

    ward_id: WardId
    platform: TipSource
    channel_user_id: str
    body: str
    category: TipCategory | None = None
    display_name: str | None = None
    phone: str | None = None
    anonymous: bool = False
    group_id: GroupId | None = None
    external_message_id: str | None = None
    received_at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()


class TipReceipt(NamedTuple):
    """What receiving a tip gives back at once: the tip and the code the reporter follows it by."""

    tip: Tip
    tracking_code: str


@dataclass(frozen=True, slots=True)
class ReporterView:
    """What `tipStatus` shows whoever holds the tracking code: no ward, no officer, no identity."""

    tip: Tip
    replies: list[TipMessage] = field(default_factory=list)


class TipService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        vault: IdentityVault,
        replies: ReporterReply,
        *,
        sla: Mapping[TipCategory, timedelta] | None = None,
        office_hours: Callable[[datetime], bool] | None = None,
        rand: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._vault = vault
        self._replies = replies
        self._sla = {**default_sla(), **(sla or {})}
        self._office_hours = office_hours or OfficeHours()
        self._rand = rand

    # Receiving

    async def submit(self, actor: Actor | None, cmd: TipSubmission) -> TipReceipt:
        """Store a tip from the app or the portal, anonymous or not, and acknowledge it at once.

        A non-anonymous tip without a reporter takes the signed-in member's name and phone."""
        actor = actor or Actor.anonymous()
        reporter = cmd.reporter
        if not cmd.anonymous and reporter is None and actor.member_id is not None:
            reporter = await self._member_as_reporter(actor.member_id, cmd.source)
        if not cmd.anonymous and (reporter is None or reporter.empty):
            raise DomainError.one(
                ErrorCode.REQUIRED,
                "Cần số điện thoại hoặc họ tên người báo, hoặc gửi ẩn danh.",
                "Give the reporter's phone or name, or report anonymously.",
                ("reporter",),
            )
        receipt, ward_name = await self._receive(
            ward_id=cmd.ward_id,
            body=cmd.body,
            source=cmd.source,
            anonymous=cmd.anonymous,
            category=cmd.category,
            reporter=reporter,
            attachments=cmd.attachments,
            group_id=cmd.group_id,
            received_at=self._clock.now(),
        )
        await self._acknowledge(receipt.tip, to_keep(reporter, anonymous=cmd.anonymous), ward_name)
        return receipt

    async def receive_from_channel(self, msg: ChannelTip) -> TipReceipt:
        """A platform user's message that is a new tip (for the inbound processor).

        The message itself opens the tip's thread. A platform message already received returns
        the tip it became, with no second effect."""
        if msg.external_message_id:
            async with self._uow() as uow:
                known = await uow.tips.message_by_external_id(msg.platform, msg.external_message_id)
                tip = await uow.tips.get(known.tip_id, scope=Scope.all()) if known else None
            if tip is not None:
                return TipReceipt(tip, tip.tracking_code)
        reporter = ReporterIdentity.of(
            platform=msg.platform,
            channel_user_id=msg.channel_user_id,
            phone=msg.phone,
            name=msg.display_name,
        )
        received_at = msg.received_at or self._clock.now()
        receipt, ward_name = await self._receive(
            ward_id=msg.ward_id,
            body=msg.body,
            source=msg.platform,
            anonymous=msg.anonymous,
            category=msg.category,
            reporter=reporter,
            attachments=msg.attachments,
            group_id=msg.group_id,
            received_at=received_at,
            first_message_id=msg.external_message_id,
        )
        await self._acknowledge(receipt.tip, to_keep(reporter, anonymous=msg.anonymous), ward_name)
        return receipt

    async def _receive(
        self,
        *,
        ward_id: WardId,
        body: str,
        source: TipSource,
        anonymous: bool,
        category: TipCategory | None,
        reporter: ReporterIdentity | None,
        attachments: tuple[Attachment, ...],
        group_id: GroupId | None,
        received_at: datetime,
        first_message_id: str | None = None,
    ) -> tuple[TipReceipt, str]:
        async def run(uow: UnitOfWork) -> tuple[TipReceipt, str]:
            ward = await uow.wards.get(ward_id, scope=Scope.all())
            if ward is None:
                raise not_found("đơn vị", "Unit", ("wardId",))
            if group_id is not None:
                group = await uow.groups.get(group_id, scope=Scope.all())
                if group is None or group.ward_id != ward_id:
                    raise not_found("nhóm", "Group", ("groupId",))
            kept = to_keep(reporter, anonymous=anonymous)
            reporter_id = self._seal(uow, kept, received_at) if kept else None
            chosen = category or TipCategory.KHAC
            tip = Tip.receive(
                ward_id=ward_id,
                tracking_code=await self._fresh_code(uow),
                source=source,
                body=body,
                anonymous=anonymous,
                reporter_id=reporter_id,
                now=received_at,
                category=chosen,
                group_id=group_id,
                due_at=received_at + self._sla[chosen],
                attachments=attachments,
            )
            uow.tips.add(tip)
            if first_message_id is not None:
                uow.tips.add_message(
                    TipMessage.create(
                        tip_id=tip.id,
                        direction=MessageDirection.IN,
                        body=tip.body,
                        channel=source,
                        at=received_at,
                        external_message_id=first_message_id,
                    )
                )
            return TipReceipt(tip, tip.tracking_code), ward.name

        return await self._in_uow(run)

    def _seal(self, uow: UnitOfWork, identity: ReporterIdentity, now: datetime) -> ReporterId:
        reporter_id = ReporterId(new_id())
        key_id, sealed = self._vault.seal(identity, bound_to=str(reporter_id))
        lookup = (
            self._vault.lookup_hash(identity.platform, identity.channel_user_id)
            if identity.platform is not None and identity.channel_user_id
            else None
        )
        uow.tips.add_reporter(SealedReporter(reporter_id, key_id, sealed, lookup, now))
        return reporter_id

    async def _fresh_code(self, uow: UnitOfWork) -> str:
        # 27**9 codes: at a million tips a collision is rare but not negligible, so look first.
        while True:
            code = new_tracking_code(self._rand(8))
            if await uow.tips.by_tracking_code(code) is None:
                return code

    async def _member_as_reporter(self, member_id: MemberId, source: TipSource) -> ReporterIdentity:
        async with self._uow() as uow:
            member = await uow.members.get(member_id, scope=Scope.all())
        if member is None or member.removed:
            return ReporterIdentity()
        return ReporterIdentity(
            platform=source,
            channel_user_id=str(member.id) if source is TipSource.APP else None,
            phone=member.phone,
            name=member.full_name,
        )

    def acknowledgement_text(self, tip: Tip, ward_name: str) -> str:
        """The automatic answer: the tracking code at once, and a notice outside office hours."""
        code = tip.tracking_code
        if self._office_hours(tip.received_at):
            return (
                f"{ward_name} đã nhận tin báo của bạn. Mã tra cứu: {code}. Hãy giữ mã này để"
                " theo dõi và trao đổi thêm về tin báo; không đưa mã cho người khác."
            )
        hours = (
            self._office_hours.describe_vi()
            if isinstance(self._office_hours, OfficeHours)
            else "trong giờ hành chính"
        )
        return (
            f"{ward_name} đã nhận tin báo của bạn ngoài giờ làm việc ({hours}). Cán bộ trực ban"
            " sẽ xem xét và xử lý sớm nhất; việc khẩn cấp xin gọi ngay 113."
            f" Mã tra cứu: {code}. Hãy giữ mã này để theo dõi và trao đổi thêm về tin báo;"
            " không đưa mã cho người khác."
        )

    async def _acknowledge(
        self, tip: Tip, reporter: ReporterIdentity | None, ward_name: str
    ) -> None:
        """Send the tracking code back on the channel the tip came from. The tip is already
        stored: a channel failure is logged (never with the identity), not raised."""
        text = self.acknowledgement_text(tip, ward_name)
        try:
            external_id = await self._replies.send(
                tip, reporter, text, last_inbound_at=tip.received_at
            )
        except (ReplyFailed, ChannelError) as error:
            log.warning("acknowledgement of tip %s not delivered: %s", tip.id, error)
            return
        except Exception as error:  # the tip is stored: its reporter still gets the code back
            # Only the type: an adapter's message might quote the address it failed to reach.
            log.error("acknowledgement of tip %s failed: %s", tip.id, type(error).__name__)
            return
        now = self._clock.now()

        async def run(uow: UnitOfWork) -> None:
            stored = await uow.tips.get(tip.id, scope=Scope.all(), for_update=True)
            if stored is None:
                return
            stored.acknowledge(now)
            uow.tips.add_message(
                TipMessage.create(
                    tip_id=tip.id,
                    direction=MessageDirection.OUT,
                    body=text,
                    channel=tip.source,
                    at=now,
                    external_message_id=external_id,
                )
            )

        await self._in_uow(run)
        tip.acknowledge(now)

    # The lifecycle

    async def triage(
        self,
        actor: Actor,
        tip_id: TipId,
        category: TipCategory,
        comment: str | None = None,
    ) -> Tip:
        async def run(uow: UnitOfWork) -> Tip:
            tip = await self._visible(uow, actor, tip_id, for_update=True)
            actor.require(Role.OFFICER, tip.ward_id)
            tip.triage(category, actor_id=actor.member_id, now=self._clock.now(), comment=comment)
            tip.set_due(tip.received_at + self._sla[category])
            return tip

        return await self._in_uow(run)

    async def assign(
        self,
        actor: Actor,
        tip_id: TipId,
        assignee_id: MemberId,
        comment: str | None = None,
    ) -> Tip:
        """Give the tip to an officer (or commander) of its own ward."""

        async def run(uow: UnitOfWork) -> Tip:
            tip = await self._visible(uow, actor, tip_id, for_update=True)
            actor.require(Role.OFFICER, tip.ward_id)
            grants = await uow.roles.grants_of(assignee_id)
            staff = any(
                g.ward_id == tip.ward_id and g.role.rank >= Role.OFFICER.rank for g in grants
            )
            if not staff or not await uow.members.is_active(assignee_id):
                raise DomainError.one(
                    ErrorCode.NOT_FOUND,
                    "Không tìm thấy cán bộ này trong đơn vị của tin báo.",
                    "No such officer in the tip's unit.",
                    ("assigneeId",),
                )
            tip.assign(
                assignee_id, actor_id=actor.member_id, now=self._clock.now(), comment=comment
            )
            return tip

        return await self._in_uow(run)

    async def start_investigation(
        self, actor: Actor, tip_id: TipId, comment: str | None = None
    ) -> Tip:
        async def run(uow: UnitOfWork) -> Tip:
            tip = await self._handled_by(uow, actor, tip_id)
            tip.start_investigation(
                actor_id=actor.member_id, now=self._clock.now(), comment=comment
            )
            return tip

        return await self._in_uow(run)

    async def resolve(
        self,
        actor: Actor,
        tip_id: TipId,
        outcome: TipOutcome,
        arrests: int = 0,
        comment: str | None = None,
    ) -> Tip:
        async def run(uow: UnitOfWork) -> Tip:
            tip = await self._handled_by(uow, actor, tip_id)
            tip.resolve(
                outcome,
                arrests=arrests,
                actor_id=actor.member_id,
                now=self._clock.now(),
                comment=comment,
            )
            return tip

        return await self._in_uow(run)

    async def dismiss(self, actor: Actor, tip_id: TipId, reason: str | None) -> Tip:
        async def run(uow: UnitOfWork) -> Tip:
            tip = await self._handled_by(uow, actor, tip_id)
            tip.dismiss(reason, actor_id=actor.member_id, now=self._clock.now())
            return tip

        return await self._in_uow(run)

    # The thread with the reporter

    async def reply(self, actor: Actor, tip_id: TipId, text: str) -> TipMessage:
        """An officer's message to the reporter, on the channel the tip came from. Sent first,
        then recorded: what is in the thread is what the channel took."""
        async with self._uow() as uow:
            tip = await self._visible(uow, actor, tip_id)
            actor.require(Role.OFFICER, tip.ward_id)
            draft = TipMessage.create(
                tip_id=tip.id,
                direction=MessageDirection.OUT,
                body=text,
                channel=tip.source,
                at=self._clock.now(),
                author_id=actor.member_id,
            )
            reporter = await self._open(uow, tip)
            last_inbound_at = await uow.tips.last_inbound_at(tip.id)
        try:
            external_id = await self._replies.send(
                tip, reporter, draft.body, last_inbound_at=last_inbound_at
            )
        except ReplyFailed as error:
            raise DomainError.one(
                ErrorCode.INVALID, error.message.vi, error.message.en, ("text",)
            ) from None
        except ChannelError as error:
            log.warning("reply to tip %s not delivered: %s", tip.id, error)
            raise DomainError.one(
                ErrorCode.INVALID,
                "Không gửi được tin nhắn tới người báo qua kênh của họ; hãy thử lại sau.",
                "The message could not reach the reporter on their channel; try again later.",
                ("text",),
            ) from None
        message = TipMessage(
            id=draft.id,
            tip_id=draft.tip_id,
            direction=draft.direction,
            body=draft.body,
            channel=draft.channel,
            at=self._clock.now(),
            author_id=draft.author_id,
            external_message_id=external_id,
        )

        async def record(uow: UnitOfWork) -> TipMessage:
            uow.tips.add_message(message)
            return message

        await self._in_uow(record)
        await self._publisher.publish(TipMessageAdded(tip.id, tip.ward_id, message.direction))
        return message

    async def add_inbound_message(
        self,
        tip_id: TipId,
        text: str,
        channel: TipSource,
        external_message_id: str | None,
        at: datetime | None = None,
    ) -> tuple[TipMessage, bool]:
        """The reporter's answer joins the tip's thread (for the inbound processor). Returns the
        message and whether it is new: a platform message already recorded is not added twice."""
        async with self._uow() as uow:
            if external_message_id:
                known = await uow.tips.message_by_external_id(channel, external_message_id)
                if known is not None:
                    return known, False
            tip = await uow.tips.get(tip_id, scope=Scope.all())
            if tip is None:
                raise not_found("tin báo", "Tip", ("tipId",))
            message = TipMessage.create(
                tip_id=tip.id,
                direction=MessageDirection.IN,
                body=text,
                channel=channel,
                at=at or self._clock.now(),
                external_message_id=external_message_id,
            )
            uow.tips.add_message(message)
            await uow.commit()
        await self._publisher.publish(TipMessageAdded(tip.id, tip.ward_id, message.direction))
        return message, True

    async def follow_up(self, tracking_code: str | None, text: str | None) -> TipMessage:
        """A reporter of the app or the portal answers, holding only the tracking code: the
        answer joins the tip's thread and nobody learns more about them than the code."""
        tip = await self.find_by_tracking_code(tracking_code)
        if tip is None:
            raise not_found("tin báo", "Tip", ("trackingCode",))
        body = required_text(text, "text", max_len=4000, label_vi="Nội dung", label_en="Text")
        channel = tip.source if tip.source in (TipSource.APP, TipSource.PORTAL) else TipSource.APP
        message, _ = await self.add_inbound_message(tip.id, body, channel, None)
        return message

    async def find_open_tip_for(self, platform: TipSource, channel_user_id: str) -> Tip | None:
        """The reporter's most recent open tip, matched by lookup hash without decrypting."""
        hashes = self._vault.lookup_hashes(platform, channel_user_id)
        async with self._uow() as uow:
            found = await uow.tips.open_for_reporter(hashes)
        return found[0] if found else None

    async def find_by_tracking_code(self, text: str | None) -> Tip | None:
        """The tip a typed or quoted tracking code names, in any ward; None for a bad code."""
        try:
            code = normalise_tracking_code(text)
        except DomainError:
            return None
        async with self._uow() as uow:
            return await uow.tips.by_tracking_code(code)

    async def status_for_reporter(self, tracking_code: str | None) -> ReporterView | None:
        """What the holder of a tracking code may read: the tip's state and the police's
        messages to them (acknowledgement and replies). None for an unknown code."""
        try:
            code = normalise_tracking_code(tracking_code)
        except DomainError:
            return None
        async with self._uow() as uow:
            tip = await uow.tips.by_tracking_code(code)
            if tip is None:
                return None
            (thread,) = await uow.tips.messages_of([tip.id], scope=Scope.all())
        return ReporterView(tip, [m for m in thread if m.direction is MessageDirection.OUT])

    # Revealing the reporter

    async def reveal_reporter(
        self, actor: Actor, tip_id: TipId, reason: str | None
    ) -> ReporterIdentity:
        """Who reported the tip, for a commander of its ward or its assigned officer only. The
        reason and the reveal are written to the audit log in the same transaction as the read:
        no record, no identity."""
        text = clean(reason or "")

        async def run(uow: UnitOfWork) -> ReporterIdentity:
            tip = await self._visible(uow, actor, tip_id)
            if not can_reveal_reporter(actor, tip.ward_id, tip.assignee_id):
                raise DomainError.one(
                    ErrorCode.FORBIDDEN,
                    "Chỉ chỉ huy Công an phường của tin báo hoặc cán bộ được giao mới được xem"
                    " danh tính người báo.",
                    "Only a commander of the tip's unit or its assigned officer may see who"
                    " reported it.",
                )
            if len(text) < REVEAL_REASON_MIN:
                raise DomainError.one(
                    ErrorCode.REQUIRED,
                    f"Cần ghi rõ lý do (ít nhất {REVEAL_REASON_MIN} ký tự).",
                    f"Give the reason (at least {REVEAL_REASON_MIN} characters).",
                    ("reason",),
                )
            if len(text) > 2000:
                raise DomainError.one(
                    ErrorCode.TOO_LONG,
                    "Lý do dài quá 2000 ký tự.",
                    "The reason is longer than 2000 characters.",
                    ("reason",),
                )
            if tip.anonymous:
                raise DomainError.one(
                    ErrorCode.INVALID,
                    "Người báo đã chọn ẩn danh: không lưu họ tên hay số điện thoại để tiết lộ.",
                    "The reporter chose to stay anonymous: no name or phone is kept to reveal.",
                    ("id",),
                )
            identity = await self._open(uow, tip)
            if identity is None:
                raise DomainError.one(
                    ErrorCode.NOT_FOUND,
                    "Tin báo này không lưu thông tin người báo.",
                    "This tip keeps nothing about its reporter.",
                    ("id",),
                )
            uow.audit.record(
                AuditEntry(
                    id=new_id(),
                    actor_id=actor.member_id,
                    action=REVEAL_ACTION,
                    subject_type="tip",
                    subject_id=tip.id,
                    ward_id=tip.ward_id,
                    reason=text,
                    at=self._clock.now(),
                )
            )
            return identity

        return await self._in_uow(run)

    # Deadlines

    async def escalate_overdue(
        self, now: datetime | None = None, limit: int = ESCALATION_BATCH
    ) -> list[Escalation]:
        """Open tips past their deadline go to their ward's commanders, once per deadline.

        Cheap when there is nothing to do (one indexed probe), so the worker calls it often."""
        now = now or self._clock.now()

        async def run(uow: UnitOfWork) -> list[Escalation]:
            return await escalate_to_commanders(uow.roles, await uow.tips.overdue(now, limit), now)

        return await self._in_uow(run)

    # Helpers

    async def _open(self, uow: UnitOfWork, tip: Tip) -> ReporterIdentity | None:
        if tip.reporter_id is None:
            return None
        stored = await uow.tips.reporter(tip.reporter_id)
        if stored is None:
            return None
        return self._vault.open(stored.key_id, stored.sealed, bound_to=str(stored.id))

    async def _visible(
        self, uow: UnitOfWork, actor: Actor, tip_id: TipId, *, for_update: bool = False
    ) -> Tip:
        """Staff (officer and up) of the tip's ward see it; to anyone else it does not exist."""
        actor.require_authenticated()
        tip = await uow.tips.get(tip_id, scope=actor.scope(Role.OFFICER), for_update=for_update)
        if tip is None:
            raise not_found("tin báo", "Tip", ("id",))
        return tip

    async def _handled_by(self, uow: UnitOfWork, actor: Actor, tip_id: TipId) -> Tip:
        """Investigating, resolving and dismissing belong to the assigned officer and to the
        ward's commanders."""
        tip = await self._visible(uow, actor, tip_id, for_update=True)
        actor.require(Role.OFFICER, tip.ward_id)
        assigned = tip.assignee_id is not None and tip.assignee_id == actor.member_id
        if not assigned and not actor.has(Role.COMMANDER, tip.ward_id):
            raise forbidden()
        return tip

    async def _in_uow(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        async with self._uow() as uow:
            result = await work(uow)
            await uow.commit()
            events: list[Event] = uow.collect_events()
        for event in events:
            await self._publisher.publish(event)
        return result
