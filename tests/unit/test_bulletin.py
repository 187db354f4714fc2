import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.access import Actor, Role
from domain.bulletin import (
    BODY_MAX,
    TITLE_MAX,
    Attachment,
    Bulletin,
    BulletinKind,
    BulletinStatus,
    MediaType,
)
from domain.delivery import DeliveryStatus
from domain.errors import DomainError, ErrorCode
from domain.events import (
    BulletinApproved,
    BulletinCancelled,
    BulletinPublished,
    BulletinRejected,
    BulletinScheduled,
    BulletinSubmitted,
)
from domain.history import Transition
from domain.ids import GroupId, MemberId, WardId

S = BulletinStatus
D = DeliveryStatus
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
LATER = T0 + timedelta(days=1)
WARD = WardId(uuid.uuid4())
OTHER_WARD = WardId(uuid.uuid4())
GROUP = GroupId(uuid.uuid4())
AUTHOR = MemberId(uuid.uuid4())
COMMANDER = Actor(MemberId(uuid.uuid4()), {WARD: Role.COMMANDER})


def new_draft(**overrides) -> Bulletin:
    fields = dict(
        ward_id=WARD,
        author_id=AUTHOR,
        kind=BulletinKind.SCAM_WARNING,
        title="Cảnh báo lừa đảo qua điện thoại",
        body="Không cung cấp mã OTP cho bất kỳ ai.",
        now=T0,
        target_group_ids=[GROUP],
    )
    return Bulletin.draft(**(fields | overrides))


def in_status(status: BulletinStatus) -> Bulletin:
    """A bulletin brought to `status` through legal transitions only."""
    b = new_draft(scheduled_at=LATER) if status is S.SCHEDULED else new_draft()
    if status is S.CANCELLED:
        b.cancel(actor_id=AUTHOR, now=T0)
    elif status is not S.DRAFT:
        _advance(b, status)
    assert b.status is status
    b.events.clear()
    return b


def _advance(b: Bulletin, status: BulletinStatus) -> None:
    b.submit(actor_id=AUTHOR, now=T0)
    if status is S.REJECTED:
        b.reject(COMMANDER, T0, "Cần bổ sung số điện thoại liên hệ.")
    elif status is not S.SUBMITTED:
        b.approve(COMMANDER, T0)
        if status not in (S.APPROVED, S.SCHEDULED):
            b.start_publishing(T0)
            final = {
                S.PUBLISHED: [D.SENT],
                S.PARTIALLY_FAILED: [D.SENT, D.DEAD],
                S.FAILED: [D.DEAD],
            }
            if status in final:
                b.settle(final[status], T0)


