"""The module the HMIS Licensing ribbon add-in (hmis_licensing.xlam) runs in desktop Excel.

The add-in's Recalculate button runs `import hmis_licensing; hmis_licensing.main()` (the
xlwings ribbon template imports the module named like the add-in file), and its worksheet
functions are imported from here ("UDF Modules" in the add-in's settings). This module is
therefore top level and installed with hmis-licensing, so Excel finds it in the Python
that `hmis-licensing excel install` wrote into the add-in, whatever folder the workbook
is in. The work itself is in `workbook.excel.book` (the button) and `workbook.excel.udfs` (the
functions), which Excel on the web (`workbook.excel.lite`) shares.
"""

from __future__ import annotations

import os

from workbook.excel.udfs import (
    HMIS_ALLOTMENT,
    HMIS_LICENSE_FINDING,
    HMIS_POLICY,
    HMIS_SELF_PAY_COST,
)

__all__ = [
    "HMIS_ALLOTMENT",
    "HMIS_LICENSE_FINDING",
    "HMIS_POLICY",
    "HMIS_SELF_PAY_COST",
    "main",
]

TITLE = "HMIS Licensing"


def main() -> None:
    """Recalculate the active workbook (the Recalculate button) and say what came of it."""
    import xlwings as xw

    from engine.errors import HmisLicensingError
    from workbook.excel.book import recalculate, summary, workbook_folder_of

    try:
        # From the add-in, the caller is the active workbook, not the add-in itself.
        book = xw.Book.caller()
    except Exception:
        raise SystemExit(
            "hmis_licensing.main() recalculates the workbook that is active in Excel: click"
            " Recalculate on the HMIS Licensing tab, or run `hmis-licensing recalc WORKBOOK`."
        ) from None
    try:
        outcome = recalculate(book, workbook_folder=workbook_folder_of(_full_name(book)))
        message = summary(outcome)
    except HmisLicensingError as exc:
        message = f"The recalculation stopped.\n{exc}"
    except Exception as exc:  # a bug: a plain message in Excel instead of a traceback
        if os.environ.get("HMIS_LICENSING_DEBUG"):
            raise
        message = (
            f"Internal error ({type(exc).__name__}: {exc}). Some result sheets may be"
            " incomplete: press Recalculate again, and please report this."
        )
    book.app.alert(message, title=TITLE)


def _full_name(book: object) -> str:
    """The workbook's path; "" when Excel cannot say (e.g. an unsynced SharePoint file)."""
    try:
        return str(book.fullname)  # type: ignore[attr-defined]
    except Exception:
        return ""
