"""Counted nouns for explanations and summaries: '1 license', '2 licenses'."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 row', '2 rows', '1,204 rows', '1 policy', '2 policies' (with `many`)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
