"""The root of hmis-licensing's one exception hierarchy.

    HmisLicensingError          anything that stops a command; carries the exit code
    ├── policy.errors.PolicyError       a policy file that cannot be used (exit 2)
    ├── workbook.errors.WorkbookError   a workbook that cannot be read or written (exit 2)
    └── workbook.errors.UsageError      a command given arguments it cannot use (exit 2)

The engine itself raises none of them: bad *cells* become Problems in the results, so one
run reports all of them at once. The subclasses live with the edges that raise them; this
root stays here so that every layer (and the Excel button) can catch them all with one
`except HmisLicensingError`. Every message names the file (and line, sheet or cell where
there is one) and says what would fix it.
"""

from __future__ import annotations


class HmisLicensingError(Exception):
    """Base of every error hmis-licensing raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  How to fix: {self.fix}" if self.fix else self.message
