"""The chat template a student trains with: one whose assistant turns carry `{% generation %}` markers,
so TRL's assistant_only_loss puts the loss on the assistant's tokens (and its end-of-turn) only.

TRL ships training templates for the families it knows (Qwen, Llama 3, Gemma, DeepSeek-R1-Distill,
Phi...); the project's tiny models get theirs here. Any other template without markers is refused
with what to change, since training on it would silently learn the prompts too.
"""

from __future__ import annotations

from backend.core.errors import Invalid

# examples/tiny_model.py's template, and the same text with the assistant turn marked for the loss
# (a test checks the first stays equal to the example's and the second renders identically).
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TINY_TRAINING_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'assistant' %}<|assistant|>\n"
    # the newline as an expression: the templates' Jinja trims one written after a block tag
    "{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}{{ '\\n' }}"
    "{% else %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
OWN_TRAINING_TEMPLATES = {TINY_CHAT_TEMPLATE: TINY_TRAINING_TEMPLATE}
FIX = (
    "wrap each assistant message's content and its end-of-turn token in "
    "{% generation %}...{% endgeneration %} "
    "and pass the result as train.chat_template (TRL's training templates under trl/chat_templates/ are "
    "examples), or pick a student whose family TRL ships a training template for"
)


def _template_of(tokenizer) -> str | None:
    tmpl = tokenizer.chat_template
    return tmpl.get("default") if isinstance(tmpl, dict) else tmpl


def training_template(tokenizer, override: str | None = None) -> str:
    """The template to train with: the recipe's own, the student's when it has markers, TRL's training
    variant of a known family, or the project's for its tiny models. Anything else is refused."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    if override is not None:
        if not has_generation_markers(override):
            raise Invalid(
                f"train.chat_template has no {{% generation %}} markers: {FIX}", code="chat_template"
            )
        return override
    current = _template_of(tokenizer)
    if not current:
        raise Invalid(f"the student's tokenizer has no chat template: {FIX}", code="chat_template")
    if current in OWN_TRAINING_TEMPLATES:
        return OWN_TRAINING_TEMPLATES[current]
    if has_generation_markers(current):
        return current
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        raise Invalid(
            f"the student's chat template has no {{% generation %}} markers and TRL ships no training "
            f"variant of it: {FIX}",
            code="chat_template",
        ) from None
    return patched or current


def has_markers(template: str) -> bool:
    from trl.chat_template_utils import has_generation_markers

    return has_generation_markers(template)
