"""One number in untrusted text settles its own item: huge integers, decimals, fractions and exponents
(past Python's 4,300-digit int-string limit, or past any size the verifiers compare) get a verdict of
their own, and never fail the batch, the file or the stage around them (issue 23, item 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import run_cli
from workers.verifiers import extract, first_tier
from workers.verifiers.math import references_parse
from workers.verifiers.pool import close_shared_pool
from workers.verifiers.verify import verify_many

ROOT = Path(__file__).resolve().parents[2]
NINES = "9" * 4301
LONG = "1234567890" * 500  # 5,000 digits
THIRDS = "0." + "3" * 5000
BEYOND = "7" * (getattr(first_tier, "MAX_DIGITS", 20_000) + 1)  # too long to compare at all


def finishes(code: str, guard_s: float = 120) -> None:
    """Runs `code` in a process of its own and fails if it has not ended within guard_s: a guard against
    a hang, not a speed measure. The quadratic and cubic parses these tests replaced took minutes to
    hours on their inputs (a regex in C cannot be interrupted in-process); the linear ones take
    milliseconds. Speed itself lives in bench/."""
    try:  # the code on stdin: one argument holds 128 KiB at most
        done = subprocess.run([sys.executable, "-"], input=code, cwd=ROOT, capture_output=True, text=True,
                              timeout=guard_s)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"not done within {guard_s:g} s: the parse is not linear in its input")
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="module", autouse=True)
def _pool():
    yield
    close_shared_pool()


def run(name, items, **settings):
    return verify_many({"verifiers": [{"name": name, "settings": settings}]}, items)


@pytest.mark.parametrize(
    ("answer", "reference", "decision"),
    [
        (NINES, NINES, "passed"),
        (NINES + ".000", NINES, "passed"),
        (NINES, NINES[:-1] + "8", "wrong"),
        (LONG, "42", "wrong"),
        ("42", LONG, "wrong"),
        (THIRDS, "0.5", "wrong"),
        (THIRDS, r"\frac{1}{3}", None),  # equal once rounded: math-verify's call, as for short ones
        (f"{LONG}/7", "42", "wrong"),
        (rf"\frac{{{LONG}}}{{{LONG}}}", "1", "passed"),
        (f"-{NINES}%", f"-{NINES}", "passed"),
        (BEYOND, "42", None),  # too long for the first tier: math.py answers it, never sympy
    ],
)
def test_first_tier_compares_long_numbers_without_int_conversion(answer, reference, decision):
    assert first_tier.decide(answer, reference) == decision


def test_every_item_gets_its_own_verdict():
    items = [
        {"completion": r"\boxed{4}", "reference": "4"},
        {"completion": rf"\boxed{{{NINES}}}", "reference": NINES},
        {"completion": rf"\boxed{{{NINES}}}", "reference": "4"},
        {"completion": f"#### {LONG}", "reference": "4"},
        {"completion": rf"\boxed{{{THIRDS}}}", "reference": "0.3"},
        {"completion": r"\boxed{4}", "reference": rf"\boxed{{{NINES}}}"},
        {"completion": r"\boxed{4}", "reference": f"#### {LONG}"},
        {"completion": rf"\boxed{{{BEYOND}}}", "reference": "4"},
        {"completion": r"\boxed{4}", "reference": BEYOND},
        {"completion": rf"\boxed{{{BEYOND}}}", "reference": BEYOND},
        {"completion": r"\boxed{1e999999}", "reference": "4"},
        {"completion": r"\boxed{10^{99999}}", "reference": "4"},
        {"completion": rf"\boxed{{\sqrt{{{BEYOND}}}}}", "reference": "4"},
        {"completion": r"\boxed{5}", "reference": "5"},
    ]
    vs = run("math", items, timeout_s=10)
    assert len(vs) == len(items)
    assert [v.status for v in vs[:10]] == [
        "passed", "passed", "wrong", "wrong", "wrong", "wrong", "wrong",
        "unparseable", "reference_unparseable", "passed",
    ]  # fmt: skip
    assert vs[7].detail["reason"].startswith("a number of more than")
    assert all(v.status in ("wrong", "unparseable", "timeout") for v in vs[10:13]), vs[10:13]
    assert vs[12].status == "unparseable"  # never handed to sympy
    assert vs[13].status == "passed"
    assert all(len(json.dumps(v.to_dict())) < 4000 for v in vs)  # the detail keeps a short answer


def test_math_verify_alone_is_bounded_too():
    items = [
        {"completion": rf"\boxed{{{BEYOND}}}", "reference": "4"},
        {"completion": r"\boxed{4}", "reference": BEYOND},
        {"completion": r"\boxed{4}", "reference": "4"},
    ]
    vs = run("math", items, timeout_s=10, first_tier=False)
    assert [v.status for v in vs] == ["unparseable", "reference_unparseable", "passed"]


def test_reference_statistics_survive_long_numbers():
    refs = [NINES, f"#### {LONG}", rf"\boxed{{{THIRDS}}}", BEYOND, rf"\frac{{{BEYOND}}}{{3}}", "42"]
    assert references_parse(refs) == [True, True, True, False, False, True]


def test_other_verifiers_settle_long_and_deep_answers_alone():
    deep = "[" * 100_000 + "]" * 100_000
    items = [
        {"completion": '{"x": ' + LONG + "}"},
        {"completion": '{"x": 1e999999}'},
        {"completion": deep},
        {"completion": '{"x": 1}'},
    ]
    assert [v.status for v in run("json", items)] == ["unparseable", "passed", "unparseable", "passed"]
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert [v.status for v in run("json", items, schema=schema)] == [
        "unparseable", "wrong", "unparseable", "passed",
    ]  # fmt: skip
    exact = [{"completion": NINES, "reference": NINES}, {"completion": "4", "reference": LONG}]
    assert [v.status for v in run("exact", exact)] == ["passed", "wrong"]
    assert [v.status for v in run("normalised", exact)] == ["passed", "wrong"]
    assert [v.status for v in run("regex", exact, pattern=r"9{4301}")] == ["passed", "wrong"]
    assert [v.status for v in run("format", exact)] == ["wrong", "wrong"]  # no reasoning: but a verdict


def test_last_boxed_is_linear_in_unclosed_boxes():
    assert extract.last_boxed(r"\boxed{1} and \boxed{2 {3}") == "1"
    assert extract.last_boxed(r"\boxed{a{b}c} \boxed 9") == "9"
    finishes(
        "from workers.verifiers import extract\n"
        "assert extract.last_boxed('\\\\boxed{' * 100_000 + '\\\\boxed{7}') == '7'"
    )


def test_verify_cli_answers_every_line_of_a_file_with_long_numbers(tmp_path):
    rows = [
        ('{"completion": "\\\\boxed{4}", "reference": "4"}', "passed"),
        (json.dumps({"completion": rf"\boxed{{{NINES}}}", "reference": NINES}), "passed"),
        (json.dumps({"completion": f"#### {LONG}", "reference": "4"}), "wrong"),
        (json.dumps({"completion": rf"\boxed{{{THIRDS}}}", "reference": "0.25"}), "wrong"),
        (json.dumps({"completion": r"\boxed{4}", "reference": rf"\boxed{{{NINES}}}"}), "wrong"),
        # numbers in the JSON itself: past the int limit, and past a double's range
        ('{"completion": "#### ' + LONG + '", "reference": ' + LONG + "}", "passed"),
        ('{"completion": "\\\\boxed{4}", "reference": 1e999999}', "wrong"),
        (json.dumps({"completion": rf"\boxed{{{BEYOND}}}", "reference": "4"}), "unparseable"),
        ('{"completion": "#### 5", "reference": 5}', "passed"),
    ]
    f = tmp_path / "answers.jsonl"
    f.write_text("".join(line + "\n" for line, _ in rows))
    r = run_cli("verify", str(f), "--verifier", "math", "--settings", '{"timeout_s": 10}')
    assert r.returncode == 0, r.stderr
    verdicts = [json.loads(line) for line in r.stdout.splitlines()]
    assert [v["status"] for v in verdicts] == [want for _, want in rows]
    assert f"{len(rows)} verdicts" in r.stderr


def test_tests_json_with_a_long_number_or_deep_nesting_is_refused_at_import():
    """A tests string that is JSON Python cannot read is BadTests (the row's bad_tests at import), never
    an exception past it, and never kept as a string of test code, which would run and pass."""
    from backend.prompts.code_tests import BadTests, parse_tests

    for tests, why in (
        ('[{"input": "1", "output": ' + LONG + "}]", "more than 4,300 digits"),
        ('[{"input": "1", "output": 1e999999}]', "past a double's range"),
        ("[" * 100_000, "nested too deeply"),
    ):
        with pytest.raises(BadTests, match=why):
            parse_tests(tests)


def test_a_numeric_reference_past_the_int_limit_is_read_as_its_digits():
    from workers.verifiers.verdict import Item

    assert Item.of({"completion": "x", "reference": 10**5000}).reference == "1" + "0" * 5000


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("$12$", "12"),
        ("$$x^2$$", "x^2"),
        (r"\(3\)", "3"),
        (r"\[4\]", "4"),
        (r"$5\)", "5"),
        ("$$", ""),
        ("$$$", ""),
        ("$", "$"),
        ("$$x$", "x"),
        (r"\($x$", "$x"),
        ("$x", "$x"),
        ("x$", "x$"),
    ],
)
def test_normalise_unwraps_as_before(text, normal):
    assert first_tier.normalise(text) == normal


def test_normalise_is_linear_in_dollar_signs():
    """The wrapper's regex backtracked cubically on a run of dollar signs: 2,000 of them took 10 s in
    the worker's own process, outside any timeout."""
    finishes(
        "from workers.verifiers import first_tier\n"
        "assert first_tier.normalise('$' * 100_000 + 'x') == '$' * 100_000 + 'x'\n"
        "assert first_tier.normalise('$' * 50_000 + 'x' + '$' * 50_000) == 'x'\n"
        "assert first_tier.decide('$' * 100_000 + 'x', '4') is None"
    )


@pytest.mark.parametrize(
    "text",
    [
        "```" * 50_000,  # fences with no line after them
        "```" * 50_000 + "\n",
        "\n" * 50_000 + "x",  # blank lines before an answer line
        "answer" + " " * 50_000 + "z",  # a choice phrase with no letter
        "Answer: x" + " " * 50_000 + "y",
        "The final answer is x" + " " * 50_000 + "y",
    ],
)
def test_answer_extraction_is_linear(text):
    """Extraction runs in the worker's own process, outside any timeout: each of these was quadratic
    (50,000 characters took from seconds to minutes)."""
    finishes(
        "from workers.verifiers import extract\n"
        "from workers.verifiers.code import extract_program\n"
        "text = " + repr(text) + "\n"
        "extract.extract_answer(text)\n"
        "extract.choice_letter(text)\n"
        "extract_program(text)"
    )
