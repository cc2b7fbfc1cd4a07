"""How a place in the policy document is named: the key path, and its dotted spelling."""

from __future__ import annotations

Path_ = tuple[str | int, ...]
# In the line map, the line of a value written below its key: lines[(*path, VALUE_LINE)].
VALUE_LINE = "\x00value"


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path) if path else "(top level)"
