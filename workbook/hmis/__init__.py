"""The HUD HMIS CSV export (SPEC §7): who last entered or updated client data.

`export` holds what both reading routes share (the files of an export, the date and row
rules, per-user tallies, the progress bar); `csv_route` reads with the csv module and
`arrow_route` with pyarrow; `reader.read_export_activity` is the one place that chooses
between them; `importer` matches users to Licenses rows and patches the two activity
columns. It may import the standard library, pyarrow (optional), the workbook glue and
`workbook.xlsx` (to patch the Licenses sheet), never `workbook.excel` or `workbook.cli`.
Only UserID and the three audit dates are ever kept from a client-data row.
"""
