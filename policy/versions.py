"""Which layouts of policy.yaml this release reads, and how an older one is brought up to date.

`schema_version` names the layout of the file (its keys), not the policy's own version
(`policy.version`, which editors raise whenever a value changes). A file written for a
newer hmis-licensing is refused with a message rather than half-read; a file written for
an older layout is migrated, one schema version at a time, by the steps in `MIGRATIONS`,
and each step says what it did so that `policy check` can tell the editor what to update.

Schema 1 is the first layout, so `MIGRATIONS` is empty today. When schema 2 renames or
moves a key, add `MIGRATIONS[1] = Migration(1, "...", step)` where `step` edits a
`MigratingPolicy` (`rename`, `set_default`); line numbers travel with renamed keys, so an
error in a migrated file still names the line the editor wrote.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.errors import PolicyError

CURRENT_SCHEMA_VERSION = 1
Path_ = tuple[str | int, ...]


@dataclass
class MigratingPolicy:
    """A policy's data and key lines while a migration step edits them."""

    data: dict[str, Any]
    lines: dict[Path_, int]
    notes: list[str] = field(default_factory=list)

    def rename(self, old: str, new: str) -> None:
        """Move the value at dotted key `old` to `new` (if `old` is there)."""
        old_path, new_path = _path(old), _path(new)
        parent = self._node(old_path[:-1])
        if not isinstance(parent, dict) or old_path[-1] not in parent:
            return
        value = parent.pop(old_path[-1])
        target = self._node(new_path[:-1], create=True)
        target[new_path[-1]] = value
        for path in [p for p in self.lines if p[: len(old_path)] == old_path]:
            self.lines[new_path + path[len(old_path) :]] = self.lines.pop(path)
        self.notes.append(f"{old} is now {new}")

    def set_default(self, key: str, value: Any) -> None:
        """Give dotted key `key` a value when the file does not have one."""
        path = _path(key)
        parent = self._node(path[:-1], create=True)
        if path[-1] not in parent:
            parent[path[-1]] = value
            self.notes.append(f"{key} added with {value!r}")

    def _node(self, path: tuple[str, ...], *, create: bool = False) -> Any:
        node: Any = self.data
        for part in path:
            if not isinstance(node, dict):
                return None
            if part not in node and create:
                node[part] = {}
            node = node.get(part)
        return node


@dataclass(frozen=True, slots=True)
class Migration:
    """One step: a file of schema `from_version` becomes `from_version + 1`."""

    from_version: int
    summary: str  # what changed in the layout, for people
    step: Callable[[MigratingPolicy], None]


# schema N -> N + 1. None yet: schema 1 is the first layout.
MIGRATIONS: Mapping[int, Migration] = {}


@dataclass(frozen=True, slots=True)
class Migrated:
    data: dict[str, Any]
    lines: dict[Path_, int]
    from_version: int
    notes: tuple[str, ...]  # one line per step, empty when the file was current


def migrate(
    data: Any,
    lines: dict[Path_, int],
    source: str,
    *,
    migrations: Mapping[int, Migration] | None = None,
    current: int = CURRENT_SCHEMA_VERSION,
) -> Migrated:
    """Check `schema_version` and bring an older layout up to `current`, step by step."""
    steps = MIGRATIONS if migrations is None else migrations
    version = _schema_version(data, source, lines, current)
    if version < current:
        oldest = current
        while oldest - 1 in steps:
            oldest -= 1
        if version < oldest:
            raise PolicyError(
                f"{source}:{lines.get(('schema_version',), 1)} schema_version: {version} is"
                f" older than this hmis-licensing reads (schema {oldest} to {current}).",
                fix="Start from the policy.yaml shipped with hmis-licensing and copy your"
                " values into it.",
            )
    work = MigratingPolicy(copy.deepcopy(data), dict(lines))
    notes = []
    for from_version in range(version, current):
        migration = steps[from_version]
        before = len(work.notes)
        migration.step(work)
        done = "; ".join(work.notes[before:]) or "no keys needed changing"
        notes.append(f"schema {from_version} -> {from_version + 1}: {migration.summary} ({done})")
    if version < current:
        work.data["schema_version"] = current
    return Migrated(work.data, work.lines, version, tuple(notes))


def _schema_version(data: Any, source: str, lines: dict[Path_, int], current: int) -> int:
    line = lines.get(("schema_version",), 1)
    if not isinstance(data, dict):
        raise PolicyError(
            f"{source}:{line}: the policy must be a set of keys (schema_version: 1,"
            " policy: ..., inactivity: ...), not a single value or a list.",
            fix="Start from the policy.yaml shipped with hmis-licensing.",
        )
    version = data.get("schema_version")
    if version is None:
        raise PolicyError(
            f"{source}:{line} schema_version: missing (required).",
            fix=f"Add `schema_version: {current}` as the first line.",
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise PolicyError(
            f"{source}:{line} schema_version: {version!r} is not a schema number.",
            fix=f"Write `schema_version: {current}` (a whole number, no quotes).",
        )
    if version > current:
        raise PolicyError(
            f"{source}:{line} schema_version: {version} is newer than this"
            f" hmis-licensing reads (up to {current}).",
            fix="Upgrade hmis-licensing: pip install --upgrade hmis-licensing.",
        )
    return version


def check_schema_version(data: Any, source: str, line: int) -> None:
    """Refuse files whose layout this release cannot read (kept for older callers)."""
    migrate(data, {("schema_version",): line}, source)


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))
