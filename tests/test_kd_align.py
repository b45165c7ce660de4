"""The kd cache's alignment of the teacher's generated tokens with the student's trained turn
(workers/training/kd_cache.align), on R1-Distill-Qwen's real vocabulary (tests/standins.py's
stand-in): the snapshot re-renders a reasoning reply's separators canonically, so the teacher's
`</think>` + one newline becomes `</think>` + two, and the top-K of every other token must still
reach the position it predicts."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.pure


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    from tests.standins import build

    return AutoTokenizer.from_pretrained(build("r1-distill-qwen"))


def test_a_prefix_is_one_block(tok):
    from workers.training.kd_cache import align

    teacher = tok.encode(f"<think>\n6 times 7\n</think>\n\n\\boxed{{42}}{tok.eos_token}")
    target = teacher + tok.encode("\n")
    assert align(tok, teacher, target) == ([(0, 0, len(teacher))], None)


def test_a_re_rendered_separator_aligns_every_other_token(tok):
    from workers.training.kd_cache import align

    reasoning = " ".join(f"step {i}: {i} times 7 is {7 * i}." for i in range(12))
    teacher = tok.encode(f"<think>\n{reasoning}\n</think>\n\\boxed{{42}}{tok.eos_token}")
    target = tok.encode(f"<think>\n{reasoning}\n</think>\n\n\\boxed{{42}}{tok.eos_token}\n")
    assert teacher != target[: len(teacher)]  # not a prefix: the old reader excluded this row
    blocks, why = align(tok, teacher, target)
    assert why is None
    aligned = sum(size for _, _, size in blocks)
    assert len(teacher) - 2 <= aligned < len(teacher)
    for a, b, size in blocks:  # each block pairs equal tokens
        assert teacher[a : a + size] == target[b : b + size]
    # each teacher token of the answer lands on the same token of the trained turn, after the separator
    lands = {a + k: b + k for a, b, size in blocks for k in range(size)}
    end = tok.eos_token_id
    assert target[lands[len(teacher) - 1]] == end == teacher[-1]
    assert lands[len(teacher) - 1] == target.index(end)


def test_another_text_is_refused_with_the_first_difference(tok):
    from workers.training.kd_cache import align

    teacher = tok.encode("<think>\nsix sevens are forty-two\n</think>\n\n\\boxed{42}")
    target = tok.encode("<think>\nI add seven six times\n</think>\n\n\\boxed{42}")
    blocks, why = align(tok, teacher, target)
    assert blocks == [] and why is not None and why.startswith("token ")
    assert align(tok, [], target) == ([], "the teacher's completion has no tokens")
    assert "the student's trained turn" in align(tok, target + target, target)[1]
