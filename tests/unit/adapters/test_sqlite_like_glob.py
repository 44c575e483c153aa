"""SQLite's case-sensitive ``like``: a LIKE pattern translated to GLOB matches the same text."""

from __future__ import annotations

import re
import sqlite3

from hypothesis import given
from hypothesis import strategies as st

from bastion.adapters.sql.conditions import like_to_glob

_ALPHABET = "aAé*?[]%_\\^-😀"


def _like(pattern: str, text: str) -> bool:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append({"%": ".*", "_": "."}.get(char) or re.escape(char))
    return re.fullmatch("".join(parts), text, re.DOTALL) is not None


@given(
    pattern=st.text(st.sampled_from(_ALPHABET), max_size=6).filter(
        lambda p: (len(p) - len(p.rstrip("\\"))) % 2 == 0
    ),
    texts=st.lists(st.text(st.sampled_from(_ALPHABET), max_size=6), max_size=8),
)
def test_glob_translation_matches_like_case_sensitively(pattern: str, texts: list[str]) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        glob = like_to_glob(pattern)
        for text in texts:
            (matched,) = conn.execute("SELECT ? GLOB ?", (text, glob)).fetchone()
            assert bool(matched) == _like(pattern, text), (pattern, glob, text)
    finally:
        conn.close()
