"""The exception hierarchy every layer raises; the CLI turns these into clear messages."""

from __future__ import annotations


class SkywardenError(Exception):
    """Base of every error a user can act on."""


class ConfigError(SkywardenError):
    """A configuration or accounts file is unreadable or invalid."""


class RuleValidationError(SkywardenError):
    """One problem in one rule file: names the file, the rule id and the field."""

    def __init__(self, file: str, rule_id: str | None, field: str | None, message: str) -> None:
        self.file = file
        self.rule_id = rule_id
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.rule_id:
            where += f" rule {self.rule_id}"
        if self.field:
            where += f" field {self.field}"
        return f"{where}: {self.message}"


class RulePackError(SkywardenError):
    """Every validation problem found while loading rule packs, reported together."""

    def __init__(self, errors: list[RuleValidationError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"{len(errors)} rule validation error(s):\n{lines}")


class CollectionError(SkywardenError):
    """A scan could not start (no credentials, no reachable account)."""


class RemediationError(SkywardenError):
    """A remediation could not be planned, applied or verified."""
