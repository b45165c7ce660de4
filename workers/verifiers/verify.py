"""The entry point: a recipe's verifiers (a VerifierCombo) over items, one Verdict per item."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.verifiers.registry import VERIFIERS, VerifierCombo
from workers.verifiers.pool_worker import resolve
from workers.verifiers.verdict import Item, Verdict

COMBO_VERSION = "1"


def verify_many(
    combo: VerifierCombo | dict[str, Any], items: Iterable[Item | dict[str, Any]]
) -> list[Verdict]:
    """Each item through every verifier of the combo; with more than one, a verdict named after the
    mode ("all" or "any") whose parts are the verifiers' own verdicts."""
    combo = combo if isinstance(combo, VerifierCombo) else VerifierCombo.model_validate(combo)
    items = [Item.of(i) for i in items]
    per_verifier: list[list[Verdict]] = []
    for spec in combo.verifiers:
        kind = VERIFIERS[spec.name]
        fn = resolve(kind.function)
        verdicts = fn(items, spec.typed_settings())
        if len(verdicts) != len(items):
            raise RuntimeError(
                f"verifier {spec.name} answered {len(verdicts)} verdicts for {len(items)} items"
            )
        per_verifier.append(verdicts)
    if len(per_verifier) == 1:
        return per_verifier[0]
    return [combine(combo.mode, parts) for parts in zip(*per_verifier, strict=True)]


def combine(mode: str, parts: tuple[Verdict, ...] | list[Verdict]) -> Verdict:
    """Three-valued all/any: a sure failure (or pass, for any) wins over an undecided part."""
    parts = tuple(parts)
    values = [p.passed for p in parts]
    decisive = False if mode == "all" else True
    if decisive in values:
        chosen = next(p for p in parts if p.passed is decisive)
    elif None in values:
        chosen = next(p for p in parts if p.passed is None)
    else:
        chosen = parts[0]
    scores = [p.score for p in parts]
    return Verdict(
        verifier=mode,
        version=COMBO_VERSION,
        status=chosen.status,
        score=min(scores) if mode == "all" else max(scores),
        detail={"decided_by": chosen.verifier},
        duration_ms=round(sum(p.duration_ms for p in parts), 3),
        parts=parts,
    )
