"""A snapshot's dataset card: README.md with the YAML header the Hugging Face Hub reads."""

from __future__ import annotations

from typing import Any

import orjson

from backend.datasets.logprobs import card_line

FORMATS = {
    "messages": "conversational `messages` (system, user, assistant with the reasoning in "
    "<think>...</think>), "
    "for SFTTrainer",
    "prompt_completion": "conversational `prompt` / `completion`, for SFTTrainer (loss on the completion)",
    "preference": "conversational `prompt` / `chosen` / `rejected`, for DPOTrainer",
}


def reasoning_form(selection: dict[str, Any], counts: dict[str, int]) -> str:
    """Which form of reasoning the snapshot's rows hold, for the card (and whoever trains on it)."""
    if selection.get("reasoning") == "drop":
        return "dropped (snapshot.reasoning: drop): each assistant turn is the answer alone"
    rows, with_reasoning = counts.get("after_max_per_prompt", 0), counts.get("rows_with_reasoning", 0)
    if not with_reasoning:
        return "none: the teacher's attempts carry no reasoning; each assistant turn is the answer alone"
    return (
        f"inline, in {with_reasoning} of {rows} rows: the assistant turn opens with the teacher's reasoning "
        "as `<think>\\n...\\n</think>\\n\\n`, then the answer; Distillery's train stage re-renders it "
        "with the student's own chat template (placed where that template puts reasoning, or left as "
        "plain text for a family without think tokens)"
    )


def cut_line(counts: dict[str, int]) -> str | None:
    """The attempts left out because their reasoning was cut, by reason; None when there were none."""
    truncated, no_answer = counts.get("excluded_truncated", 0), counts.get("excluded_no_answer", 0)
    rejected = counts.get("rejected_cut", 0)
    if not (truncated or no_answer or rejected):
        return None
    return (
        f"left out, never closed with a `</think>` the teacher did not write: {truncated} accepted "
        f"attempts stopped at max_tokens (truncated), {no_answer} with reasoning and no answer after it; "
        f"{rejected} rejected ones with a cut reasoning kept out of preference pairs"
    )


def teachers_lines(teachers: list[dict[str, Any]] | None) -> list[str]:
    """Which teacher taught which prompts (rollout.teachers routes prompts): prompts and rows each, the
    rows' teacher_id column naming it. Shared by the dataset card and the model card."""
    if not teachers:
        return []
    out = ["- taught by (prompts, rows; the files' `teacher_id` column):"]
    for t in teachers:
        who = f"{t['name']} (id {t['teacher_id']}, `{t['model']}`)" if t.get("name") else "(deleted teacher)"
        out.append(f"  - {who}: {t['prompts']} prompts, {t['rows']} rows")
    return out


def _yaml_str(s: str) -> str:
    return orjson.dumps(s).decode()  # a JSON string is a valid YAML scalar


