"""`hmis-licensing policy test`: policy editors' YAML scenarios, run as the workbook runs.

A scenario file is a YAML list; each scenario gives a name, an as-of date, a few input rows
keyed by the SPEC's column headers (only the columns that matter), optional policy
overrides, and the result cells it expects:

    - name: the policy's worked example
      as_of: 2026-11-24
      input:
        Regions:
          - {Region: Region 1, Population: 596788}
          - {Region: Rest, Population: 2312642}
      output:
        Allotments:
          Region 1: {Allotment: 4}

The rows become a `WorkbookSnapshot` with the headers of `workbook.layout`, and go through
`workbook.run.evaluate` exactly as a workbook's cells do (`read_inputs`, the engine, the
result tables), so a scenario means what the same rows typed into the workbook mean. A
required column a scenario leaves out is filled in with a stated default (`User L-1`,
`Organization A`, ...) and the report says which; an Organizations sheet left out is made
from the organizations the other rows name. Expected values are compared as the sheet
shows them: text without regard to case, numbers to the decimals written (4.1 matches
4.1034), dates as yyyy-mm-dd, `{contains: "..."}` for part of a text, `absent` for a row
that must not be there.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import difflib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from engine.dates import add_months
from engine.model import Policy, name_key
from policy import adopted_policy_path, load_policy, load_policy_bytes
from policy.errors import PolicyError
from policy.loader import parse_policy_yaml
from policy.schema import schema_messages
from workbook.errors import UsageError
from workbook.layout import (
    APPEALS,
    COUNTIES,
    INPUT_SHEETS,
    INTAKES,
    LICENSES,
    ORGANIZATIONS,
    REGIONS,
    RESULT_SHEETS,
    SELF_PAY_REQUESTS,
    Column,
    InputSheet,
    ResultSheet,
    header_key,
)
from workbook.results import ResultTable
from workbook.run import Outcome, evaluate
from workbook.tables import WorkbookSnapshot

SCENARIO_SUFFIXES = (".yaml", ".yml")
DEFAULT_ORGANIZATION = "Organization A"
ABSENT = "absent"  # an expected row that must not be on the sheet
_SCENARIO_KEYS = ("name", "as_of", "input", "policy", "output", "description")
# Which column names a result row, in order of preference (the first one a sheet has).
_ROW_KEYS = ("appeal_id", "request_id", "license_id", "region")
_EXPLANATIONS = ("explanation", "basis", "breakdown", "reasons", "how_to_fix")
_PERIOD_KEYS = frozenset({"months", "weeks", "days"})
Path_ = tuple[str | int, ...]


def shipped_scenarios() -> Path:
    """policy/scenarios/, shipped with the package: one scenario per clause of the policy."""
    return Path(str(resources.files("policy").joinpath("scenarios")))


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Contains:
    """An expected text that only has to appear in the cell."""

    text: str


@dataclass(frozen=True, slots=True)
class Expectation:
    sheet: ResultSheet
    row: str | None  # the row's key (License ID, Region, ...); None: any row with all values
    values: tuple[tuple[Column, object, int], ...]  # column, expected, line in the file
    line: int
    absent: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    file: Path
    line: int
    name: str
    as_of: dt.date
    inputs: dict[str, list[dict[str, object]]]  # declared sheet name -> rows by header
    overrides: dict[str, Any] | None
    override_lines: dict[Path_, int]
    expectations: tuple[Expectation, ...]


@dataclass(frozen=True, slots=True)
class Defaulted:
    """A column a scenario left out, and what was put in its place."""

    sheet: str
    column: str
    rule: str
    rows: int


@dataclass(frozen=True, slots=True)
class Failure:
    file: Path
    line: int
    scenario: str
    sheet: str
    row: str | None
    column: str | None
    expected: str
    found: str
    explanation: str = ""  # the row's Explanation (or Basis, Reasons, ...)
    note: str = ""  # why there is no row to explain

    @property
    def message(self) -> str:
        where = ", ".join(p for p in (self.sheet, self.row, self.column) if p)
        text = (
            f"{shown_path(self.file)}:{self.line}: {self.scenario}: {where}: expected"
            f" {self.expected}, found {self.found}."
        )
        if self.explanation:
            text += f"\n    Explanation: {self.explanation}"
        return text + (f"\n    Note: {self.note}" if self.note else "")


def shown_path(path: Path) -> str:
    """A file's path relative to the current folder where it is under it, else in full."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class ScenarioResult:
    file: Path
    line: int
    name: str
    status: str  # passed, failed, error
    failures: list[Failure] = field(default_factory=list)
    defaulted: list[Defaulted] = field(default_factory=list)
    error: str | None = None


