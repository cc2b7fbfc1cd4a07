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
from typing import TYPE_CHECKING, Any, cast

from engine.dates import word_number
from policy.keypaths import VALUE_LINE, Path_, dotted
from policy.validated import document_key, passed_before, record_pass

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped,unused-ignore]


@cache
def _schema_text() -> str:
    return resources.files("policy").joinpath("policy.schema.json").read_text("utf-8")


@cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema shipped in this package (policy/policy.schema.json)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


def with_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of valid policy data with every key it leaves out set to the schema's default.

    The schema is the one home of every default (its `default` keywords, each described),
    so a policy that leaves out `self_pay` gets the amounts the schema documents, and
    nothing in code decides a value on its own.
    """
    schema = policy_schema()
    filled: dict[str, Any] = _filled(copy.deepcopy(data), schema, schema)
    return filled


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
    """Every way `data` breaks the schema, one line each, in file order.

    A document that passed before is not checked again (policy/validated.py)."""
    key = document_key(_schema_text(), data)
    if passed_before(key):
        return []
    from jsonschema import (  # type: ignore[import-untyped,unused-ignore]
        Draft202012Validator,
        FormatChecker,
    )

    validator = Draft202012Validator(policy_schema(), format_checker=FormatChecker())
    errors = list(validator.iter_errors(data))
    if not errors:
        record_pass(key)
        return []
    misplaced = _misplaced_keys(errors)
    found: list[tuple[int, str]] = []
    for error in errors:
        found.extend(_describe(error, lines, source, misplaced, data))
    return [message for _, message in sorted(set(found))]


ANY_NAME = "*"  # in a declared path: any name (a license type, a fee)


@cache
def _declared_paths() -> dict[str, tuple[Path_, ...]]:
    """Where each named section key of the schema belongs, e.g. minimum -> ce_allotment."""
    found: dict[str, list[Path_]] = {}

    def walk(node: dict[str, Any], prefix: Path_) -> None:
        for key, sub in node.get("properties", {}).items():
            found.setdefault(key, []).append((*prefix, key))
            walk(sub, (*prefix, key))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):  # e.g. every license type: license_types.*.description
            walk(extra, (*prefix, ANY_NAME))

    walk(policy_schema(), ())
    return {key: tuple(paths) for key, paths in found.items()}


def _misplaced_keys(errors: list[ValidationError]) -> dict[Path_, Path_]:
    """Unknown keys that the schema knows elsewhere: a key indented too far or too little.

    Maps where the key was found to where it belongs (preferring a place where that key
    is reported missing, which is what an indentation slip produces).
    """
    missing: set[Path_] = set()
    unknown: list[Path_] = []
    for error in errors:
        path: Path_ = tuple(error.absolute_path)
        if error.validator == "required" and "'" in error.message:
            missing.add((*path, error.message.split("'")[1]))
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = _properties(error)
            unknown.extend((*path, key) for key in error.instance if key not in allowed)
    misplaced = {}
    for found in unknown:
        places = [
            p for p in _declared_paths().get(str(found[-1]), ()) if p != found and ANY_NAME not in p
        ]
        belongs = next((p for p in places if p in missing), None)
        if belongs is None and len(places) == 1:
            belongs = places[0]
        if belongs is not None:
            misplaced[found] = belongs
    return misplaced


def _misplaced_message(found: Path_, belongs: Path_) -> str:
    key = found[-1]
    home = f"inside `{dotted(belongs[:-1])}`" if belongs[:-1] else "at the top level"
    now = f"inside `{dotted(found[:-1])}`" if found[:-1] else "at the top level"
    if len(belongs) < len(found):
        how = "it is indented too far"
    elif len(belongs) > len(found):
        how = "it is indented too little"
    else:
        how = "it is under the wrong section"
    like = (
        f"indent it like the other keys of `{dotted(belongs[:-1])}`"
        if belongs[:-1]
        else "start it at the beginning of the line, like the other top-level keys"
    )
    return f"`{key}` belongs {home}, not {now}: {how}. Move it there and {like}."


def _section_expected(path: Path_, text: str, data: Any) -> str:
    """Text where a section belongs: a key dedented out of the section above, or a lost colon."""
    key = path[-1] if path else ""
    parent = data
    for part in path[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    siblings = list(parent) if isinstance(parent, dict) else []
    above = siblings[siblings.index(key) - 1] if key in siblings[1:] else None
    declared = _declared_paths().get(str(key), ())
    if above is not None and (*path[:-1], ANY_NAME, key) in declared:
        return (
            f"`{key}` belongs inside `{above}` (the section above it): it is indented too"
            f" little. Indent it like the other keys of `{above}`"
        )
    elsewhere = [p for p in declared if ANY_NAME not in p and p != path]
    if len(elsewhere) == 1:
        return _misplaced_message(path, elsewhere[0])
    words = text.rsplit(" ", 1)
    example = f"`{words[0]}: {words[1]}`" if len(words) == 2 else "`key: value`"
    return f"{text!r} is text where keys and values belong: a colon is missing; write {example}"


def _properties(error: ValidationError) -> dict[str, Any]:
    """The `properties` of the schema part an error is about (empty when it has none)."""
    schema = error.schema
    return schema.get("properties", {}) if isinstance(schema, dict) else {}


def _line(lines: dict[Path_, int], path: Path_) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _describe(
    error: ValidationError,
    lines: dict[Path_, int],
    source: str,
    misplaced: dict[Path_, Path_] | None = None,
    data: Any = None,
) -> list[tuple[int, str]]:
    path: Path_ = tuple(error.absolute_path)
    where = dotted(path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(_properties(error))
        out = []
        for key in instance:
            if key in allowed:
                continue
            key_path = (*path, key)
            line = _line(lines, key_path)
            if misplaced and key_path in misplaced:
                text = _misplaced_message(key_path, misplaced[key_path])
                out.append((line, f"{source}:{line} {dotted(key_path)}: {text}"))
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            out.append(
                (
                    line,
                    f"{source}:{line} {dotted(key_path)}: unknown key{hint}"
                    f" Allowed here: {', '.join(allowed)}.",
                )
            )
        return out
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        if misplaced and (*path, missing) in misplaced.values():
            return []  # said where it is, with the key found in the wrong place
        if _misspelt_as(error, missing):
            return []  # the unknown key's "did you mean" names it: one problem, not two
        line = _line(lines, path)
        return [(line, f"{source}:{line} {dotted((*path, missing))}: missing (required).")]
    line = _line(lines, path)
    line = lines.get((*path, VALUE_LINE), line) if error.validator == "type" else line
    return [(line, f"{source}:{line} {where}: {_value_message(error, path, data)}")]


def _misspelt_as(error: ValidationError, missing: str) -> bool:
    """Whether the object lacking `missing` has an unknown key that is close to it (the
    unknown key's message then says "did you mean" it)."""
    instance = error.instance
    if not isinstance(instance, dict):
        return False
    allowed = set(_properties(error))
    unknown = [str(key) for key in instance if key not in allowed]
    return any(difflib.get_close_matches(key, sorted(allowed), n=1) == [missing] for key in unknown)


def _type_message(error: ValidationError, path: Path_, data: Any) -> str | None:
    """A value of the wrong kind, in the words of what to write instead."""
    instance, wanted = error.instance, error.validator_value
    if wanted == "boolean":
        return f"{instance!r} is not true or false; write true or false"
    if wanted == "string":
        return f"{instance!r} is not text; write it in quotes"
    if wanted == "object" and set(_properties(error)) == _PERIOD_UNITS:
        return _period_message(instance)
    if wanted == "object" and isinstance(instance, str):
        return _section_expected(path, instance, data)
    if wanted == "object" and instance is None:
        return (
            f"`{path[-1] if path else ''}` has nothing under it: its keys must be indented"
            " further than it"
        )
    return None


_PERIOD_UNITS = {"months", "weeks", "days"}


def _period_message(instance: object) -> str:
    """A period written as a plain value (`30 days`, `six months`, `30`): the form it takes."""
    words = str(instance).replace(",", " ").split() if instance is not None else []
    number = next(
        (n for w in words if (n := int(w) if w.isdigit() else word_number(w)) is not None),
        None,
    )
    unit = next(
        (u for w in words for u in sorted(_PERIOD_UNITS) if w.casefold() in (u, u[:-1])), None
    )
    shown = f"{instance!r}" if isinstance(instance, str) else str(instance)
    if number is not None and unit is not None:
        return f"{shown} is a period written as text; write `{{{unit}: {number}}}`"
    example = number if number is not None else 6
    return (
        f"{shown} is not a period; write one of months, weeks or days with a whole number,"
        f" e.g. `{{months: {example}}}` or `{{days: {example}}}`"
    )


def _value_message(error: ValidationError, path: Path_, data: Any) -> str:
    instance = error.instance
    if error.validator == "type":
        return _type_message(error, path, data) or error.message
    if error.validator == "format" and error.validator_value == "date":
        return f"{instance!r} is not a real date; write yyyy-mm-dd"
    if error.validator == "enum":
        return f"{instance!r} is not allowed; use one of: " + ", ".join(
            str(v) for v in cast(list[Any], error.validator_value)
        )
    if error.validator == "const":
        return f"{instance!r} is not supported; it must be {error.validator_value!r}"
    if error.validator in ("maxProperties", "minProperties") and set(_properties(error)) == {
        "months",
        "weeks",
        "days",
    }:
        return f"{instance!r}: give exactly one of months, weeks or days"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = error.validator_value
        wanted = {
            "minimum": f"{bound} or more",
            "exclusiveMinimum": f"more than {bound}",
            "maximum": f"{bound} or less",
            "exclusiveMaximum": f"less than {bound}",
        }[str(error.validator)]
        return f"{error.message}; write a number of {wanted}"
    return error.message