ACTIONS: dict[str, Callable[[Bulletin], object]] = {
    "edit": lambda b: b.edit(actor_id=AUTHOR, now=T1, title="Tiêu đề mới"),
    "submit": lambda b: b.submit(actor_id=AUTHOR, now=T1),
    "approve": lambda b: b.approve(COMMANDER, T1),
    "reject": lambda b: b.reject(COMMANDER, T1, "Chưa rõ nguồn."),
    "schedule": lambda b: b.schedule(LATER + timedelta(hours=1), actor_id=AUTHOR, now=T1),
    "cancel": lambda b: b.cancel(actor_id=AUTHOR, now=T1),
    "start_publishing": lambda b: b.start_publishing(LATER + timedelta(days=1)),
    "settle": lambda b: b.settle([D.SENT], T1),
}
EDITABLE = {S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.SCHEDULED}
LEGAL = {
    "edit": EDITABLE,
    "submit": {S.DRAFT, S.REJECTED},
    "approve": {S.SUBMITTED},
    "reject": {S.SUBMITTED},
    "schedule": EDITABLE,
    "cancel": EDITABLE,
    "start_publishing": {S.APPROVED, S.SCHEDULED},
    "settle": {S.PUBLISHING, S.PARTIALLY_FAILED, S.FAILED},
}


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        (S.DRAFT, "edit", S.DRAFT),
        (S.REJECTED, "edit", S.REJECTED),
        (S.SUBMITTED, "edit", S.SUBMITTED),
        (S.APPROVED, "edit", S.SUBMITTED),
        (S.SCHEDULED, "edit", S.SUBMITTED),
        (S.DRAFT, "submit", S.SUBMITTED),
        (S.REJECTED, "submit", S.SUBMITTED),
        (S.SUBMITTED, "approve", S.APPROVED),
        (S.SUBMITTED, "reject", S.REJECTED),
        (S.DRAFT, "schedule", S.DRAFT),
        (S.SUBMITTED, "schedule", S.SUBMITTED),
        (S.APPROVED, "schedule", S.SCHEDULED),
        (S.SCHEDULED, "schedule", S.SCHEDULED),
        (S.DRAFT, "cancel", S.CANCELLED),
        (S.REJECTED, "cancel", S.CANCELLED),
        (S.SUBMITTED, "cancel", S.CANCELLED),
        (S.APPROVED, "cancel", S.CANCELLED),
        (S.SCHEDULED, "cancel", S.CANCELLED),
        (S.APPROVED, "start_publishing", S.PUBLISHING),
        (S.SCHEDULED, "start_publishing", S.PUBLISHING),
        (S.PUBLISHING, "settle", S.PUBLISHED),
        (S.PARTIALLY_FAILED, "settle", S.PUBLISHED),
        (S.FAILED, "settle", S.PUBLISHED),
    ],
)
def test_legal_transition(start: BulletinStatus, action: str, expected: BulletinStatus) -> None:
    b = in_status(start)
    history = len(b.history)
    ACTIONS[action](b)
    assert b.status is expected
    if expected is not start:
        assert len(b.history) == history + 1
        assert (b.history[-1].from_status, b.history[-1].to_status) == (start, expected)
        assert b.history[-1].at in (T1, LATER + timedelta(days=1))
    else:
        assert len(b.history) == history


def test_legal_table_covers_every_listed_transition() -> None:
    assert set(LEGAL) == set(ACTIONS)


@pytest.mark.parametrize(
    ("start", "action"),
    [(s, a) for a in ACTIONS for s in BulletinStatus if s not in LEGAL[a]],
)
def test_illegal_transition(start: BulletinStatus, action: str) -> None:
    b = in_status(start)
    history = list(b.history)
    with pytest.raises(DomainError) as err:
        ACTIONS[action](b)
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert err.value.problems[0].message.vi.startswith("Không thể")
    assert b.status is start
    assert b.history == history
    assert b.events == []


