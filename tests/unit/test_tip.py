import math
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import DomainError, ErrorCode
from domain.events import TipEscalated, TipReceived, TipUpdated
from domain.history import Transition
from domain.ids import MemberId, WardId
from domain.reporter import ReporterId, TipSource
from domain.tip import (
    TRACKING_ALPHABET,
    TRACKING_BYTES,
    MessageDirection,
    Tip,
    TipCategory,
    TipMessage,
    TipOutcome,
    TipStatus,
    find_tracking_code,
    new_tracking_code,
    normalise_tracking_code,
)

S = TipStatus
T0 = datetime(2025, 3, 1, 22, 15, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
WARD = WardId(uuid.uuid4())
COMMANDER = MemberId(uuid.uuid4())
OFFICER = MemberId(uuid.uuid4())
OTHER_OFFICER = MemberId(uuid.uuid4())
CODE = "GD-7K4-M9P-QXA"
CODE_SHAPE = re.compile(
    rf"^GD-[{TRACKING_ALPHABET}]{{3}}-[{TRACKING_ALPHABET}]{{3}}-[{TRACKING_ALPHABET}]{{3}}$"
)


def new_tip(**overrides) -> Tip:
    fields = dict(
        ward_id=WARD,
        tracking_code=CODE,
        source=TipSource.ZALO,
        body="Có người lạ bán ma tuý ở ngõ 12.",
        anonymous=True,
        reporter_id=None,
        now=T0,
    )
    return Tip.receive(**(fields | overrides))


STEPS: dict[str, Callable[[Tip], object]] = {
    "triage": lambda t: t.triage(TipCategory.MA_TUY, actor_id=COMMANDER, now=T1),
    "assign": lambda t: t.assign(OFFICER, actor_id=COMMANDER, now=T1),
    "start_investigation": lambda t: t.start_investigation(actor_id=OFFICER, now=T1),
    "resolve": lambda t: t.resolve(TipOutcome.CASE_SOLVED, arrests=2, actor_id=OFFICER, now=T1),
    "dismiss": lambda t: t.dismiss("Tin trùng lặp", actor_id=COMMANDER, now=T1),
}
LEGAL = {
    "triage": {S.RECEIVED},
    "assign": {S.TRIAGED, S.ASSIGNED, S.INVESTIGATING},
    "start_investigation": {S.ASSIGNED},
    "resolve": {S.INVESTIGATING},
    "dismiss": {S.RECEIVED, S.TRIAGED, S.ASSIGNED, S.INVESTIGATING},
}
PATH = {
    S.RECEIVED: [],
    S.TRIAGED: ["triage"],
    S.ASSIGNED: ["triage", "assign"],
    S.INVESTIGATING: ["triage", "assign", "start_investigation"],
    S.RESOLVED: ["triage", "assign", "start_investigation", "resolve"],
    S.DISMISSED: ["dismiss"],
}


def in_status(status: TipStatus) -> Tip:
    tip = new_tip()
    for step in PATH[status]:
        STEPS[step](tip)
    assert tip.status is status
    tip.events.clear()
    return tip


@pytest.mark.parametrize(
    ("start", "action", "expected"),
    [
        (S.RECEIVED, "triage", S.TRIAGED),
        (S.TRIAGED, "assign", S.ASSIGNED),
        (S.ASSIGNED, "assign", S.ASSIGNED),
        (S.INVESTIGATING, "assign", S.ASSIGNED),
        (S.ASSIGNED, "start_investigation", S.INVESTIGATING),
        (S.INVESTIGATING, "resolve", S.RESOLVED),
        (S.RECEIVED, "dismiss", S.DISMISSED),
        (S.TRIAGED, "dismiss", S.DISMISSED),
        (S.ASSIGNED, "dismiss", S.DISMISSED),
        (S.INVESTIGATING, "dismiss", S.DISMISSED),
    ],
)
def test_legal_transition(start: TipStatus, action: str, expected: TipStatus) -> None:
    tip = in_status(start)
    STEPS[action](tip)
    assert tip.status is expected
    last = tip.history[-1]
    assert (last.from_status, last.to_status, last.at) == (start, expected, T1)
    assert tip.events == [TipUpdated(tip.id, WARD, expected)]


@pytest.mark.parametrize(
    ("start", "action"),
    [(s, a) for a in STEPS for s in TipStatus if s not in LEGAL[a]],
)
def test_illegal_transition(start: TipStatus, action: str) -> None:
    tip = in_status(start)
    history = list(tip.history)
    with pytest.raises(DomainError) as err:
        STEPS[action](tip)
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert (tip.status, tip.history, tip.events) == (start, history, [])


def test_receive() -> None:
    tip = new_tip(tracking_code="gd 7k4m9pqxa", category=TipCategory.LUA_DAO)
    assert (tip.status, tip.tracking_code, tip.category) == (S.RECEIVED, CODE, TipCategory.LUA_DAO)
    assert (tip.received_at, tip.assignee_id, tip.outcome, tip.arrests) == (T0, None, None, 0)
    assert tip.events == [TipReceived(tip.id, WARD)]


def test_a_tip_keeps_only_a_vault_reference() -> None:
    ref = ReporterId(uuid.uuid4())
    tip = new_tip(anonymous=False, reporter_id=ref)
    assert tip.reporter_id == ref


@pytest.mark.parametrize(
    ("body", "code"), [("   ", ErrorCode.REQUIRED), ("x" * 4001, ErrorCode.TOO_LONG)]
)
def test_body_is_required_and_bounded(body: str, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as err:
        new_tip(body=body)
    assert err.value.code is code


def test_triage_sets_the_category_and_records_the_comment() -> None:
    tip = in_status(S.RECEIVED)
    tip.triage(TipCategory.GAY_ROI, actor_id=COMMANDER, now=T1, comment="Đánh nhau sau tiệc cưới")
    assert tip.category is TipCategory.GAY_ROI
    assert tip.history == [
        Transition(S.RECEIVED, S.TRIAGED, COMMANDER, T1, "Đánh nhau sau tiệc cưới")
    ]


def test_reassigning_hands_the_tip_to_another_officer() -> None:
    tip = in_status(S.INVESTIGATING)
    tip.assign(OTHER_OFFICER, actor_id=COMMANDER, now=T1, comment="Đồng chí Nam đi học")
    assert (tip.status, tip.assignee_id) == (S.ASSIGNED, OTHER_OFFICER)


@pytest.mark.parametrize(
    ("outcome", "arrests"),
    [
        (TipOutcome.CASE_SOLVED, 3),
        (TipOutcome.CASE_SOLVED, 0),
        (TipOutcome.REFERRED, 1),
        (TipOutcome.UNFOUNDED, 0),
    ],
)
def test_resolve_records_outcome(outcome: TipOutcome, arrests: int) -> None:
    tip = in_status(S.INVESTIGATING)
    tip.resolve(outcome, arrests=arrests, actor_id=OFFICER, now=T1)
    assert (tip.status, tip.outcome, tip.arrests) == (S.RESOLVED, outcome, arrests)


@pytest.mark.parametrize(
    ("outcome", "arrests", "code"),
    [
        (TipOutcome.CASE_SOLVED, -1, ErrorCode.OUT_OF_RANGE),
        (TipOutcome.UNFOUNDED, 1, ErrorCode.INVALID),
    ],
)
def test_resolve_refuses_impossible_arrests(
    outcome: TipOutcome, arrests: int, code: ErrorCode
) -> None:
    tip = in_status(S.INVESTIGATING)
    with pytest.raises(DomainError) as err:
        tip.resolve(outcome, arrests=arrests, actor_id=OFFICER, now=T1)
    assert (err.value.code, err.value.problems[0].field) == (code, ("arrests",))
    assert (tip.status, tip.outcome) == (S.INVESTIGATING, None)


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_dismiss_needs_a_reason(reason: str | None) -> None:
    tip = in_status(S.TRIAGED)
    with pytest.raises(DomainError) as err:
        tip.dismiss(reason, actor_id=COMMANDER, now=T1)
    assert err.value.code is ErrorCode.REQUIRED
    assert tip.status is S.TRIAGED


def test_dismiss_keeps_the_reason() -> None:
    tip = in_status(S.ASSIGNED)
    tip.dismiss("Không thuộc   địa bàn", actor_id=COMMANDER, now=T1)
    assert tip.dismiss_reason == "Không thuộc địa bàn"
    assert tip.history[-1].comment == "Không thuộc địa bàn"


# Tracking codes


def test_tracking_alphabet_has_no_ambiguous_or_foreign_characters() -> None:
    assert not set("0O1IL") & set(TRACKING_ALPHABET)
    assert not set("FJWZ") & set(TRACKING_ALPHABET)  # not in the Vietnamese alphabet
    assert len(set(TRACKING_ALPHABET)) == len(TRACKING_ALPHABET)


def test_tracking_codes_have_at_least_40_bits() -> None:
    code = new_tracking_code(bytes(TRACKING_BYTES))
    body = code.removeprefix("GD-").replace("-", "")
    assert math.log2(len(TRACKING_ALPHABET)) * len(body) >= 40


def test_tracking_codes_are_well_formed_and_unique() -> None:
    rng = random.Random(20250301)
    codes = [new_tracking_code(rng.randbytes(TRACKING_BYTES)) for _ in range(10_000)]
    assert all(CODE_SHAPE.match(c) for c in codes)
    assert len(set(codes)) == len(codes)
    used = set("".join(c.removeprefix("GD-") for c in codes)) - {"-"}
    assert used == set(TRACKING_ALPHABET)  # every symbol is in use


def test_tracking_code_is_a_function_of_the_random_bytes() -> None:
    raw = bytes(range(TRACKING_BYTES))
    assert new_tracking_code(raw) == new_tracking_code(raw)
    assert new_tracking_code(raw) != new_tracking_code(bytes(TRACKING_BYTES))


def test_tracking_code_refuses_too_little_randomness() -> None:
    with pytest.raises(ValueError):
        new_tracking_code(b"\x01\x02\x03\x04")


@pytest.mark.parametrize(
    "typed",
    [
        "GD-7K4-M9P-QXA",
        "gd-7k4-m9p-qxa",
        "GD7K4M9PQXA",
        "gd 7k4 m9p qxa",
        " 7K4-M9P-QXA ",
        "7k4m9pqxa",
        "GD.7K4.M9P.QXA",
        "gđ 7k4 m9p qxa",  # Telex typing turns 'dd' into 'đ'
    ],
)
def test_normalise_tracking_code(typed: str) -> None:
    assert normalise_tracking_code(typed) == CODE


def test_normalise_accepts_every_generated_code() -> None:
    rng = random.Random(7)
    for _ in range(100):
        code = new_tracking_code(rng.randbytes(TRACKING_BYTES))
        assert normalise_tracking_code(code.lower().replace("-", " ")) == code


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "GD-",
        "GD-7K4-M9P-QX",
        "GD-7K4-M9P-QXAA",
        "GD-0K4-M9P-QXA",
        "GD-7K4-M9P-QXL",
        "XX-7K4-M9P-QXA",
        "GD-7K4-M9P-QX?",
    ],
)
def test_normalise_refuses_what_is_not_a_code(typed: str | None) -> None:
    with pytest.raises(DomainError) as err:
        normalise_tracking_code(typed)
    assert (err.value.code, err.value.problems[0].field) == (ErrorCode.INVALID, ("trackingCode",))


