"""YAML mistakes explained for the person who made them, at the line where they are.

PyYAML reports what its parser expected ("expected <block end>, but found '<block
mapping start>'") at the place it gave up, which for an indentation mistake is often the
line *after* the mistake. When a file does not parse, the lines up to that place are read
again here, the way a person reads them (keys, their indentation, brackets and quotes),
and the first line that breaks the pattern is shown with a caret and a plain sentence:

    policy.yaml:49: `minimum` is indented more than the keys above it.
       48 |   target: 20
       49 |     minimum: 2
          |     ^
      How to fix: ...

Only the failing file's own text is inspected; nothing here decides what is valid YAML
(PyYAML does), so a file that parses is never refused by these heuristics.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

_KEY = re.compile(
    r"""^(?:-\s+)?(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\[\]{},:-][^#]*?|-\S[^#]*?)"""
    r"""\s*:(?:\s|$)"""
)
_WORD_THEN_VALUE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s+(?P<value>\S.*)$")
_GLUED = re.compile(r"^(?P<key>[A-Za-z_][\w -]*?):(?P<value>[^\s:].*)$")
_CONTEXT_LINES = 2


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One mistake: where it is (1-based line, 0-based column), what it is, what fixes it."""

    line: int
    column: int
    sentence: str
    fix: str
    related: int | None = None  # another line the sentence names, shown too


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    indent: int
    body: str  # without indentation or a trailing comment
    key: str | None
    item: bool  # a list item ("- ...")
    opens: bool  # "key:" with nothing after it: a nested block follows
    comment_indent: int | None = None  # indentation of the comment right above, if any

    @property
    def name(self) -> str:
        return f"`{self.key}`" if self.key else f"`{self.body}`"


@dataclass(frozen=True, slots=True)
class _Scan:
    content: str  # the line without its comment
    depth: int  # open [ and { at the end of the line
    open_bracket: int | None  # column of the outermost bracket left open
    open_quote: int | None  # column of a quoted value left open


def _scan(text: str, depth: int = 0) -> _Scan:
    """Brackets, quotes and the comment of one line, as YAML reads them."""
    quote: str | None = None
    quote_at: int | None = None
    stack: list[int] = []
    value_start = True  # a quote only opens a string at the start of a value
    end = len(text)
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if quote == '"' and ch == "\\":
                i += 2
                continue
            if ch == quote:
                if quote == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                quote, quote_at = None, None
            i += 1
            continue
        if ch == "#" and (i == 0 or text[i - 1] in " \t"):
            end = i
            break
        if ch in "\"'" and value_start:
            quote, quote_at = ch, i
        elif ch in "[{":
            stack.append(i)
        elif ch in "]}" and stack:
            stack.pop()
        if (ch in ":-," and text[i + 1 : i + 2] in ("", " ", "\t")) or ch in "[{,":
            value_start = True
        elif ch not in " \t":
            value_start = False
        i += 1
    depth += len(stack)
    return _Scan(
        text[:end].rstrip(), depth, stack[0] if stack else None, quote_at if quote else None
    )


def _parse_line(number: int, raw: str) -> tuple[list[_Line], _Scan]:
    """One line as the walker sees it. `- name: x` is two: the dash of a list item, which
    opens a block, and the key `name` two columns in, where the item's other keys line up."""
    scan = _scan(raw)
    content = scan.content
    indent = len(content) - len(content.lstrip(" "))
    body = content[indent:]
    match = _KEY.match(body)
    key = match.group("key").strip("\"'") if match else None
    opens = match is not None and body[match.end() :].strip() == ""
    item = body.startswith(("- ", "-\t")) or body == "-"
    if item and key is not None:
        inner = body[1:].lstrip(" \t")
        column = indent + len(body) - len(inner)
        return [
            _Line(number, indent, "-", None, True, True),
            _Line(number, column, inner, key, False, opens),
        ], scan
    return [_Line(number, indent, body, key, item, opens)], scan


def _indent_step(lines: list[_Line]) -> int:
    """How far this file indents a nested block (usually 2)."""
    steps: Counter[int] = Counter()
    for parent, child in itertools.pairwise(lines):
        if parent.opens and child.indent > parent.indent:
            steps[child.indent - parent.indent] += 1
    return steps.most_common(1)[0][0] if steps else 2