def test_draft_cleans_text_to_nfc() -> None:
    title = unicodedata.normalize("NFD", "  Cảnh báo   lừa đảo ")
    b = new_draft(title=title, body="Đoạn một.  \n\n\n\nĐoạn   hai.\n")
    assert b.title == unicodedata.normalize("NFC", "Cảnh báo lừa đảo")
    assert b.body == "Đoạn một.\n\nĐoạn hai."
    assert b.status is S.DRAFT
    assert b.created_at == b.updated_at == T0
    assert b.history == []


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"title": "  "}, ErrorCode.REQUIRED, ("title",)),
        ({"title": "x" * (TITLE_MAX + 1)}, ErrorCode.TOO_LONG, ("title",)),
        ({"body": ""}, ErrorCode.REQUIRED, ("body",)),
        ({"body": "x" * (BODY_MAX + 1)}, ErrorCode.TOO_LONG, ("body",)),
        ({"body": "x\n" * (BODY_MAX // 2 + 1)}, ErrorCode.TOO_LONG, ("body",)),
        ({"scheduled_at": T0}, ErrorCode.INVALID, ("scheduledAt",)),
    ],
)
def test_draft_refuses_bad_input(overrides: dict, code: ErrorCode, field: tuple) -> None:
    with pytest.raises(DomainError) as err:
        new_draft(**overrides)
    assert (err.value.code, err.value.problems[0].field) == (code, field)


def test_title_and_body_at_their_limits_are_accepted() -> None:
    b = new_draft(title="t" * TITLE_MAX, body="b" * BODY_MAX)
    assert (len(b.title), len(b.body)) == (TITLE_MAX, BODY_MAX)


def test_targets_are_deduplicated() -> None:
    b = new_draft(target_group_ids=[GROUP, GROUP], target_ward_ids=[WARD, WARD])
    assert (b.target_group_ids, b.target_ward_ids) == ((GROUP,), (WARD,))


def test_submit_needs_a_target() -> None:
    b = new_draft(target_group_ids=[])
    with pytest.raises(DomainError) as err:
        b.submit(actor_id=AUTHOR, now=T1)
    assert err.value.code is ErrorCode.REQUIRED
    assert b.status is S.DRAFT


def test_a_ward_target_is_enough_to_submit() -> None:
    b = new_draft(target_group_ids=[], target_ward_ids=[WARD])
    b.submit(actor_id=AUTHOR, now=T1, comment="Nhờ anh duyệt")
    assert b.status is S.SUBMITTED
    assert b.history == [Transition(S.DRAFT, S.SUBMITTED, AUTHOR, T1, "Nhờ anh duyệt")]
    assert b.events == [BulletinSubmitted(b.id, WARD)]


def test_approve_records_approver_and_event() -> None:
    b = in_status(S.SUBMITTED)
    b.approve(COMMANDER, T1, "Đồng ý")
    assert (b.approved_by, b.approved_at) == (COMMANDER.member_id, T1)
    assert b.history[-1] == Transition(S.SUBMITTED, S.APPROVED, COMMANDER.member_id, T1, "Đồng ý")
    assert b.events == [BulletinApproved(b.id, WARD, T1)]


def test_approve_with_a_future_time_schedules() -> None:
    b = in_status(S.SUBMITTED)
    b.schedule(LATER, actor_id=AUTHOR, now=T1)
    b.approve(COMMANDER, T1)
    assert b.status is S.SCHEDULED
    assert b.events == [BulletinApproved(b.id, WARD, LATER)]


def test_approve_after_the_scheduled_time_has_passed_publishes_now() -> None:
    b = new_draft(scheduled_at=T0 + timedelta(minutes=1))
    b.submit(actor_id=AUTHOR, now=T0)
    b.approve(COMMANDER, T1)
    assert b.status is S.APPROVED
    assert b.due(T1)


ATTEMPTS = {
    "approve": lambda b, actor: b.approve(actor, T1),
    "reject": lambda b, actor: b.reject(actor, T1, "Không phù hợp"),
}


@pytest.mark.parametrize("action", ATTEMPTS)
@pytest.mark.parametrize(
    ("actor", "code"),
    [
        (Actor(AUTHOR, {WARD: Role.COMMANDER}), ErrorCode.SELF_APPROVAL),
        (Actor(MemberId(uuid.uuid4()), {WARD: Role.OFFICER}), ErrorCode.NOT_COMMANDER),
        (Actor(MemberId(uuid.uuid4()), {OTHER_WARD: Role.COMMANDER}), ErrorCode.NOT_COMMANDER),
        (Actor(MemberId(uuid.uuid4()), {WARD: Role.RESIDENT}), ErrorCode.NOT_COMMANDER),
        (Actor.anonymous(), ErrorCode.NOT_COMMANDER),
        (Actor.system_actor(), ErrorCode.NOT_COMMANDER),
    ],
    ids=["author", "officer", "other-ward-commander", "resident", "anonymous", "system"],
)
def test_only_a_commander_of_the_ward_other_than_the_author_decides(
    action: str, actor: Actor, code: ErrorCode
) -> None:
    b = in_status(S.SUBMITTED)
    with pytest.raises(DomainError) as err:
        ATTEMPTS[action](b, actor)
    assert err.value.code is code
    assert b.status is S.SUBMITTED
    assert b.approved_by is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reject_needs_a_reason(reason: str | None) -> None:
    b = in_status(S.SUBMITTED)
    with pytest.raises(DomainError) as err:
        b.reject(COMMANDER, T1, reason)
    assert err.value.code is ErrorCode.REQUIRED
    assert b.status is S.SUBMITTED


def test_reject_keeps_the_reason_in_history() -> None:
    b = in_status(S.SUBMITTED)
    b.reject(COMMANDER, T1, "Sai   số điện thoại")
    assert b.history[-1] == Transition(
        S.SUBMITTED, S.REJECTED, COMMANDER.member_id, T1, "Sai số điện thoại"
    )
    assert b.events == [BulletinRejected(b.id, WARD)]


@pytest.mark.parametrize("start", [S.APPROVED, S.SCHEDULED])
def test_edit_after_approval_returns_to_submitted(start: BulletinStatus) -> None:
    b = in_status(start)
    b.edit(actor_id=AUTHOR, now=T1, body="Nội dung đã sửa.", comment="Sửa số liệu")
    assert b.status is S.SUBMITTED
    assert (b.approved_by, b.approved_at) == (None, None)
    assert b.body == "Nội dung đã sửa."
    assert b.history[-1] == Transition(start, S.SUBMITTED, AUTHOR, T1, "Sửa số liệu")
    assert b.events == [BulletinSubmitted(b.id, WARD)]
    b.approve(COMMANDER, T1)  # a fresh approval is possible
    assert b.status is start


def test_edit_that_changes_nothing_keeps_the_approval() -> None:
    b = in_status(S.APPROVED)
    b.edit(actor_id=AUTHOR, now=T1, title=b.title, target_group_ids=[GROUP])
    assert b.status is S.APPROVED
    assert b.approved_by == COMMANDER.member_id


def test_the_same_targets_in_another_order_are_no_change() -> None:
    other = GroupId(uuid.uuid4())
    b = new_draft(target_group_ids=[GROUP, other])
    _advance(b, S.APPROVED)
    b.edit(actor_id=AUTHOR, now=T1, target_group_ids=[other, GROUP, other])
    assert b.status is S.APPROVED
    assert b.target_group_ids == tuple(sorted({GROUP, other}))


@pytest.mark.parametrize("start", [S.SUBMITTED, S.APPROVED])
def test_edit_cannot_remove_every_target_once_submitted(start: BulletinStatus) -> None:
    b = in_status(start)
    with pytest.raises(DomainError) as err:
        b.edit(actor_id=AUTHOR, now=T1, target_group_ids=[])
    assert err.value.code is ErrorCode.REQUIRED
    assert (b.status, b.target_group_ids) == (start, (GROUP,))


def test_a_draft_may_lose_its_targets_until_it_is_submitted() -> None:
    b = in_status(S.DRAFT)
    b.edit(actor_id=AUTHOR, now=T1, target_group_ids=[])
    assert b.target_group_ids == ()


def test_edit_validates_before_changing_anything() -> None:
    b = in_status(S.APPROVED)
    with pytest.raises(DomainError):
        b.edit(actor_id=AUTHOR, now=T1, kind=BulletinKind.WANTED_NOTICE, title="")
    assert (b.status, b.kind) == (S.APPROVED, BulletinKind.SCAM_WARNING)


def test_schedule_must_be_in_the_future() -> None:
    b = in_status(S.DRAFT)
    with pytest.raises(DomainError) as err:
        b.schedule(T1, actor_id=AUTHOR, now=T1)
    assert err.value.code is ErrorCode.INVALID
    assert b.scheduled_at is None


def test_schedule_an_approved_bulletin_keeps_the_approval() -> None:
    b = in_status(S.APPROVED)
    b.schedule(LATER, actor_id=COMMANDER.member_id, now=T1)
    assert (b.status, b.scheduled_at, b.approved_by) == (S.SCHEDULED, LATER, COMMANDER.member_id)
    assert b.events == [BulletinScheduled(b.id, WARD, LATER)]


def test_clearing_the_time_of_a_scheduled_bulletin_approves_it_for_now() -> None:
    b = in_status(S.SCHEDULED)
    b.schedule(None, actor_id=AUTHOR, now=T1)
    assert (b.status, b.scheduled_at) == (S.APPROVED, None)
    assert b.due(T1)


def test_cancel_records_event() -> None:
    b = in_status(S.SUBMITTED)
    b.cancel(actor_id=AUTHOR, now=T1, comment="Trùng bản tin khác")
    assert b.events == [BulletinCancelled(b.id, WARD)]
    assert b.history[-1].comment == "Trùng bản tin khác"


def test_scheduled_bulletin_waits_for_its_time() -> None:
    b = in_status(S.SCHEDULED)
    assert not b.due(LATER - timedelta(seconds=1))
    with pytest.raises(DomainError) as err:
        b.start_publishing(LATER - timedelta(seconds=1))
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert b.status is S.SCHEDULED
    b.start_publishing(LATER)
    assert b.status is S.PUBLISHING
    assert b.history[-1] == Transition(S.SCHEDULED, S.PUBLISHING, None, LATER, None)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([D.SENT], S.PUBLISHED),
        ([D.SENT, D.SENT, D.SENT], S.PUBLISHED),
        ([D.SENT, D.DEAD], S.PARTIALLY_FAILED),
        ([D.DEAD, D.SENT, D.SENT], S.PARTIALLY_FAILED),
        ([D.DEAD], S.FAILED),
        ([D.DEAD, D.DEAD], S.FAILED),
        ([], S.FAILED),
        ([D.SENT, D.PENDING], S.PUBLISHING),
        ([D.SENT, D.SENDING], S.PUBLISHING),
        ([D.DEAD, D.FAILED], S.PUBLISHING),
        ([D.PENDING, D.PENDING], S.PUBLISHING),
    ],
)
def test_settle(statuses: list[DeliveryStatus], expected: BulletinStatus) -> None:
    b = in_status(S.PUBLISHING)
    assert b.settle(iter(statuses), T1) is expected
    assert b.status is expected
    if expected is S.PUBLISHING:
        assert b.events == []
        assert b.history[-1].to_status is S.PUBLISHING
        assert b.history[-1].from_status is S.APPROVED
    else:
        assert b.events == [BulletinPublished(b.id, WARD, expected)]
        assert b.history[-1] == Transition(S.PUBLISHING, expected, None, T1, None)


