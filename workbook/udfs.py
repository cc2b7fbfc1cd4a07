"""Kept for workbooks whose code imports `workbook.udfs`: the functions live in
`workbook.excel.udfs`."""

from workbook.excel.udfs import (
    HMIS_ALLOTMENT,
    HMIS_LICENSE_FINDING,
    HMIS_POLICY,
    HMIS_SELF_PAY_COST,
)

__all__ = ["HMIS_ALLOTMENT", "HMIS_LICENSE_FINDING", "HMIS_POLICY", "HMIS_SELF_PAY_COST"]
