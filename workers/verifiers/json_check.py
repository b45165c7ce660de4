"""The answer parses as JSON and, given a schema, satisfies it (jsonschema)."""

from __future__ import annotations

import json
import re
import time

from backend.verifiers.settings import JsonSettings
from workers.verifiers import extract
from workers.verifiers.verdict import Item, Verdict, verdict

NAME, VERSION = "json", "1"
_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.S | re.I)


def verify_batch(items: list[Item], settings: JsonSettings) -> list[Verdict]:
    validator = None
    if settings.json_schema is not None:
        import jsonschema

        validator = jsonschema.validators.validator_for(settings.json_schema)(settings.json_schema)
    out = []
    for item in items:
        t0 = time.perf_counter()
        text = extract.split_reasoning(item.completion, item.reasoning).answer
        if settings.extract:
            blocks = _FENCE.findall(text)
            text = blocks[-1] if blocks else text
        try:
            value = json.loads(text)
        # ValueError covers an integer past the int-string limit; RecursionError, nesting too deep
        except (ValueError, RecursionError) as exc:
            out.append(verdict(NAME, VERSION, "unparseable", _ms(t0), error=str(exc)[:200]))
            continue
        errors = []
        if validator is not None:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]
        if errors:
            detail = [
                {"path": "/".join(map(str, e.absolute_path)), "message": e.message[:200]} for e in errors
            ]
            out.append(verdict(NAME, VERSION, "wrong", _ms(t0), errors=detail))
        else:
            out.append(verdict(NAME, VERSION, "passed", _ms(t0)))
    return out


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000
