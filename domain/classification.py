"""What an inbound message is: a tip, a question, part of a conversation, or chatter.

The port lives here; implementations live in adapters/classify/, so a better classifier can
replace the first one without the services noticing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError
from domain.text import fold
from domain.tip import TRACKING_PREFIX, TipCategory, normalise_tracking_code


class Intent(StrEnum):
    TIP = "tip"  # a report to act on (tin báo, tố giác)
    INQUIRY = "inquiry"  # a question, mostly about an administrative procedure
    REPLY = "reply"  # joins an existing tip or inquiry thread
    CHATTER = "chatter"  # greetings, thanks, stickers, ads, off-topic: nothing to act on


@dataclass(frozen=True, slots=True)
class Classification:
    intent: Intent
    category: TipCategory | None
    confidence: float
    tracking_code: str | None
    # Which cues fired, for the officer who checks the decision.
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Programming errors in a classifier, not user input: ValueError, not DomainError.
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is outside [0, 1]")
        if (self.intent is Intent.TIP) != (self.category is not None):
            raise ValueError("a tip, and only a tip, has a category")


class Classifier(Protocol):
    def classify(self, text: str, *, in_conversation: bool = False) -> Classification:
        """Sync and pure: no I/O, the same text always gets the same answer."""
        ...


# Three groups of three, with or without the prefix, separated by nothing, spaces, dots or
# dashes: what people type when they copy, retype or dictate a code.
_SEP = r"[\s.\-_/:]{0,3}"
_CODE = re.compile(
    rf"(?<![A-Z0-9])(?:({TRACKING_PREFIX}){_SEP})?"
    rf"([A-Z0-9]{{3}}){_SEP}([A-Z0-9]{{3}}){_SEP}([A-Z0-9]{{3}})(?![A-Z0-9])"
)


def find_tracking_code(text: str) -> str | None:
    """The first tip tracking code quoted in free text, normalised ('GD-7K4-M9P-QXA'), or None.

    Without the 'GD' prefix a code must mix digits and letters: 'anh anh anh' or a run of
    digits in a phone number is not a code. A code that happens to be all letters (about 4% of
    them) is therefore only found with its prefix.
    """
    for match in _CODE.finditer(fold(text).upper()):
        prefix, *groups = match.groups()
        chars = "".join(groups)
        if not prefix and not (
            any(ch.isdigit() for ch in chars) and any(ch.isalpha() for ch in chars)
        ):
            continue
        try:
            return normalise_tracking_code(chars)
        except DomainError:
            continue
    return None
