"""A reviewer's edit is checked like the teacher's attempt was: the run's filter verifiers run on the
edited text (workers/edits.py: the `edit_verify` job queued when the edit is saved, and the snapshot
stage for any edit still pending), and the verdict is stored with the edit, in the audit row's
`after["verdict"]` (no table of its own: it is the edit's, and an undone edit takes it along).

The rule the snapshot applies (`left_out`): an edit the verifiers reject is not admitted, unless the
reviewer saved it with `admit_if_rejected` and a note saying why; an edit the verifiers could not
decide (timeout, a reference that does not parse) stands on the reviewer's word, as an undecided
attempt sent to review does. `error` is the verifier's infrastructure failing (the sandbox, a worker):
never a verdict on the edit, it is verified again, and the snapshot stage fails rather than guess."""

from __future__ import annotations

from typing import Any

from backend.runs.stages import stage_kind
from backend.verifiers.filter import FilterSettings
from backend.verifiers.registry import VerifierCombo

PENDING: dict[str, Any] = {"status": "pending", "passed": None}
UNSETTLED = ("pending", "error")  # no verdict yet: the snapshot stage verifies these again


def verifiers_of(recipe: dict[str, Any] | None) -> VerifierCombo | None:
    """The run's filter verifiers, which check its edits too; None for a run without a filter stage
    (a judge-only run: its edits are not verified)."""
    if "filter" not in (recipe or {}).get("stages", []):
        return None
    settings = stage_kind("filter").validate_settings((recipe or {}).get("filter") or {})
    assert isinstance(settings, FilterSettings)
    return settings.verifiers


def verdict_of(v: Any) -> dict[str, Any]:
    """The stored form of a verifier verdict on an edit (a workers.verifiers Verdict, its
    combination's when several verifiers decide)."""
    status = "error" if v.status == "error" else v.status
    return {
        "status": status,
        "passed": None if status == "error" else v.passed,
        "verifier": v.verifier,
        "version": v.version,
        "detail": v.detail,
        "parts": [{"verifier": p.verifier, "status": p.status, "passed": p.passed} for p in v.parts],
    }


def left_out(after: dict[str, Any] | None) -> str | None:
    """Why the snapshot leaves an edit out ("edit_rejected"), "edit_unverified" while it has no
    verdict, or None when it is admitted."""
    verdict = (after or {}).get("verdict")
    if verdict is None:  # the run has no verifiers, or the edit predates verified edits
        return None
    if verdict.get("status") in UNSETTLED:
        return "edit_unverified"
    if verdict.get("passed") is False and not (after or {}).get("override"):
        return "edit_rejected"
    return None
