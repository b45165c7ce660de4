from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from backend.core.ids import Id


class ColumnMapping(BaseModel):
    """Which columns hold what. None means 'recognise the usual layouts' (GSM8K, MATH, chat messages,
    HumanEval); an empty string means the file has no such column, so no usual name is looked for."""

    prompt: str | None = Field(None, description="Column with the prompt text, or chat messages.")
    system: str | None = Field(None, description="Column with an optional system prompt.")
    reference: str | None = Field(None, description="Column with the reference answer.")
    tests: str | None = Field(
        None,
        description="Column with the code verifier's tests (stored as the prompt's meta.tests): "
        'stdin/stdout pairs [{"input", "output"}] or {"inputs": [..], "outputs": [..]}, asserts '
        '{"asserts": [..]}, a list of assert strings, one string of test code, or '
        '{"check": code, "entry_point": name}. Default: tests, or test beside an entry_point column.',
    )
    entry_point: str | None = Field(
        None,
        description="Column with the name of the function the tests call (HumanEval): test code becomes "
        '{"check": code, "entry_point": name}, run as check(name). Default: entry_point.',
    )
    id: str | None = Field(
        None, description="Column with the row's own id, kept as meta.id. Default: id, task_id."
    )
    metadata: list[str] | None = Field(None, description="Columns kept as metadata; default: the rest.")

    @field_validator("prompt")
    @classmethod
    def _prompt_named(cls, v: str | None) -> str | None:
        if v == "":
            raise ValueError("the prompt column cannot be empty: name it, or leave it out to recognise it")
        return v


class CleaningOptions(BaseModel):
    """How a prompt set is cleaned on import (or when a new version is derived from an old one)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dedup_exact: bool = Field(True, description="Drop rows whose normalised text was seen before.")
    near_dup_threshold: float | None = Field(
        0.8,
        ge=0.05,
        le=1.0,
        description="MinHash LSH Jaccard threshold for near duplicates; null turns it off.",
    )
    shingle_words: int = Field(5, ge=1, le=20, description="Word shingle size for near-duplicate detection.")
    decontaminate_against: Id | None = Field(
        None,
        description="Prompt set id of an evaluation set; rows sharing an n-gram with it are removed.",
    )
    ngram: int = Field(8, ge=3, le=50, description="n-gram size for decontamination (open-r1 uses 8).")
    eval_ratio: float = Field(0.0, ge=0.0, lt=1.0, description="Share of prompts placed in the eval split.")
    split_seed: str = Field("", max_length=100, description="Changes which prompts land in eval.")


class Removed(BaseModel):
    row: int = Field(description="Row (line) of the removed prompt in the source.")
    reason: str = Field(description="exact_duplicate | near_duplicate | contaminated")
    matched: int = Field(description="Row it duplicates, or the evaluation set's position it matched.")
    text: str = Field(description="The removed prompt, cut to 200 characters.")
    matched_text: str | None = Field(None, description="The text it matched, cut to 200 characters.")


class RowError(BaseModel):
    row: int = Field(description="1-based line (JSONL) or data row (CSV) in the file.")
    field: str | None
    reason: str
    message: str


class ImportReport(BaseModel):
    rows_read: int
    rows_stored: int
    rows_rejected: int
    errors: list[RowError] = Field(description="The first 200 rejected rows.")
    reasons: dict[str, int] = Field(description="Rejected rows per reason.")
    removed: dict[str, int] = Field(default_factory=dict, description="Valid rows removed per reason.")
    removed_examples: list[Removed] = Field(default_factory=list, description="The first removed rows.")


class LengthHistogram(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    edges: list[float] = Field(description="numpy's bin edges: bins + 1 of them, rounded to 2 decimals.")
    counts: list[int] = Field(description="Prompts per bin.")


class LengthStats(BaseModel):
    """backend/prompts/stats.py length_stats: the spread of the kept prompts' lengths (characters)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    count: int
    min: int | float
    max: int | float
    mean: float
    percentiles: dict[str, float] = Field(description="Keyed like 'p50'.")
    histogram: LengthHistogram


class ReferenceExample(BaseModel):
    row: int = Field(description="Row (position) of the prompt in the set.")
    reference: str = Field(description="The reference, cut to 200 characters.")


class ReferenceStats(BaseModel):
    """workers/jobs/reference_stats.py: references the math verifier cannot parse (a job after the import)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    with_reference: int
    unparseable: int
    examples: list[ReferenceExample] = Field(default_factory=list)


class PromptSetStats(BaseModel):
    """What is stored on a prompt-set version (backend/prompts/pipeline.py Cleaner.stats, content_counts,
    then workers/jobs/reference_stats.py's references). Every key may be missing: a version still
    importing stores none, older versions lack the later ones."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    count: int | None = Field(None, description="Prompts kept.")
    source: str | None = Field(None, description="The uploaded file's name (or the parent's source).")
    rows_read: int | None = None
    rejected: int | None = Field(None, description="Invalid rows.")
    removed: dict[str, int] | None = Field(None, description="Valid rows removed per reason.")
    removed_examples: list[Removed] | None = Field(None, description="The first removed rows.")
    splits: dict[str, int] | None = Field(None, description="Kept rows per split.")
    chars: LengthStats | None = None
    cleaning: dict[str, Any] | None = Field(
        None, description="The cleaning options the version was made with."
    )
    references: ReferenceStats | None = None
    with_tests: int | None = Field(None, description="Prompts with tests (meta.tests).")
    with_reference: int | None = Field(None, description="Prompts with a reference answer.")


class PromptSetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    version: int
    parent_id: int | None
    source: str
    status: str
    frozen: bool
    prompt_count: int
    stats: PromptSetStats
    created_at: datetime
    search_indexed_at: datetime | None = Field(
        default=None,
        description="When prompt text search on this set became indexed (a job after the import); "
        "until then search scans the set, with the same results, slower",
    )

    # What the set holds, for the wizard's verifier suggestion (tests: code; references: math). Counted
    # when a version is written; None on versions written before the count existed. The ignores: mypy
    # takes no decorator over @property, and computed_field over one is pydantic's documented form.
    @computed_field(description="Prompts with tests (meta.tests) for the code verifier; null: not counted")  # type: ignore[prop-decorator]
    @property
    def with_tests(self) -> int | None:
        return self.stats.with_tests

    @computed_field(description="Prompts with a reference answer; null: not counted")  # type: ignore[prop-decorator]
    @property
    def with_reference(self) -> int | None:
        return self.stats.with_reference


class PromptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    text: str
    system: str | None
    messages: list[dict[str, Any]] | None
    reference: str | None
    meta: dict[str, Any]
    split: str