def diagnose(text: str, upto: int, top_level: frozenset[str] = frozenset()) -> Diagnosis | None:
    """The first line, up to line `upto`, that breaks the file's own pattern."""
    significant: list[_Line] = []
    stop: Diagnosis | None = None  # a tab, or a bracket or quote left open: read no further
    comment: int | None = None  # the indentation of the comment lines just read
    for number, raw in enumerate(text.split("\n"), start=1):
        lead = raw[: len(raw) - len(raw.lstrip(" \t"))]
        if "\t" in lead and raw.strip() and stop is None and number <= upto:
            stop = Diagnosis(
                number,
                lead.index("\t"),
                "this line is indented with a tab; YAML indentation must be spaces",
                "Replace the tab with spaces (two for each level), and set your editor to"
                " insert spaces for the Tab key.",
            )
        if stop is not None and number >= stop.line:
            break
        if not raw.strip() or raw.lstrip().startswith("#"):
            blank = not raw.strip()
            comment = None if blank else len(raw) - len(raw.lstrip(" "))
            continue
        parsed, scan = _parse_line(number, raw)
        parsed[-1] = replace(parsed[-1], comment_indent=comment)
        comment = None
        significant += parsed
        if number <= upto and scan.open_quote is not None:
            stop = _open_quote(number, raw, scan.open_quote)
        elif number <= upto and scan.open_bracket is not None:
            stop = _open_bracket(number, raw, scan.open_bracket)
    step = _indent_step(significant)  # from the whole file: the mistake is one line of many
    limit = min(upto, stop.line) if stop else upto
    return _walk(significant, limit, step, top_level) or stop


def _walk(
    lines: list[_Line], limit: int, step: int, top_level: frozenset[str] = frozenset()
) -> Diagnosis | None:
    """Follow the blocks line by line, up to line `limit`; the lines after are only peeked at.

    `top_level` names the keys that belong at the left edge (the policy schema's), which
    settles the one shape indentation alone cannot: a section name dedented to the edge
    looks like a top-level key whose first keys were indented a step too far.
    """
    walker = _Walker(lines, step, top_level)
    for index, line in enumerate(lines):
        if line.number > limit:
            break
        found = walker.take(index, line)
        if found is not None:
            return found
    return None


