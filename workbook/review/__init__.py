"""The monthly review's documents (SPEC §8): committee packets (PDF) and notice drafts (.eml).

It owns what the committees and the people the policy names get to read: `packet` (what a
committee's packet says, from a run's Outcome), `pdf` (laying a packet out on Letter
paper with reportlab), `notices` (one e-mail draft per organization and per region),
`text` (cleaning workbook text for a page, a header or a file name), `files` (default
names and saving beside the workbook) and `commands` (the `packet` and `notices`
commands, given the Outcome the command line computed). It reads nothing itself: the
command line reads the workbook as `check` does and the Excel button reads the open book,
and both hand the same Outcome in. It may import the standard library, reportlab, the
workbook glue (`workbook.run`, `workbook.layout`, `workbook.errors`, ...) and `engine.model`
types and the safe save (`workbook.xlsx.safesave.replace_file`), never other
`workbook.xlsx` internals, `workbook.excel` or `workbook.cli`. Nothing here
writes into a workbook or sends a message.
"""
