"""The strict YAML reading behind `policy.loader.parse_policy_yaml` (see there)."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

from policy.errors import PolicyError
from policy.keypaths import VALUE_LINE, Path_, dotted
from policy.yamlerrors import explain as explain_yaml_error
from policy.yamlerrors import show_line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without timestamps, YAML 1.1 yes/no booleans, or aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(
                event.start_mark,
                "anchors and aliases (& and *) are not allowed in a policy file",
                "write each value out in full",
            )
        return super().compose_node(parent, index)


_StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _Refused(Exception):
    def __init__(self, mark: Any, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.mark = mark
        self.problem = problem
        self.fix = fix


def parse_text(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """The YAML document as plain Python data, and the line number of every key path."""
    try:
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _control_character(exc, text, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise PolicyError(
                f"{source}: the file is empty.",
                fix="Start from the policy.yaml shipped with hmis-licensing.",
            )
        lines: dict[Path_, int] = {}
        value = _to_python(loader, node, (), lines, source)
    except _Refused as exc:
        shown = show_line(text, source, exc.mark.line + 1, exc.mark.column, exc.problem)
        raise PolicyError(shown, fix=exc.fix) from None
    except yaml.MarkedYAMLError as exc:
        message, fix = explain_yaml_error(exc, text, source)
        raise PolicyError(message, fix=fix) from None
    except yaml.reader.ReaderError as exc:
        raise _control_character(exc, text, source) from None
    except RecursionError:
        raise PolicyError(
            f"{source}: the file is nested too deeply to be a policy.",
            fix="Start from the policy.yaml shipped with hmis-licensing.",
        ) from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}.") from None
    finally:
        loader.dispose()
    return value, lines


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)


def _control_character(exc: yaml.reader.ReaderError, text: str, source: str) -> PolicyError:
    line = text[: exc.position].count("\n") + 1
    return PolicyError(
        f"{source}:{line}: the file contains a control character (code {exc.character}).",
        fix="Delete the invisible character on that line, or retype the line.",
    )


def _to_python(
    loader: _StrictLoader, node: Any, path: Path_, lines: dict[Path_, int], source: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if node.tag not in _PLAIN_TAGS:  # e.g. !!python/object: never data, often an attack
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise _Refused(
            node.start_mark,
            f"the YAML tag {shown} is not allowed in a policy file",
            "delete the tag (the word starting with !)",
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(
                    key_node.start_mark, "a key must be plain text", "write the key as text"
                )
            key = str(loader.construct_object(key_node))
            if key in result:
                first = lines[(*path, key)]
                _refuse_empty_key_above(node, key_node, first, path)
                raise _Refused(
                    key_node.start_mark,
                    f"{dotted((*path, key))} is written twice (first on line {first})",
                    "keep one of the two and delete the other",
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _to_python(loader, value_node, (*path, key), lines, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(loader, item, (*path, i), lines, source) for i, item in enumerate(node.value)
        ]
    try:
        value = loader.construct_object(node)
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise _Refused(
            node.start_mark,
            f"{dotted(path)}: the number is far longer than any policy value",
            "write the number the policy means (a few digits)",
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(node.start_mark, f"{value} is not a usable number", "write a number")
    if node.start_mark.line + 1 != lines[path]:  # a value on a line of its own
        lines[(*path, VALUE_LINE)] = node.start_mark.line + 1
    return value


def _refuse_empty_key_above(node: Any, repeated: Any, first: int, path: Path_) -> None:
    """A key written twice right after a key with no value: that key is over-indented.

    `Housing Project:` indented like the keys of `CE Access Only` becomes one of them, with
    no value, and the keys meant for it repeat CE Access Only's; say that, on its line.
    """
    empty = [
        key
        for key, value in node.value
        if first <= key.start_mark.line + 1 < repeated.start_mark.line + 1
        and isinstance(value, yaml.ScalarNode)
        and value.tag.endswith(":null")
        and value.value == ""
    ]
    if empty and path:
        key = empty[-1]
        raise _Refused(
            key.start_mark,
            f"`{key.value}` is indented more than the keys above it, so it is read as a key"
            f" of `{path[-1]}` with no value, and the keys below it repeat those of"
            f" `{path[-1]}`",
            f"indent `{key.value}` like `{path[-1]}`, so that the keys below belong to it",
        )
