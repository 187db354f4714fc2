"""Vietnamese phone numbers, validated and kept in E.164 (+84…)."""

from __future__ import annotations

import phonenumbers

from domain.errors import DomainError, ErrorCode


def normalise_phone(raw: str, field: str = "phone") -> str:
    """'0912 345 678', '84912345678' and '+84 912 345 678' all become '+84912345678'."""
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text and not text.startswith("+") and digits.startswith("84") and len(digits) >= 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError.one(
            ErrorCode.INVALID_PHONE,
            f"Số điện thoại '{raw}' không hợp lệ.",
            f"'{raw}' is not a valid phone number.",
            (field,),
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
