"""The prompt-set statistic of references the math verifier cannot read: counted once at import, so a
reference that does not parse is flagged up front instead of turning every attempt "wrong" later."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.core.db import session_scope
from backend.prompts.models import Prompt, PromptSet

PAGE = 5_000
EXAMPLES = 5


def reference_stats(prompt_set_id: int, progress=None) -> dict[str, Any]:
    """Count the set's references and those that do not parse; store it on the set's stats."""
    from workers.verifiers.math import references_parse

    with_reference = unparseable = 0
    examples: list[dict[str, Any]] = []
    last = -1
    while True:
        with session_scope() as s:
            rows = s.execute(
                select(Prompt.position, Prompt.reference)
                .where(
                    Prompt.prompt_set_id == prompt_set_id,
                    Prompt.position > last,
                    Prompt.reference.is_not(None),
                )
                .order_by(Prompt.position)
                .limit(PAGE)
            ).all()
        if not rows:
            break
        last = rows[-1][0]
        ok = references_parse([r for _, r in rows])
        with_reference += len(rows)
        for (position, ref), parsed in zip(rows, ok, strict=True):
            if not parsed:
                unparseable += 1
                if len(examples) < EXAMPLES:
                    examples.append({"row": position, "reference": ref[:200]})
        if progress is not None:
            progress(with_reference)
    stats = {"with_reference": with_reference, "unparseable": unparseable, "examples": examples}
    with session_scope() as s:
        pset = s.get_one(PromptSet, prompt_set_id)
        pset.stats = {**(pset.stats or {}), "references": stats}
    return stats