def render_card(
    *,
    name: str,
    content_hash: str,
    configs: list[str],
    teacher: dict[str, Any] | None,
    warnings: list[str],
    prompt_set: dict[str, Any] | None,
    verifiers: dict[str, Any] | None,
    selection: dict[str, Any],
    counts: dict[str, int],
    filter_summary: dict[str, Any] | None,
    run: dict[str, Any],
    judge_summary: dict[str, Any] | None = None,
    cost_per_accepted: float | None = None,
    teacher_logprobs: dict[str, Any] | None = None,
    teachers: list[dict[str, Any]] | None = None,
) -> str:
    head = ["---", f"pretty_name: {_yaml_str(name)}", "license: other"]
    head += ["tags:", "  - distillation", "  - reasoning", "  - distillery"]
    head.append("configs:")
    for c in configs:
        head += [
            f"  - config_name: {c}",
            "    data_files:",
            "      - split: train",
            f"        path: {c}.parquet",
        ]
    head.append("---")
    body = [f"# {name}", ""]
    for w in warnings:
        body += [f"> **Licence warning:** {w}. Check the provider's terms before redistributing.", ""]
    body += ["Made by Distillery from a teacher's verified reasoning traces.", ""]
    body += ["## Source", ""]
    if teacher:
        body.append(
            f"- teacher: {teacher['name']} ({teacher['backend']}, `{teacher['model']}`), licence terms: "
            f"{teacher['licence']}"
        )
    else:
        body.append("- teacher: (deleted)")
    if prompt_set:
        body.append(f"- prompt set: {prompt_set['name']} v{prompt_set['version']} (id {prompt_set['id']})")
    body.append(f"- run: {run['id']} ({run['name']}), recipe version {run['recipe_version']}")
    body += teachers_lines(teachers)
    body.append(f"- content hash: `{content_hash}`")
    body += ["", "## Filtering", ""]
    if verifiers:
        names = ", ".join(f"{v['name']} v{v['version']}" for v in verifiers["verifiers"])
        body.append(f"- verifiers ({verifiers['mode']}): {names}")
        for v in verifiers["verifiers"]:
            body.append(f"  - {v['name']} settings: `{orjson.dumps(v['settings']).decode()}`")
    body.append(f"- selection: `{orjson.dumps(selection).decode()}`")
    if filter_summary:
        body.append(
            f"- verified {filter_summary['verified']} attempts: {filter_summary['accepted']} accepted, "
            f"{filter_summary['rejected']} rejected, {filter_summary['undecided']} undecided"
        )
        if cost_per_accepted is not None:
            body.append(f"- teacher cost per accepted trace (rollout and judge): ${cost_per_accepted:.6f}")
        if filter_summary.get("gpu_seconds_per_accepted") is not None:
            body.append(f"- GPU-seconds per accepted trace: {filter_summary['gpu_seconds_per_accepted']}")
    if judge_summary:
        t = judge_summary["thresholds"]
        body.append(
            f"- judged by rubric v{judge_summary['rubric_version']}: accept at score >= {t['accept']:g}, "
            f"reject below {t['reject']:g} (thresholds: {t['source']}, {t.get('labels', 0)} human labels)"
        )
    if any(counts.get(k) for k in ("human_accepted", "human_rejected", "human_edits")):
        body.append(
            f"- human review: {counts.get('human_accepted', 0)} accepted, {counts.get('human_rejected', 0)} "
            f"rejected, {counts.get('human_edits', 0)} edited"
        )
    if counts.get("excluded_edit_rejected"):
        body.append(
            f"- {counts['excluded_edit_rejected']} reviewer edit(s) left out: the run's verifiers reject the "
            "edited text and no reviewer overrode them"
        )
    if counts.get("excluded_empty"):
        body.append(f"- {counts['excluded_empty']} accepted attempt(s) left out: no answer at all (empty)")
    body += ["", "## Reasoning", "", f"- form: {reasoning_form(selection, counts)}"]
    if cut := cut_line(counts):
        body.append(f"- {cut}")
    if selection.get("pick") == "shortest_verified":
        body.append(
            f"- length: per prompt the shortest verified trace(s) within {selection.get('budget')} think "
            "tokens (snapshot pick shortest_verified); prompts with none within the budget have no row"
        )
    body += ["", "## Counts after each filter", "", "| step | rows |", "|---|---|"]
    steps = ("accepted", "after_cut_reasoning", "after_pass_rate_band", "after_near_duplicates",
             "after_max_per_prompt")  # fmt: skip
    for step in steps:
        body.append(f"| {step.replace('_', ' ')} | {counts.get(step, 0)} |")
    body.append(f"| preference pairs | {counts['preference_pairs']} |")
    body += ["", "## Files", ""]
    for c in configs:
        body.append(f"- `{c}.parquet` and `{c}.jsonl`: {FORMATS[c]}")
    body += ["", 'Load with `datasets.load_dataset("parquet", data_files="messages.parquet")`.', ""]
    return with_logprobs("\n".join(head) + "\n\n" + "\n".join(body), teacher_logprobs)


LOGPROBS_HEAD = "## Teacher logprobs"


def with_logprobs(markdown: str, info: dict[str, Any] | None) -> str:
    """The card with its teacher logprobs section (replaced where there is one already: the score stage
    adds it to an existing snapshot's card); unchanged without a cache."""
    line = card_line(info)
    if line is None:
        return markdown
    before = markdown.split(f"\n{LOGPROBS_HEAD}\n", 1)[0].rstrip("\n")
    return f"{before}\n\n{LOGPROBS_HEAD}\n\n{line}\n"
