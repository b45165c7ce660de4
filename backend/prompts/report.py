"""What an import found wrong: the whole file (ImportFailed) or single rows (Report)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from backend.prompts.schemas import ImportReport, Removed, RowError

MAX_REPORTED_ERRORS = 200


class ImportFailed(Exception):
    """The file as a whole cannot be read (not a format we know, not UTF-8, empty)."""

    def __init__(self, reason: str, message: str, row: int | None = None):
        super().__init__(message)
        self.reason, self.message, self.row = reason, message, row


@dataclass
class Report:
    rows_read: int = 0
    rows_stored: int = 0
    errors: list[RowError] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    removed: dict[str, int] = field(default_factory=dict)  # valid rows the cleaning removed, per reason
    removed_examples: list[Removed] = field(default_factory=list)

    def reject(self, row: int, fld: str | None, reason: str, message: str) -> None:
        self.reasons[reason] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row=row, field=fld, reason=reason, message=message))

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def out(self) -> ImportReport:
        return ImportReport(
            rows_read=self.rows_read,
            rows_stored=self.rows_stored,
            rows_rejected=self.rejected,
            errors=self.errors,
            reasons=dict(self.reasons),
            removed=self.removed,
            removed_examples=self.removed_examples,
        )
