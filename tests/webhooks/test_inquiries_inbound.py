"""Questions arriving on Zalo and Messenger: answered from the knowledge base on the same
channel, or routed and answered by an officer through the fake platform; no second effect when
the platform delivers a message again."""

from __future__ import annotations

import pytest

from adapters.knowledge.seed_procedures import SEED
from domain.access import Actor, Role, Scope
from domain.inquiry import Department, InquiryStatus
from domain.ports import InquiryFilter
from tests.builders import make_member
from tests.webhooks.conftest import (
    OA_A,
    OA_SECRET,
    PAGE_ID,
    inbox_rows,
    post_messenger,
    post_zalo,
    tip_count,
)
from tests.webhooks.test_inbound_processing import send_zalo


@pytest.fixture
async def kb(container):
    await container.procedures.seed(SEED)


async def inquiries(container) -> list:
    async with container.uow() as uow:
        page = await uow.inquiries.page(InquiryFilter(), scope=Scope.all(), after=None, first=50)
    return page.items


def texts_to(zalo, user: str) -> list[str]:
    return [m["message"]["text"] for m in zalo.cs_messages if m["user_id"] == user]


async def test_a_zalo_question_is_answered_on_zalo_from_the_knowledge_base(
    client, container, district, zalo, clock, db, kb
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, "Cho em hỏi gia hạn tạm trú cần những gì ạ?")
    await container.inbound.run_once()

    (inquiry,) = await inquiries(container)
    assert inquiry.status is InquiryStatus.AUTO_ANSWERED
    assert (inquiry.ward_id, inquiry.group_id) == (district.a.id, district.oa_a.id)
    assert inquiry.procedure_code == "dang_ky_tam_tru"
    (sent,) = texts_to(zalo, user)
    assert "Căn cứ pháp lý" in sent and "/procedures/dang_ky_tam_tru" in sent
    assert (await inbox_rows(db))[0].outcome == "inquiry"
    assert await tip_count(db) == 0


async def test_a_question_delivered_twice_is_answered_once(
    client, container, district, zalo, clock, kb
):
    user = zalo.new_user_id()
    body = zalo.webhook_body(
        user, "Đổi giấy phép lái xe hết hạn thế nào?", at=clock.now(), oa_id=OA_A
    )
    signature = zalo.webhook_signature(body, OA_SECRET[OA_A])
    for _ in range(2):
        assert (await post_zalo(client, body, signature)).status_code == 200
        await container.inbound.run_once()
    (inquiry,) = await inquiries(container)
    assert inquiry.procedure_code == "doi_gplx"
    assert len(texts_to(zalo, user)) == 1


async def test_an_off_topic_question_is_routed_and_the_officers_answer_reaches_zalo(
    client, container, district, zalo, clock, kb
):
    user = zalo.new_user_id()
    await send_zalo(client, zalo, clock, user, "Cho hỏi khu mình bao giờ có nước sạch ạ?")
    await container.inbound.run_once()
    (inquiry,) = await inquiries(container)
    assert inquiry.status is InquiryStatus.ROUTED and inquiry.department is Department.WARD
    (ack,) = texts_to(zalo, user)
    assert "chuyển tới cán bộ" in ack

    officer = await make_member(container.uow, district.a.id, roles=[Role.OFFICER])
    actor = Actor(member_id=officer.id, roles={district.a.id: Role.OFFICER})
    answer = "Dạ, khu phố sẽ có nước sạch từ tháng sau, bác liên hệ tổ dân phố để đăng ký."
    done = await container.inquiries.answer(actor, inquiry.id, answer)
    assert done.status is InquiryStatus.ANSWERED
    assert texts_to(zalo, user)[-1] == answer

    # Another ward's officer cannot answer it (nor see it).
    stranger = Actor(member_id=officer.id, roles={district.b.id: Role.OFFICER})
    with pytest.raises(Exception) as refused:
        await container.inquiries.answer(stranger, inquiry.id, "Không")
    assert "not found" in str(refused.value).lower()

    # "Chưa rõ" after the answer: a person takes it up again, once.
    await send_zalo(client, zalo, clock, user, "Em vẫn chưa rõ lắm ạ")
    await container.inbound.run_once()
    (again,) = await inquiries(container)
    assert again.status is InquiryStatus.ROUTED and again.reopened


async def test_a_messenger_question_is_answered_on_messenger(
    client, container, district, messenger, clock, kb
):
    psid = messenger.add_user(PAGE_ID)
    event = messenger.message_event(
        PAGE_ID, psid, "lam ho chieu pho thong o dau, mat bao lau?", at=clock.now()
    )
    body = messenger.delivery(PAGE_ID, [event], at=clock.now())
    assert (await post_messenger(client, body, messenger.sign(body))).status_code == 200
    await container.inbound.run_once()
    (inquiry,) = await inquiries(container)
    assert inquiry.status is InquiryStatus.AUTO_ANSWERED
    assert inquiry.procedure_code == "cap_ho_chieu"
    (sent,) = messenger.texts_to(psid)
    assert "/procedures/cap_ho_chieu" in sent
