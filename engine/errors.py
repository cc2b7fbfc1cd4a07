"""The one exception hierarchy of hmis-licensing.

    HmisLicensingError          anything that stops a command; carries the exit code
    ├── PolicyError             a policy file that cannot be used (exit 2)
    ├── WorkbookError           a workbook that cannot be read or written (exit 2)
    └── UsageError              a command given arguments it cannot use (exit 2)

Bad *cells* are not exceptions: they become Problems in the results, so one run reports
all of them at once. These exceptions are for what stops a run before it can start.
Every message names the file (and line, sheet or cell where there is one) and says what
would fix it.
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


class PolicyError(HmisLicensingError):
    """A policy file that is missing, not YAML, or does not follow the schema."""

    def __init__(
        self, message: str, *, fix: str | None = None, details: list[str] | None = None
    ) -> None:
        super().__init__(message, fix=fix)
        self.details = details or [message]

    def __str__(self) -> str:
        text = "\n".join(self.details) if len(self.details) > 1 else self.message
        return f"{text}\n  How to fix: {self.fix}" if self.fix else text


class WorkbookError(HmisLicensingError):
    """A workbook file that is missing, locked, not a workbook, or cannot be saved."""


class UsageError(HmisLicensingError):
    """A command line that cannot be carried out as written."""
