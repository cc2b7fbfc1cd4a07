"""One recalculation, from a workbook's cell values to result tables, shared by every path.

Where the policy and the as-of date come from is decided here, in one documented order:

* policy: `--policy FILE`, else the Settings sheet's `Policy File` (relative to the
  workbook's folder), else the workbook's own Policy sheet (its policy.yaml text; how
  Excel on the web gets a policy), else `policy.yaml` beside the workbook, else the adopted
  policy shipped with hmis-licensing;
* as-of date: `--as-of DATE`, else the Settings sheet's `As Of`, else today. A run
  whose date would have come from an As Of that cannot be read has no as-of date
  (`Choice(None, AS_OF_UNREADABLE)`): it holds back every result that turns on the date
  (SPEC §3), since a review as of today that nobody asked for would become the next
  review's "previous review", and every report of it (the JSON, the screen, the Run Log)
  says the As Of could not be read instead of naming a date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import engine
from engine.model import Inputs, Policy, Problem, Results, Where
from policy import adopted_policy_path, load_policy, load_policy_bytes
from policy.adoption import in_force_warning, same_version_warning
from policy.errors import PolicyError
from policy.files import is_network_path
from workbook.layout import POLICY_SHEET, SETTING_AS_OF, SETTING_POLICY_FILE, SETTINGS
from workbook.policy_sheet import PolicySheet, policy_text
from workbook.results import ResultTable, RunLogEntry, history_table, result_tables
from workbook.tables import CellMap, InputRead, Settings, WorkbookSnapshot, read_inputs

POLICY_BESIDE_WORKBOOK = "policy.yaml"
# The `from` of a run's as-of date (JSON `as_of.from`) when the Settings sheet's As Of
# could not be read and no --as-of was given: the run has no as-of date (`date` null).
AS_OF_UNREADABLE = "unreadable"
FROM_SETTINGS = "the Settings sheet's Policy File"


@dataclass(frozen=True, slots=True)
class Choice:
    """A value the run used and where it came from, for the run's own report."""

    value: object
    origin: str


def choose_policy_file(
    given: Path | None,
    settings: Settings,
    workbook_folder: Path | None,
    policy_sheet: str | None = None,
) -> Choice:
    if given is not None:
        return Choice(given, "--policy")
    if settings.policy_file:
        path = Path(settings.policy_file).expanduser()
        remote = is_network_path(settings.policy_file)  # kept as written: refused on loading
        if not path.is_absolute() and workbook_folder is not None and not remote:
            path = workbook_folder / path
        return Choice(path, FROM_SETTINGS)
    if policy_sheet is not None:
        return Choice(PolicySheet(policy_sheet), "the workbook's Policy sheet")
    if workbook_folder is not None:
        beside = workbook_folder / POLICY_BESIDE_WORKBOOK
        if beside.is_file():
            return Choice(beside, "policy.yaml beside the workbook")
    return Choice(adopted_policy_path(), "the adopted policy shipped with hmis-licensing")


def choose_as_of(given: dt.date | None, settings: Settings, today: dt.date) -> Choice:
    if given is not None:
        return Choice(given, "--as-of")
    if settings.as_of is not None:
        return Choice(settings.as_of, "the Settings sheet's As Of")
    if SETTING_AS_OF in settings.unreadable:  # no date at all: not today's (SPEC §3)
        return Choice(None, AS_OF_UNREADABLE)
    return Choice(today, "today")


def chosen_as_of(choice: Choice) -> dt.date | None:
    """The run's as-of date, or None when the Settings sheet's As Of could not be read."""
    return choice.value if isinstance(choice.value, dt.date) else None


HELD_BACK_UNREAD = "so the results dated by it are held back (see Problems)"


