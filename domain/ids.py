"""Typed identifiers. Ids are UUIDv7 so that sorting by id is sorting by creation time."""

from __future__ import annotations

import os
import time
import uuid
from typing import NewType

WardId = NewType("WardId", uuid.UUID)
GroupId = NewType("GroupId", uuid.UUID)
MemberId = NewType("MemberId", uuid.UUID)
BulletinId = NewType("BulletinId", uuid.UUID)
DeliveryId = NewType("DeliveryId", uuid.UUID)
TipId = NewType("TipId", uuid.UUID)
InquiryId = NewType("InquiryId", uuid.UUID)


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= (rand >> 68 & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return uuid.UUID(int=value)
