"""What an xlwings Lite `main.py` imports (`from workbook.lite import *`), as the README says.

The script and functions live in `workbook.excel.lite`; this name stays so that the
`main.py` already stored inside users' workbooks keeps working.
"""

from workbook.excel.lite import (
    HMIS_ALLOTMENT,
    HMIS_LICENSE_FINDING,
    HMIS_POLICY,
    HMIS_SELF_PAY_COST,
    recalculate,
)

__all__ = [
    "HMIS_ALLOTMENT",
    "HMIS_LICENSE_FINDING",
    "HMIS_POLICY",
    "HMIS_SELF_PAY_COST",
    "recalculate",
]
