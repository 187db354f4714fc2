"""Residents' questions: answered from the knowledge base when it is sure, otherwise routed to a
department whose officers answer; the answer goes back on the channel the question came from.

A question is auto-answered only when the best article's confidence reaches `auto_answer_at`;
below it the question is routed to that article's department when the match is still
plausible (`suggest_at`), and to the ward's own officers when nothing fits. Answers to channel
users are sent before they are recorded as sent, like tip replies; an auto-answer that the channel
refuses stays recorded (the resident can ask again), with the failure logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from domain.access import Actor, Role, Scope
from domain.errors import DomainError, ErrorCode, forbidden, not_found
from domain.events import Event
from domain.ids import GroupId, InquiryId, WardId, new_id
from domain.inquiry import Department, Inquiry, InquiryStatus, default_sla
from domain.ports import (
    ChannelError,
    Clock,
    EventPublisher,
    IdentityVault,
    InquiryFilter,
    Page,
    ReplyFailed,
    ReporterReply,
    SealedReporter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.procedure import Procedure, ProcedureContent, compose_answer
from domain.reporter import ReporterId, ReporterIdentity, TipSource
from domain.services.deadlines import ESCALATION_BATCH, Escalation, escalate_to_commanders
from domain.services.procedures import ProcedureService, Ranked
from domain.text import fold

log = logging.getLogger("gandan.inquiries")
R = TypeVar("R")

AUTO_ANSWER_AT = 0.55
SUGGEST_AT = 0.3
# A resident who writes one of these after an answer is saying it did not help.
NOT_HELPED = re.compile(
    r"\b(chua (ro|hieu|duoc|giup|dung|tra loi)|khong (hieu|giup|dung|ro|phai|lien quan)"
    r"|sai roi|van chua|gap can bo|gap nguoi|noi chuyen voi can bo)\b"
)
FEEDBACK_WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Ask:
    """A question from the mobile app or the portal's online Q&A."""

    ward_id: WardId
    question: str
    source: TipSource = TipSource.APP


@dataclass(frozen=True, slots=True)
class ChannelQuestion:
    """A platform user's message classified as a question. Idempotent on the message id."""

    ward_id: WardId
    platform: TipSource
    channel_user_id: str
    question: str
    group_id: GroupId | None = None
    external_message_id: str | None = None
    received_at: datetime | None = None
    display_name: str | None = None