# Deadlines, acknowledgement, codes quoted in messages


def test_overdue_and_escalation_once_per_deadline() -> None:
    tip = new_tip(due_at=T1)
    assert not tip.overdue(T0) and tip.overdue(T1)
    tip.events.clear()
    assert not tip.escalate(T0)
    assert tip.escalate(T1, (COMMANDER,))
    assert tip.escalated_at == T1
    assert tip.events == [TipEscalated(tip.id, WARD, (COMMANDER,))]
    assert not tip.escalate(T1 + timedelta(hours=1))
    tip.set_due(T1 + timedelta(hours=2))  # a new deadline may be escalated again
    assert tip.escalated_at is None
    tip.dismiss("Trùng", actor_id=COMMANDER, now=T1)
    assert not tip.overdue(T1 + timedelta(days=1))
    assert not tip.escalate(T1 + timedelta(days=1))


def test_only_the_first_acknowledgement_counts() -> None:
    tip = new_tip()
    tip.acknowledge(T0)
    tip.acknowledge(T1)
    assert tip.acknowledged_at == T0


def test_a_tip_takes_at_most_ten_files() -> None:
    from domain.bulletin import Attachment, MediaType

    image = Attachment("a" * 64, MediaType.IMAGE, "anh.jpg", 10, "image/jpeg")
    assert len(new_tip(attachments=(image,) * 10).attachments) == 10
    with pytest.raises(DomainError) as err:
        new_tip(attachments=(image,) * 11)
    assert err.value.code is ErrorCode.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Mã của tôi là GD-7K4-M9P-QXA, xin hỏi tiến độ", CODE),
        ("gd7k4m9pqxa", CODE),
        ("tin báo gd 7k4 m9p qxa đã xử lý chưa?", CODE),
        ("GĐ.7K4.M9P.QXA", CODE),
        ("Số điện thoại 0912345678", None),
        ("7K4M9PQXA", None),  # without its prefix, nine symbols are too easily something else
        ("GD-7K4-M9P-QXAB", None),
        ("GD-0K4-M9P-QXA rồi GD-7K4-M9P-QXA", CODE),
        ("", None),
        (None, None),
    ],
)
def test_find_tracking_code(text: str | None, found: str | None) -> None:
    assert find_tracking_code(text) == found


def test_messages_are_cleaned_and_bounded() -> None:
    message = TipMessage.create(
        tip_id=new_tip().id,
        direction=MessageDirection.OUT,
        body="  Cảm ơn   anh ",
        channel=TipSource.ZALO,
        at=T0,
        external_message_id="",
    )
    assert (message.body, message.external_message_id) == ("Cảm ơn anh", None)
    with pytest.raises(DomainError) as err:
        TipMessage.create(
            tip_id=message.tip_id,
            direction=MessageDirection.IN,
            body="x" * 2001,
            channel=TipSource.ZALO,
            at=T0,
        )
    assert (err.value.code, err.value.problems[0].field) == (ErrorCode.TOO_LONG, ("text",))