def as_of_words(choice: Choice, cells: CellMap, *, so: str = HELD_BACK_UNREAD) -> str:
    """The as-of date as a run reports it to people: "2026-11-24 (--as-of)", or that the
    Settings cell could not be read and (`so`) what that holds back."""
    day = chosen_as_of(choice)
    if day is not None:
        return f"{day} ({choice.origin})"
    sheet, cell = cells.cell(Where(SETTINGS.name, column=SETTING_AS_OF))
    return f"not read: {sheet}!{cell} (As Of) could not be read, {so}"


def settings_relied_on(inputs: Inputs, settings: Settings, given: dt.date | None) -> Inputs:
    """The inputs, naming the unreadable settings this run relies on (the engine holds
    back what needs them): Next Review always, As Of unless `--as-of` was given."""
    if given is not None or SETTING_AS_OF not in settings.unreadable:
        return inputs
    relied = {**inputs.unreadable_settings, SETTING_AS_OF: settings.unreadable[SETTING_AS_OF]}
    return replace(inputs, unreadable_settings=relied)


@dataclass
class Outcome:
    """What a recalculation found, and what it would write."""

    as_of: Choice
    policy_file: Choice
    policy: Policy | None
    results: Results | None
    problems: list[Problem]
    cells: CellMap
    tables: list[ResultTable] = field(default_factory=list)
    run_log: RunLogEntry | None = None
    inputs: Inputs = field(default_factory=Inputs)  # what was read, for the review's notices

    @property
    def policy_failed(self) -> bool:
        return self.policy is None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "Error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "Warning"]

    @property
    def exit_code(self) -> int:
        """SPEC §5: 2 for a bad policy, 1 for errors in the workbook, else 0."""
        if self.policy_failed:
            return 2
        return 1 if self.errors else 0

    @property
    def outcome_word(self) -> str:
        """The `outcome` of every command's JSON: "ok", "errors" or "bad policy"."""
        return OUTCOME_WORDS[self.exit_code]

    def problems_json(self) -> list[dict[str, object]]:
        """The problems as the Problems sheet lists them, for a command's --json."""
        return [problem_json(p, self.cells) for p in self.problems]


OUTCOME_WORDS = ("ok", "errors", "bad policy")  # by exit code (SPEC §5)


def problem_json(problem: Problem, cells: CellMap) -> dict[str, object]:
    """One problem of a command's --json: `{"severity", "sheet", "cell", "problem",
    "how_to_fix"}`, with the sheet and cell as the Problems sheet shows them."""
    sheet, cell = cells.cell(problem.where)
    return {
        "severity": problem.severity,
        "sheet": sheet,
        "cell": cell,
        "problem": problem.problem,
        "how_to_fix": problem.how_to_fix,
    }


def policy_problems(
    error: PolicyError, policy_file: Path, *, from_settings: bool = False
) -> list[Problem]:
    """A bad policy as rows of the Problems sheet, one per schema complaint; a path from
    the Settings sheet that names no readable file is the Settings cell's problem."""
    details = error.details[1:] if len(error.details) > 1 else error.details
    where = (
        Where(SETTINGS.name, column=SETTING_POLICY_FILE)
        if from_settings and error.file_problem
        else Where(policy_file.name)
    )
    return [
        Problem(
            "Error",
            where,
            line,
            _row_fix(line, error.fix, policy_file)
            or "Correct the policy file; `hmis-licensing policy check` shows why.",
        )
        for line in details
    ]


_AT_LINE = re.compile(r"^.+?:(\d+) ")  # "policy.yaml:48 ce_allotment.minimum: ..."


def _row_fix(problem: str, fix: str | None, policy_file: Path) -> str | None:
    """A schema complaint's fix as its own Problems row says it: the terminal prints one
    fix under all of them ("the values named above"), a row stands alone."""
    found = _AT_LINE.match(problem)
    if fix is None or found is None or "named above" not in fix:
        return fix
    return (
        f"Correct line {found.group(1)} of {policy_file.name} as the Problem says, then"
        " recalculate; policy/policy.schema.json describes each key."
    )