class ScenarioError(PolicyError):
    """A scenario file that cannot be run as written (its file and line say where)."""


# ------------------------------------------------------------------------- reading files


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """The scenario files named, folders expanded to their .yaml files (sorted)."""
    found: list[Path] = []
    for path in paths or [shipped_scenarios()]:
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES and p.is_file()
            )
            if not inside:  # a wrong folder must not pass as "0 scenarios, 0 failed"
                raise UsageError(
                    f"{path}: the folder has no scenario files"
                    f" ({' or '.join(sorted(SCENARIO_SUFFIXES))}).",
                    fix="Give the folder that holds the scenario files, or a file itself.",
                )
            found += inside
        elif path.is_file():
            found.append(path)
        elif path.exists():  # a named pipe, a device, a socket: never opened
            raise UsageError(
                f"{path}: is not a file (a device, pipe or socket); it was not read.",
                fix="Give a .yaml file of scenarios, or a folder of them.",
            )
        else:
            raise UsageError(
                f"{path}: no such scenario file or folder.",
                fix="Give a .yaml file of scenarios, or a folder of them.",
            )
    return found


def read_scenarios(path: Path) -> list[Scenario]:
    """Every scenario in a file (ScenarioError names the file and line of a mistake)."""
    scenarios: list[Scenario] = []
    for item in read_scenario_file(path):
        if isinstance(item, Unreadable):
            raise item.error
        scenarios.append(item)
    return scenarios


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A scenario of a readable file that cannot be run as written: only it is not run."""

    file: Path
    line: int
    name: str
    error: ScenarioError


def read_scenario_file(path: Path) -> list[Scenario | Unreadable]:
    """Each scenario in a file, or why it cannot be run; a mistake in one scenario (a
    misspelt sheet or column) leaves the file's other scenarios to run. ScenarioError:
    the file itself cannot be used (unreadable, empty, not YAML, not a list)."""
    raw, lines = _scenario_list(path)
    found: list[Scenario | Unreadable] = []
    for index, item in enumerate(raw):
        try:
            found.append(_scenario(path, index, item, lines))
        except ScenarioError as exc:
            found.append(Unreadable(path, lines.get((index,), 1), _name_of(item, index), exc))
    return found


def _name_of(item: object, index: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else f"(scenario {index + 1})"


def _scenario_list(path: Path) -> tuple[list[Any], dict[Path_, int]]:
    """The file's YAML list of scenarios and the line of each item."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror}).") from None
    if not data.strip():
        raise ScenarioError(
            f"{path}: the file is empty.",
            fix="Write a list of scenarios, each starting with `- name: ...`.",
        )
    raw, lines = parse_policy_yaml(data, str(path))
    if not isinstance(raw, list):
        raise ScenarioError(
            f"{path}:1: a scenario file is a list of scenarios, each starting with `- name: ...`.",
            fix="Start each scenario with a dash, e.g. `- name: the worked example`.",
        )
    return raw, lines


def _where(path: Path, lines: dict[Path_, int], at: Path_) -> str:
    while at and at not in lines:
        at = at[:-1]
    return f"{path}:{lines.get(at, 1)}"


