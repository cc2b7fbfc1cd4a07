"""Which layouts of policy.yaml this release reads, and how an older one is brought up to date.

`schema_version` names the layout of the file (its keys), not the policy's own version
(`policy.version`, which editors raise whenever a value changes). A file written for a
newer hmis-licensing is refused with a message rather than half-read.
"""

from __future__ import annotations

from typing import Any

from policy.errors import PolicyError

CURRENT_SCHEMA_VERSION = 1
SUPPORTED_SCHEMA_VERSIONS = (1,)


def check_schema_version(data: Any, source: str, line: int) -> None:
    """Refuse files whose layout this release does not know."""
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
            fix=f"Add `schema_version: {CURRENT_SCHEMA_VERSION}` as the first line.",
        )
    newer = isinstance(version, int) and not isinstance(version, bool)
    if newer and version > CURRENT_SCHEMA_VERSION:
        raise PolicyError(
            f"{source}:{line} schema_version: {version} is newer than this"
            f" hmis-licensing reads (up to {CURRENT_SCHEMA_VERSION}).",
            fix="Upgrade hmis-licensing: pip install --upgrade hmis-licensing.",
        )