def evaluate(
    snapshot: WorkbookSnapshot,
    *,
    workbook_folder: Path | None,
    policy_file: Path | None = None,
    as_of: dt.date | None = None,
    today: dt.date,
    now: dt.datetime,
    ran_from: str,
    loaded_policy: Policy | None = None,
) -> Outcome:
    """Read the inputs, choose policy and date, run the engine, lay out the results."""
    read: InputRead = read_inputs(snapshot)
    as_of_choice = choose_as_of(as_of, read.settings, today)
    inputs = settings_relied_on(read.inputs, read.settings, as_of)
    policy_choice = choose_policy_file(
        policy_file, read.settings, workbook_folder, snapshot.find(POLICY_SHEET)
    )
    reported = chosen_as_of(as_of_choice)  # None: the As Of could not be read
    # The engine needs a day to run on; with the As Of unread every result that turns on
    # it is held back (settings_relied_on), so no result is as of this day.
    chosen_date: dt.date = reported or today
    policy = loaded_policy
    problems = list(read.problems)
    results: Results | None = None
    if policy is None:
        try:
            policy = load_chosen_policy(policy_choice, snapshot, workbook_folder)
        except PolicyError as exc:
            problems = (
                policy_problems(
                    exc,
                    Path(str(policy_choice.value)),
                    from_settings=policy_choice.origin == FROM_SETTINGS,
                )
                + problems
            )
    if policy is not None:
        results = engine.recalculate(policy, inputs, chosen_date)
        in_force = in_force_warning(policy, chosen_date)  # names the adopted version then
        relabelled = same_version_warning(policy)
        problems = _errors_first(
            problems + list(results.problems) + [*filter(None, [in_force, relabelled])]
        )
    outcome = Outcome(as_of_choice, policy_choice, policy, results, problems, read.cells)
    outcome.inputs = inputs
    outcome.tables = result_tables(
        results,
        problems,
        read.cells,
        as_of=reported,
        policy=policy,
        policy_failed="the policy could not be used (see Problems)" if policy is None else None,
    )
    judged = results is not None and "decisions" not in results.held_back
    outcome.run_log = RunLogEntry(
        run_at=now.replace(microsecond=0),
        as_of=reported,  # blank when the As Of could not be read: no result is of a date
        policy_version=policy.version if policy else "",
        policy_sha256=policy.sha256 if policy else "",
        engine_version=engine.ENGINE_VERSION,
        # Counts of what this run decided, as the JSON gives them: none for decisions an
        # Error held back (their sheets keep the last good run's rows).
        licenses=len(results.decisions) if judged and results else (None if results else 0),
        eligible=len(results.revocations) if judged and results else (None if results else 0),
        errors=len(outcome.errors),
        warnings=len(outcome.warnings),
        policy_file=str(policy_choice.value),
        ran_from=ran_from,
    )
    if results is not None:  # SPEC §8: this review's changes, appended like the Run Log
        outcome.tables.append(history_table(results, outcome.run_log.run_at))
    return outcome


def load_chosen_policy(
    choice: Choice, snapshot: WorkbookSnapshot, workbook_folder: Path | None
) -> Policy:
    """The chosen policy file or Policy sheet, loaded and validated (PolicyError if bad)."""
    if isinstance(choice.value, PolicySheet):
        text = policy_text(snapshot.sheets[choice.value.title])
        return load_policy_bytes(text.encode("utf-8"), source=str(choice.value))
    path = Path(str(choice.value))
    if choice.origin == FROM_SETTINGS and workbook_folder is None and not path.is_absolute():
        # Excel on the web, xlwings Lite, a workbook never saved: no folder to look in.
        raise PolicyError(
            f"{path}: the Settings sheet's Policy File is a relative path, and this Excel"
            " does not say which folder the workbook is in.",
            fix="Give the policy file's full path, or clear Policy File and paste the"
            f" policy into a sheet named {POLICY_SHEET} (Excel on the web cannot read files).",
            file_problem=True,
        )
    return load_policy(path, from_workbook=choice.origin == FROM_SETTINGS)


def _errors_first(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.severity != "Error")
