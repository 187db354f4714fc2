"""Vietnamese text: stored as NFC, compared and searched with diacritics folded."""

from __future__ import annotations

import re
import unicodedata

from domain.errors import DomainError, ErrorCode

_SPACES = re.compile(r"\s+")
_FOLD_EXTRA = str.maketrans({"đ": "d", "Đ": "D"})


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """NFC with runs of whitespace collapsed and the ends trimmed."""
    return _SPACES.sub(" ", nfc(text)).strip()


def fold(text: str) -> str:
    """Lower case without diacritics: 'Hoàng Mai' and 'hoang mai' fold to the same key."""
    decomposed = unicodedata.normalize("NFD", clean(text).translate(_FOLD_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def required_text(
    value: str | None, field: str, *, max_len: int, label_vi: str, label_en: str
) -> str:
    """Clean `value` and refuse it when empty or longer than `max_len` characters."""
    text = clean(value or "")
    if not text:
        raise DomainError.one(
            ErrorCode.REQUIRED,
            f"{label_vi} không được để trống.",
            f"{label_en} is required.",
            (field,),
        )
    if len(text) > max_len:
        raise DomainError.one(
            ErrorCode.TOO_LONG,
            f"{label_vi} dài quá {max_len} ký tự.",
            f"{label_en} is longer than {max_len} characters.",
            (field,),
        )
    return text


def optional_text(
    value: str | None, field: str, *, max_len: int, label_vi: str, label_en: str
) -> str | None:
    if value is None or not clean(value):
        return None
    return required_text(value, field, max_len=max_len, label_vi=label_vi, label_en=label_en)
