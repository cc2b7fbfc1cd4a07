"""The .xlsx file format and nothing of the policy: read, write in place, save safely.

It owns the zip package (`package`, `rawzip`: members unpacked within a budget), the
worksheet XML (`sheetxml`: result sheets as XML, `cells`: reading and patching single
cells, `extent`: how far a sheet's values reach, known before any reader allocates,
`appended`: rows added to Run Log and Findings History in place), the style sheet
(`styles`), the fast reader (`read`, python-calamine given a checked copy, plus an XML
scan), the byte-preserving writer (`write`) and atomic saves with the workbook lock
(`safesave`). It may import the standard library,
python-calamine and the workbook glue (`workbook.layout`, `workbook.tables`,
`workbook.values`, `workbook.results`, `workbook.errors`), never `engine`, `policy` or
another room (`workbook.hmis`, `workbook.excel`).
"""