class InquiryService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        publisher: EventPublisher,
        vault: IdentityVault,
        replies: ReporterReply,
        procedures: ProcedureService,
        *,
        public_base_url: str,
        sla: Mapping[Department, timedelta] | None = None,
        auto_answer_at: float = AUTO_ANSWER_AT,
        suggest_at: float = SUGGEST_AT,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._vault = vault
        self._replies = replies
        self._procedures = procedures
        self._base = public_base_url.rstrip("/")
        self._sla = {**default_sla(), **(sla or {})}
        self._auto_at = auto_answer_at
        self._suggest_at = suggest_at

    def procedure_link(self, code: str) -> str:
        return f"{self._base}/procedures/{code}"

    # Receiving

    async def ask(self, actor: Actor | None, cmd: Ask) -> Inquiry:
        """The app's `inquiryAsk`: answered in the response when the knowledge base is sure."""
        actor = actor or Actor.anonymous()
        if cmd.source not in (TipSource.APP, TipSource.PORTAL):
            raise DomainError.one(
                ErrorCode.INVALID,
                "Câu hỏi qua Zalo, Messenger đến từ kênh, không gửi qua đây.",
                "Zalo and Messenger questions arrive through their channels, not here.",
                ("source",),
            )
        inquiry = Inquiry.receive(
            ward_id=cmd.ward_id,
            source=cmd.source,
            question=cmd.question,
            now=self._clock.now(),
            asker_member_id=actor.member_id,
        )
        ranked = await self._procedures.rank(inquiry.question)
        self._decide(inquiry, ranked)
        await self._store_new(inquiry, None)
        return inquiry

    async def receive_from_channel(self, msg: ChannelQuestion) -> Inquiry:
        if msg.external_message_id:
            async with self._uow() as uow:
                known = await uow.inquiries.by_external_id(msg.platform, msg.external_message_id)
            if known is not None:
                return known
        identity = ReporterIdentity.of(
            platform=msg.platform, channel_user_id=msg.channel_user_id, name=msg.display_name
        )
        now = self._clock.now()
        sealed = self._seal(identity, now)
        inquiry = Inquiry.receive(
            ward_id=msg.ward_id,
            source=msg.platform,
            question=msg.question,
            now=msg.received_at or now,
            group_id=msg.group_id,
            asker_id=sealed.id,
            external_message_id=msg.external_message_id,
        )
        ranked = await self._procedures.rank(inquiry.question)
        self._decide(inquiry, ranked)
        await self._store_new(inquiry, sealed)
        text = inquiry.answer if inquiry.status is InquiryStatus.AUTO_ANSWERED else None
        await self._notify(inquiry, identity, text or self._routed_text(inquiry))
        return inquiry

    def _decide(self, inquiry: Inquiry, ranked: list[Ranked]) -> None:
        now = self._clock.now()
        best = ranked[0] if ranked else None
        if best is not None and best.match.confidence >= self._auto_at:
            answer = compose_answer(best.procedure, self.procedure_link(best.procedure.code))
            inquiry.auto_answer(
                answer, best.procedure.code, now=now, confidence=best.match.confidence
            )
            return
        plausible = best is not None and best.match.confidence >= self._suggest_at
        department = best.procedure.content.department if plausible else Department.WARD
        if plausible:
            inquiry.procedure_code = best.procedure.code
        inquiry.match_confidence = best.match.confidence if best else None
        inquiry.route(department, actor_id=None, now=now, due_in=self._sla[department])

    def _routed_text(self, inquiry: Inquiry) -> str:
        return (
            "Công an đã nhận câu hỏi của bạn và chuyển tới cán bộ phụ trách; câu trả lời sẽ được"
            " gửi lại qua kênh này. Việc khẩn cấp xin gọi 113."
        )

    async def feedback_from_channel(
        self, platform: TipSource, channel_user_id: str, text: str
    ) -> Inquiry | None:
        """A channel user saying the last answer did not help reopens it to a person, once."""
        if not NOT_HELPED.search(fold(text)):
            return None
        hashes = self._vault.lookup_hashes(platform, channel_user_id)
        async with self._uow() as uow:
            latest = await uow.inquiries.latest_for_asker(hashes)
        if latest is None or latest.reopened:
            return None
        answered = latest.status in (InquiryStatus.AUTO_ANSWERED, InquiryStatus.ANSWERED)
        if (
            not answered
            or self._clock.now() - (latest.updated_at or latest.received_at) > FEEDBACK_WINDOW
        ):
            return None
        return await self._reopen(latest.id, text)

    # The lifecycle

    async def feedback(
        self, actor: Actor, inquiry_id: InquiryId, *, helped: bool, comment: str | None = None
    ) -> Inquiry:
        """The asker says whether the answer helped: yes closes it, no reopens it once."""
        actor.require_authenticated()
        async with self._uow() as uow:
            inquiry = await uow.inquiries.get(inquiry_id, scope=Scope.all())
        if (
            inquiry is None
            or inquiry.asker_member_id is None
            or inquiry.asker_member_id != actor.member_id
        ):
            raise not_found("câu hỏi", "Inquiry", ("id",))
        if not helped:
            return await self._reopen(inquiry_id, comment, actor=actor)

        async def run(uow: UnitOfWork) -> Inquiry:
            stored = await self._get(uow, inquiry_id)
            stored.close(actor_id=actor.member_id, now=self._clock.now(), comment=comment)
            return stored

        return await self._in_uow(run)

    async def _reopen(
        self, inquiry_id: InquiryId, comment: str | None, *, actor: Actor | None = None
    ) -> Inquiry:
        async def run(uow: UnitOfWork) -> Inquiry:
            stored = await self._get(uow, inquiry_id)
            department = stored.department or Department.WARD
            stored.reopen(
                actor_id=actor.member_id if actor else None,
                now=self._clock.now(),
                comment=(comment or "")[:2000] or None,
                due_in=self._sla[department],
            )
            return stored

        return await self._in_uow(run)

    async def route(
        self,
        actor: Actor,
        inquiry_id: InquiryId,
        department: Department,
        comment: str | None = None,
    ) -> Inquiry:
        async def run(uow: UnitOfWork) -> Inquiry:
            inquiry = await self._staff_get(uow, actor, inquiry_id)
            inquiry.route(
                department,
                actor_id=actor.member_id,
                now=self._clock.now(),
                comment=comment,
                due_in=self._sla[department],
            )
            return inquiry

        return await self._in_uow(run)

    async def answer(
        self, actor: Actor, inquiry_id: InquiryId, text: str, comment: str | None = None
    ) -> Inquiry:
        """An officer's answer: checked, sent on the asker's channel, then recorded."""
        async with self._uow() as uow:
            inquiry = await self._staff_get(uow, actor, inquiry_id)
            identity = await self._open(uow, inquiry)
        inquiry.answer_by(actor.member_id, text, now=self._clock.now(), comment=comment)  # type: ignore[arg-type]
        try:
            await self._replies.send(
                inquiry, identity, inquiry.answer or "", last_inbound_at=inquiry.received_at
            )
        except ReplyFailed as error:
            raise DomainError.one(
                ErrorCode.INVALID, error.message.vi, error.message.en, ("text",)
            ) from None
        except ChannelError as error:
            log.warning("answer to inquiry %s not delivered: %s", inquiry.id, error)
            raise DomainError.one(
                ErrorCode.INVALID,
                "Không gửi được câu trả lời tới người hỏi qua kênh của họ; hãy thử lại sau.",
                "The answer could not reach the asker on their channel; try again later.",
                ("text",),
            ) from None

        async def run(uow: UnitOfWork) -> Inquiry:
            stored = await self._staff_get(uow, actor, inquiry_id)
            stored.answer_by(actor.member_id, text, now=self._clock.now(), comment=comment)  # type: ignore[arg-type]
            return stored

        return await self._in_uow(run)

    async def close(
        self, actor: Actor, inquiry_id: InquiryId, comment: str | None = None
    ) -> Inquiry:
        async def run(uow: UnitOfWork) -> Inquiry:
            inquiry = await self._staff_get(uow, actor, inquiry_id)
            inquiry.close(actor_id=actor.member_id, now=self._clock.now(), comment=comment)
            return inquiry

        return await self._in_uow(run)

    async def promote(
        self, actor: Actor, inquiry_id: InquiryId, code: str, content: ProcedureContent
    ) -> Procedure:
        """An officer turns a good answer into a draft article (an admin publishes it). The
        question becomes one of its keywords, so the next resident asking it is matched."""
        async with self._uow() as uow:
            inquiry = await self._staff_get(uow, actor, inquiry_id, lock=False)
        if inquiry.answer is None or inquiry.status not in (
            InquiryStatus.ANSWERED,
            InquiryStatus.CLOSED,
        ):
            raise DomainError.one(
                ErrorCode.INVALID_TRANSITION,
                "Chỉ câu hỏi đã được cán bộ trả lời mới tạo được bài hướng dẫn.",
                "Only a question an officer has answered can become an article.",
                ("inquiryId",),
            )
        keywords = (*content.keywords, inquiry.question[:200])
        summary = content.summary or inquiry.answer[:4000]
        draft = replace(content, keywords=keywords, summary=summary)
        return await self._procedures.create(
            actor, code, draft, comment=f"từ câu hỏi {inquiry.id}", allowed=True
        )

    # Reading

    async def get(self, actor: Actor, inquiry_id: InquiryId) -> Inquiry | None:
        """Staff of its ward see an inquiry; so does the member who asked it. Others: nothing."""
        if not actor.authenticated:
            return None
        async with self._uow() as uow:
            inquiry = await uow.inquiries.get(inquiry_id, scope=Scope.all())
        if inquiry is None or not self.visible_to(actor, inquiry):
            return None
        return inquiry

    @staticmethod
    def visible_to(actor: Actor, inquiry: Inquiry) -> bool:
        own = actor.member_id is not None and inquiry.asker_member_id == actor.member_id
        return own or actor.has(Role.OFFICER, inquiry.ward_id)

    async def page(
        self, actor: Actor, filter: InquiryFilter, *, after: str | None, first: int
    ) -> Page[Inquiry]:
        actor.require_authenticated()
        async with self._uow() as uow:
            return await uow.inquiries.page(
                filter, scope=actor.scope(Role.OFFICER), after=after, first=first
            )

    async def mine(self, actor: Actor, *, after: str | None, first: int) -> Page[Inquiry]:
        actor.require_authenticated()
        async with self._uow() as uow:
            return await uow.inquiries.page(
                InquiryFilter(asker_member_id=actor.member_id, newest_first=True),
                scope=Scope.all(),
                after=after,
                first=first,
            )

    # Plumbing

    def _seal(self, identity: ReporterIdentity, now: datetime) -> SealedReporter:
        reporter_id = ReporterId(new_id())
        key_id, sealed = self._vault.seal(identity, bound_to=str(reporter_id))
        lookup = (
            self._vault.lookup_hash(identity.platform, identity.channel_user_id)
            if identity.platform and identity.channel_user_id
            else None
        )
        return SealedReporter(reporter_id, key_id, sealed, lookup, now)

    async def _open(self, uow: UnitOfWork, inquiry: Inquiry) -> ReporterIdentity | None:
        if inquiry.asker_id is None:
            return None
        stored = await uow.tips.reporter(inquiry.asker_id)
        if stored is None:
            return None
        return self._vault.open(stored.key_id, stored.sealed, bound_to=str(stored.id))

    async def _store_new(self, inquiry: Inquiry, sealed: SealedReporter | None) -> None:
        async def run(uow: UnitOfWork) -> None:
            ward = await uow.wards.get(inquiry.ward_id, scope=Scope.all())
            if ward is None:
                raise not_found("đơn vị", "Unit", ("wardId",))
            if sealed is not None:
                uow.tips.add_reporter(sealed)
            uow.inquiries.add(inquiry)

        await self._in_uow(run)

    async def _notify(self, inquiry: Inquiry, identity: ReporterIdentity, text: str) -> None:
        """The question is stored: a channel failure is logged (never with the identity)."""
        try:
            await self._replies.send(inquiry, identity, text, last_inbound_at=inquiry.received_at)
        except (ReplyFailed, ChannelError) as error:
            log.warning("reply to inquiry %s not delivered: %s", inquiry.id, error)
        except Exception as error:  # stored already: do not lose it over a channel bug
            log.error("reply to inquiry %s failed: %s", inquiry.id, type(error).__name__)

    # Deadlines

    async def escalate_overdue(
        self, now: datetime | None = None, limit: int = ESCALATION_BATCH
    ) -> list[Escalation]:
        """Open inquiries past their department's deadline go to their ward's commanders, once per
        deadline (routing on restarts the clock). One indexed probe when there are none."""
        now = now or self._clock.now()

        async def run(uow: UnitOfWork) -> list[Escalation]:
            overdue = await uow.inquiries.overdue(now, limit)
            return await escalate_to_commanders(uow.roles, overdue, now)

        return await self._in_uow(run)

    async def _get(self, uow: UnitOfWork, inquiry_id: InquiryId) -> Inquiry:
        inquiry = await uow.inquiries.get(inquiry_id, scope=Scope.all(), for_update=True)
        if inquiry is None:
            raise not_found("câu hỏi", "Inquiry", ("id",))
        return inquiry

    async def _staff_get(
        self, uow: UnitOfWork, actor: Actor, inquiry_id: InquiryId, *, lock: bool = True
    ) -> Inquiry:
        """Officers (and up) of the inquiry's ward; to anyone else it does not exist."""
        actor.require_authenticated()
        inquiry = await uow.inquiries.get(
            inquiry_id, scope=actor.scope(Role.OFFICER), for_update=lock
        )
        if inquiry is None:
            raise not_found("câu hỏi", "Inquiry", ("id",))
        if not actor.has(Role.OFFICER, inquiry.ward_id):
            raise forbidden()
        return inquiry

    async def _in_uow(self, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
        async with self._uow() as uow:
            result = await work(uow)
            await uow.commit()
            events: list[Event] = uow.collect_events()
        for event in events:
            await self._publisher.publish(event)
        return result
