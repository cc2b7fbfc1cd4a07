"""Excel itself, through xlwings: the Recalculate button, worksheet functions, Lite, the add-in.

`book.recalculate(book)` does what `hmis-licensing recalc` does through the xlwings calls
that desktop xlwings, xlwings Server and xlwings Lite all support (SPEC §6); `udfs` holds
the HMIS_* worksheet functions; `lite` registers both for xlwings Lite; `addin/` builds and
installs the ribbon add-in. It may import the workbook glue and `engine`/`policy` for the
worksheet functions, never `workbook.xlsx`, `workbook.hmis` or `workbook.cli`. xlwings is
imported only where it is needed, so the command line never loads it.

    from workbook.excel import recalculate
"""

from __future__ import annotations

from workbook.excel.book import recalculate

__all__ = ["recalculate"]
