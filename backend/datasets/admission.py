"""The admission rules: what a snapshot admits is what training accepts. One home, read by the
snapshot's selection (backend/datasets/selection.py: an attempt refused here is never a row nor a
pair), the train pre-flight (workers/training/checks.py's `admission` and `truncated_traces`
checks, on the rows as the snapshot wrote them) and the review API (an accept or an edit of an
attempt refused here is a 422, so no person admits one either). Rules that need the student's
tokenizer or template (too long, what the template masks) stay in the pre-flight."""

from __future__ import annotations

# reason -> why, in the order the rules are tried (the first that matches names the attempt)
REASONS: dict[str, str] = {
    "truncated": "the teacher stopped at max_tokens (finish_reason length): the trace is not whole, "
    "whatever it wrote and whatever an edit makes of it",
    "empty": "no answer at all: nothing to train on",
    "no_answer": "reasoning with no answer after it (or an inline <think> that never closed): closing it "
    "with a </think> the teacher never wrote would teach the student to stop thinking mid-thought",
}


def refusal(*, reasoning: str | None, content: str | None, finish_reason: str | None) -> str | None:
    """Why an attempt (the teacher's, or a reviewer's edit of it: finish_reason stays the teacher's)
    may not be trained on, a key of REASONS; None when it may. `reasoning` None with the reasoning
    inline in `content` (an R1 trace, or a snapshot row's assistant turn) reads the same."""
    if finish_reason == "length":
        return "truncated"
    text = (content or "").strip()
    thought = (reasoning or "").strip()
    if text.startswith("<think>"):
        if "</think>" not in text:
            return "no_answer"
        inline, text = text.split("</think>", 1)
        thought, text = thought or inline.removeprefix("<think>").strip(), text.strip()
    if not text:
        return "no_answer" if thought else "empty"
    return None


def explain(reason: str, generation_id: int | None = None) -> str:
    """A person's sentence for a refusal: what and why."""
    who = f"attempt {generation_id}" if generation_id is not None else "the attempt"
    return f"{who} can never be admitted into a snapshot ({reason}): {REASONS[reason]}"
