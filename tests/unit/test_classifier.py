"""The inbound classifier, measured on a labelled set of residents' messages.

tests/data/inbound_labelled.tsv holds messages written for this project (none copied), with
their intent, the category of tips, whether they came inside an open conversation, whether they
are held out, and the batch they were written in. The held-out fifth is drawn by a salted hash
of the text (see `_held_out`), so it is fixed, needs no list to maintain, and a line cannot move
between the halves unnoticed. The lexicon is tuned on the other four fifths only.

How honest each figure is:
- batch 1 (303 lines) was written before the lexicon, and the lexicon was first drafted with
  those lines in mind, so even its held-out part flatters the classifier;
- batch 2 (75 lines) was written after that lexicon was frozen and measured once, blind:
  intent 0.933, category 0.611 (22 of 36 tips). The lexicon was then widened (tuned on the
  batch's non-held-out lines) and frozen again;
- batch 3 (71 lines) was written after that and measured once, blind: intent 0.944, category
  0.778 (28 of 36 tips). Its non-held-out errors were then fixed with general vocabulary.
Those two blind figures are the best estimate of what to expect on real traffic; the figures
printed below measure regressions, not generalisation.

Run with `pytest -s tests/unit/test_classifier.py` to see the figures.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.classify import KeywordClassifier
from domain.classification import Classification, Classifier, Intent, find_tracking_code
from domain.text import fold
from domain.tip import TipCategory

DATA = Path(__file__).parents[1] / "data" / "inbound_labelled.tsv"
HOLDOUT_SALT = "gandan-holdout-v1\n"

# Floors a few points under what the classifier reached when they were recorded (see the
# figures printed by test_accuracy_on_the_labelled_set). Raise them when it gets better.
# Recorded: all 0.991 intent, 0.976 category; held out 0.988 (84 lines), 0.971 (34 tips).
FLOOR_INTENT = 0.96
FLOOR_CATEGORY = 0.94
FLOOR_HELD_OUT_INTENT = 0.94
FLOOR_HELD_OUT_CATEGORY = 0.91


@dataclass(frozen=True, slots=True)
class Example:
    line: int
    text: str
    intent: Intent
    category: TipCategory | None
    in_conversation: bool
    holdout: bool
    batch: int


def _held_out(text: str) -> bool:
    digest = hashlib.sha256((HOLDOUT_SALT + text).encode()).hexdigest()
    return int(digest, 16) % 5 == 0


def _load() -> list[Example]:
    with DATA.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Example(
                line=n,
                text=row["text"],
                intent=Intent(row["intent"]),
                category=TipCategory(row["category"]) if row["category"] else None,
                in_conversation=row["in_conversation"] == "1",
                holdout=row["holdout"] == "1",
                batch=int(row.get("batch") or 1),
            )
            for n, row in enumerate(reader, start=2)
        ]


EXAMPLES = _load()
CLASSIFIER = KeywordClassifier()


@pytest.fixture(scope="module")
def results() -> dict[int, Classification]:
    return {
        e.line: CLASSIFIER.classify(e.text, in_conversation=e.in_conversation) for e in EXAMPLES
    }


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    intent: float
    tips: int
    category: float  # on tips: right intent and right category

    def __str__(self) -> str:
        return (
            f"intent {self.intent:.3f} on {self.n} messages, "
            f"category {self.category:.3f} on {self.tips} tips"
        )


def _figures(examples: Iterable[Example], results: dict[int, Classification]) -> Figures:
    examples = list(examples)
    tips = [e for e in examples if e.intent is Intent.TIP]
    right = sum(results[e.line].intent is e.intent for e in examples)
    right_category = sum(
        results[e.line].intent is Intent.TIP and results[e.line].category is e.category
        for e in tips
    )
    return Figures(
        len(examples), right / len(examples), len(tips), right_category / max(len(tips), 1)
    )


def _confusion(
    pairs: Iterable[tuple[str, str]],
    rows_: list[str],
    labels: list[str],
    title: str,
    width: int = 8,
) -> str:
    counts = Counter(pairs)
    head = f"{title:>18} " + " ".join(f"{label[:width]:>{width}}" for label in labels)
    rows = [head]
    for gold in rows_:
        cells = " ".join(f"{counts[gold, got] or '.':>{width}}" for got in labels)
        rows.append(f"{gold[:18]:>18} {cells}")
    return "\n".join(rows)


def _report(results: dict[int, Classification]) -> str:
    everything = _figures(EXAMPLES, results)
    tuned = _figures((e for e in EXAMPLES if not e.holdout), results)
    held = _figures((e for e in EXAMPLES if e.holdout), results)
    lines = [
        f"all      {everything}",
        f"tuned on {tuned}",
        f"held out {held}",
    ]
    for batch in sorted({e.batch for e in EXAMPLES}):
        lines.append(
            f"batch {batch}  {_figures((e for e in EXAMPLES if e.batch == batch), results)}"
        )
    intents = [i.value for i in Intent]
    lines.append(
        _confusion(
            ((e.intent.value, results[e.line].intent.value) for e in EXAMPLES),
            intents,
            intents,
            "gold \\ got",
        )
    )
    categories = [c.value for c in TipCategory]
    lines.append(
        _confusion(
            (
                (e.category.value, (results[e.line].category or results[e.line].intent).value)
                for e in EXAMPLES
                if e.category
            ),
            categories,
            [*categories, "inquiry", "reply", "chatter"],
            "gold \\ got",
            width=7,
        )
    )
    wrong = [
        e
        for e in EXAMPLES
        if (results[e.line].intent, results[e.line].category) != (e.intent, e.category)
    ]
    lines.append(f"{len(wrong)} misclassified:")
    for e in wrong:
        got = results[e.line]
        label = f"{got.intent.value}/{got.category.value if got.category else '-'}"
        gold = f"{e.intent.value}/{e.category.value if e.category else '-'}"
        mark = "H" if e.holdout else " "
        lines.append(f"  {mark} line {e.line}: {gold} → {label} ({got.confidence}) {e.text[:70]}")
    return "\n".join(lines)


def test_labelled_set_is_large_varied_and_split_as_recorded():
    assert len(EXAMPLES) >= 250
    keys = [(e.text, e.in_conversation) for e in EXAMPLES]
    assert len(set(keys)) == len(keys), "duplicate messages"
    intents = Counter(e.intent for e in EXAMPLES)
    share = {i: intents[i] / len(EXAMPLES) for i in Intent}
    assert 0.40 <= share[Intent.TIP] <= 0.50
    assert 0.20 <= share[Intent.INQUIRY] <= 0.30
    assert 0.08 <= share[Intent.REPLY] <= 0.14
    assert 0.16 <= share[Intent.CHATTER] <= 0.24
    categories = Counter(e.category for e in EXAMPLES if e.intent is Intent.TIP)
    assert all(categories[c] >= 12 for c in TipCategory), categories
    assert all((e.category is None) == (e.intent is not Intent.TIP) for e in EXAMPLES)
    without_diacritics = sum(e.text == e.text.encode("ascii", "ignore").decode() for e in EXAMPLES)
    assert without_diacritics / len(EXAMPLES) >= 0.30
    assert any(e.in_conversation and e.intent is Intent.REPLY for e in EXAMPLES)
    # The held-out fifth is the one the hash picks, nothing else.
    assert [e.holdout for e in EXAMPLES] == [_held_out(e.text) for e in EXAMPLES]
    assert 0.15 <= sum(e.holdout for e in EXAMPLES) / len(EXAMPLES) <= 0.25


def test_accuracy_on_the_labelled_set(results):
    report = _report(results)
    print("\n" + report)
    figures = _figures(EXAMPLES, results)
    assert figures.intent >= FLOOR_INTENT, report
    assert figures.category >= FLOOR_CATEGORY, report


def test_accuracy_on_the_held_out_fifth(results):
    figures = _figures((e for e in EXAMPLES if e.holdout), results)
    print(f"\nheld out: {figures}")
    assert figures.intent >= FLOOR_HELD_OUT_INTENT, _report(results)
    assert figures.category >= FLOOR_HELD_OUT_CATEGORY, _report(results)


def test_every_answer_is_well_formed(results):
    for e in EXAMPLES:
        got = results[e.line]
        assert 0.0 <= got.confidence <= 1.0
        assert (got.category is None) == (got.intent is not Intent.TIP)
        assert got.reasons, e.text
        assert (got.tracking_code is not None) == (find_tracking_code(e.text) is not None)


def test_diacritics_make_no_difference(results):
    for e in EXAMPLES:
        plain = CLASSIFIER.classify(fold(e.text), in_conversation=e.in_conversation)
        got = results[e.line]
        assert (plain.intent, plain.category) == (got.intent, got.category), e.text


@pytest.mark.parametrize(
    ("accented", "plain"),
    [
        ("Cháy nhà số 5 ngõ 12, cứu với!", "chay nha so 5 ngo 12, cuu voi!"),
        ("Cho em hỏi thủ tục đăng ký tạm trú", "cho e hoi thu tuc dang ki tam tru"),
        ("Có người bán ma tuý ở quán nước", "co nguoi ban ma tuy o quan nuoc"),
        ("Tôi bị lừa chuyển khoản 20 triệu", "toi bi lua ck 20tr"),
    ],
)
def test_the_same_message_with_or_without_diacritics(accented, plain):
    a, b = CLASSIFIER.classify(accented), CLASSIFIER.classify(plain)
    assert (a.intent, a.category) == (b.intent, b.category)


@pytest.mark.parametrize(
    "text",
    [
        "GD-7K4-M9P-QXA",
        "gd 7k4 m9p qxa",
        "gd7k4m9pqxa",
        "Gd.7k4.m9p.qxa",
        "7K4-M9P-QXA",
        "7k4m9pqxa",
        "GD - 7K4 - M9P - QXA",
        "mã của em: gd 7k4 m9p qxa ạ, bọn họ lại đến",
        "Tôi bổ sung cho tin báo (GD-7K4-M9P-QXA): có 2 người",
    ],
)
def test_a_quoted_tracking_code_makes_a_reply(text):
    got = CLASSIFIER.classify(text)
    assert got.intent is Intent.REPLY
    assert got.tracking_code == "GD-7K4-M9P-QXA"
    assert got.category is None


@pytest.mark.parametrize(
    "text",
    [
        "số của em là 0912 345 678",
        "anh anh anh",
        "xe biển 29H1-234.56 vượt đèn đỏ",
        "GD em bị hành hung",
        "mã ABC DEF GHI",  # I and F are not in the alphabet
        "7k4 m9p qxa1",  # runs on into a tenth character
    ],
)
def test_what_is_not_a_tracking_code(text):
    assert find_tracking_code(text) is None
    assert CLASSIFIER.classify(text).tracking_code is None


def test_a_code_of_letters_only_needs_its_prefix():
    assert find_tracking_code("gd abc deg hkm") == "GD-ABC-DEG-HKM"
    assert find_tracking_code("abc deg hkm") is None


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "👍👍👍", "😂", "🙏❤️", "...", "?", "!!!"])
@pytest.mark.parametrize("in_conversation", [False, True])
def test_empty_or_emoji_only_is_chatter(text, in_conversation):
    got = CLASSIFIER.classify(text, in_conversation=in_conversation)
    assert got.intent is Intent.CHATTER
    assert got.category is None


@pytest.mark.parametrize(
    "text",
    [
        "Dạ khoảng 10 giờ tối ạ",
        "ho di xe sh mau trang",
        "vâng",
        "Không ạ",
        "Em không nhớ mặt họ",
        "có 2 người, đều đội mũ lưỡi trai",
    ],
)
def test_answers_inside_a_conversation_are_replies(text):
    got = CLASSIFIER.classify(text, in_conversation=True)
    assert got.intent is Intent.REPLY
    assert got.tracking_code is None
    assert "trong hội thoại" in got.reasons


@pytest.mark.parametrize("text", ["cảm ơn anh nhiều ạ", "[Sticker]", "tks ad", "👍"])
def test_thanks_inside_a_conversation_stay_chatter(text):
    assert CLASSIFIER.classify(text, in_conversation=True).intent is Intent.CHATTER


def test_the_same_answer_outside_a_conversation_is_not_a_reply():
    assert CLASSIFIER.classify("vâng").intent is Intent.CHATTER


def test_negation_cancels_the_cue_it_precedes():
    assert CLASSIFIER.classify("Nhà em bị trộm đêm qua").category is TipCategory.HINH_SU
    calm = CLASSIFIER.classify("nhà em không bị trộm đâu ạ, em nhầm, cảm ơn anh")
    assert calm.intent is Intent.CHATTER
    assert any("phủ định" in r for r in calm.reasons)


def test_a_negation_that_is_the_offence_still_counts():
    got = CLASSIFIER.classify("Mấy đứa đi xe máy ko đội mũ bảo hiểm phóng nhanh trên đê")
    assert (got.intent, got.category) == (Intent.TIP, TipCategory.GIAO_THONG)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("cho e hoi lam cccd o dau vay ad", Intent.INQUIRY),
        ("dk tam tru can j a", Intent.INQUIRY),
        ("xe bị phạt nguội tra cứu ntn ạ", Intent.INQUIRY),
        ("co thang trom xm o ngo 5 ad oi", Intent.TIP),
        ("so la goi cho e bao ck tien vao stk de xac minh", Intent.TIP),
    ],
)
def test_chat_abbreviations(text, intent):
    assert CLASSIFIER.classify(text).intent is intent


def test_chay_is_fire_only_in_context():
    assert CLASSIFIER.classify("chay nha o ngo 16 roi").category is TipCategory.PCCC
    fled = CLASSIFIER.classify("thang cuop giat tui xach roi bo chay ve phia cau")
    assert fled.category is TipCategory.HINH_SU


def test_reasons_name_the_cues_for_the_officer():
    got = CLASSIFIER.classify("Có người phát tán tài liệu phản động ở chợ")
    assert got.category is TipCategory.AN_NINH_CHINH_TRI
    assert any("phản động" in r for r in got.reasons)


def test_the_keyword_classifier_fills_the_port():
    classifier: Classifier = KeywordClassifier()
    got = classifier.classify("Cháy!", in_conversation=False)
    assert isinstance(got, Classification)


def test_a_classification_keeps_its_invariants():
    with pytest.raises(ValueError):
        Classification(Intent.TIP, None, 0.5, None, ())
    with pytest.raises(ValueError):
        Classification(Intent.INQUIRY, TipCategory.KHAC, 0.5, None, ())
    with pytest.raises(ValueError):
        Classification(Intent.CHATTER, None, 1.5, None, ())


def test_very_long_messages_and_the_rate():
    long_tip = " ".join(e.text for e in EXAMPLES if e.intent is Intent.TIP)[:4000]
    huge = "cháy nhà cứu với " * 20_000  # 340,000 characters; only the start is read
    got = CLASSIFIER.classify(huge)
    assert (got.intent, got.category) == (Intent.TIP, TipCategory.PCCC)
    assert CLASSIFIER.classify(long_tip).intent is Intent.TIP

    messages = [e.text for e in EXAMPLES] * 7
    messages = [*messages[:1990], *[long_tip] * 10]  # 2,000, ten of them 4,000 characters
    started = time.perf_counter()
    for text in messages:
        CLASSIFIER.classify(text)
    elapsed = time.perf_counter() - started
    # Printed, never asserted: timings on shared CI machines are not a test.
    print(
        f"\nclassified {len(messages)} messages in {elapsed * 1000:.0f} ms: "
        f"{elapsed / len(messages) * 1e6:.0f} µs each, {len(messages) / elapsed:,.0f}/s"
    )
