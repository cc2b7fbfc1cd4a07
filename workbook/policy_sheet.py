"""A policy kept inside the workbook, on a sheet named Policy.

Excel on the web and xlwings Lite cannot read a file from the user's disk, so the policy
travels with the workbook instead: policy.yaml's text pasted into column A of a sheet named
Policy, one line per row (Excel keeps the leading spaces YAML needs). Row N is line N, so a
policy problem reported as "Policy sheet:14" is in cell A14. The same text can be passed to
the worksheet functions as a range (`=HMIS_POLICY("ce_allotment.target", Policy!A1:A200)`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PolicySheet:
    """The chosen policy when it is a sheet of the workbook rather than a file."""

    title: str

    def __str__(self) -> str:
        return f"{self.title} sheet"


def policy_text(grid: Sequence[Sequence[object]] | Sequence[object]) -> str:
    """Column A of the sheet (or of a range) as YAML text, one row per line."""
    lines = []
    for row in grid:
        value = row[0] if isinstance(row, list | tuple) and row else row
        if isinstance(value, list | tuple):  # an empty row
            value = None
        lines.append(_line(value))
    return "\n".join(lines).rstrip("\n") + "\n"


def _line(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n")