@dataclass
class _Walker:
    """The open blocks while reading a file's lines in order, and what each line did."""

    lines: list[_Line]
    step: int
    top_level: frozenset[str]
    blocks: list[_Line] = field(default_factory=list)  # the first line of each open block
    suspects: dict[int, _Line] = field(default_factory=dict)  # a block's first line, no colon
    previous: _Line | None = None
    closed_at: dict[int, _Line] = field(default_factory=dict)  # line -> block its dedent closed
    childless: dict[int, _Line] = field(default_factory=dict)  # line -> opener it did not enter

    def take(self, index: int, line: _Line) -> Diagnosis | None:
        previous = self.previous
        if previous is None:
            self._open(line)
        elif line.indent > self.blocks[-1].indent:
            if previous.opens or (previous.item and previous.indent == self.blocks[-1].indent):
                self._open(line)
            elif line.key is None:
                return None  # a long value carried onto the next line
            else:
                return self._deeper(line, previous)
        elif line.indent < self.blocks[-1].indent:
            found = self._shallower(line, previous)
            if found is not None:
                return found
        if previous is not None and previous.opens and line.indent <= previous.indent:
            self.childless[line.number] = previous
        found = self._colon(index, line)
        self.previous = line
        return found

    def _open(self, line: _Line) -> None:
        self.blocks.append(line)
        if line.key is None and not line.item:
            self.suspects[line.indent] = line

    def _deeper(self, line: _Line, previous: _Line) -> Diagnosis:
        """A key indented past the block it is in, not after a line that opens one."""
        if previous.key is None and not previous.item:
            return _missing_colon(previous, opens=True)
        closed = self.closed_at.get(previous.number)
        if closed is not None and closed.indent == line.indent:
            # Its own comment, left where it was, says which of the two lines moved.
            if line.comment_indent == previous.indent and previous.comment_indent in (
                None,
                previous.indent,
            ):
                return _over_indented(line, previous, self.blocks[-1])
            return _under_between(previous, closed, line)
        outer = self.childless.get(previous.number)
        if outer is not None and line.indent > outer.indent:
            return _under_first(previous, outer, line)
        block = self.blocks[-1]
        return _odd_one(self.lines, block, line, self.step) or _over_indented(line, previous, block)

    def _shallower(self, line: _Line, previous: _Line | None) -> Diagnosis | None:
        """A dedent: it must return to the level of a block that is open."""
        popped = self.blocks[-1]
        while self.blocks and self.blocks[-1].indent > line.indent:
            popped = self.blocks.pop()
        if self.blocks and self.blocks[-1].indent == line.indent:
            self.closed_at[line.number] = popped
            return None
        opener = _parent(self.lines, popped)
        found = self._dedented_section(line, previous, popped, opener)
        if found is not None:
            return found
        if popped.opens and previous is popped and opener and line.indent > opener.indent:
            return _over_opener(popped, line, opener, self.step)
        shallower = self.blocks[-1] if self.blocks else None
        return (
            (shallower and _odd_one(self.lines, shallower, line, self.step))
            or _odd_one(self.lines, popped, line, self.step)
            or _misaligned(line, popped, opener)
        )

    def _dedented_section(
        self, line: _Line, previous: _Line | None, popped: _Line, opener: _Line | None
    ) -> Diagnosis | None:
        """A section name dedented: its keys line up with each other, and the line after
        them returns to the level the section name should have kept."""
        if opener is None:
            return None
        outer = self.childless.get(opener.number)
        if outer is not None and line.indent > outer.indent:
            return _under_first(opener, outer, line)
        before = self.closed_at.get(opener.number)
        agreeing = previous is not None and previous is not popped
        known = opener.indent == 0 and opener.key in self.top_level
        if before is not None and agreeing and not known and before.indent == line.indent:
            return _under_between(opener, before, line)
        return None

    def _colon(self, index: int, line: _Line) -> Diagnosis | None:
        """A line without a colon among keys: the colon was forgotten."""
        if line.key is not None and not line.item:
            suspect = self.suspects.pop(line.indent, None)
            if suspect is not None and suspect.number < line.number:
                return _missing_colon(suspect, opens=_indented_next(self.lines, index, suspect))
        if line.key is None and not line.item and self.blocks[-1].key is not None:
            return _missing_colon(line, opens=_indented_next(self.lines, index, line))
        return None


def _indented_next(lines: list[_Line], index: int, line: _Line) -> bool:
    """Is the line after `line` indented more (so `line` was meant to open a section)?"""
    position = lines.index(line, 0, index + 1)
    following = lines[position + 1] if position + 1 < len(lines) else None
    return following is not None and following.indent > line.indent


def _over_opener(opener: _Line, line: _Line, parent: _Line, step: int) -> Diagnosis:
    """A section name indented past the keys meant to be inside it."""
    return Diagnosis(
        opener.number,
        opener.indent,
        f"{opener.name} is indented more than the keys below it ({line.name} on line"
        f" {line.number} has {_spaces(line.indent)}), so they are not inside it",
        f"{_indent_to(opener, parent.indent + step)}, one step inside {parent.name}, and the"
        " keys below it further in.",
        related=line.number,
    )


def _under_first(line: _Line, opener: _Line, after: _Line) -> Diagnosis:
    """The first key of a section dedented to the section's own level."""
    return Diagnosis(
        line.number,
        line.indent,
        f"{line.name} is indented less than {after.name} on line {after.number}"
        f" ({_spaces(after.indent)}), so it is not inside {opener.name} (line {opener.number})",
        f"{_indent_to(line, after.indent)}, like {after.name}.",
        related=after.number,
    )


def _open_quote(number: int, raw: str, column: int) -> Diagnosis:
    quote = raw[column]
    return Diagnosis(
        number,
        column,
        f"the quote {quote} that starts this value is never closed",
        f"Add the closing {quote} at the end of the value, e.g. version: {quote}1.1.0{quote}.",
    )


def _open_bracket(number: int, raw: str, column: int) -> Diagnosis:
    bracket = raw[column]
    closing = "}" if bracket == "{" else "]"
    return Diagnosis(
        number,
        column,
        f"the {bracket} opened here is never closed with {closing}",
        f"End the value with {closing} on the same line, e.g. {{months: 6}} or"
        " [Inactivity revocation, Special request].",
    )


