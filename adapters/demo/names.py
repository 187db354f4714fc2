"""Plausible Vietnamese people, phone numbers, addresses and platform ids for demo data.

Every function is pure: it takes the `random.Random` to draw from and touches nothing else, so a
seeded generator yields the same output on every run and every machine. All text is NFC.
"""

from __future__ import annotations

import random
import string
from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate

from domain.text import nfc


class _Weighted:
    """A fixed list of names with their weights, drawn with one `rng.random()` each."""

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, pairs: Sequence[tuple[str, float]]) -> None:
        self.values = tuple(nfc(value) for value, _ in pairs)
        self.cumulative = tuple(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> str:
        # What rng.choices(values, cum_weights=…) does, without its per-call overhead.
        return self.values[bisect(self.cumulative, rng.random() * self.total)]


# Family names with their rough share of the population (per cent). In Hà Nội the northern forms
# dominate (Hoàng over Huỳnh, Vũ over Võ); the southern forms still turn up.
FAMILY_NAMES = _Weighted(
    [
        ("Nguyễn", 38.4),
        ("Trần", 11.0),
        ("Lê", 9.5),
        ("Phạm", 7.1),
        ("Hoàng", 4.6),
        ("Huỳnh", 0.5),
        ("Phan", 4.5),
        ("Vũ", 3.6),
        ("Võ", 0.4),
        ("Đặng", 2.1),
        ("Bùi", 2.0),
        ("Đỗ", 1.4),
        ("Hồ", 1.3),
        ("Ngô", 1.3),
        ("Dương", 1.0),
        ("Lý", 0.5),
        ("Đinh", 0.9),
        ("Trịnh", 0.9),
        ("Đào", 0.8),
        ("Đoàn", 0.6),
        ("Lương", 0.5),
        ("Mai", 0.5),
        ("Hà", 0.5),
        ("Cao", 0.4),
        ("Tạ", 0.3),
        ("Chu", 0.3),
        ("Phùng", 0.3),
        ("Tô", 0.3),
        ("Lưu", 0.3),
        ("Triệu", 0.3),
        ("Nghiêm", 0.2),
        ("Kiều", 0.2),
        ("Lại", 0.2),
        ("Khúc", 0.1),
    ]
)

MALE_MIDDLE_NAMES = _Weighted(
    [
        ("Văn", 34),
        ("Đức", 10),
        ("Minh", 9),
        ("Quang", 6),
        ("Hữu", 6),
        ("Đình", 4),
        ("Xuân", 4),
        ("Ngọc", 4),
        ("Thanh", 4),
        ("Công", 4),
        ("Mạnh", 3),
        ("Trọng", 3),
        ("Quốc", 3),
        ("Duy", 3),
        ("Tiến", 2),
        ("Anh", 2),
        ("Hoàng", 2),
        ("Việt", 2),
        ("Bá", 1),
        ("Kim", 1),
    ]
)

FEMALE_MIDDLE_NAMES = _Weighted(
    [
        ("Thị", 44),
        ("Thu", 7),
        ("Ngọc", 7),
        ("Thanh", 6),
        ("Hồng", 5),
        ("Minh", 4),
        ("Phương", 4),
        ("Thùy", 3),
        ("Kim", 3),
        ("Bích", 2),
        ("Mai", 2),
        ("Diệu", 2),
        ("Lan", 2),
        ("Hải", 2),
        ("Khánh", 2),
        ("Thúy", 2),
        ("Hoài", 1),
        ("Bảo", 1),
    ]
)

# After "Thị" many women carry a second middle name: Nguyễn Thị Thu Hương.
SECOND_FEMALE_MIDDLE_NAMES = _Weighted(
    [("Thu", 4), ("Minh", 2), ("Ngọc", 3), ("Thanh", 3), ("Hồng", 2), ("Kim", 1), ("Mai", 1)]
)

MALE_GIVEN_NAMES = _Weighted(
    [
        ("Hùng", 6),
        ("Dũng", 6),
        ("Tuấn", 6),
        ("Minh", 5),
        ("Hải", 5),
        ("Nam", 5),
        ("Long", 4),
        ("Sơn", 4),
        ("Thắng", 4),
        ("Hoàng", 3),
        ("Quân", 3),
        ("Đức", 3),
        ("Trung", 3),
        ("Hiếu", 3),
        ("Thành", 4),
        ("Phong", 2),
        ("Cường", 3),
        ("Bình", 3),
        ("Khánh", 2),
        ("Huy", 4),
        ("Tùng", 3),
        ("Việt", 2),
        ("Hưng", 3),
        ("Lâm", 2),
        ("Tiến", 2),
        ("Toàn", 2),
        ("Vinh", 2),
        ("Quang", 3),
        ("Tâm", 2),
        ("Thịnh", 2),
        ("Phúc", 2),
        ("An", 2),
        ("Bảo", 1),
        ("Kiên", 2),
        ("Định", 1),
        ("Hòa", 2),
        ("Chiến", 2),
        ("Đạt", 3),
        ("Giang", 1),
        ("Mạnh", 2),
        ("Nghĩa", 2),
        ("Sáng", 1),
        ("Thanh", 2),
        ("Trường", 2),
        ("Tú", 1),
        ("Vũ", 1),
    ]
)

FEMALE_GIVEN_NAMES = _Weighted(
    [
        ("Lan", 5),
        ("Hương", 6),
        ("Hoa", 4),
        ("Mai", 4),
        ("Hạnh", 4),
        ("Hằng", 5),
        ("Thảo", 4),
        ("Linh", 5),
        ("Ngọc", 3),
        ("Trang", 5),
        ("Nga", 4),
        ("Huyền", 4),
        ("Loan", 3),
        ("Thủy", 4),
        ("Yến", 3),
        ("Phương", 4),
        ("Dung", 3),
        ("Nhung", 3),
        ("Oanh", 2),
        ("Hà", 4),
        ("Vân", 3),
        ("Liên", 3),
        ("Hồng", 3),
        ("Nhàn", 2),
        ("Tâm", 2),
        ("Hiền", 3),
        ("Anh", 4),
        ("Chi", 2),
        ("Giang", 3),
        ("Thu", 2),
        ("Quyên", 2),
        ("Thư", 2),
        ("Duyên", 2),
        ("Lụa", 1),
        ("Tuyết", 2),
        ("Xuân", 2),
        ("Ánh", 2),
        ("Bình", 1),
    ]
)

# Mobile prefixes after +84, weighted by each network's rough market share. Viettel: 86, 96-98,
# 32-39; VinaPhone: 81-85, 88, 91, 94; MobiFone: 70, 76-79, 90, 93; Vietnamobile: 56, 58, 92.
MOBILE_PREFIXES = _Weighted(
    [
        *((p, 5.0) for p in ("86", "96", "97", "98")),
        *((p, 3.5) for p in ("32", "33", "34", "35", "36", "37", "38", "39")),
        *((p, 3.0) for p in ("81", "82", "83", "84", "85", "88", "91", "94")),
        *((p, 2.8) for p in ("70", "76", "77", "78", "79", "90", "93")),
        *((p, 1.5) for p in ("56", "58", "92")),
    ]
)

# National numbers starting with this are kept for the well-known demo staff accounts.
RESERVED_NATIONAL_PREFIX = "9000"

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6, 7)
_HOUSEHOLD_SIZE_CUMULATIVE = tuple(accumulate((10, 18, 24, 26, 13, 6, 3)))

