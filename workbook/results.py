"""The engine's results as rows of the result sheets, in the layout's column order.

Every path that writes a workbook (openpyxl, the zip writer, xlwings) writes these same
rows, which is what makes Recalculate in Excel and `hmis-licensing recalc` agree cell for
cell.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.model import Policy, Problem, Results
from workbook.collector import collector_paused
from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    CE_CHARGES,
    FINDINGS_HISTORY,
    INACTIVITY_REPORT,
    PROBLEMS,
    REASSIGNMENT,
    REVOCATIONS,
    REVOCATIONS_DONE,
    RUN_LOG,
    SELF_PAY_ESTIMATES,
    WATCH_LIST,
    Kind,
    ResultSheet,
)
from workbook.presentation import TOTAL_LABEL, title_line
from workbook.tables import CellMap


@dataclass(frozen=True, slots=True)
class ResultTable:
    """One result sheet's content: its declaration and its data rows (no header).

    `title` is the line above the header (what the sheet is, As Of, policy version);
    `held_back` says why an Error held the sheet back: the writer then keeps the sheet's
    last good rows and only puts the reason in its title (SPEC §3).
    """

    sheet: ResultSheet
    rows: tuple[tuple[object, ...], ...]
    title: str = ""
    held_back: str | None = None
    as_of: dt.date | None = None  # the run's: a held-back sheet's title names it


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    run_at: dt.datetime
    as_of: dt.date | None  # None (blank): the Settings sheet's As Of could not be read
    policy_version: str
    policy_sha256: str
    engine_version: str
    # Both None (blank) where a command judges no licenses (import-activity: its Ran From
    # says what it updated), or an Error held the decisions back: no count for results
    # that were not written. Licenses is only ever the Inactivity Report's rows.
    licenses: int | None
    eligible: int | None
    errors: int
    warnings: int
    policy_file: str
    ran_from: str

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, c.field) for c in RUN_LOG.columns)


def _cell(value: object) -> object:
    """Plain cell values only: money is exact in the engine, a number in the sheet."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(sheet: ResultSheet, records: Sequence[object]) -> tuple[tuple[object, ...], ...]:
    fields = [c.field for c in sheet.columns]
    money = [i for i, c in enumerate(sheet.columns) if c.kind is Kind.MONEY]
    if len(fields) < 2 or money:  # the engine's money is a Decimal, and only its money
        return tuple(tuple(_cell(getattr(r, f)) for f in fields) for r in records)
    return tuple(map(operator.attrgetter(*fields), records))  # one C call per row


def problem_rows(problems: Sequence[Problem], cells: CellMap) -> tuple[tuple[object, ...], ...]:
    rows = []
    for p in problems:
        sheet, cell = cells.cell(p.where)
        rows.append((p.severity, sheet, cell, p.problem, p.how_to_fix))
    return tuple(rows)


# Each result sheet and the Results field whose records it shows (SPEC §3).
SHEET_OF_RESULT: tuple[tuple[str, ResultSheet], ...] = (
    ("allotments", ALLOTMENTS),
    ("ce_charges", CE_CHARGES),
    ("decisions", INACTIVITY_REPORT),
    ("revocations", REVOCATIONS),
    ("watch_list", WATCH_LIST),
    ("revocations_done", REVOCATIONS_DONE),
    ("appeals_queue", APPEALS_QUEUE),
    ("reassignment", REASSIGNMENT),
    ("self_pay_estimates", SELF_PAY_ESTIMATES),
)
NOT_CHARGED = "Not charged to a region"


def held_back_sheets(results: Results) -> dict[str, str]:
    """The result sheets an Error holds back, by sheet name, and why (the engine names
    them by Results field). A packet section or a notice drawn from one of these says it
    is held back instead of showing figures the workbook's sheets do not show."""
    sheets = dict(SHEET_OF_RESULT)
    return {sheets[name].name: why for name, why in results.held_back.items() if name in sheets}


def result_tables(
    results: Results | None,
    problems: Sequence[Problem],
    cells: CellMap,
    *,
    as_of: dt.date | None = None,
    policy: Policy | None = None,
    policy_failed: str | None = None,
) -> list[ResultTable]:
    """The result sheets to write (SPEC §3).

    A result an Error holds back comes with `held_back` set: the writer keeps the sheet's
    last good rows and says why in its title line. With a policy that cannot be used, all
    are held back.
    """

    def title(sheet: ResultSheet) -> str:  # as_of None: the Settings As Of was not read
        return title_line(
            sheet,
            as_of=as_of,
            policy_version=policy.version if policy else "",
            policy_sha256=policy.sha256 if policy else "",
        )

    tables = []
    held = dict(results.held_back) if results is not None else {}
    with collector_paused():  # (also paused by the commands around a whole run)
        for name, sheet in SHEET_OF_RESULT:
            why = policy_failed or held.get(name)
            if why is not None or results is None:
                tables.append(
                    ResultTable(sheet, (), title(sheet), held_back=why or "no results", as_of=as_of)
                )
                continue
            records = getattr(results, name)
            rows = allotment_rows(results) if name == "allotments" else _rows(sheet, records)
            tables.append(ResultTable(sheet, rows, title(sheet)))
        tables.append(ResultTable(PROBLEMS, problem_rows(problems, cells), title(PROBLEMS)))
    return tables


def allotment_rows(results: Results) -> tuple[tuple[object, ...], ...]:
    """The regions, the CE licenses charged to none (§3), and the Total (§2)."""
    rows = list(_rows(ALLOTMENTS, results.allotments))
    summary = results.allotment_summary
    if summary is None:
        return tuple(rows)
    if summary.not_charged:
        uncharged = {
            "region": NOT_CHARGED,
            "population": None,
            "share": None,
            "formula_value": None,
            "allotment": None,
            "minimum_applied_text": None,
            "added_by_appeal": None,
            "in_use": len(summary.not_charged),
            "available": None,
            "policy_clause": "§3.2",
            "explanation": summary.not_charged_explanation,
        }
        rows.append(tuple(uncharged[c.field] for c in ALLOTMENTS.columns))
    total = {
        "region": TOTAL_LABEL,
        "population": summary.total_population,
        "share": 1.0,
        "formula_value": float(summary.target),
        "allotment": summary.total_allotment,
        "minimum_applied_text": None,
        "added_by_appeal": summary.added_by_appeal,
        "in_use": summary.in_use,
        "available": summary.available,
        "policy_clause": "§2",
        "explanation": summary.explanation,
    }
    rows.append(tuple(total[c.field] for c in ALLOTMENTS.columns))
    return tuple(rows)


def history_table(results: Results, run_at: dt.datetime) -> ResultTable:
    """The Findings History rows this run appends (SPEC §8), stamped with the run's time."""
    rows = tuple(
        (run_at, e.as_of, e.license_id, e.finding, e.exception, "Yes" if e.eligible else "No")
        for e in results.history_entries
    )
    return ResultTable(FINDINGS_HISTORY, rows)