def _parent(lines: list[_Line], child: _Line) -> _Line | None:
    """The line that opened the block `child` starts."""
    position = next(i for i, c in enumerate(lines) if c is child)
    before = [c for c in lines[:position] if c.indent < child.indent]
    return before[-1] if before else None


def _odd_one(lines: list[_Line], first: _Line, line: _Line, step: int) -> Diagnosis | None:
    """When a block's first key is off the file's grid and `line` is on it, blame the first."""
    parent = _parent(lines, first)
    expected = parent.indent + step if parent else 0
    if first is line or first.indent == expected or line.indent != expected:
        return None
    where = f"the other keys of {parent.name}" if parent else "the other top-level keys"
    more = "more" if first.indent > expected else "less"
    return Diagnosis(
        first.number,
        first.indent,
        f"{first.name} is indented {more} than {where} ({_spaces(first.indent)};"
        f" {line.name} on line {line.number} has {_spaces(line.indent)})",
        f"{_indent_to(first, line.indent)}, like {line.name}: the keys of one section must"
        " line up.",
        related=line.number,
    )


def _under_between(line: _Line, before: _Line, after: _Line) -> Diagnosis:
    """A key dedented below its neighbours, which line up with each other."""
    return Diagnosis(
        line.number,
        line.indent,
        f"{line.name} is indented less than the keys around it ({before.name} on line"
        f" {before.number} and {after.name} on line {after.number} have"
        f" {_spaces(after.indent)})",
        f"{_indent_to(line, after.indent)}, like {after.name}.",
        related=after.number,
    )


def _over_indented(line: _Line, previous: _Line, block: _Line) -> Diagnosis:
    above = previous if previous.indent == block.indent else block
    return Diagnosis(
        line.number,
        line.indent,
        f"{line.name} is indented more than the keys above it ({above.name} on line"
        f" {above.number} has {_spaces(above.indent)})",
        f"{_indent_to(line, above.indent)}, like {above.name}. If it belongs inside another"
        " section, that section's name must be on the line above it, ending with a colon.",
        related=above.number,
    )


def _misaligned(line: _Line, popped: _Line, parent: _Line | None) -> Diagnosis:
    under = f" and more than {parent.name} (line {parent.number})" if parent else ""
    lineup = f"{_indent_to(line, popped.indent)} to line up with {popped.name}"
    if parent is not None:
        lineup += f", or {_indent_to(None, parent.indent)} to line up with {parent.name}"
    return Diagnosis(
        line.number,
        line.indent,
        f"{line.name} is indented less than {popped.name} above it (line"
        f" {popped.number}){under}, so it lines up with neither",
        f"{lineup}.",
        related=popped.number,
    )


def _missing_colon(line: _Line, *, opens: bool = False) -> Diagnosis:
    if opens:
        return Diagnosis(
            line.number,
            line.indent + len(line.body),
            f"`{line.body}` has no colon after it, so the indented keys below it do not"
            " belong to it",
            f"Write `{line.body}:` with a colon at the end.",
        )
    glued = _GLUED.match(line.body)
    if glued:
        return Diagnosis(
            line.number,
            line.indent + glued.end("key"),
            f"`{line.body}` has no space after its colon, so it is not read as a key",
            f"Put a space after the colon: `{glued['key']}: {glued['value']}` (YAML reads a"
            " colon as the end of a key only when a space follows it).",
        )
    pair = _WORD_THEN_VALUE.match(line.body)
    fix = (
        f"Write `{pair['key']}: {pair['value']}`: a colon and a space after the key."
        if pair
        else "Put a colon and a space after the key, e.g. `target: 20`."
    )
    column = line.indent + (pair.end("key") if pair else len(line.body))
    return Diagnosis(line.number, column, f"`{line.body}` has no colon after its key", fix)


def _indent_to(line: _Line | None, spaces: int) -> str:
    """ "Indent `x` by 2 spaces", or "Start `x` at the beginning of the line"."""
    name = line.name if line is not None else "it"
    if spaces == 0:
        return f"Start {name} at the beginning of the line" if line else "start it at the beginning"
    return f"Indent {name} by {_spaces(spaces)}" if line else f"indent it by {_spaces(spaces)}"


def _spaces(n: int) -> str:
    return "no spaces" if n == 0 else f"{n} space{'s' if n != 1 else ''}"