_YOUTUBE_ALPHABET = string.ascii_letters + string.digits + "-_"


def full_name(rng: random.Random, *, female: bool | None = None) -> str:
    """A full name in Vietnamese order: family name, middle name(s), given name."""
    if female is None:
        female = rng.random() < 0.42
    family = FAMILY_NAMES.draw(rng)
    if female:
        middle = [FEMALE_MIDDLE_NAMES.draw(rng)]
        if middle[0] == "Thị" and rng.random() < 0.12:
            middle.append(SECOND_FEMALE_MIDDLE_NAMES.draw(rng))
        given_names = FEMALE_GIVEN_NAMES
    else:
        middle = [MALE_MIDDLE_NAMES.draw(rng)]
        given_names = MALE_GIVEN_NAMES
    given = given_names.draw(rng)
    while given in middle or given == family:
        given = given_names.draw(rng)
    return nfc(" ".join([family, *middle, given]))


def mobile_number(rng: random.Random) -> str:
    """A Vietnamese mobile number in E.164 (+84 and nine digits), outside the reserved range."""
    while True:
        national = MOBILE_PREFIXES.draw(rng) + f"{rng.randrange(10_000_000):07d}"
        if not national.startswith(RESERVED_NATIONAL_PREFIX):
            return "+84" + national


def unique(draw: Callable[[random.Random], str], rng: random.Random, taken: set[str]) -> str:
    """Draw until the value is not in `taken`, then record it there."""
    while True:
        value = draw(rng)
        if value not in taken:
            taken.add(value)
            return value


def household_size(rng: random.Random) -> int:
    """People living in the household, 1-7, most often 3 or 4."""
    cumulative = _HOUSEHOLD_SIZE_CUMULATIVE
    return HOUSEHOLD_SIZES[bisect(cumulative, rng.random() * cumulative[-1])]


def address(rng: random.Random, streets: Sequence[str], estates: Sequence[str] = ()) -> str:
    """A Hà Nội street address: 'Số 12, ngõ 45 phố Tân Mai', or a flat in a housing estate."""
    if estates and rng.random() < 0.3:
        floor = rng.randint(2, 25)
        block = f"{rng.choice(('HH', 'CT', 'VP'))}{rng.randint(1, 6)}{rng.choice('ABC')}"
        return nfc(f"Căn hộ {floor}{rng.randint(1, 20):02d}, tòa {block}, {rng.choice(estates)}")
    street = rng.choice(streets)
    number = f"{rng.randint(1, 150)}{'A' if rng.random() < 0.06 else ''}"
    roll = rng.random()
    if roll < 0.2:
        return nfc(f"Số {rng.randint(1, 400)} {street}")
    lane = rng.randint(2, 250)
    if roll < 0.4:
        return nfc(f"Số {number}, ngách {rng.randint(1, 90)}, ngõ {lane} {street}")
    return nfc(f"Số {number}, ngõ {lane} {street}")


def zalo_id(rng: random.Random) -> str:
    """A Zalo user, group or Official Account id: 19 digits, always handled as a string."""
    return str(rng.randrange(10**18, 10**19))


def facebook_page_id(rng: random.Random) -> str:
    return "1000" + f"{rng.randrange(10**11):011d}"


def youtube_channel_id(rng: random.Random) -> str:
    return "UC" + "".join(rng.choices(_YOUTUBE_ALPHABET, k=21)) + rng.choice("AQgw")
