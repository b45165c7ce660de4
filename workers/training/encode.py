"""What the student trains on, token for token. Each conversation's prompt is what the student's own
template renders for serving (add_generation_prompt: exactly the text vLLM will send), and the target is
the teacher's final assistant turn as the continuation the served student should write, up to and with
its end-of-turn tokens. Earlier assistant turns stay in the prompt as context (text from the prompt set,
never verified), so only the final turn carries loss.

Reasoning goes where the family expects it (the form is read off the template, not a list of names):
  template      the template places the reasoning of the final turn itself (Qwen3: <think>\\n...\\n</think>
                \\n\\n inside the assistant turn); the target is the whole render minus the prompt
  prompt-opens  the generation prompt already opens the block (R1-Distill ends it with <think>\\n, and
                its template drops the reasoning of rendered turns): the target is the reasoning,
                \\n</think>\\n\\n, the answer and what the template writes after an assistant message
  plain         no think tokens in the vocabulary (Llama 3, Gemma, Phi, Qwen2.5): the <think> block stays
                plain text at the start of the answer, as the template renders the content
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backend.core.errors import Invalid
from workers.training.templates import render_text

THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.S)
SENTINEL = "\u2063distillery\u2063"  # never in a conversation: marks where a message's content sits


@dataclass
class Encoded:
    ids: list[list[int]] = field(default_factory=list)
    masks: list[list[int]] = field(default_factory=list)  # 1: a training target
    texts: list[str] = field(default_factory=list)  # the whole rendered text
    targets: list[str] = field(default_factory=list)  # the trained text (the final turn)
    form: str = "plain"


def split_reasoning(content: str) -> tuple[str | None, str]:
    m = THINK.match(content or "")
    return (m.group(1).strip(), content[m.end() :]) if m else (None, content or "")


def _single_token(tokenizer, text: str) -> bool:
    return len(tokenizer.encode(text, add_special_tokens=False)) == 1


def reasoning_form(tokenizer, template: str) -> str:
    probe = [{"role": "user", "content": "q"}]
    if render_text(tokenizer, template, probe, True).rstrip().endswith("<think>"):
        return "prompt-opens"
    if _single_token(tokenizer, "<think>") and _single_token(tokenizer, "</think>"):
        return "template"
    return "plain"


def _after_content(tokenizer, template: str) -> str:
    """What the template writes after an assistant message's content (its end-of-turn text)."""
    probe = [{"role": "user", "content": "q"}, {"role": "assistant", "content": SENTINEL}]
    full = render_text(tokenizer, template, probe, False)
    if SENTINEL not in full:
        raise Invalid(
            "the chat template does not render an assistant message's content", code="chat_template"
        )
    return full.split(SENTINEL, 1)[1]


def encode_sft(tokenizer, template: str, conversations: list[list[dict]], row_ids: list[int]) -> Encoded:
    out = Encoded(form=reasoning_form(tokenizer, template))
    after = _after_content(tokenizer, template) if out.form == "prompt-opens" else ""
    for row, msgs in zip(row_ids, conversations, strict=True):
        if not msgs or msgs[-1]["role"] != "assistant":
            raise Invalid(f"row {row}: the conversation does not end with an assistant turn", code="no_rows")
        prompt = render_text(tokenizer, template, msgs[:-1], True)
        if out.form == "prompt-opens":
            reasoning, answer = split_reasoning(msgs[-1]["content"])
            lead = "" if prompt.endswith("\n") else "\n"
            target = f"{lead}{reasoning or ''}\n</think>\n\n{answer.strip()}{after}"
        else:
            full = render_text(tokenizer, template, msgs, False)
            if not full.startswith(prompt):
                i = next(k for k, (a, b) in enumerate(zip(full, prompt, strict=False)) if a != b)
                raise Invalid(
                    f"row {row}: the template renders the conversation's earlier turns differently once the "
                    f"final answer is added (at character {i}: {full[max(0, i - 40) : i + 40]!r}), so the "
                    "prompt the student is served is not a prefix of what it would train on",
                    code="chat_template",
                )
            target = full[len(prompt) :]
        p_ids = tokenizer.encode(prompt, add_special_tokens=False)
        t_ids = tokenizer.encode(target, add_special_tokens=False)
        out.ids.append(p_ids + t_ids)
        out.masks.append([0] * len(p_ids) + [1] * len(t_ids))
        out.texts.append(prompt + target)
        out.targets.append(target)
    return out


def encode_whole(tokenizer, template: str, conversations: list[list[dict]], prompts: bool = False) -> Encoded:
    """Whole renders with no target (DPO scores whole completions; GRPO and distillation see prompts)."""
    out = Encoded(form=reasoning_form(tokenizer, template))
    for msgs in conversations:
        text = render_text(tokenizer, template, msgs, prompts)
        ids = tokenizer.encode(text, add_special_tokens=False)
        out.ids.append(ids)
        out.masks.append([0] * len(ids))
        out.texts.append(text)
        out.targets.append(text)
    return out


def show_sample(tokenizer, ids: list[int], mask: list[int]) -> str:
    """One training example as text with its loss mask: trained spans inside ⟦...⟧."""
    parts, start = [], 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or mask[i] != mask[start]:
            text = tokenizer.decode(ids[start:i], skip_special_tokens=False)
            parts.append(f"⟦{text}⟧" if mask[start] else text)
            start = i
    return "".join(parts)
