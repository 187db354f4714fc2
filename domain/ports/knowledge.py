"""The port behind which procedure matching lives, so a better ranker can replace the first one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domain.procedure import Procedure


@dataclass(frozen=True, slots=True)
class ProcedureMatch:
    code: str
    score: float  # the ranker's own scale: only comparable within one question
    confidence: float  # 0..1, comparable across questions: what auto-answering trusts


class ProcedureMatcher(Protocol):
    @property
    def fingerprint(self) -> str | None:
        """Identifies the articles the index was built from; None before the first build."""
        ...

    def build(self, procedures: Sequence[Procedure], fingerprint: str) -> None:
        """Index the published articles. Called again whenever the fingerprint changes."""
        ...

    def rank(self, question: str, *, limit: int = 3) -> list[ProcedureMatch]:
        """The best articles for `question`, best first; empty when nothing is related."""
        ...
