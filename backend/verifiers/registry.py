"""The verifiers a recipe may name: name -> version, settings model, and the dotted path of the
function, which is imported only by the worker that runs it (the API never loads sympy).

A recipe's verifiers are a VerifierCombo; validating one gives pydantic errors whose paths reach into
the settings (`verifiers.0.settings.timeout_s`), which the API turns into a 422 with field paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails

from backend.verifiers.settings import (
    CodeSettings,
    FormatSettings,
    JsonSettings,
    MatchSettings,
    MathSettings,
    RegexSettings,
)

__all__ = ["VERIFIERS", "VerifierKind", "VerifierSpec", "VerifierCombo", "MathSettings", "CodeSettings"]


@dataclass(frozen=True)
class VerifierKind:
    name: str
    version: str  # bumped whenever a verdict could change for the same input
    settings: type[BaseModel]
    function: str  # "module:function", taking (items, settings) and giving one Verdict per item
    help: str


VERIFIERS: dict[str, VerifierKind] = {
    k.name: k
    for k in [
        VerifierKind(
            "math",
            "1",
            MathSettings,
            "workers.verifiers.math:verify_batch",
            "The answer after the reasoning equals the reference: plain numbers first, then math-verify.",
        ),
        VerifierKind(
            "code",
            "1",
            CodeSettings,
            "workers.verifiers.code:verify_batch",
            "A Python program from the answer passes the prompt's tests inside a bubblewrap sandbox.",
        ),
        VerifierKind(
            "format",
            "1",
            FormatSettings,
            "workers.verifiers.format:verify_batch",
            "One closed reasoning block, not truncated, an answer after it, lengths within bounds.",
        ),
        VerifierKind(
            "exact",
            "1",
            MatchSettings,
            "workers.verifiers.exact:verify_exact",
            "The answer is the reference, character for character (surrounding space aside).",
        ),
        VerifierKind(
            "normalised",
            "1",
            MatchSettings,
            "workers.verifiers.exact:verify_normalised",
            "The answer equals the reference up to case, spacing, end punctuation and LaTeX wrappers.",
        ),
        VerifierKind(
            "regex",
            "1",
            RegexSettings,
            "workers.verifiers.exact:verify_regex",
            "The answer (or the whole completion) matches a pattern, within a time limit.",
        ),
        VerifierKind(
            "json",
            "1",
            JsonSettings,
            "workers.verifiers.json_check:verify_batch",
            "The answer parses as JSON and, with a schema, validates against it.",
        ),
    ]
}


def kind(name: str) -> VerifierKind:
    try:
        return VERIFIERS[name]
    except KeyError:
        raise KeyError(f"unknown verifier {name!r}; known: {', '.join(VERIFIERS)}") from None


class VerifierSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="A verifier from the registry.")
    settings: dict[str, Any] = Field(default_factory=dict, validate_default=True, description="Its settings.")

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in VERIFIERS:
            raise ValueError(f"unknown verifier {v!r}; known: {', '.join(VERIFIERS)}")
        return v

    @field_validator("settings")
    @classmethod
    def _typed(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("name")
        if name is None:  # the name was refused already
            return v
        try:
            return VERIFIERS[name].settings.model_validate(v).model_dump(mode="json")
        except ValidationError as exc:
            # raised again as a ValidationError so pydantic nests each error's path under `settings`
            raise ValidationError.from_exception_data(
                exc.title,
                [
                    InitErrorDetails(type=_custom(e), loc=e["loc"], input=e["input"], ctx=e.get("ctx") or {})
                    for e in exc.errors()
                ],
            ) from None

    def typed_settings(self) -> BaseModel:
        return VERIFIERS[self.name].settings.model_validate(self.settings)


class VerifierCombo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["all", "any"] = Field("all", description="Pass when all verifiers pass, or any one.")
    verifiers: list[VerifierSpec] = Field(min_length=1)


def _custom(e: Any) -> Any:
    # value_error carries an exception object in its context that cannot be rebuilt from a type name
    if e["type"] in ("value_error", "assertion_error"):
        from pydantic_core import PydanticCustomError

        return PydanticCustomError(e["type"], e["msg"])
    return e["type"]
