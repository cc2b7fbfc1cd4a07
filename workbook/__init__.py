"""The edges of hmis-licensing: everything that touches a file, Excel, a clock or the terminal.

The glue at this level turns a workbook's cells into the engine's typed rows and the
engine's results into rows of result sheets, the same for every path: `layout` (every
sheet and column, declared once), `values` (one cell to a typed value), `tables` (sheets to
input rows), `results` (results to sheet rows), `run` (choose policy and date, run the
engine), `policy_sheet`, `errors`, and `cli` (the command line, which imports the rooms).
The rooms below hold one outside world each: `xlsx/` the file format, `hmis/` the HUD HMIS
CSV export, `excel/` Excel through xlwings. Imports point one way: engine <- policy <-
this glue <- the rooms <- cli.
"""
