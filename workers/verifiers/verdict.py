"""What a verifier is given (an Item) and what it answers (a Verdict)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal

Status = Literal["passed", "wrong", "unparseable", "timeout", "error", "reference_unparseable"]

# passed is three-valued: None where the check could not decide (it ran out of time, failed, or had
# nothing to compare against), so such attempts are counted apart from wrong ones.
_PASSED: dict[str, bool | None] = {
    "passed": True,
    "wrong": False,
    "unparseable": False,
    "timeout": None,
    "error": None,
    "reference_unparseable": None,
}


@dataclass(frozen=True)
class Item:
    completion: str
    reasoning: str | None = None
    finish_reason: str | None = None
    reference: str | None = None
    tests: Any = None

    @classmethod
    def of(cls, value: Item | dict[str, Any]) -> Item:
        if isinstance(value, Item):
            return value
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in value.items() if k in known}
        if not isinstance(data.get("completion"), str):
            raise ValueError("an item needs a string 'completion'")
        if isinstance(data.get("reference"), int | float):  # GSM8K-style numeric references in JSON
            ref = data["reference"]
            # str() of an int past 4,300 digits raises; Decimal writes its digits without that limit
            data["reference"] = str(Decimal(ref)) if type(ref) is int else str(ref)
        elif data.get("reference") is not None and not isinstance(data["reference"], str):
            raise ValueError("an item's 'reference' is a string or a number")
        return cls(**data)


@dataclass(frozen=True)
class Verdict:
    verifier: str
    version: str
    status: Status
    score: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    parts: tuple[Verdict, ...] = ()

    @property
    def passed(self) -> bool | None:
        return _PASSED[self.status]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        out["parts"] = [p.to_dict() for p in self.parts]
        if not self.parts:
            del out["parts"]
        return out


def verdict(
    verifier: str,
    version: str,
    status: Status,
    duration_ms: float = 0.0,
    score: float | None = None,
    **detail,
) -> Verdict:
    """A verdict whose score defaults to 1 for a pass and 0 otherwise."""
    if score is None:
        score = 1.0 if status == "passed" else 0.0
    return Verdict(verifier, version, status, score, detail, round(duration_ms, 3))
