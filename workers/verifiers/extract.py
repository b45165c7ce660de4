"""Where the answer is in a completion: after the reasoning, then the last \\boxed{}, GSM8K's `#### n`,
"The final answer is ...", "Answer: ...", or a multiple-choice letter."""

from __future__ import annotations

import re
from dataclasses import dataclass

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*")
_BRACE = re.compile(r"[{}]")
_WORD = re.compile(r"[^\s$]+")
_GSM8K = re.compile(r"####\s*([^\n]+)")
# Possessive quantifiers (*+) and no lazy group before optional whitespace: each of these was quadratic
# in a run of whitespace (they run in the worker's own process, outside any timeout). The answer is the
# rest of its line from its first to its last non-space character, as the lazy forms gave.
_REST = r"(\S(?:[^\n]*\S)?)"
_FINAL = re.compile(r"final answer is\s*+(?:[:：]\s*+)?+" + _REST, re.I)
_HOPE = re.compile(r"I hope it is correct", re.I)
_ANSWER = re.compile(r"^(?:[^\S\n]|[*#_])*+answer\s*+[:：]\s*+" + _REST, re.I | re.M)
_LETTER = re.compile(r"^\W*(?:\\text\{\s*)?\(?([A-J])\)?(?:\s*\})?(?:$|[\s.:,)])")
_LETTER_PHRASE = re.compile(
    r"(?:answer|option|choice)\s*+(?:(?:is|:)\s*+)?\(?\**([A-J])\**\)?(?![A-Za-z])", re.I
)


@dataclass(frozen=True)
class Split:
    reasoning: str | None  # None: there is none
    answer: str
    blocks: int  # reasoning blocks seen (inline ones plus a separate reasoning field)
    closed: bool  # every inline <think> has its </think>


def split_reasoning(content: str, reasoning: str | None = None) -> Split:
    """Separate inline <think>...</think> reasoning from the answer that follows it."""
    opens, closes = content.count(_THINK_OPEN), content.count(_THINK_CLOSE)
    blocks = max(opens, closes) + (1 if reasoning and reasoning.strip() else 0)
    if closes:
        head, _, answer = content.rpartition(_THINK_CLOSE)
        inline = head.split(_THINK_OPEN, 1)[-1]
        return Split(inline if reasoning is None else reasoning, answer, blocks, opens <= closes)
    if opens:  # cut off inside its reasoning: there is no answer yet
        return Split(content.split(_THINK_OPEN, 1)[1], "", blocks, False)
    return Split(reasoning, content, blocks, True)


def last_boxed(text: str) -> str | None:
    """The contents of the last \\boxed{...} (braces balanced), or of `\\boxed 5`. One pass over the
    braces pairs them all first: scanning from each box to its close was quadratic in unclosed boxes."""
    found = None
    closes: dict[int, int] | None = None
    for m in _BOXED.finditer(text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            if closes is None:
                closes = _pair_braces(text)
            j = closes.get(i)
            if j is not None:
                found = text[i + 1 : j]
        else:
            word = _WORD.match(text, i)
            if word:
                found = word.group(0)
    return found


def _pair_braces(text: str) -> dict[int, int]:
    """Each opening brace's closing one (the unclosed have none)."""
    opened: list[int] = []
    closes: dict[int, int] = {}
    for b in _BRACE.finditer(text):
        if b.group() == "{":
            opened.append(b.start())
        elif opened:
            closes[opened.pop()] = b.start()
    return closes


def extract_answer(text: str) -> tuple[str, str] | None:
    """(answer, form) from the answer part of a completion, or None where none is stated."""
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return boxed.strip(), "boxed"
    for form, pattern in (("final_answer", _FINAL), ("gsm8k", _GSM8K), ("answer_line", _ANSWER)):
        found = pattern.findall(text)
        if form == "final_answer":  # MATH's closing line: what comes before "I hope it is correct"
            found = [f[: m.start()].rstrip() if (m := _HOPE.search(f, 1)) else f for f in found]
        if found and found[-1].strip():
            return _trim(found[-1]), form
    return None


def extract_reference(reference: str) -> str:
    """A reference may be a whole worked solution (MATH's \\boxed, GSM8K's ####): keep its answer."""
    boxed = last_boxed(reference)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    found = _GSM8K.findall(reference)
    return _trim(found[-1]) if found else reference.strip()


def choice_letter(text: str) -> str | None:
    """A multiple-choice letter: `B`, `(B)`, `B) 42`, `\\text{(B)}`, "the answer is (B)"."""
    m = _LETTER.match(text.strip())
    if m:
        return m.group(1)
    found = _LETTER_PHRASE.findall(text)
    return found[-1].upper() if found else None


def _trim(s: str) -> str:
    s = s.strip().strip("*").strip()
    return s[:-1].rstrip() if s.endswith(".") else s
