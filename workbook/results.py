"""The engine's results as rows of the result sheets, in the layout's column order.

Every path that writes a workbook (openpyxl, the zip writer, xlwings) writes these same
rows, which is what makes Recalculate in Excel and `hmis-licensing recalc` agree cell for
cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from engine.model import Policy, Problem, Results
from workbook.layout import (
    ALLOTMENTS,
    APPEALS_QUEUE,
    CE_CHARGES,
    INACTIVITY_REPORT,
    PROBLEMS,
    REASSIGNMENT,
    REVOCATIONS,
    RUN_LOG,
    SELF_PAY_ESTIMATES,
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


@dataclass(frozen=True, slots=True)
class RunLogEntry:
    run_at: dt.datetime
    as_of: dt.date
    policy_version: str
    policy_sha256: str
    engine_version: str
    licenses: int
    eligible: int | None  # None where a command judges no licenses (import-activity)
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
    return tuple(tuple(_cell(getattr(r, c.field)) for c in sheet.columns) for r in records)


def problem_rows(problems: Sequence[Problem], cells: CellMap) -> tuple[tuple[object, ...], ...]:
    rows = []
    for p in problems:
        sheet, cell = cells.cell(p.where)
        rows.append((p.severity, sheet, cell, p.problem, p.how_to_fix))
    return tuple(rows)


def _held_back_reason(problems: Sequence[Problem], cells: CellMap) -> str:
    """Short, for a title line: how many errors and where the first one is."""
    errors = [p for p in problems if p.severity == "Error"]
    sheet, cell = cells.cell(errors[0].where)
    place = f"{sheet}!{cell}" if cell and not cell.startswith("row") else f"{sheet} {cell}".strip()
    count = "1 error" if len(errors) == 1 else f"{len(errors)} errors"
    return f"{count}, first at {place}: see Problems"


def result_tables(
    results: Results,
    problems: Sequence[Problem],
    cells: CellMap,
    *,
    as_of: dt.date | None = None,
    policy: Policy | None = None,
) -> list[ResultTable]:
    """The result sheets to write. With any Error only Problems is replaced (SPEC §3): the
    others are held back, keeping their rows, with the reason in their title."""

    def title(sheet: ResultSheet) -> str:
        if as_of is None:
            return ""
        return title_line(
            sheet,
            as_of=as_of,
            policy_version=policy.version if policy else "",
            policy_sha256=policy.sha256 if policy else "",
        )

    tables = [ResultTable(PROBLEMS, problem_rows(problems, cells), title(PROBLEMS))]
    if any(p.severity == "Error" for p in problems):
        reason = _held_back_reason(problems, cells)
        held: tuple[ResultSheet, ...] = (ALLOTMENTS, CE_CHARGES, INACTIVITY_REPORT, REVOCATIONS)
        held += (APPEALS_QUEUE, REASSIGNMENT, SELF_PAY_ESTIMATES)
        return [ResultTable(s, (), title(s), held_back=reason) for s in held] + tables
    allotment_rows = list(_rows(ALLOTMENTS, results.allotments))
    summary = results.allotment_summary
    if summary is not None:
        total = {
            "region": TOTAL_LABEL,
            "population": summary.total_population,
            "share": 1.0,
            "formula_value": float(summary.target),
            "allotment": summary.total_allotment,
            "minimum_applied_text": None,
            "added_by_appeal": sum(a.added_by_appeal for a in results.allotments),
            "in_use": summary.in_use,
            "available": summary.available,
            "policy_clause": "§2",
            "explanation": summary.explanation,
        }
        allotment_rows.append(tuple(total[c.field] for c in ALLOTMENTS.columns))
    written = [
        ResultTable(ALLOTMENTS, tuple(allotment_rows)),
        ResultTable(CE_CHARGES, _rows(CE_CHARGES, results.ce_charges)),
        ResultTable(INACTIVITY_REPORT, _rows(INACTIVITY_REPORT, results.decisions)),
        ResultTable(REVOCATIONS, _rows(REVOCATIONS, results.revocations)),
        ResultTable(APPEALS_QUEUE, _rows(APPEALS_QUEUE, results.appeals_queue)),
        ResultTable(REASSIGNMENT, _rows(REASSIGNMENT, results.reassignment)),
        ResultTable(SELF_PAY_ESTIMATES, _rows(SELF_PAY_ESTIMATES, results.self_pay_estimates)),
        *tables,
    ]
    return [replace(t, title=title(t.sheet)) for t in written]
