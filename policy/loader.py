"""Read policy.yaml safely and strictly, keeping the line of every key for error messages.

YAML has traps for people who edit a policy by hand, and this loader closes them before
the JSON Schema sees the data: dates stay text (no `datetime.date` objects), only `true`
and `false` are booleans (`no` stays the text "no", which the schema then refuses with a
hint), a key written twice is refused instead of the last one silently winning, and
anchors/aliases (the way a "YAML bomb" multiplies itself) are refused outright. The YAML
parser itself (`yamlstrict.py`) is imported only when a policy file is parsed: a recalc
with a policy that passed before takes its checked data from the record
(`validated.py`).
"""

from __future__ import annotations

from typing import Any

from policy.errors import PolicyError
from policy.files import MAX_POLICY_BYTES
from policy.keypaths import VALUE_LINE, Path_, dotted

__all__ = ["VALUE_LINE", "Path_", "dotted", "parse_policy_yaml"]


def parse_policy_yaml(data: bytes, source: str) -> tuple[Any, dict[Path_, int]]:
    """The YAML document as plain Python data, and the line number of every key path."""
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            f"{source}: the file is {len(data):,} bytes; a policy file is a few kilobytes"
            f" (at most {MAX_POLICY_BYTES:,} bytes are read).",
            fix="Check that this is the policy file and not another document.",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(
            f"{source}:{line}: the file is not UTF-8 text (byte {data[exc.start]:#04x}).",
            fix="Save the file as UTF-8 (in Notepad: Save As, Encoding UTF-8).",
        ) from None
    from policy.yamlstrict import parse_text

    return parse_text(text, source)
