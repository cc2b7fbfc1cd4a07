"""Loading and validating policy.yaml into the engine's typed `Policy`.

    policy = load_policy("policy.yaml")        # PolicyError names file, line and key

`load_policy_bytes` does the same for text that did not come from a file (a Policy sheet
in xlwings Lite, a test). The JSON Schema is `policy/policy.schema.json`; the adopted
MO BoS policy ships with the package (`adopted_policy_path()`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.dates import Period
from engine.model import (
    AllotmentRules,
    InactivityExceptions,
    InactivityRules,
    LicenseTypeRule,
    Policy,
)
from policy.errors import PolicyError
from policy.files import adopted_policy_path, read_policy_file
from policy.loader import parse_policy_yaml
from policy.schema import policy_schema, schema_problems, with_defaults
from policy.validated import file_key, record_document, recorded_document
from policy.versions import CURRENT_SCHEMA_VERSION, migrate

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "adopted_policy_path",
    "load_policy",
    "load_policy_bytes",
    "lookup",
    "policy_schema",
]


def load_policy(path: str | Path, *, from_workbook: bool = False) -> Policy:
    """Read, check and type a policy file; PolicyError says what is wrong and where.

    Only a regular file is read, at most 1 MB of it; `from_workbook` (the path is a
    workbook's Settings cell) refuses a path on another computer (policy/files.py).
    """
    path = Path(path)
    data = read_policy_file(path, from_workbook=from_workbook)
    return load_policy_bytes(data, source=str(path))


def load_policy_bytes(data: bytes, source: str = "policy.yaml") -> Policy:
    """The same as `load_policy`, for policy text that is already in memory.

    A file that passed before is not parsed or checked again (policy/validated.py)."""
    sha256 = hashlib.sha256(data).hexdigest()
    key = file_key(data)
    recorded = recorded_document(key)
    if recorded is not None:
        try:
            return _build(with_defaults(recorded), source, sha256)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # a damaged record: the file is read and checked as if unrecorded
    parsed, parsed_lines = parse_policy_yaml(data, source)
    migrated = migrate(parsed, parsed_lines, source)  # an older schema_version is brought up
    raw, lines = migrated.data, migrated.lines
    problems = schema_problems(raw, lines, source)
    if problems:
        messages = [message for message, _ in problems]
        count = "1 problem" if len(messages) == 1 else f"{len(messages)} problems"
        # One problem: its own fix, what to write there. Several: each line says it.
        own = problems[0][1] if len(problems) == 1 else ""
        raise PolicyError(
            f"{source}: {count}: " + messages[0],
            details=[f"{source} does not follow the policy schema ({count}):", *messages],
            fix=f"{own} The key is described in policy/policy.schema.json."
            if own
            else "Correct the values named above; each key is described in"
            " policy/policy.schema.json.",
        )
    record_document(key, raw)
    return _build(with_defaults(raw), source, sha256)


def _period(value: dict[str, int]) -> Period:
    return Period(
        months=value.get("months", 0),
        weeks=value.get("weeks", 0),
        days=value.get("days", 0),
    )


def _money(fees: dict[str, Any]) -> dict[str, Decimal]:
    return {name: Decimal(str(amount)) for name, amount in fees.items()}


def _build(raw: dict[str, Any], source: str, sha256: str) -> Policy:
    """The typed policy from validated data whose defaults the schema has filled in."""
    inactivity = raw["inactivity"]
    exceptions = inactivity["exceptions"]
    allotment = raw["ce_allotment"]
    appeals = raw["appeals"]
    review = raw["review"]
    return Policy(
        name=raw["policy"]["name"],
        version=raw["policy"]["version"],
        effective_date=dt.date.fromisoformat(raw["policy"]["effective_date"]),
        inactivity=InactivityRules(
            client_data_window=_period(inactivity["client_data_window"]),
            first_sign_in_window=_period(inactivity["first_sign_in_window"]),
            exceptions=InactivityExceptions(
                sole_license=exceptions["sole_license"],
                level4_list_holder=exceptions["level4_list_holder"],
                special_request=exceptions["special_request"],
            ),
            special_request_reasons=tuple(inactivity["special_request_reasons"]),
            late_first_sign_in_revocable=inactivity["late_first_sign_in_revocable"],
        ),
        ce_allotment=AllotmentRules(
            target=allotment["target"],
            minimum=allotment["minimum"],
            rounding=allotment["rounding"],
            method=allotment["method"],
        ),
        license_types={
            name: LicenseTypeRule(
                name=name,
                counts_against_ce_allotment=rule["counts_against_ce_allotment"],
                inactivity_policy_applies=rule["inactivity_policy_applies"],
                description=rule.get("description", ""),
            )
            for name, rule in raw["license_types"].items()
        },
        committees=dict(raw["committees"]),
        appeal_routing=dict(appeals["routing"]),
        appeal_response_period=_period(appeals["response_period"]),
        reason_aliases=dict(appeals["reason_aliases"]),
        under_utilized_at_most=raw["reassignment"]["under_utilized_at_most"],
        review_every=_period(review["every"]),
        open_ended_exceptions_after=_period(review["open_ended_exceptions_after"]),
        one_time_fees=_money(raw["self_pay"]["one_time_fees"]),
        annual_fees=_money(raw["self_pay"]["annual_fees"]),
        new_licenses_under_utilized=raw["reassignment"]["new_licenses_under_utilized"],
        source=source,
        sha256=sha256,
        raw=raw,
    )


def lookup(policy: Policy, key: str) -> Any:
    """The value at a dotted key path, e.g. `ce_allotment.target`; KeyError names the key."""
    node: Any = policy.raw
    walked: list[str] = []
    for part in key.split("."):
        walked.append(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(f"{'.'.join(walked)} is not a key of the policy")
    return node