def _scenario(path: Path, index: int, item: Any, lines: dict[Path_, int]) -> Scenario:
    at: Path_ = (index,)
    if not isinstance(item, dict):
        raise ScenarioError(
            f"{_where(path, lines, at)}: a scenario is a set of keys (name, as_of, input,"
            " output), not a single value."
        )
    for key in item:
        if key not in _SCENARIO_KEYS:
            raise ScenarioError(
                f"{_where(path, lines, (*at, key))}: {key!r} is not a scenario key"
                f"{_did_you_mean(key, _SCENARIO_KEYS)} Allowed: {', '.join(_SCENARIO_KEYS)}."
            )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"{_where(path, lines, at)}: the scenario has no `name`.")
    as_of = _as_of(item.get("as_of"), f"{_where(path, lines, (*at, 'as_of'))} ({name})")
    overrides = item.get("policy")
    if overrides is not None and not isinstance(overrides, dict):
        raise ScenarioError(
            f"{_where(path, lines, (*at, 'policy'))}: `policy` holds the keys of policy.yaml"
            " to change for this scenario, e.g. `policy: {ce_allotment: {target: 25}}`."
        )
    prefix = (*at, "policy")
    override_lines = {p[len(prefix) :]: n for p, n in lines.items() if p[: len(prefix)] == prefix}
    return Scenario(
        file=path,
        line=lines.get(at, 1),
        name=name.strip(),
        as_of=as_of,
        inputs=_inputs(path, lines, (*at, "input"), item.get("input")),
        overrides=overrides,
        override_lines=override_lines,
        expectations=tuple(_expectations(path, lines, (*at, "output"), item.get("output"))),
    )


def _as_of(value: object, where: str) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ScenarioError(
        f"{where}: as_of must be a date written yyyy-mm-dd, e.g. `as_of: 2026-11-24`"
        f" (found {value!r})."
    )


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else "."


