"""The edges' errors: a workbook or export that cannot be used, a command that cannot run.

Both are `engine.errors.HmisLicensingError`, whose exit code (2) the command line returns.
"""

from __future__ import annotations

from engine.errors import HmisLicensingError


class WorkbookError(HmisLicensingError):
    """A workbook (or export) file that is missing, locked, damaged, or cannot be saved."""


class UsageError(HmisLicensingError):
    """A command line that cannot be carried out as written."""


class OutputError(HmisLicensingError):
    """The console (stdout or stderr) refused what the command wrote: a full disk behind
    a redirect, a device that takes nothing."""
