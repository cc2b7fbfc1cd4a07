"""What differs between two policies, key by key, as an editor would name the keys.

    parameter_changes(old.raw, new.raw)
    -> [ParameterChange("ce_allotment.target", 20, 25)]

Used by `policy check` (a file that differs from the adopted file of its version) and by
`diff` (the parameters that changed). A length of time (`{months: 6}`) and a list are one
value each: `inactivity.client_data_window: {months: 6} → {months: 3}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PERIOD_KEYS = frozenset({"months", "weeks", "days"})
_SPECIAL = ":#{}[],&*!|>'\"%@`"  # characters that make YAML text need quotes


class _Absent:
    """A key one of the two policies does not have."""

    def __repr__(self) -> str:
        return "(not set)"


ABSENT: Any = _Absent()


@dataclass(frozen=True, slots=True)
class ParameterChange:
    path: str  # dotted key path, e.g. ce_allotment.target
    old: Any  # ABSENT when the old policy does not have the key
    new: Any

    def describe(self) -> str:
        return f"{self.path}: {shown(self.old)} → {shown(self.new)}"


def parameter_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ParameterChange]:
    """Every key path whose value differs, in the order the keys are written."""
    changes: list[ParameterChange] = []
    _compare(old, new, (), changes)
    return changes


def _is_leaf(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return True
    return not value or set(value) <= _PERIOD_KEYS


def _compare(old: Any, new: Any, path: tuple[str, ...], out: list[ParameterChange]) -> None:
    if old is not ABSENT and new is not ABSENT and not (_is_leaf(old) or _is_leaf(new)):
        for key in [*old, *(k for k in new if k not in old)]:
            _compare(old.get(key, ABSENT), new.get(key, ABSENT), (*path, str(key)), out)
        return
    if old is ABSENT and isinstance(new, Mapping) and not _is_leaf(new):
        for key, value in new.items():
            _compare(ABSENT, value, (*path, str(key)), out)
        return
    if new is ABSENT and isinstance(old, Mapping) and not _is_leaf(old):
        for key, value in old.items():
            _compare(value, ABSENT, (*path, str(key)), out)
        return
    if not _same(old, new):
        out.append(ParameterChange(".".join(path), old, new))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(type(a) is type(b) and a == b) or (
        isinstance(a, int | float) and isinstance(b, int | float) and a == b
    )


def shown(value: Any) -> str:
    """A value as it is written in policy.yaml: 20, nearest, {months: 6}, [A, B]."""
    if value is ABSENT:
        return "(not set)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        plain = value and value.strip() == value and not any(c in value for c in _SPECIAL)
        looks_other = value.lower() in ("true", "false", "null", "~", "yes", "no") or _number(value)
        return value if plain and not looks_other else json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def as_json(value: Any) -> Any:
    """A value for a JSON report (an absent key is null)."""
    return None if value is ABSENT else value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
