"""The chat template a student trains with: the student's own original template, the one vLLM will
serve it with. Nothing is rewritten for training: the loss mask comes from rendering (encode.py), so a
family TRL ships no training variant for (Llama 3.1-3.3, Phi, Gemma...) trains on exactly what it is
served, and the saved student keeps its family's template.

A recipe's `train.chat_template` is checked, not trusted: where the student has a template of its own
the recipe's must render the same text for the run's conversations (a Llama 3.0 template given to a 3.2
student is refused at the first difference, instead of silently losing 3.2's system header); a student
without a template (a base model) takes the recipe's.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.errors import Invalid

COMPARED = 64  # conversations a recipe's template is compared on (each twice: whole and as a prompt)
FIX = (
    "give train.chat_template (Jinja, rendering the same text the student will be served with), or pick a "
    "student whose tokenizer_config.json carries a chat template"
)


@dataclass
class StudentTemplate:
    text: str
    source: str  # "student" | "recipe"
    family: str  # the TRL original it is (qwen3, llama3_2, ...), else "custom"


def own_template(tokenizer) -> str | None:
    tmpl = tokenizer.chat_template
    return tmpl.get("default") if isinstance(tmpl, dict) else tmpl


def family_of(template: str) -> str:
    """The name of the TRL-shipped original this template is, else 'custom'."""
    from pathlib import Path

    import trl

    folder = Path(trl.__file__).parent / "chat_templates"
    for path in sorted(folder.glob("*.jinja")):
        if not path.stem.endswith("_training") and path.read_text().strip() == template.strip():
            return path.stem
    return "custom"


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    a, b = a[max(0, i - 40) : i + 40], b[max(0, i - 40) : i + 40]
    return f"at character {i}: the student's renders {a!r}, the recipe's {b!r}"


def student_template(tokenizer, override: str | None, conversations: list[list[dict]]) -> StudentTemplate:
    """The template to train with (see the module's doc); refused with what to fix when none fits."""
    own = own_template(tokenizer)
    if override is None:
        if not own:
            raise Invalid(f"the student's tokenizer has no chat template: {FIX}", code="chat_template")
        return StudentTemplate(own, "student", family_of(own))
    if not own:
        return StudentTemplate(override, "recipe", family_of(override))
    for row, msgs in enumerate(conversations[:COMPARED]):
        for prompt_only in (False, True):
            shown = msgs[:-1] if prompt_only and msgs[-1]["role"] == "assistant" else msgs
            a = render_text(tokenizer, own, shown, prompt_only)
            b = render_text(tokenizer, override, shown, prompt_only)
            if a != b:
                raise Invalid(
                    f"train.chat_template renders differently from the student's own template on row {row}"
                    f"{' (as a prompt)' if prompt_only else ''} {_first_difference(a, b)}; leave "
                    "train.chat_template unset to train with the student's own",
                    code="chat_template",
                    fields=[{"path": "recipe.train.chat_template", "message": "differs from the student's"}],
                )
    return StudentTemplate(own, "student", family_of(own))


def render_text(tokenizer, template: str, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, chat_template=template, tokenize=False, add_generation_prompt=generation_prompt
    )


@dataclass
class Setup:
    template: StudentTemplate
    stops: set[int]
    pad: dict

    def info(self, form: str) -> dict:
        """What the summary and the model card say about how the family was trained."""
        return {
            "template": {"family": self.template.family, "source": self.template.source, "reasoning": form},
            "pad": self.pad,
        }


def setup(tokenizer, student: str, override: str | None, conversations: list[list[dict]]) -> Setup:
    """The template, stop tokens and pad every method trains with; the tokenizer gets the pad and the
    template (the student's own, so the saved student serves as its family does)."""
    from workers.training.tokens import choose_pad, stop_ids

    chosen = student_template(tokenizer, override, conversations)
    stops = stop_ids(tokenizer, student)
    pad = choose_pad(tokenizer, stops, chosen.text)
    tokenizer.chat_template = chosen.text
    return Setup(chosen, stops, pad)
