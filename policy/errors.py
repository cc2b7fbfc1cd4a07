"""The policy layer's error: a policy file that cannot be used."""

from __future__ import annotations

from engine.errors import HmisLicensingError


class PolicyError(HmisLicensingError):
    """A policy file that is missing, not YAML, or does not follow the schema (exit 2)."""

    def __init__(
        self,
        message: str,
        *,
        fix: str | None = None,
        details: list[str] | None = None,
        file_problem: bool = False,
    ) -> None:
        super().__init__(message, fix=fix)
        self.details = details or [message]
        # The path names no readable policy file (missing, a folder, a device): fixed
        # where the path was given (the Settings sheet's Policy File), not in the file.
        self.file_problem = file_problem

    def __str__(self) -> str:
        text = "\n".join(self.details) if len(self.details) > 1 else self.message
        return f"{text}\n  How to fix: {self.fix}" if self.fix else text
