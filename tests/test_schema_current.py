"""schema.graphql at the repository root is the contract clients build against: keep it current."""

from __future__ import annotations

import difflib
from pathlib import Path

from api.graphql.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_file_is_current() -> None:
    expected = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.exists(), (
        f"{SCHEMA_FILE.name} is missing: run `uv run gandan export-schema` and commit it"
    )
    actual = SCHEMA_FILE.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile="schema.graphql (committed)",
                tofile="schema.graphql (from the code)",
                n=2,
            )
        )
        shown = diff if len(diff) <= 4000 else diff[:4000] + "\n… (diff truncated)\n"
        raise AssertionError(
            f"{SCHEMA_FILE.name} is out of date with the code: "
            f"run `uv run gandan export-schema` and commit the result.\n{shown}"
        )
