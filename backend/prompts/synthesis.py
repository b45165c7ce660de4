"""Evol-Instruct style synthesis (WizardLM): a teacher rewrites seed prompts deeper or broader.

Pure functions: the instructions sent to the teacher, and the cleaning of what it sends back.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from backend.core.ids import Id
from backend.prompts.dedup.hashing import normalise


class Evolution(StrEnum):
    deepen = "deepen"  # add a constraint or requirement
    concretize = "concretize"  # replace general concepts with specific ones
    reasoning = "reasoning"  # require more explicit reasoning steps
    broaden = "broaden"  # a new, rarer prompt in the same domain


_DEPTH = (
    "I want you to act as a prompt rewriter. Rewrite the given prompt into a harder version that "
    "well-known AI systems would find more difficult, while it stays reasonable, self-contained and "
    "answerable by a human. {how} Do not answer the prompt. Reply with the rewritten prompt only, adding "
    "at most 10 to 20 words.\n\n#Given Prompt#:\n{seed}"
)
INSTRUCTIONS = {
    Evolution.deepen: _DEPTH.replace("{how}", "Add exactly one more constraint or requirement."),
    Evolution.concretize: _DEPTH.replace("{how}", "Replace general concepts with more specific ones."),
    Evolution.reasoning: _DEPTH.replace(
        "{how}",
        "If it can be solved in a few simple steps, make it require several explicit reasoning steps.",
    ),
    Evolution.broaden: (
        "I want you to act as a prompt creator. Draw inspiration from the given prompt to create a brand "
        "new prompt in the same domain, but rarer. It should be about as long and as hard, self-contained "
        "and answerable. Do not answer it. Reply with the new prompt only.\n\n#Given Prompt#:\n{seed}"
    ),
}


class SynthesisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    teacher_id: Id = Field(description="An OpenAI-compatible teacher of this project (needs a base_url).")
    evolutions: list[Evolution] = Field([Evolution.deepen, Evolution.broaden], min_length=1)
    max_seeds: int | None = Field(
        None, ge=1, le=1_000_000, description="Use only the first N prompts as seeds."
    )
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=16, le=8192)
    concurrency: int = Field(16, ge=1, le=512)


def conversation(seed: str, evolution: Evolution) -> list[dict[str, str]]:
    return [{"role": "user", "content": INSTRUCTIONS[evolution].replace("{seed}", seed)}]


_LABEL = re.compile(r"^\s*(#+\s*)?(rewritten|new|created)\s+prompt\s*#*\s*:?\s*", re.I)


def clean_variant(text: str | None, seed: str) -> tuple[str, None] | tuple[None, str]:
    """(the variant, None) or (None, why it was dropped)."""
    if text is None:
        return None, "no_answer"
    text = _LABEL.sub("", text).strip().strip('"').strip()
    if "\x00" in text:
        return None, "nul_character"
    if len(text.split()) < 3:
        return None, "too_short"
    if "#Given Prompt#" in text:
        return None, "echoed_instructions"
    if normalise(text) == normalise(seed):
        return None, "same_as_seed"
    return text, None
