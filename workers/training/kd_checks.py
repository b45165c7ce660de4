"""kd's pre-flight checks of the snapshot's teacher logprob cache (registered in
backend/training/preflight.py): the cache is there with a row per example, the student's vocabulary is
the teacher's, and each example's cached tokens are the student's own tokens of its trained turn."""

from __future__ import annotations

from workers.training.checks import Found, Inputs, check
from workers.training.kd_cache import FILE, TeacherView

CAPTURE = (
    "capture the teacher's top-K logprobs: set rollout.logprobs: K in the recipe (at generation) or run "
    "the score stage over the snapshot, then train on the snapshot it writes"
)


def _view(x: Inputs) -> TeacherView:
    if x.teacher is None:
        raise RuntimeError("kd's checks need the scanned teacher cache (kd_cache.scan)")
    return x.teacher


@check("teacher_logprobs")
def teacher_logprobs(x: Inputs) -> Found:
    v = _view(x)
    if not v.present:
        return Found([f"snapshot {v.snapshot_id} has no {FILE}"], CAPTURE, total=1)
    if v.k is None:
        bad = [f"snapshot {v.snapshot_id}'s {FILE}: distillery.k is {v.meta.get('k')!r}, not a K >= 1"]
        return Found(bad, "capture the cache again: " + CAPTURE, total=1)
    # an example without a row is left out, not refused: a reviewer's edit has none (the teacher's
    # logprobs are of the text it replaced), nor has an attempt answered from an older rollout; the
    # report counts them, and a snapshot with no row for any example ends as "no example is left"
    return Found(
        v.missing,
        f"{len(v.missing)} example(s) excluded: no row in snapshot {v.snapshot_id}'s {FILE} (a reviewer's "
        "edit, or an attempt from an earlier rollout, has no teacher logprobs); to train them with kd, "
        + CAPTURE,
        [f"generation {x.row_ids[i]}: no row" for i in v.missing],
        passed=True,
        excluded=True,
    )


@check("teacher_vocab")
def teacher_vocab(x: Inputs) -> Found:
    v = _view(x)
    if not v.present or v.same_vocab:
        return Found([], "", total=1 if v.present else 0)
    theirs = v.meta.get("tokenizer_hash") or "none"
    bad = [
        f"teacher {v.teacher}: vocabulary sha256 {theirs[:12]}; student {v.student}: vocabulary sha256 "
        f"{v.student_hash[:12]}"
    ]
    return Found(
        bad,
        f"the vocabularies of the teacher {v.teacher} and the student {v.student} differ, so the cached "
        "token ids name other strings for the student: train a student of the teacher's family (the same "
        "tokenizer vocabulary), or train with method sft",
        total=1,
    )


@check("teacher_tokens")
def teacher_tokens(x: Inputs) -> Found:
    v = _view(x)
    bad = sorted(v.mismatched)
    return Found(
        bad,
        f"{len(bad)} example(s) excluded: the teacher's tokens are not the student's tokenization of the "
        "trained turn (a template that renders the reply differently, or a non-canonical tokenization)",
        [f"generation {x.row_ids[i]}: {v.mismatched[i]}" for i in bad],
        passed=True,
        total=len(v.covered) + len(bad),
        excluded=True,
    )
