"""Validate policy data against the JSON Schema, with messages a policy editor can act on.

Each message has the form `policy.yaml:14 ce_allotment.minimum: -1 is less than the
minimum of 0`, and where it helps a hint follows (the allowed values, the closest known
key for a typo, "write true or false").
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Callable
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
    return [message for message, _ in schema_problems(data, lines, source)]


def schema_problems(data: Any, lines: dict[Path_, int], source: str) -> list[tuple[str, str]]:
    """Every way `data` breaks the schema or the rules between its keys, in file order:
    (the message, what to write there). A fix is "" where the message says it all.

    The rules between keys (`cross_field_problems`) are checked every time: they are a
    comparison or two, and a document recorded as passing the schema alone must not
    skip them."""
    crossed = cross_field_problems(data, lines, source)
    key = document_key(_schema_text(), data)
    if passed_before(key):
        return [(message, fix) for _, message, fix in crossed]
    from jsonschema import (  # type: ignore[import-untyped,unused-ignore]
        Draft202012Validator,
        FormatChecker,
    )

    validator = Draft202012Validator(policy_schema(), format_checker=FormatChecker())
    errors = list(validator.iter_errors(data))
    if not errors:
        record_pass(key)
        return [(message, fix) for _, message, fix in crossed]
    misplaced = _misplaced_keys(errors)
    found: list[tuple[int, str, str]] = list(crossed)
    for error in errors:
        found.extend(_describe(error, lines, source, misplaced, data))
    return [(message, fix) for _, message, fix in sorted(set(found))]


def cross_field_problems(
    data: Any, lines: dict[Path_, int], source: str
) -> list[tuple[int, str, str]]:
    """What JSON Schema cannot say, comparing two keys: (line, message, fix).

    `ce_allotment.minimum` above `ce_allotment.target` is refused, not warned about: §2's
    minimum is what *one* region is designated, the target what the *whole* Balance of
    State shares, so a minimum of 50 with a target of 20 ("500 licenses over 10 regions
    (target 20)") cannot be meant; the schema's description of `minimum` says so. (A
    minimum equal to the target is allowed: a Continuum of one region.)"""
    allotment = data.get("ce_allotment") if isinstance(data, dict) else None
    if not isinstance(allotment, dict):
        return []
    target, minimum = allotment.get("target"), allotment.get("minimum")
    if not isinstance(target, int) or not isinstance(minimum, int):
        return []
    if isinstance(target, bool) or isinstance(minimum, bool) or target < 1 or minimum <= target:
        return []  # a wrong type or a target below 1: the schema's message says it
    line = _line(lines, ("ce_allotment", "minimum"))
    at = lines.get(("ce_allotment", "target"))
    target_at = f", line {at}" if at is not None else ""
    message = (
        f"{source}:{line} ce_allotment.minimum: {minimum} is more than the target of"
        f" {target} (ce_allotment.target{target_at}): one region's minimum cannot be more than"
        f" the whole Balance of State's target; write a number of {target} or less, or raise"
        " the target"
    )
    fix = (
        f'Write a ce_allotment.minimum of {target} or less (2 as adopted: "If the value is'
        ' less than two, the region will be designated two licenses"), or raise'
        " ce_allotment.target."
    )
    return [(line, message, fix)]


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
) -> list[tuple[int, str, str]]:
    path: Path_ = tuple(error.absolute_path)
    where = dotted(path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(_properties(error))
        out: list[tuple[int, str, str]] = []
        for key in instance:
            if key in allowed:
                continue
            key_path = (*path, key)
            line = _line(lines, key_path)
            if misplaced and key_path in misplaced:
                text = _misplaced_message(key_path, misplaced[key_path])
                out.append((line, f"{source}:{line} {dotted(key_path)}: {text}", ""))
                continue
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            out.append(
                (
                    line,
                    f"{source}:{line} {dotted(key_path)}: unknown key{hint}"
                    f" Allowed here: {', '.join(allowed)}.",
                    "",
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
        return [(line, f"{source}:{line} {dotted((*path, missing))}: missing (required).", "")]
    line = _line(lines, path)
    line = lines.get((*path, VALUE_LINE), line) if error.validator == "type" else line
    message, fix = _value_message(error, path, data)
    return [(line, f"{source}:{line} {where}: {message}", fix)]


def _misspelt_as(error: ValidationError, missing: str) -> bool:
    """Whether the object lacking `missing` has an unknown key that is close to it (the
    unknown key's message then says "did you mean" it)."""
    instance = error.instance
    if not isinstance(instance, dict):
        return False
    allowed = set(_properties(error))
    unknown = [str(key) for key in instance if key not in allowed]
    return any(difflib.get_close_matches(key, sorted(allowed), n=1) == [missing] for key in unknown)


def _type_message(error: ValidationError, path: Path_, data: Any) -> tuple[str, str] | None:
    """A value of the wrong kind, in the words of what to write instead: (message, fix)."""
    instance, wanted = error.instance, error.validator_value
    where = dotted(path)
    if wanted in ("integer", "number"):
        return _number_message(error, path, instance, whole=wanted == "integer")
    if wanted == "boolean":
        if isinstance(instance, str) and instance.strip().casefold() in ("true", "false"):
            word = instance.strip().casefold()
            return (
                f"{instance!r} is {word} in quotes, which is text; write {word} without the quotes",
                f"Write {word} without the quotes for {where}: it is true or false.",
            )
        if instance is None:
            return (f"`{_name(path)}` has no value; write true or false", _true_false(where))
        return (f"{instance!r} is not true or false; write true or false", _true_false(where))
    is_date = isinstance(error.schema, dict) and error.schema.get("format") == "date"
    if wanted == "string" and is_date:
        example = _adopted_value(path)
        example = example if isinstance(example, str) else "2025-01-01"
        shown = "it has no value" if instance is None else f"{_shown(instance)} is not a date"
        return (
            f"{shown}; write a date as YYYY-MM-DD, e.g. {example}",
            f"Write {where} as a date, YYYY-MM-DD (year, month, day), e.g. {example}.",
        )
    if wanted == "string":
        if instance is None:
            return (
                f"`{_name(path)}` has no value; write it as text",
                f"Write the text of {where} after the colon.",
            )
        text = _shown(instance)
        return (
            f'{text} is not text; write it in quotes: "{text}"',
            f'Write {where} in quotes, e.g. "{text}".',
        )
    if wanted == "array":
        example = _adopted_value(path)
        if not isinstance(example, list):
            example = _schema_default(path)
        items = ", ".join(str(v) for v in example) if isinstance(example, list) else "A, B"
        shown = f"`{_name(path)}` has no value" if instance is None else f"{_shown(instance)}"
        verb = "" if instance is None else " is not a list"
        return (
            f"{shown}{verb}; write a list in square brackets, e.g. [{items}]",
            f"Write {where} as a list in square brackets, the items separated by commas,"
            f" e.g. [{items}].",
        )
    if wanted == "object" and set(_properties(error)) == _PERIOD_UNITS:
        example = _period_example(path)
        return (
            _period_message(instance),
            f"Write {where} as one of months, weeks or days with a whole number, e.g. `{example}`.",
        )
    if wanted == "object" and isinstance(instance, str):
        return (_section_expected(path, instance, data), "")
    if wanted == "object" and instance is None:
        return (
            f"`{path[-1] if path else ''}` has nothing under it: its keys must be indented"
            " further than it",
            "",
        )
    if wanted == "object":
        keys = ", ".join(_properties(error)) or "its names and values"
        return (
            f"{_shown(instance)} is a single value, but `{_name(path)}` is a section; write"
            f" its keys ({keys}) on the lines below it, indented further",
            f"Write the keys of {where} ({keys}) on the lines below it, each indented further"
            " than it.",
        )
    return None


def _number_message(
    error: ValidationError, path: Path_, instance: object, *, whole: bool
) -> tuple[str, str]:
    """A number written as text, in quotes, with a fraction, or not at all."""
    where = dotted(path)
    kind = "a whole number" if whole else "a number"
    schema = error.schema if isinstance(error.schema, dict) else {}
    low, high = schema.get("minimum"), schema.get("maximum")

    def allowed(n: float) -> bool:
        return (low is None or n >= low) and (high is None or n <= high)

    written: object = instance
    if isinstance(instance, str):
        quoted = _number_in(instance)
        if quoted is not None and (not whole or quoted.is_integer()):
            number = str(int(quoted)) if quoted.is_integer() else str(quoted)
            return (
                f"{instance!r} is a number in quotes, which is text; write {number} without"
                " the quotes",
                f"Write {number} without the quotes for {where}: it is {kind}.",
            )
        written = quoted if quoted is not None else instance
    example = _number_example(path, written, allowed, whole=whole)
    if instance is None:
        head = f"`{_name(path)}` has no value"
    elif whole and isinstance(written, float):
        head = f"{_shown(instance)} is not a whole number"
    else:
        head = f"{_shown(instance)} is not a number"
    return (
        f"{head}; write {kind} such as {example}",
        f"Write {kind} such as {example} for {where}, in digits, without quotes.",
    )


def _number_in(text: str) -> float | None:
    """The number a text is, when it is one written in digits ("20", "6.5"), else None."""
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and any(c.isdigit() for c in text) else None


def _number_example(
    path: Path_, written: object, allowed: Callable[[float], bool], *, whole: bool
) -> str:
    """An example of what to write: the numbers either side of a fraction, the number a
    word names ("twenty"), else the adopted policy's value, the default or the bound."""
    if isinstance(written, float) and math.isfinite(written) and whole:
        options = sorted({n for n in (math.floor(written), math.ceil(written)) if allowed(n)})
        if options:
            return " or ".join(str(n) for n in options)
    if isinstance(written, str):
        named = word_number(written.strip())
        if named is not None and allowed(named):
            return str(named)
    for candidate in (_adopted_value(path), _schema_default(path)):
        number = isinstance(candidate, int | float) and not isinstance(candidate, bool)
        if number and allowed(candidate) and (not whole or float(candidate).is_integer()):
            return str(candidate)
    return next((str(n) for n in (1, 0, 10, 100) if allowed(n)), "1")


def _true_false(where: str) -> str:
    return f"Write true or false for {where}, in small letters, without quotes."


def _name(path: Path_) -> str:
    return str(path[-1]) if path else ""


def _shown(instance: object) -> str:
    """A value as the editor wrote it: text quoted, true/false as in YAML."""
    if isinstance(instance, bool):
        return "true" if instance else "false"
    if instance is None:
        return "nothing"
    return repr(instance) if isinstance(instance, str) else str(instance)


@cache
def _adopted_data() -> Any:
    """The adopted policy's data, for examples of what to write (None if unreadable)."""
    from policy.errors import PolicyError
    from policy.files import adopted_policy_path
    from policy.loader import parse_policy_yaml

    try:
        path = adopted_policy_path()
        return parse_policy_yaml(path.read_bytes(), str(path))[0]
    except (OSError, PolicyError):
        return None


def _adopted_value(path: Path_) -> Any:
    node = _adopted_data()
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _schema_default(path: Path_) -> Any:
    """The schema's default at `path` (or the part at `path` of a default above it)."""
    root = policy_schema()
    node: dict[str, Any] = root
    found: Any = None
    for part in path:
        node = _resolved(node, root)
        sub = node.get("properties", {}).get(part, node.get("additionalProperties"))
        found = found.get(part) if isinstance(found, dict) else None
        if not isinstance(sub, dict):
            return None
        node = sub
        if found is None and "default" in node:
            found = node["default"]
    return found


_PERIOD_UNITS = {"months", "weeks", "days"}


def _period_example(path: Path_) -> str:
    """A period to write at `path`, as the adopted policy (else the default) has it."""
    for value in (_adopted_value(path), _schema_default(path)):
        if isinstance(value, dict) and len(value) == 1:
            ((unit, amount),) = value.items()
            if unit in _PERIOD_UNITS and _is_whole(amount) and amount > 0:
                return f"{{{unit}: {amount}}}"
    return "{months: 6}"


def _is_period_unit(error: ValidationError) -> bool:
    units = policy_schema()["$defs"]["period"]["properties"]
    return any(error.schema is units[unit] for unit in units)


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
    example = number if number is not None and number > 0 else 6
    return (
        f"{shown} is not a period; write one of months, weeks or days with a whole number,"
        f" e.g. `{{months: {example}}}` or `{{days: {example}}}`"
    )


def _value_message(error: ValidationError, path: Path_, data: Any) -> tuple[str, str]:
    """What is wrong with a value, and what to write ("" when the message says it all)."""
    instance = error.instance
    if error.validator == "type":
        return _type_message(error, path, data) or (error.message, "")
    if error.validator == "format" and error.validator_value == "date":
        return (f"{instance!r} is not a real date; write yyyy-mm-dd", "")
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in cast(list[Any], error.validator_value))
        return (f"{instance!r} is not allowed; use one of: {allowed}", "")
    if error.validator == "const":
        return (f"{instance!r} is not supported; it must be {error.validator_value!r}", "")
    if error.validator in ("maxProperties", "minProperties") and set(_properties(error)) == {
        "months",
        "weeks",
        "days",
    }:
        return (f"{instance!r}: give exactly one of months, weeks or days", "")
    if error.validator == "minimum" and _is_period_unit(error):
        # A period of 0 (or less): the rule it sets would apply at once ("inactive after
        # no time without client data"), which no clause means.
        example = _period_example(path[:-1])
        return (
            f"{error.message}; write a length of at least one day, e.g. `{example}`",
            f"Write a length of at least one day for {dotted(path[:-1])}, e.g. `{example}`:"
            " a period of 0 would make its rule apply at once.",
        )
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = error.validator_value
        wanted = {
            "minimum": f"{bound} or more",
            "exclusiveMinimum": f"more than {bound}",
            "maximum": f"{bound} or less",
            "exclusiveMaximum": f"less than {bound}",
        }[str(error.validator)]
        return (f"{error.message}; write a number of {wanted}", "")
    return (error.message, "")