def test_retrying_a_dead_delivery_reopens_a_partly_failed_bulletin() -> None:
    b = in_status(S.PARTIALLY_FAILED)
    assert b.settle([D.SENT, D.PENDING], T1) is S.PUBLISHING
    assert b.settle([D.SENT, D.SENT], T1) is S.PUBLISHED
    assert [t.to_status for t in b.history[-2:]] == [S.PUBLISHING, S.PUBLISHED]


@pytest.mark.parametrize(
    ("media_type", "content_type"),
    [
        (MediaType.IMAGE, "image/jpeg"),
        (MediaType.VIDEO, "video/mp4"),
        (MediaType.FILE, "application/pdf"),
        (MediaType.FILE, "image/png"),
    ],
)
def test_attachment_accepts_matching_types(media_type: MediaType, content_type: str) -> None:
    a = Attachment("blobs/abc", media_type, "tệp.bin", 1024, content_type)
    b = new_draft(attachments=[a])
    assert b.attachments == (a,)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", MediaType.IMAGE, "a.jpg", 10, "image/jpeg"), ("blobKey",)),
        (("k", MediaType.IMAGE, " ", 10, "image/jpeg"), ("filename",)),
        (("k", MediaType.IMAGE, "a" * 256, 10, "image/jpeg"), ("filename",)),
        (("k", MediaType.IMAGE, "a.jpg", 0, "image/jpeg"), ("sizeBytes",)),
        (("k", MediaType.IMAGE, "a.mp4", 10, "video/mp4"), ("contentType",)),
        (("k", MediaType.VIDEO, "a.jpg", 10, "image/jpeg"), ("contentType",)),
        (("k", MediaType.FILE, "a", 10, "pdf"), ("contentType",)),
    ],
)
def test_attachment_refuses_bad_files(args: tuple, field: tuple[str, ...]) -> None:
    with pytest.raises(DomainError) as err:
        Attachment(*args)
    assert (err.value.code, err.value.problems[0].field) == (ErrorCode.INVALID_FILE, field)
