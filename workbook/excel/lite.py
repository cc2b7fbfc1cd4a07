"""Excel on the web, and Excel on Mac or Windows without Python: xlwings Lite.

xlwings Lite runs Python inside Excel (Pyodide, in the browser's sandbox). Its editor's
`main.py` needs one line to offer the Recalculate script and the HMIS_* functions:

    from workbook.lite import *  # noqa: F403

and its `requirements.txt` names hmis-licensing (see the README, "Excel on the web").
Nothing here is new logic: `recalculate` is `workbook.excel.recalculate`, the function the
desktop button runs, and the functions are `workbook.excel.udfs`'s, registered with Lite's
decorators (`xlwings.server`, which Lite provides) instead of the classic ones.

Lite cannot read files from the user's disk, so the policy comes from a sheet named
Policy holding policy.yaml's text (else the adopted policy shipped with hmis-licensing),
and the workbook has no folder for a Settings Policy File to be relative to.

This module must not use `from __future__ import annotations`: xlwings before 0.37 (Lite's
default, 0.33.15) hands a script its book by comparing each parameter's annotation with
`xw.Book` itself, and a string annotation never matches ("Scripts currently only allow
Book and CurrentUser as params"). tests/test_excel_pyodide.py runs this in Pyodide with
both versions.
"""

import functools
import inspect
from collections.abc import Callable

import xlwings as xw
from xlwings.server import arg, func, script

from workbook.excel import udfs
from workbook.excel.book import RAN_FROM_LITE, summary
from workbook.excel.book import recalculate as recalculate_book

__all__ = [
    "HMIS_ALLOTMENT",
    "HMIS_LICENSE_FINDING",
    "HMIS_POLICY",
    "HMIS_SELF_PAY_COST",
    "recalculate",
]


@script(name="Recalculate")
def recalculate(book: xw.Book):
    """Recalculate the result sheets (Allotments, Inactivity Report, ...) and the Run Log."""
    outcome = recalculate_book(book, workbook_folder=None, ran_from=RAN_FROM_LITE)
    print(summary(outcome))  # Lite shows print() in its output pane


def _for_lite(function: Callable[..., object]) -> Callable[..., object]:
    """The same function, registered for Lite, with the same argument texts."""

    @functools.wraps(function, updated=())
    def registered(*args):
        return function(*args)

    for name in inspect.signature(function).parameters:
        options = {"ndim": 2} if name == "policy" else {}
        registered = arg(name, doc=udfs.ARGUMENT_DOCS[name], **options)(registered)
    return func(registered)


HMIS_ALLOTMENT = _for_lite(udfs.HMIS_ALLOTMENT)
HMIS_LICENSE_FINDING = _for_lite(udfs.HMIS_LICENSE_FINDING)
HMIS_SELF_PAY_COST = _for_lite(udfs.HMIS_SELF_PAY_COST)
HMIS_POLICY = _for_lite(udfs.HMIS_POLICY)