def explain(exc: Any, text: str, source: str) -> tuple[str, str]:
    """A PyYAML error as (message with the line shown under a caret, how to fix)."""
    problem = str(exc.problem or "")
    context = str(exc.context or "")
    mark = exc.problem_mark or exc.context_mark
    upto = mark.line + 1 if mark is not None else len(text.split("\n"))
    found: Diagnosis | None = None
    if "\\t" in repr(problem) or "'\\t'" in str(exc):
        found = Diagnosis(
            mark.line + 1,
            mark.column,
            "this line has a tab character where YAML allows only spaces",
            "Replace the tab with spaces (two for each level of indentation).",
        )
    elif "quoted scalar" in context and exc.context_mark is not None:
        found = _unclosed_quote(text, exc.context_mark)
    if found is None:
        found = diagnose(text, upto, _top_level_keys())
    if found is None and "flow" in context and exc.context_mark is not None:
        found = _bracket(text, exc.context_mark, mark)
    if found is None and mark is not None:
        found = Diagnosis(mark.line + 1, mark.column, *_plain(problem, context))
    if found is None:
        return f"{source}: not valid YAML ({problem or context}).", "Check the file's punctuation."
    return _shown(found, text, source), found.fix


@cache
def _top_level_keys() -> frozenset[str]:
    """The schema's top-level keys, read here: policy.schema imports the loader, and so this."""
    text = resources.files("policy").joinpath("policy.schema.json").read_text("utf-8")
    return frozenset(json.loads(text).get("properties", {}))


def _unclosed_quote(text: str, mark: Any) -> Diagnosis:
    line = text.split("\n")[mark.line]
    return _open_quote(mark.line + 1, line, mark.column)


def _bracket(text: str, opened: Any, problem: Any) -> Diagnosis:
    line = text.split("\n")[opened.line]
    if _scan(line[opened.column :]).depth:
        return _open_bracket(opened.line + 1, line, opened.column)
    bracket = line[opened.column : opened.column + 1] or "["
    closing = "}" if bracket == "{" else "]"
    where = problem if problem is not None else opened
    return Diagnosis(
        where.line + 1,
        where.column,
        f"inside {bracket} {closing} the values must be separated by commas",
        "Separate the values with a comma and a space, e.g. {months: 6} or [A, B].",
    )


def _plain(problem: str, context: str) -> tuple[str, str]:
    if "mapping values are not allowed" in problem:
        return (
            "a colon here makes a key where YAML expected a value",
            "If this is a key, put it on its own line lined up with the keys of its section;"
            " if it is part of a value, put the value in quotes.",
        )
    if "expected <block end>" in problem or "block" in context:
        return (
            "this line does not line up with the lines above it",
            "Indent it like the other keys of its section (spaces, not tabs).",
        )
    if "could not find expected ':'" in problem:
        return ("a key here has no colon after it", "Put a colon and a space after the key.")
    return (
        f"this cannot be read as YAML ({problem or context})",
        "Check the punctuation on this line and the line above it.",
    )


def show_line(text: str, source: str, line: int, column: int, sentence: str) -> str:
    """`source:line: Sentence.` with the line shown and a caret under `column` (0-based)."""
    return _shown(Diagnosis(line, column, sentence, ""), text, source, capital=False)


def _shown(found: Diagnosis, text: str, source: str, *, capital: bool = True) -> str:
    """The sentence, then the line (and the line it names) with a caret under the place."""
    lines = text.split("\n")
    numbers = set(range(max(1, found.line - _CONTEXT_LINES), found.line + 1))
    if found.related is not None:
        numbers.add(found.related)
    shown = sorted(n for n in numbers if n <= len(lines))
    width = len(str(max(shown))) if shown else 1
    sentence = found.sentence[0].upper() + found.sentence[1:] if capital else found.sentence
    out = [f"{source}:{found.line}: {sentence}."]
    last = 0
    for n in shown:
        if last and n > last + 1:
            out.append(f"  {'.' * width} |")
        out.append(f"  {n:>{width}} | {lines[n - 1].rstrip()}".rstrip())
        if n == found.line:
            caret_at = len(lines[n - 1][: found.column].expandtabs(1))
            out.append(f"  {' ' * width} | {' ' * caret_at}^")
        last = n
    return "\n".join(out)
