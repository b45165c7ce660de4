"""The code verifier's tests of a prompt, checked at import and stored as its `meta.tests`.

The forms (docs/prompt-sets.md), each stored as given:
- stdin/stdout pairs: `[{"input": "1 2\\n", "output": "3\\n"}, ...]` (`stdin`/`stdout` also read), or
  `{"inputs": [...], "outputs": [...]}` of one length;
- asserts: `{"asserts": ["assert f(1) == 2", ...]}`, a list of such strings, or one string of test code
  run after the program;
- a check function (HumanEval): `{"check": "def check(candidate): ...", "entry_point": "f"}`, run as
  `check(f)` after the program. An import makes it from a string of test code and an `entry_point`
  column, so the function's name travels with the tests to the verifier, which reads only meta.tests.

A string that holds JSON of a list or an object (a CSV cell, APPS' `input_output`) is read as that JSON.
None, an empty string and an empty list mean the prompt has no tests.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from typing import Any

_DEFINES_CHECK = re.compile(r"^[ \t]*def[ \t]+check[ \t]*\(", re.M)
FORMS = (
    'expected stdin/stdout pairs [{"input", "output"}] or {"inputs": [..], "outputs": [..]}, asserts '
    '{"asserts": [..]}, a list of assert strings, a string of test code, or {"check", "entry_point"}'
)


class BadTests(ValueError):
    """Tests in none of the forms; the message says what is wrong."""


def _entry_point(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise BadTests(f"entry_point must be a Python function name, got {str(name)[:60]!r}")
    return name


def _check_form(code: Any, entry: Any) -> dict[str, str]:
    if not isinstance(code, str) or not code.strip():
        raise BadTests("check must be a non-empty string of test code")
    if not _DEFINES_CHECK.search(code):
        raise BadTests("test code with an entry_point must define check(candidate), which is called with it")
    return {"check": code, "entry_point": _entry_point(entry)}


def _strings(items: list, what: str) -> list[str]:
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise BadTests(f"{what}[{i}] must be a string of code, got {type(t).__name__}")
    return items


def _pairs(items: list) -> list:
    for i, t in enumerate(items):
        if isinstance(t, str):
            continue
        if not isinstance(t, dict) or not ("output" in t or "stdout" in t):
            raise BadTests(f"tests[{i}] is neither an assert string nor an {{input, output}} object")
    if any(isinstance(t, str) for t in items) and not all(isinstance(t, str) for t in items):
        raise BadTests("tests mix assert strings and {input, output} objects; use one form")
    return items


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]}, past a double's range")
    return value


def parse_tests(value: Any, entry_point: Any = None) -> Any | None:
    """The tests to store for one row (None: the row has none), or BadTests.

    entry_point (from its own column) turns a string of test code into the check form; beside another
    form it is not needed and is ignored here (the importer keeps it as metadata).
    """
    if value is None:
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if stripped[0] in "[{":
            try:
                decoded = json.loads(stripped, parse_float=_finite)
            except json.JSONDecodeError:
                decoded = None  # test code that happens to start with a bracket
            except RecursionError:
                raise BadTests("the tests are JSON nested too deeply to read") from None
            except ValueError as exc:  # a number Python cannot read exactly: never run it as code
                why = str(exc) if "double" in str(exc) else "a number of more than 4,300 digits"
                raise BadTests(f"the tests' JSON holds {why}; write it as a string") from None
            if isinstance(decoded, list | dict):
                return parse_tests(decoded, entry_point)
        if entry_point not in (None, ""):
            return _check_form(value, entry_point)
        return value
    if isinstance(value, list):
        if not value:
            return None
        return _pairs(value) if not all(isinstance(t, str) for t in value) else _strings(value, "tests")
    if isinstance(value, dict):
        if "check" in value:
            return _check_form(value["check"], value.get("entry_point"))
        if "asserts" in value:
            asserts = value["asserts"]
            if not isinstance(asserts, list):
                raise BadTests("asserts must be a list of strings of code")
            return {**value, "asserts": _strings(asserts, "asserts")}
        ins, outs = value.get("inputs"), value.get("outputs")
        if isinstance(ins, list) and isinstance(outs, list):
            if len(ins) != len(outs):
                raise BadTests(f"inputs has {len(ins)} items and outputs {len(outs)}; they must pair up")
            return value
        raise BadTests(f"an object of tests has none of the known keys; {FORMS}")
    raise BadTests(f"{FORMS}; got {type(value).__name__}")
