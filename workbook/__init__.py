"""The edges of hmis-licensing: the shared workbook (openpyxl headless, xlwings in Excel),
the command line and the bundled sample workbook. Sheet layout: `workbook.layout`."""
