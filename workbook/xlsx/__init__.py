"""The .xlsx file format and nothing of the policy: read, write in place, save safely.

It owns the zip package (`package`, `rawzip`), the worksheet XML (`sheetxml`: result sheets
as XML, `cells`: reading and patching single cells), the style sheet (`styles`), the fast
reader (`read`, python-calamine plus an XML scan), the byte-preserving writer (`write`)
and atomic saves with the workbook lock (`safesave`). It may import the standard library,
python-calamine and the workbook glue (`workbook.layout`, `workbook.tables`,
`workbook.values`, `workbook.results`, `workbook.errors`), never `engine`, `policy` or
another room (`workbook.hmis`, `workbook.excel`).
"""
