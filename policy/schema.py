"""Validate policy data against the JSON Schema, with messages a policy editor can act on.

Each message has the form `policy.yaml:14 ce_allotment.minimum: -1 is less than the
minimum of 0`, and where it helps a hint follows (the allowed values, the closest known
key for a typo, "write true or false").
"""

from __future__ import annotations

import copy
import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from policy.loader import Path_, _dotted


@cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema shipped in this package (policy/policy.schema.json)."""
    text = resources.files("policy").joinpath("policy.schema.json").read_text("utf-8")
    return json.loads(text)


def with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of valid policy data with every key it leaves out set to the schema's default.

    The schema is the one home of every default (its `default` keywords, each described),
    so a policy that leaves out `self_pay` gets the amounts the schema documents, and
    nothing in code decides a value on its own.
    """
    schema = policy_schema()
    return _filled(copy.deepcopy(data), schema, schema)


def _resolved(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**root["$defs"][ref.removeprefix("#/$defs/")], **node}
    return node


def _filled(value: Any, node: dict[str, Any], root: dict[str, Any]) -> Any:
    node = _resolved(node, root)
    if not isinstance(value, dict):
        return value
    properties = node.get("properties", {})
    for key, sub in properties.items():
        if key not in value and "default" in sub:
            value[key] = copy.deepcopy(sub["default"])
    for key, item in value.items():
        sub = properties.get(key, node.get("additionalProperties"))
        if isinstance(sub, dict):
            value[key] = _filled(item, sub, root)
    return value


def schema_messages(data: Any, lines: dict[Path_, int], source: str) -> list[str]:
    """Every way `data` breaks the schema, one line each, in file order."""
    validator = Draft202012Validator(policy_schema(), format_checker=FormatChecker())
    found: list[tuple[int, str]] = []
    for error in validator.iter_errors(data):
        found.extend(_describe(error, lines, source))
    return [message for _, message in sorted(set(found))]


def _line(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _describe(
    error: ValidationError, lines: dict[Path_, int], source: str
) -> list[tuple[int, str]]:
    path: Path_ = tuple(error.absolute_path)
    where = _dotted(path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(error.schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            key_path = (*path, key)
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(
                (
                    _line(lines, key_path),
                    f"{source}:{_line(lines, key_path)} {_dotted(key_path)}: unknown key"
                    f"{hint} Allowed here: {', '.join(allowed)}.",
                )
            )
        return out
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        line = _line(lines, path)
        return [(line, f"{source}:{line} {_dotted((*path, missing))}: missing (required).")]
    line = _line(lines, path)
    message = error.message
    if error.validator == "type" and error.validator_value == "boolean":
        message = f"{instance!r} is not true or false; write true or false"
    elif error.validator == "type" and error.validator_value == "string":
        message = f"{instance!r} is not text; write it in quotes"
    elif error.validator == "format" and error.validator_value == "date":
        message = f"{instance!r} is not a real date; write yyyy-mm-dd"
    elif error.validator == "enum":
        message = f"{instance!r} is not allowed; use one of: " + ", ".join(
            str(v) for v in error.validator_value
        )
    elif error.validator == "const":
        message = f"{instance!r} is not supported; it must be {error.validator_value!r}"
    elif error.validator in ("maxProperties", "minProperties") and set(
        error.schema.get("properties", {})
    ) == {"months", "weeks", "days"}:
        message = f"{instance!r}: give exactly one of months, weeks or days"
    return [(line, f"{source}:{line} {where}: {message}")]