def _inputs(
    path: Path, lines: dict[Path_, int], at: Path_, value: object
) -> dict[str, list[dict[str, object]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScenarioError(
            f"{_where(path, lines, at)}: `input` is keyed by input sheet (Regions, Licenses,"
            " ...), each a list of rows."
        )
    sheets: dict[str, list[dict[str, object]]] = {}
    for sheet_name, rows in value.items():
        spec = _input_sheet(sheet_name, _where(path, lines, (*at, sheet_name)))
        if not isinstance(rows, list):
            raise ScenarioError(
                f"{_where(path, lines, (*at, sheet_name))}: {spec.name} is a list of rows,"
                " each starting with a dash: `- {Region: Region 1, Population: 596788}`."
            )
        sheets[spec.name] = [
            _input_row(spec, row, _where(path, lines, (*at, sheet_name, i)))
            for i, row in enumerate(rows)
        ]
    return sheets


def _input_sheet(name: object, where: str) -> InputSheet:
    wanted = header_key(name)
    for spec in INPUT_SHEETS:
        if header_key(spec.name) == wanted:
            return spec
    names = [s.name for s in INPUT_SHEETS]
    raise ScenarioError(
        f"{where}: {name!r} is not an input sheet{_did_you_mean(name, names)}"
        f" Input sheets: {', '.join(names)}."
    )


def _input_row(spec: InputSheet, row: object, where: str) -> dict[str, object]:
    if not isinstance(row, dict):
        raise ScenarioError(
            f"{where}: a {spec.name} row is a set of `Column: value` pairs, e.g."
            f" `- {{{spec.columns[0].header}: ...}}`."
        )
    values: dict[str, object] = {}
    for header, value in row.items():
        column = next((c for c in spec.columns if c.matches(str(header))), None)
        if column is None:
            headers = [c.header for c in spec.columns]
            raise ScenarioError(
                f"{where}: {header!r} is not a column of {spec.name}"
                f"{_did_you_mean(header, headers)} Columns: {', '.join(headers)}."
            )
        if isinstance(value, dict | list):
            raise ScenarioError(
                f"{where}: {spec.name} {column.header}: a cell holds one value, not {value!r}."
            )
        values[column.header] = value
    return values


def _expectations(
    path: Path, lines: dict[Path_, int], at: Path_, value: object
) -> Iterable[Expectation]:
    if not isinstance(value, dict) or not value:
        raise ScenarioError(
            f"{_where(path, lines, at)}: `output` is keyed by result sheet, then by row"
            " (License ID, Region, Appeal ID), then the columns expected, e.g."
            " `Allotments: {Region 1: {Allotment: 4}}`."
        )
    for sheet_name, rows in value.items():
        sheet = _result_sheet(sheet_name, _where(path, lines, (*at, sheet_name)))
        here = (*at, sheet_name)
        if isinstance(rows, list):  # rows without a key: each must match some row
            for i, row in enumerate(rows):
                yield _expectation(sheet, None, row, path, lines, (*here, i))
        elif isinstance(rows, dict):
            for key, row in rows.items():
                yield _expectation(sheet, str(key), row, path, lines, (*here, key))
        else:
            raise ScenarioError(
                f"{_where(path, lines, here)}: under {sheet.name} give each row's key and"
                " the columns expected, e.g. `L-1: {Finding: Inactive}`."
            )


def _expectation(
    sheet: ResultSheet,
    key: str | None,
    row: object,
    path: Path,
    lines: dict[Path_, int],
    at: Path_,
) -> Expectation:
    line = lines.get(at, 1)
    if isinstance(row, str) and row.strip().casefold() == ABSENT and key is not None:
        return Expectation(sheet, key, (), line, absent=True)
    if not isinstance(row, dict) or not row:
        raise ScenarioError(
            f"{_where(path, lines, at)}: give the columns expected, e.g. `{{Finding:"
            f" Inactive}}`, or `{ABSENT}` for a row that must not be on {sheet.name}."
        )
    values = []
    for header, expected in row.items():
        column = next((c for c in sheet.columns if c.matches(str(header))), None)
        if column is None:
            headers = [c.header for c in sheet.columns]
            raise ScenarioError(
                f"{_where(path, lines, (*at, header))}: {header!r} is not a column of"
                f" {sheet.name}{_did_you_mean(header, headers)} Columns: {', '.join(headers)}."
            )
        values.append((column, _expected_value(expected), lines.get((*at, header), line)))
    return Expectation(sheet, key, tuple(values), line)


def _expected_value(value: object) -> object:
    if isinstance(value, dict) and set(value) == {"contains"}:
        return Contains(str(value["contains"]))
    return value


def _result_sheet(name: object, where: str) -> ResultSheet:
    wanted = header_key(name)
    for sheet in RESULT_SHEETS:
        if header_key(sheet.name) == wanted:
            return sheet
    names = [s.name for s in RESULT_SHEETS]
    raise ScenarioError(
        f"{where}: {name!r} is not a result sheet{_did_you_mean(name, names)}"
        f" Result sheets: {', '.join(names)}."
    )


# -------------------------------------------------------------------- the scenario's policy


def scenario_policy(base: Policy, scenario: Scenario) -> Policy:
    """The base policy with the scenario's overrides, validated like a policy file."""
    if not scenario.overrides:
        return base
    merged = _merge(copy.deepcopy(dict(base.raw)), scenario.overrides)
    source = f"{scenario.file}"
    messages = schema_messages(merged, {(): scenario.line, **scenario.override_lines}, source)
    if messages:
        raise ScenarioError(
            f"{scenario.name}: the policy overrides do not follow the policy schema: {messages[0]}",
            details=[f"{scenario.name}: the policy overrides do not follow the schema:", *messages],
        )
    import yaml  # type: ignore[import-untyped,unused-ignore]  # here: recalc never needs it

    text = yaml.safe_dump(merged, sort_keys=False, allow_unicode=True)
    return load_policy_bytes(text.encode("utf-8"), source=f"{scenario.file.name} ({scenario.name})")


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Keys of `overrides` replace the base's; a section is merged key by key, while a
    length of time ({months: 6}) or a list is replaced whole."""
    for key, value in overrides.items():
        current = base.get(key)
        if isinstance(current, dict) and _is_section(current) and _is_section(value):
            base[key] = _merge(current, value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _is_section(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and not set(value) <= _PERIOD_KEYS


# ------------------------------------------------------------------------- building inputs


@dataclass(frozen=True, slots=True)
class _Default:
    rule: str  # for the report
    value: Callable[[dict[str, object], int, _Context], object]


@dataclass(frozen=True, slots=True)
class _Context:
    as_of: dt.date
    policy: Policy
    license_organizations: dict[str, str]


def _default_type(policy: Policy) -> str:
    """The first license type the policy judges that uses no CE allotment."""
    types = policy.raw.get("license_types", {})
    judged = [
        name
        for name, rule in policy.license_types.items()
        if isinstance(types, dict)
        and isinstance(types.get(name), dict)
        and types[name].get("inactivity_policy_applies", True)
    ]
    plain = [n for n in judged if not policy.license_types[n].counts_against_ce_allotment]
    return (plain or judged or list(policy.license_types) or ["Housing Project"])[0]


def _appeal_organization(row: dict[str, object], n: int, ctx: _Context) -> object:
    license_id = row.get(APPEALS.column("license_id").header)
    if license_id is not None:
        return ctx.license_organizations.get(name_key(str(license_id)), DEFAULT_ORGANIZATION)
    return DEFAULT_ORGANIZATION


def _column_header(sheet: InputSheet, field_name: str) -> tuple[str, str]:
    return sheet.name, sheet.column(field_name).header


# Required columns a scenario may leave out, and what stands in for them. A required
# column that is not here (an appeal's Reason, a region's Population) must be given.
DEFAULTS: dict[tuple[str, str], _Default] = {
    _column_header(REGIONS, "region"): _Default(
        "Region 1, Region 2, ... by row", lambda r, n, c: f"Region {n}"
    ),
    _column_header(COUNTIES, "county"): _Default(
        "County 1, County 2, ... by row", lambda r, n, c: f"County {n}"
    ),
    _column_header(LICENSES, "license_id"): _Default(
        "L-1, L-2, ... by row", lambda r, n, c: f"L-{n}"
    ),
    _column_header(LICENSES, "user"): _Default(
        "User <License ID>", lambda r, n, c: f"User {r.get(LICENSES.column('license_id').header)}"
    ),
    _column_header(LICENSES, "organization"): _Default(
        DEFAULT_ORGANIZATION, lambda r, n, c: DEFAULT_ORGANIZATION
    ),
    _column_header(LICENSES, "license_type"): _Default(
        "the policy's first judged license type that uses no CE allotment (Housing Project"
        " in the adopted policy)",
        lambda r, n, c: _default_type(c.policy),
    ),
    _column_header(LICENSES, "granted_on"): _Default(
        "five years before the as-of date", lambda r, n, c: add_months(c.as_of, -60)
    ),
    _column_header(APPEALS, "appeal_id"): _Default(
        "A-1, A-2, ... by row", lambda r, n, c: f"A-{n}"
    ),
    _column_header(APPEALS, "filed_on"): _Default(
        "its Decided On, else the as-of date",
        lambda r, n, c: r.get(APPEALS.column("decided_on").header) or c.as_of,
    ),
    _column_header(APPEALS, "organization"): _Default(
        f"the organization of its License ID, else {DEFAULT_ORGANIZATION}", _appeal_organization
    ),
    _column_header(SELF_PAY_REQUESTS, "request_id"): _Default(
        "S-1, S-2, ... by row", lambda r, n, c: f"S-{n}"
    ),
    _column_header(SELF_PAY_REQUESTS, "organization"): _Default(
        DEFAULT_ORGANIZATION, lambda r, n, c: DEFAULT_ORGANIZATION
    ),
}
_ORGANIZATION_NAMED_BY = (LICENSES, APPEALS, INTAKES, SELF_PAY_REQUESTS)


def build_snapshot(scenario: Scenario, policy: Policy) -> tuple[WorkbookSnapshot, list[Defaulted]]:
    """The scenario's rows as a workbook would hold them, and the defaults put in."""
    rows = {name: [dict(r) for r in table] for name, table in scenario.inputs.items()}
    defaulted: list[Defaulted] = []
    licenses = rows.get(LICENSES.name, [])
    for spec in (REGIONS, COUNTIES, LICENSES, APPEALS, SELF_PAY_REQUESTS):
        if spec is APPEALS:  # appeals take their organization from the licenses
            ctx = _context(scenario, policy, licenses)
        else:
            ctx = _context(scenario, policy, [])
        defaulted += _fill_defaults(spec, rows.get(spec.name, []), ctx)
    if ORGANIZATIONS.name not in rows:
        named = _organizations_named(rows)
        rows[ORGANIZATIONS.name] = [{ORGANIZATIONS.column("organization").header: n} for n in named]
        if named:
            defaulted.append(
                Defaulted(
                    ORGANIZATIONS.name,
                    "the whole sheet",
                    "one row for each organization the other sheets name",
                    len(named),
                )
            )
    sheets: dict[str, list[list[object]]] = {}
    for spec in INPUT_SHEETS:
        table = rows.get(spec.name)
        if table is None and spec.optional:
            continue  # as in a workbook without that sheet
        headers = [c.header for c in spec.columns]
        grid: list[list[object]] = [list(headers)]
        grid += [[row.get(h) for h in headers] for row in table or []]
        sheets[spec.name] = grid
    return WorkbookSnapshot(sheets), defaulted


def _context(scenario: Scenario, policy: Policy, licenses: list[dict[str, object]]) -> _Context:
    id_header = LICENSES.column("license_id").header
    org_header = LICENSES.column("organization").header
    organizations = {
        name_key(str(row[id_header])): str(row[org_header])
        for row in licenses
        if row.get(id_header) is not None and row.get(org_header) is not None
    }
    return _Context(scenario.as_of, policy, organizations)


def _fill_defaults(
    spec: InputSheet, table: list[dict[str, object]], ctx: _Context
) -> list[Defaulted]:
    counts: dict[str, int] = {}
    for n, row in enumerate(table, start=1):
        for column in spec.columns:
            default = DEFAULTS.get((spec.name, column.header))
            if default is None or row.get(column.header) not in (None, ""):
                continue
            row[column.header] = default.value(row, n, ctx)
            counts[column.header] = counts.get(column.header, 0) + 1
    return [
        Defaulted(spec.name, c.header, DEFAULTS[(spec.name, c.header)].rule, counts[c.header])
        for c in spec.columns
        if c.header in counts
    ]


def _organizations_named(rows: dict[str, list[dict[str, object]]]) -> list[str]:
    seen: dict[str, str] = {}
    for spec in _ORGANIZATION_NAMED_BY:
        header = spec.column("organization").header
        for row in rows.get(spec.name, []):
            value = row.get(header)
            if value not in (None, ""):
                seen.setdefault(name_key(str(value)), str(value))
    return list(seen.values())


# ------------------------------------------------------------------------------- running


def run_scenario(scenario: Scenario, base: Policy) -> ScenarioResult:
    """Run one scenario through the workbook path and compare what it expects."""
    result = ScenarioResult(scenario.file, scenario.line, scenario.name, "passed")
    try:
        policy = scenario_policy(base, scenario)
    except PolicyError as exc:
        result.status, result.error = "error", str(exc)
        return result
    snapshot, result.defaulted = build_snapshot(scenario, policy)
    outcome = evaluate(
        snapshot,
        workbook_folder=None,
        as_of=scenario.as_of,
        today=scenario.as_of,
        now=dt.datetime.combine(scenario.as_of, dt.time()),
        ran_from="hmis-licensing policy test",
        loaded_policy=policy,
    )
    tables = {t.sheet.name: t for t in outcome.tables}
    for expectation in scenario.expectations:
        result.failures += _check(
            scenario, expectation, tables.get(expectation.sheet.name), outcome
        )
    if result.failures:
        result.status = "failed"
    return result


def _check(
    scenario: Scenario, expectation: Expectation, table: ResultTable | None, outcome: Outcome
) -> list[Failure]:
    sheet = expectation.sheet

    def failure(line: int, column: str | None, expected: str, found: str, **why: str) -> Failure:
        return Failure(
            scenario.file,
            line,
            scenario.name,
            sheet.name,
            expectation.row,
            column,
            expected,
            found,
            **why,
        )

    if table is None:
        note = _not_written(sheet, outcome)
        return [failure(expectation.line, None, f"a {sheet.name} sheet", "none", note=note)]
    rows = list(table.rows)
    if expectation.row is not None:
        rows = [r for r in rows if _row_key(sheet, r) == name_key(expectation.row)]
    if expectation.absent:
        if not rows:
            return []
        why = _explanation(sheet, rows[0])
        return [failure(expectation.line, None, "no such row", "one", explanation=why)]
    if not rows:
        keys = [k for r in table.rows if (k := _row_key_text(sheet, r))]
        listed = ", ".join(keys[:12]) + (", ..." if len(keys) > 12 else "")
        note = f"{sheet.name} has rows for: {listed}." if keys else f"{sheet.name} has no rows."
        wanted = "a row" if expectation.row else "a row with " + _shown_expected(expectation)
        return [
            failure(expectation.line, None, wanted, "none", note=note + _problems_hint(outcome))
        ]
    best = min(rows, key=lambda r: len(_mismatches(sheet, expectation, r)))
    explanation_column = _explanation_column(sheet)
    return [
        failure(
            line,
            column.header,
            _quoted(expected),
            _quoted(_cell_of(sheet, best, column)),
            explanation="" if column == explanation_column else _explanation(sheet, best),
        )
        for column, expected, line in _mismatches(sheet, expectation, best)
    ]


def _mismatches(
    sheet: ResultSheet, expectation: Expectation, row: tuple[object, ...]
) -> list[tuple[Column, object, int]]:
    return [
        (column, expected, line)
        for column, expected, line in expectation.values
        if not values_match(expected, _cell_of(sheet, row, column))
    ]


def _cell_of(sheet: ResultSheet, row: tuple[object, ...], column: Column) -> object:
    index = sheet.columns.index(column)
    return row[index] if index < len(row) else None


def _row_key_field(sheet: ResultSheet) -> list[Column]:
    return [c for f in _ROW_KEYS for c in sheet.columns if c.field == f]


def _row_key_text(sheet: ResultSheet, row: tuple[object, ...]) -> str:
    for column in _row_key_field(sheet):
        value = _cell_of(sheet, row, column)
        if value not in (None, ""):
            return str(value)
    return ""


def _row_key(sheet: ResultSheet, row: tuple[object, ...]) -> str:
    return name_key(_row_key_text(sheet, row))


def _explanation_column(sheet: ResultSheet) -> Column | None:
    return next((c for name in _EXPLANATIONS for c in sheet.columns if c.field == name), None)


def _explanation(sheet: ResultSheet, row: tuple[object, ...]) -> str:
    column = _explanation_column(sheet)
    return str(_cell_of(sheet, row, column) or "") if column is not None else ""


def _not_written(sheet: ResultSheet, outcome: Outcome) -> str:
    if outcome.errors:
        return f"{sheet.name} is held back because the inputs have errors:" + _problems_hint(
            outcome
        )
    return f"this version of hmis-licensing does not write a {sheet.name} sheet."


def _problems_hint(outcome: Outcome) -> str:
    errors = outcome.errors
    if not errors:
        return ""
    shown = "; ".join(p.problem for p in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return f" Errors in the scenario's inputs: {shown}{more}"


def _shown_expected(expectation: Expectation) -> str:
    return ", ".join(f"{c.header} {_quoted(v)}" for c, v, _ in expectation.values)


# ---------------------------------------------------------------------- comparing values


def values_match(expected: object, found: object) -> bool:
    """Does a cell hold what a scenario expects, compared as the sheet shows it?"""
    if isinstance(found, Decimal):
        found = float(found)
    if isinstance(expected, Contains):
        return isinstance(found, str) and expected.text.casefold() in found.casefold()
    if expected is None or expected == "":
        return found is None or found == ""
    if isinstance(found, dt.date):
        return _as_date(expected) == (found.date() if isinstance(found, dt.datetime) else found)
    if isinstance(found, bool):
        return _as_yes_no(expected) == ("Yes" if found else "No")
    if isinstance(found, int | float):
        number = _as_number(expected)
        return number is not None and _numbers_match(number, found)
    if isinstance(found, str):
        if isinstance(expected, bool):
            return name_key(found) == name_key("Yes" if expected else "No")
        return name_key(found) == name_key(_display(expected))
    return False


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _as_yes_no(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).strip().capitalize()


def _as_number(value: object) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    text = str(value).strip().replace(",", "").replace("$", "")
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        number = float(text) * scale
    except ValueError:
        return None
    return int(number) if scale == 1.0 and "." not in text and number.is_integer() else number


def _numbers_match(expected: float | int, found: float | int) -> bool:
    """4 matches 4 only; 4.1 matches 4.1034 (to the decimals written)."""
    if isinstance(expected, int):
        return abs(found - expected) < 1e-9
    written = repr(expected)
    decimals = len(written.split(".")[1]) if "." in written and "e" not in written else 6
    return abs(found - expected) <= 0.5 * 10**-decimals + 1e-9


def _quoted(value: object) -> str:
    """Text in quotes (so that "Not signed in" reads as one value), others as shown."""
    if isinstance(value, str) and value:
        return f'"{value}"'
    return _display(value)


def _display(value: object) -> str:
    if isinstance(value, Contains):
        return f'text containing "{value.text}"'
    if value is None or value == "":
        return "(blank)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# ------------------------------------------------------------------------------- the run


@dataclass
class TestRun:
    policy: Policy
    results: list[ScenarioResult]
    file_errors: list[ScenarioResult]

    @property
    def all(self) -> list[ScenarioResult]:
        return [*self.file_errors, *self.results]

    def count(self, status: str) -> int:
        return sum(1 for r in self.all if r.status == status)

    @property
    def exit_code(self) -> int:
        if self.count("error"):
            return 2
        return 1 if self.count("failed") else 0


def run_files(files: Sequence[Path], policy: Policy) -> TestRun:
    results: list[ScenarioResult] = []
    file_errors: list[ScenarioResult] = []
    for path in files:
        try:
            scenarios = read_scenario_file(path)
        except PolicyError as exc:
            file_errors.append(ScenarioResult(path, 1, "(the whole file)", "error", error=str(exc)))
            continue
        results += [
            ScenarioResult(s.file, s.line, s.name, "error", error=str(s.error))
            if isinstance(s, Unreadable)
            else run_scenario(s, policy)
            for s in scenarios
        ]
    return TestRun(policy, results, file_errors)


def report_text(run: TestRun) -> str:
    out: list[str] = []
    current: Path | None = None
    used: dict[tuple[str, str], Defaulted] = {}
    for result in run.all:
        if result.file != current:
            current = result.file
            out.append(shown_path(current))
        label = {"passed": "PASS ", "failed": "FAIL ", "error": "ERROR"}[result.status]
        out.append(f"  {label} {result.name}  (line {result.line})")
        for failure in result.failures:
            out += ["        " + line for line in failure.message.split("\n")]
        if result.error:
            out += ["        " + line for line in result.error.split("\n")]
        if result.defaulted:
            out.append(f"        defaulted: {_defaulted_names(result.defaulted)}")
            for d in result.defaulted:
                used.setdefault((d.sheet, d.column), d)
    if used:
        out.append("Defaults used for columns the scenarios leave out:")
        out += [f"  {d.sheet} {d.column}: {d.rule}" for d in used.values()]
    policy = run.policy
    out.append(
        f"{_count(len(run.all), 'scenario')}: {run.count('passed')} passed,"
        f" {run.count('failed')} failed, {run.count('error')} could not run"
        f" (policy {Path(policy.source).name} version {policy.version})"
    )
    return "\n".join(out) + "\n"


def _defaulted_names(defaulted: Sequence[Defaulted]) -> str:
    """Licenses (User, Granted On); Organizations (the whole sheet)."""
    by_sheet: dict[str, list[str]] = {}
    for d in defaulted:
        by_sheet.setdefault(d.sheet, []).append(d.column)
    return "; ".join(f"{sheet} ({', '.join(columns)})" for sheet, columns in by_sheet.items())


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


RUN_OUTCOMES = ("ok", "failed", "could not run")  # by exit code


def report_json(run: TestRun) -> dict[str, Any]:
    return {
        # The keys every command's JSON begins with (README: For scripts).
        "command": "policy test",
        "outcome": RUN_OUTCOMES[run.exit_code],
        "exit_code": run.exit_code,
        "policy": {
            "source": run.policy.source,
            "version": run.policy.version,
            "sha256": run.policy.sha256,
        },
        "passed": run.count("passed"),
        "failed": run.count("failed"),
        "errors": run.count("error"),
        "scenarios": [
            {
                "file": str(r.file),
                "line": r.line,
                "name": r.name,
                "status": r.status,
                "error": r.error,
                "failures": [
                    {
                        "line": f.line,
                        "sheet": f.sheet,
                        "row": f.row,
                        "column": f.column,
                        "expected": f.expected,
                        "found": f.found,
                        "explanation": f.explanation,
                        "message": f.message,
                    }
                    for f in r.failures
                ],
                "defaulted": [
                    {"sheet": d.sheet, "column": d.column, "default": d.rule, "rows": d.rows}
                    for d in r.defaulted
                ],
            }
            for r in run.all
        ],
    }


def run_policy_test(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy or adopted_policy_path())
    run = run_files(scenario_files(args.paths), policy)
    if args.json:
        sys.stdout.write(json.dumps(report_json(run), indent=2) + "\n")  # ASCII: any console
    else:
        sys.stdout.write(report_text(run))
    return run.exit_code
