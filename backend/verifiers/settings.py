"""Typed settings of each verifier (extra keys refused), shared by the API and the workers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MathSettings(_Settings):
    timeout_s: float = Field(
        5.0, gt=0, le=120, description="Hard limit per check; past it the verdict is timeout."
    )
    first_tier: bool = Field(True, description="Settle plain strings and numbers without sympy.")
    float_rounding: int = Field(6, ge=0, le=15, description="Decimal places numbers are compared at.")


class CodeSettings(_Settings):
    timeout_s: float = Field(10.0, gt=0, le=300, description="Wall-clock limit of one test run.")
    cpu_s: int = Field(5, ge=1, le=300, description="CPU seconds one test run may use.")
    memory_mb: int = Field(512, ge=32, le=16384, description="Address-space limit of the program.")
    max_processes: int = Field(
        32, ge=1, le=4096, description="Processes and threads one sandbox may hold (its own cgroup)."
    )
    file_size_mb: int = Field(16, ge=1, le=1024, description="Largest file the program may write.")
    disk_mb: int = Field(
        64, ge=1, le=4096, description="All the program may write (its work dir and /tmp, held in RAM)."
    )
    max_tests: int = Field(100, ge=1, le=10000, description="Tests run per item (the first ones).")
    python: str = Field("/usr/bin/python3", description="Interpreter inside the sandbox (under /usr).")
    allow_unsandboxed: bool = Field(
        False, description="Where bubblewrap cannot run, run tests in a plain subprocess (verdicts say so)."
    )


class FormatSettings(_Settings):
    require_reasoning: bool = Field(True, description="A reasoning block (<think> or a reasoning field).")
    min_reasoning_chars: int = Field(1, ge=0, description="Shortest acceptable reasoning.")
    max_reasoning_chars: int | None = Field(None, gt=0, description="Longest acceptable reasoning.")
    min_answer_chars: int = Field(1, ge=0, description="Shortest acceptable answer after the reasoning.")
    max_chars: int | None = Field(
        None, gt=0, description="Longest acceptable completion, reasoning included."
    )


class MatchSettings(_Settings):
    extract: bool = Field(
        True, description="Compare the stated answer (\\boxed, Answer:) rather than all of it."
    )


class RegexSettings(_Settings):
    pattern: str = Field(description="Regular expression (the `regex` module's syntax).")
    target: Literal["answer", "completion"] = Field("answer", description="What the pattern is matched on.")
    fullmatch: bool = Field(False, description="The whole target must match, not just a part.")
    ignore_case: bool = False
    timeout_s: float = Field(1.0, gt=0, le=60, description="A match running longer answers timeout.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import regex

        try:
            regex.compile(v)
        except regex.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return v


class JsonSettings(_Settings):
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema the answer must satisfy (any draft jsonschema knows)."
    )
    extract: bool = Field(True, description="Take a ```json fenced block where the answer has one.")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(v).check_schema(v)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return v
